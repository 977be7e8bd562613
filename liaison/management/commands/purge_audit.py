from django.core.management.base import BaseCommand

from liaison import audit


class Command(BaseCommand):
    help = (
        "Delete the audit log rows older than their county's retention (SecurityPolicy."
        "audit_retention_months, at least 6 months). The only way rows leave the log."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{audit.purge()} audit rows older than their retention deleted")
