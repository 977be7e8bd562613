from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from liaison import demo

OVERRIDE = "--i-know-this-is-not-production"


class Command(BaseCommand):
    help = (
        "Create the demo county, townships, handling units and one login per role (idempotent). "
        f"Refused with DEBUG off (production) unless {OVERRIDE} is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            OVERRIDE,
            action="store_true",
            dest="not_production",
            help="seed although DEBUG is off: a demo or training server, never one with real data",
        )

    def handle(self, *args, not_production=False, **options):
        # Production is DEBUG off (liaison/settings.py): the demo's logins, superuser "admin"
        # among them, share one published password.
        if not settings.DEBUG and not not_production:
            raise CommandError(
                _(
                    "Refused: DEBUG is off, so this may be a production database, and the demo would "
                    "add logins with the published password %(password)s (superuser admin among them). "
                    "On a demo or training server run it again with %(flag)s."
                )
                % {"password": demo.DEMO_PASSWORD, "flag": OVERRIDE}
            )
        counts = demo.seed()
        self.stdout.write(self.style.SUCCESS(_("Demo data ready: %(counts)s") % {"counts": counts}))
        self.stdout.write(_("Demo logins (password %(password)s):") % {"password": demo.DEMO_PASSWORD})
        for login in demo.DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<12} {login.name}  {login.role.label}  {login.anchor}")
        self.stdout.write(f"  {'admin':<12} " + _("system administrator (superuser)"))
