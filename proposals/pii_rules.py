"""Who may reveal a proposer's phone (``liaison.pii``): the people who must call them about the
ticket: the lead unit holding it now (step 1, contacting the proposers), the township staff of its
township (triage, follow-up) and the office that assigned it (it enters ratings given by phone).
Co-units, the representative, committee members and studio officers see the masked number only."""

from liaison import pii
from proposals.models import Proposer
from proposals.transitions import Party, parties

MAY_CALL = frozenset({Party.LEAD_UNIT, Party.TOWNSHIP, Party.REVIEWER})


def may_reveal(user, proposer: Proposer) -> bool:
    # On the ticket page the proposer carries the page's ticket (its assignments prefetched).
    return bool(parties(proposer.ticket, user) & MAY_CALL)


def register() -> None:
    pii.register(
        pii.Revealable(
            Proposer,
            may_reveal=may_reveal,
            region_of=lambda p: p.ticket.township,
            queryset=lambda: Proposer.objects.select_related("ticket__township", "ticket__representative"),
        )
    )
