from django.core.management.base import BaseCommand
from django.utils import timezone

from studios import reminders


class Command(BaseCommand):
    help = (
        "Issue the report reminders owed now (quarterly, monthly, weekly, yearly, duty eve), as the "
        "daily beat does; each reminder is issued once per period, so running it again is harmless."
    )

    def handle(self, *args, **options):
        counts = reminders.report_reminders_send_due(now=timezone.now())
        for kind, n in counts.items():
            self.stdout.write(f"{kind}: {n}")
        self.stdout.write(f"{sum(counts.values())} new reminders")
