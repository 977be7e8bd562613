import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from proposals import generate

OVERRIDE = "--i-know-this-is-not-production"


class Command(BaseCommand):
    help = (
        "Generate a county's year (organisation, studios, representatives and tickets walked through the "
        "services) of a given shape, for the statistics, overview and bulletins to show. Refused with "
        f"DEBUG off unless {OVERRIDE} is given; refused for a county that exists."
    )

    def add_arguments(self, parser):
        small = generate.Shape()
        parser.add_argument(
            "--shape", choices=sorted(generate.SHAPES), help="a preset (haian: Hai'an's year)"
        )
        parser.add_argument("--county", default="海安样例县", help="the new county's name")
        parser.add_argument("--code", default="990200", help="its six-digit code, ending in 00")
        parser.add_argument("--year", type=int, help="the calendar year (default: last year)")
        parser.add_argument("--seed", type=int, default=2026, help="the same seed gives the same year")
        parser.add_argument("--townships", type=int, default=small.townships)
        parser.add_argument("--studios", type=int, default=small.studios)
        parser.add_argument("--county-reps", type=int, default=small.county_reps)
        parser.add_argument("--township-reps", type=int, default=small.township_reps)
        parser.add_argument("--tickets", type=int, default=small.tickets)
        parser.add_argument("--closed", type=float, default=small.closed, help="share of tickets closed, 0–1")
        parser.add_argument(
            "--satisfied", type=float, default=small.satisfied, help="share of closed tickets satisfied, 0–1"
        )
        parser.add_argument(
            OVERRIDE,
            action="store_true",
            dest="not_production",
            help="generate although DEBUG is off: a demo or training server only",
        )

    def handle(self, *args, not_production=False, **o):
        if not settings.DEBUG and not not_production:
            raise CommandError(
                _(
                    "Refused: DEBUG is off, so this may be a production database. On a demo or training "
                    "server run it again with %(flag)s."
                )
                % {"flag": OVERRIDE}
            )
        if o["shape"]:
            shape = generate.SHAPES[o["shape"]]
        else:
            if not (0 <= o["closed"] <= 1 and 0 <= o["satisfied"] <= 1):
                raise CommandError(_("--closed and --satisfied are shares between 0 and 1."))
            shape = generate.Shape(
                townships=o["townships"],
                studios=o["studios"],
                county_reps=o["county_reps"],
                township_reps=o["township_reps"],
                tickets=o["tickets"],
                closed=o["closed"],
                satisfied=o["satisfied"],
            )
        started = time.monotonic()
        try:
            county = generate.generate(
                shape=shape,
                county_name=o["county"],
                code=o["code"],
                year=o["year"],
                seed=o["seed"],
                say=self.stdout.write,
            )
        except generate.Refused as refused:
            raise CommandError(str(refused)) from None
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                _("%(county)s: %(figures)s in %(seconds).1f s (%(rate).1f tickets/s).")
                % {
                    "county": county.name,
                    "figures": generate.figures(county),
                    "seconds": seconds,
                    "rate": shape.tickets / seconds if seconds else 0.0,
                }
            )
        )
