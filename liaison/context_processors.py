from django.utils.functional import SimpleLazyObject

from liaison.navigation import items_for


def nav(request):
    """Put the navigation entries the user's roles may see into every template."""
    return {"nav_items": items_for(request.user)}


def notifications(request):
    """Put the user's unread count into every template: one query, only if a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from liaison.notify import unread_count

    return {"unread_notification_count": SimpleLazyObject(lambda: unread_count(user))}
