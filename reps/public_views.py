"""The public representative directory and the printable contact card (联系卡), for anyone.

Identity is public (身份公开化): name, photo, title, levels, group, statement and pledge. Nothing
private is ever rendered: the phone only with the rep's consent (``phone_public``), never their
contacts, visits or login. The queryset below loads the phone only as ``public_phone``, empty
without consent, and defers the column itself, so a template cannot print it by mistake (and a
test counting queries would notice if one tried).

Other apps add public facts through ``reps.public_facts`` (the studios app: the rep's studio, next
published duty and duty calendar feed), so this module imports none of them.

These pages take no ``visible_to(user)``: they are the one place where every active rep is shown
to everyone, by design.
"""

from __future__ import annotations

import datetime

import segno
from django.core.paginator import Paginator
from django.db.models import Case, CharField, Exists, F, OuterRef, Prefetch, Value, When
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from liaison.models import Region
from reps import public_facts
from reps.models import GroupMembership, Level, Mandate, Representative

PAGE_SIZE = 20

# How a seat reads on a public card: "县（区）党代表", in the order of ``Level``.
LEVEL_LABELS = {
    Level.PROVINCE: _("Provincial party representative"),
    Level.CITY: _("City party representative"),
    Level.COUNTY: _("County party representative"),
    Level.TOWNSHIP: _("Township party representative"),
}
LEVEL_ORDER = {level: i for i, level in enumerate(Level.values)}


def _mandates_on(day: datetime.date):
    return Mandate.objects.filter(term_start__lte=day, term_end__gte=day)


def directory_reps(day: datetime.date):
    """Return the reps in office on ``day`` with what the public pages show, in constant queries.

    1. Only reps holding a mandate whose term covers ``day``.
    2. ``public_phone``: the phone when published, else ""; the ``phone`` column is not loaded.
    3. Their mandates running on ``day`` (``current_mandates``) and group memberships
       (``group_memberships``), each in one query for the whole page.
    """
    return (
        Representative.objects.active(day)
        .select_related("region")
        .defer("phone", "user")
        .annotate(
            public_phone=Case(
                When(phone_public=True, then=F("phone")), default=Value(""), output_field=CharField()
            )
        )
        .prefetch_related(
            Prefetch("mandates", queryset=_mandates_on(day), to_attr="current_mandates"),
            Prefetch(
                "memberships",
                queryset=GroupMembership.objects.select_related("group").order_by("group__name"),
                to_attr="group_memberships",
            ),
        )
    )


def _describe(rep: Representative) -> Representative:
    """Attach the display lists: ``mandates_shown``, ``level_labels`` and ``groups``."""
    mandates = sorted(rep.current_mandates, key=lambda m: (LEVEL_ORDER.get(m.level, 99), m.congress))
    levels = list(dict.fromkeys(m.level for m in mandates))
    rep.mandates_shown = mandates
    rep.level_labels = [LEVEL_LABELS[level] for level in levels if level in LEVEL_LABELS]
    # Only the groups of the levels the rep still sits at: a group at a level whose term
    # has ended is history, not someone to turn to.
    rep.groups = [m.group for m in rep.group_memberships if m.level in levels]
    return rep


def _today() -> datetime.date:
    return timezone.localdate()


def directory(request):
    """List the active reps, searchable by name or pinyin initials, by township and level."""
    day = _today()
    reps = directory_reps(day)
    active = Representative.objects.active(day)
    townships = Region.objects.townships().filter(pk__in=active.values("region_id")).order_by("path")
    levels_held = set(_mandates_on(day).values_list("level", flat=True).distinct())
    level_choices = [(level, label) for level, label in LEVEL_LABELS.items() if level in levels_held]

    chosen = {
        "q": request.GET.get("q", "").strip()[:32],
        "township": request.GET.get("township", ""),
        "level": request.GET.get("level", ""),
    }
    if chosen["township"].isdigit():
        township = next((t for t in townships if t.pk == int(chosen["township"])), None)
        # A township without active reps (or none at all) matches nobody, rather than everybody.
        reps = reps.in_region(township) if township else reps.none()
    if chosen["level"] in LEVEL_LABELS:
        seat = _mandates_on(day).filter(representative=OuterRef("pk"), level=chosen["level"])
        reps = reps.filter(Exists(seat))
    reps = reps.search(chosen["q"])

    page = Paginator(reps, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [_describe(rep) for rep in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reps/directory.html",
        {
            "page": page,
            "chosen": chosen,
            "townships": townships,
            "level_choices": level_choices,
            "query": query.urlencode(),
            "filtered": any(chosen.values()),
        },
    )


def _public_rep(pk: int) -> Representative:
    """The rep if in office today; 404 once all their terms have ended (or before one starts)."""
    return _describe(get_object_or_404(directory_reps(_today()), pk=pk))


def detail(request, pk: int):
    rep = _public_rep(pk)
    facts = public_facts.facts_for(rep, now=timezone.now())
    return render(request, "reps/public_detail.html", {"rep": rep, "facts": facts})


def intake_url(request, rep: Representative) -> str:
    # By URL name, not by import: reps/ does not depend on proposals/.
    return request.build_absolute_uri(reverse("public:intake") + f"?rep={rep.pk}")


def card(request, pk: int):
    """A printable contact card (党群连心卡): two copies side by side on an A4 page."""
    rep = _public_rep(pk)
    url = intake_url(request, rep)
    # segno writes the SVG itself from the URL alone (no user text), so it is safe to inline.
    qr_svg = mark_safe(segno.make(url, error="m").svg_inline(scale=4, svgclass="qr"))  # noqa: S308
    context = {"rep": rep, "intake_url": url, "qr_svg": qr_svg, "copies": range(2)}
    context["facts"] = public_facts.facts_for(rep, now=timezone.now())
    return render(request, "reps/card.html", context)
