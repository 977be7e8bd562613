"""What a user may see: the one mechanism behind every ``visible_to(user)``.

A ``Scope`` is computed once per user (one query) from their role assignments:
- ``region_paths``: the roots of the region tree they administer (county for the liaison
  office, township for township staff); everything whose region lies under a root is visible;
- ``unit_ids``: the handling units they work for;
- ``roles`` and ``anchor_paths``: every role and where it is anchored, for apps that scope by
  a personal link (a representative sees their own contacts; see each app's querysets).
Superusers see everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from liaison.regions import county_id_of_path
from liaison.roles import ADMIN_ROLES, STAFF_ROLES, Role

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Scope:
    user_id: int | None = None
    sees_all: bool = False
    roles: frozenset[str] = frozenset()
    region_paths: tuple[str, ...] = ()
    unit_ids: frozenset[int] = frozenset()
    anchor_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def for_user(cls, user) -> Scope:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return cls()
        if user.is_superuser:
            return cls(user_id=user.pk, sees_all=True, roles=frozenset(Role))
        from liaison.models import RoleAssignment

        rows = RoleAssignment.objects.filter(user=user).values_list(
            "role", "region__path", "unit_id", "unit__region__path"
        )
        roles, paths, units, anchors = set(), set(), set(), {}
        for role, region_path, unit_id, unit_path in rows:
            roles.add(role)
            anchor = unit_path or region_path
            anchors.setdefault(role, set()).add(anchor)
            if role in STAFF_ROLES:
                paths.add(region_path)
            if unit_id:
                units.add(unit_id)
        # A root already covered by a wider root adds nothing.
        roots = tuple(sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths)))
        return cls(
            user_id=user.pk,
            roles=frozenset(roles),
            region_paths=roots,
            unit_ids=frozenset(units),
            anchor_paths={role: tuple(sorted(a)) for role, a in anchors.items()},
        )

    @property
    def is_staff(self) -> bool:
        """Whether the user may open the admin (what they see there is still scoped)."""
        return self.sees_all or bool(self.roles & ADMIN_ROLES)

    def has_role(self, role: str) -> bool:
        return self.sees_all or role in self.roles

    def region_q(self, region_field: str) -> Q:
        """Return a filter for rows whose region (reached by ``region_field``) is in scope.

        ``region_field`` is the lookup from the model to a Region ("region", "township",
        "unit__region"), or "" for the Region model itself.
        """
        if self.sees_all:
            return Q()
        lookup = f"{region_field}__path__startswith" if region_field else "path__startswith"
        q = NOTHING
        for path in self.region_paths:
            q |= Q(**{lookup: path})
        return q

    def covers_path(self, path: str) -> bool:
        return self.sees_all or any(path.startswith(root) for root in self.region_paths)

    @property
    def county_ids(self) -> set[int]:
        """The counties the user's roles lie in (the first id of each anchor path)."""
        return {county_id_of_path(p) for ps in self.anchor_paths.values() for p in ps if p}


ANONYMOUS = Scope()


def scope_of(user) -> Scope:
    return user.scope if getattr(user, "is_authenticated", False) else ANONYMOUS
