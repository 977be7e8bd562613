"""Who may reveal a phone kept in reps (``liaison.pii``).

- A contact (联系对象, a party member or resident a rep keeps in touch with): the representatives
  linked to them (they visit and call them; their own contact form shows the number anyway) and
  the liaison office and township staff over the contact's village (they keep the network, and
  import and export it).
- A representative: the liaison office and township staff over the rep's region (they arrange
  duties and call reps). The published number (``phone_public``) is public anyway.
"""

from liaison import pii
from liaison.roles import Role
from reps.models import Contact, ContactLink, Representative


def may_reveal_contact(user, contact: Contact) -> bool:
    path = contact.village.path if contact.village_id else None
    if pii.holds_role_over(user, Role.LIAISON_OFFICE, path) or pii.holds_role_over(
        user, Role.TOWNSHIP_STAFF, path
    ):
        return True
    # Only a representative can be linked (one query, never run for staff exporting a list).
    return Role.REPRESENTATIVE in user.scope.roles and (
        ContactLink.objects.filter(contact=contact, representative__user=user).exists()
    )


def may_reveal_rep(user, rep: Representative) -> bool:
    path = rep.region.path if rep.region_id else None
    return pii.holds_role_over(user, Role.LIAISON_OFFICE, path) or pii.holds_role_over(
        user, Role.TOWNSHIP_STAFF, path
    )


def register() -> None:
    pii.register(
        pii.Revealable(
            Contact,
            may_reveal=may_reveal_contact,
            region_of=lambda c: c.village,
            queryset=lambda: Contact.objects.select_related("village"),
        )
    )
    pii.register(
        pii.Revealable(
            Representative,
            may_reveal=may_reveal_rep,
            region_of=lambda r: r.region,
            queryset=lambda: Representative.objects.select_related("region"),
        )
    )
