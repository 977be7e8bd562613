from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject

from liaison.navigation import bar_of, items_for


def nav(request):
    """Put the navigation entries the user's roles may see into every template.

    An error page for a request refused before authentication (a bad ``Host`` header is refused
    by CommonMiddleware) has no ``request.user``: it gets the visitor's entries."""
    user = getattr(request, "user", None) or AnonymousUser()
    items = items_for(user)
    return {"nav_items": items, "nav_bar": bar_of(items)}


def notifications(request):
    """Put the user's unread count into every template: one query, only if a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from liaison.notify import unread_count

    return {"unread_notification_count": SimpleLazyObject(lambda: unread_count(user))}
