from liaison.navigation import items_for


def nav(request):
    """Put the navigation entries the user's roles may see into every template."""
    return {"nav_items": items_for(request.user)}
