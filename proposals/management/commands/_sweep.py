"""What the ticket sweep commands share: ``--now`` for a run as of another time, ``--dry-run``."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone


class SweepCommand(BaseCommand):
    sweep = staticmethod(lambda *, now: {})

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="run as of this ISO time, e.g. 2026-03-30T09:00 (Beijing time unless an offset is given)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be sent, then roll everything back"
        )

    def handle(self, *args, now=None, dry_run=False, **options):
        moment = self.parse_now(now) if now else timezone.now()
        if dry_run:
            with transaction.atomic():
                counts = self.sweep(now=moment)
                # Rolled back: nothing is recorded, no delivery is queued (on_commit never runs).
                transaction.set_rollback(True)
        else:
            counts = self.sweep(now=moment)
        summary = ", ".join(f"{name}: {n}" for name, n in counts.items())
        prefix = "would send" if dry_run else "sent"
        self.stdout.write(f"{prefix} at {timezone.localtime(moment).isoformat()}: {summary}")

    @staticmethod
    def parse_now(text: str) -> datetime.datetime:
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--now: not an ISO date and time: {text!r}") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
