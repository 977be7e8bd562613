from django.core.management.base import BaseCommand, CommandError

from liaison.tasks import ping


class Command(BaseCommand):
    help = "Send the ping task through the broker and wait for a worker's answer."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args, timeout, **options):
        try:
            answer = ping.delay().get(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - any failure means no round trip
            raise CommandError(f"no answer from a worker within {timeout:g}s: {exc!r}") from exc
        self.stdout.write(self.style.SUCCESS(f"worker answered: {answer}"))
