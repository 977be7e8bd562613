from django.core.management.base import BaseCommand

from proposals import holidays


class Command(BaseCommand):
    help = "Load China's public holidays and adjusted working days from the chinesecalendar package."

    def add_arguments(self, parser):
        parser.add_argument("--overwrite", action="store_true", help="Reload years already in the table.")

    def handle(self, *args, overwrite=False, **options):
        years = holidays.load(overwrite=overwrite)
        self.stdout.write(f"loaded: {', '.join(map(str, years))}" if years else "nothing new to load")
