"""The navigation bar: each app registers its entries and the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from liaison.roles import ADMIN_ROLES, STAFF_ROLES

STAFF = STAFF_ROLES
ADMIN = ADMIN_ROLES
EVERYONE = None


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str] | None = EVERYONE  # None: every signed-in user
    order: int = 50
    public: bool = False  # also shown to visitors who are not signed in
    visitors_only: bool = False  # a resident's entry (submit, track): not in the staff's crowded bar
    in_user_menu: bool = False  # under the user's name rather than in the bar (the admin)

    def visible_for(self, user) -> bool:
        if not user.is_authenticated:
            return self.public
        if self.visitors_only:
            return False
        scope = user.scope
        return self.roles is None or scope.sees_all or bool(scope.roles & self.roles)


_ITEMS: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _ITEMS[item.url_name] = item


def items_for(user) -> list[dict]:
    return [
        {
            "label": item.label,
            "url": reverse(item.url_name),
            "url_name": item.url_name,
            "in_user_menu": item.in_user_menu,
        }
        for item in sorted(_ITEMS.values(), key=lambda i: i.order)
        if item.visible_for(user)
    ]
