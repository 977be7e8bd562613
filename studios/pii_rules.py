"""Who may reveal a reception visitor's phone (``liaison.pii``): the township staff of the
reception's township and the liaison officer of its studio, who follow up what was raised.
The representatives on duty and the county office see the masked number only."""

from liaison import pii
from liaison.roles import Role
from studios.models import Visitor


def may_reveal(user, visitor: Visitor) -> bool:
    reception = visitor.reception
    if reception.studio_id and reception.studio.liaison_officer_id == user.pk:
        return True
    return pii.holds_role_over(
        user, Role.TOWNSHIP_STAFF, reception.township.path if reception.township_id else None
    )


def register() -> None:
    pii.register(
        pii.Revealable(
            Visitor,
            may_reveal=may_reveal,
            region_of=lambda v: v.reception.township,
            queryset=lambda: Visitor.objects.select_related("reception__studio", "reception__township"),
        )
    )
