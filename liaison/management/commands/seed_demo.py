from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from liaison import demo


class Command(BaseCommand):
    help = "Create the demo county, townships, handling units and one login per role (idempotent)."

    def handle(self, *args, **options):
        counts = demo.seed()
        self.stdout.write(self.style.SUCCESS(_("Demo data ready: %(counts)s") % {"counts": counts}))
        self.stdout.write(_("Demo logins (password %(password)s):") % {"password": demo.DEMO_PASSWORD})
        for login in demo.DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<12} {login.name}  {login.role.label}  {login.anchor}")
        self.stdout.write(f"  {'admin':<12} " + _("system administrator (superuser)"))
