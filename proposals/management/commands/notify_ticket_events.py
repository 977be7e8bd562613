from proposals import reminders
from proposals.management.commands._sweep import SweepCommand


class Command(SweepCommand):
    help = "Notify the people concerned by the ticket moves of the last days, once per move."
    sweep = staticmethod(reminders.ticket_events_notify)
