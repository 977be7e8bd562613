from proposals import bulletins
from proposals.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    help = (
        "Draft last month's bulletin (定期通报) for each county that has none, from the 1st to the "
        f"{bulletins.DRAFT_CATCH_UP_DAYS}th; the ticket sweep then tells each office, once."
    )
    sweep = staticmethod(lambda *, now: {"drafted": bulletins.bulletins_draft_due(now=now)})
