from proposals import reminders
from proposals.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    help = (
        "Send the ticket deadline notices owed now (due soon, overdue, escalations, co-unit "
        "opinions, hand-ins, feedback, digests, bulletin), once; conclude feedback past its time."
    )
    sweep = staticmethod(reminders.ticket_reminders_send_due)
