from proposals import anonymise
from proposals.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    help = (
        "Erase the residents' names and phones from tickets closed more than their county's "
        "SecurityPolicy.anonymise_after_years ago (statistics unchanged); --dry-run counts only."
    )
    sweep = staticmethod(anonymise.anonymise_closed_send_due)
