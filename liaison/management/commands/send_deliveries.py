from django.core.management.base import BaseCommand
from django.utils import timezone

from liaison import notify


class Command(BaseCommand):
    help = (
        "Send the due email and SMS deliveries now, in this process, without a worker "
        "(each failure is recorded on its delivery and retried later)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="send at most this many")

    def handle(self, *args, limit, **options):
        outcomes = notify.deliveries_send_now(now=timezone.now(), limit=limit)
        total = sum(outcomes.values())
        summary = ", ".join(f"{status}: {n}" for status, n in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(f"{total} deliveries tried ({summary})")
