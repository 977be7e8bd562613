"""Roles, what each may do, and the permission backend that reads them.

A user holds roles through ``RoleAssignment`` rows. Model permissions are not stored in the
database per user: each app declares in its ``AppConfig.ready()`` which permissions a role
carries (``grant(Role.TOWNSHIP_STAFF, "reps.view_representative", ...)``), so the rules are
code, reviewed and tested like code. Row-level visibility is the scope's job (``scoping.py``).
"""

from __future__ import annotations

from collections import defaultdict

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LIAISON_OFFICE = "liaison_office", _("Liaison office")
    TOWNSHIP_STAFF = "township_staff", _("Township staff")
    STUDIO_OFFICER = "studio_officer", _("Studio liaison officer")
    REPRESENTATIVE = "representative", _("Representative")
    HANDLING_UNIT = "handling_unit", _("Handling unit staff")
    COMMITTEE_MEMBER = "committee_member", _("Committee member")


# Roles whose holders administer a part of the region tree, through the admin.
STAFF_ROLES = frozenset({Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF})
# Roles that may open the admin; a studio liaison officer sees their own studio there.
ADMIN_ROLES = STAFF_ROLES | {Role.STUDIO_OFFICER}

# The region levels each role is anchored at (handling-unit staff are anchored at a unit).
ANCHOR_LEVEL = {
    Role.LIAISON_OFFICE: ("county",),
    Role.TOWNSHIP_STAFF: ("township",),
    Role.STUDIO_OFFICER: ("township",),
    Role.REPRESENTATIVE: ("county", "township"),
    Role.COMMITTEE_MEMBER: ("township",),
}

# Which roles a holder of each staff role may hand out (within their own scope).
GRANTABLE_BY = {
    Role.LIAISON_OFFICE: frozenset(Role),
    Role.TOWNSHIP_STAFF: frozenset(Role) - {Role.LIAISON_OFFICE},
}

_PERMISSIONS: dict[str, set[str]] = defaultdict(set)


def grant(role: Role, *perms: str) -> None:
    """Declare that holders of ``role`` have the model permissions ``perms`` ("app.codename")."""
    _PERMISSIONS[role].update(perms)


def permissions_for(roles) -> set[str]:
    return set().union(*(_PERMISSIONS[role] for role in roles)) if roles else set()


def crud(app_model: str, *actions: str) -> list[str]:
    """Return e.g. ["reps.view_group", "reps.add_group"] for crud("reps.group", "view", "add")."""
    app, model = app_model.split(".")
    return [f"{app}.{action}_{model}" for action in actions]
