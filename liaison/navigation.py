"""The navigation bar: each app registers its entries and the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from liaison.roles import ADMIN_ROLES, STAFF_ROLES

STAFF = STAFF_ROLES
ADMIN = ADMIN_ROLES
EVERYONE = None

# Menus of the staff's bar: pages they open now and then, behind one heading each, so that the
# daily ones stay in view on one line.
REPS_WORK = _("Representatives' work")
REPORTS = _("Reports")


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str] | None = EVERYONE  # None: every signed-in user
    order: int = 50
    public: bool = False  # also shown to visitors who are not signed in
    visitors_only: bool = False  # a resident's entry (submit, track): not in the staff's crowded bar
    in_user_menu: bool = False  # under the user's name rather than in the bar (the admin)
    group: str = ""  # a menu of the bar (REPS_WORK, REPORTS) rather than a link of its own

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
            "group": str(item.group),
        }
        for item in sorted(_ITEMS.values(), key=lambda i: i.order)
        if item.visible_for(user)
    ]


def bar_of(items: list[dict]) -> list[dict]:
    """The bar's entries from ``items_for``'s: links, and menus (``children``) where a group holds
    two or more links, each menu where its first link would stand."""
    entries: list[dict] = []
    menus: dict[str, dict] = {}
    for item in items:
        if item["in_user_menu"]:
            continue
        if not item["group"]:
            entries.append(item)
            continue
        menu = menus.get(item["group"])
        if menu is None:
            menu = menus[item["group"]] = {"label": item["group"], "children": [], "url_names": []}
            entries.append(menu)
        menu["children"].append(item)
        menu["url_names"].append(item["url_name"])
    return [e["children"][0] if "children" in e and len(e["children"]) == 1 else e for e in entries]
