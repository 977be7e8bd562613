"""The public duty schedule (值班表) and its iCalendar feeds, for anyone, without logging in.

Residents read who is on duty, at which studio, when, where, and the studio's phone. Only
slots of published periods at active studios are shown, and nothing private: the reps are
loaded with their names alone (never their phones), and attendance shows only as the name of
whoever stood in. A feed carries exactly what the page shows.

These pages take no ``visible_to(user)``: a published schedule is public by design
(DOMAIN.md: "published in advance, on the website and on the studio door").
"""

from __future__ import annotations

import datetime
import zoneinfo
from urllib.parse import urlencode

import icalendar
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from liaison.models import Region
from reps import public_facts
from reps.models import Representative
from studios.models import DutySlot, RosterRule, SlotAssignment, SlotChange, Studio, StudioAssignment
from studios.querysets import with_invited_units

PAGE_SIZE = 100  # slots per page; a day's block may continue on the next page
WINDOW_DAYS = 14  # the page shows the coming two weeks
STEP_DAYS = 7  # previous / next week
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 400
# How far ``?from=`` may wander from today: far enough for any real use, and it keeps the date
# arithmetic away from date.min / date.max.
FROM_LIMIT_DAYS = 5 * 366
FEED_TIMEZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
# Calendar apps poll a feed every few minutes; a published schedule changes rarely (and only
# with a reason), so shared caches and the apps may keep a copy this long.
FEED_MAX_AGE = 15 * 60
SUBSTITUTED = SlotAssignment.Attendance.SUBSTITUTED


def _today() -> datetime.date:
    return timezone.localdate()


def public_studios():
    return Studio.objects.active().select_related("region")


def public_slots():
    """Return published slots of active studios with what the public sees, in constant queries.

    1. Only slots of published periods, at studios that are active.
    2. The studio (name, address, phone) joined in the same query.
    3. ``latest_reason``: the reason of the newest change, as a subquery (no query per slot).
    4. ``public_assignments``: each slot's assignments with the rep's and the substitute's
       names only (their phone columns are never loaded), one query for the whole page.
    (The pages and feeds then add each slot's invited departments: ``with_invited_units``.)
    """
    newest = SlotChange.objects.filter(slot=OuterRef("pk")).order_by("-changed_at", "-pk")
    assignments = (
        SlotAssignment.objects.select_related("representative", "substitute")
        .only("slot", "attendance", "representative__name", "substitute__name")
        .order_by("pk")
    )
    return (
        DutySlot.objects.published()
        .filter(studio__is_active=True)
        .select_related("studio", "period")
        .only(
            "date",
            "starts_at",
            "ends_at",
            "kind",
            "theme",
            "is_changed",
            "version",
            "rule",
            "period__published_at",
            "studio__name",
            "studio__address",
            "studio__phone",
        )
        .annotate(
            latest_reason=Subquery(newest.values("reason")[:1]),
            latest_change_at=Subquery(newest.values("changed_at")[:1]),
        )
        .prefetch_related(Prefetch("assignments", queryset=assignments, to_attr="public_assignments"))
        .order_by("date", "starts_at", "studio__region__path", "studio__name", "pk")
    )


def rep_names(slot: DutySlot) -> list[str]:
    """The names the public sees on a slot: whoever stood in replaces the rep they replaced."""
    names = []
    for a in slot.public_assignments:
        person = a.substitute if a.attendance == SUBSTITUTED and a.substitute_id else a.representative
        names.append(person.name)
    return list(dict.fromkeys(names))


def _describe(slots) -> list[DutySlot]:
    slots = with_invited_units(slots)
    for slot in slots:
        slot.rep_names = rep_names(slot)
    return slots


def _start_from(request) -> datetime.date:
    """The first day shown: ``?from=YYYY-MM-DD`` when it is a sensible date, else today."""
    today = _today()
    try:
        day = datetime.date.fromisoformat(request.GET.get("from", "")[:10])
    except ValueError:
        return today
    return day if abs((day - today).days) <= FROM_LIMIT_DAYS else today


def _window(request, slots, *, extra_query: dict[str, str]) -> dict:
    """Restrict ``slots`` to the dates shown and paginate them; return the template context."""
    start = _start_from(request)
    end = start + datetime.timedelta(days=WINDOW_DAYS)
    page = Paginator(slots.filter(date__gte=start, date__lt=end), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _describe(page.object_list)
    query = {k: v for k, v in extra_query.items() if v}
    query_with_from = {**query, "from": start.isoformat()}
    step = datetime.timedelta(days=STEP_DAYS)
    return {
        "page": page,
        "start": start,
        "last_day": end - datetime.timedelta(days=1),
        "today": _today(),
        "is_today": start == _today(),
        "query": urlencode(query_with_from),
        "nav_previous": urlencode({**query, "from": (start - step).isoformat()}),
        "nav_next": urlencode({**query, "from": (start + step).isoformat()}),
        "nav_today": urlencode(query),
    }


def index(request):
    """List the published duties of the coming two weeks, filterable by township and studio."""
    studios = list(public_studios().order_by("region__path", "name"))
    townships = list(
        Region.objects.townships()
        .filter(Exists(Studio.objects.active().filter(region__path__startswith=OuterRef("path"))))
        .order_by("path")
    )
    chosen = {
        "township": request.GET.get("township", "")[:20],
        "studio": request.GET.get("studio", "")[:20],
    }
    slots = public_slots()
    if chosen["township"]:
        township = next((t for t in townships if str(t.pk) == chosen["township"]), None)
        # A township without studios (or none at all) matches nothing, rather than everything.
        slots = slots.filter(studio__region__path__startswith=township.path) if township else slots.none()
        in_township = [s for s in studios if township and s.region.path.startswith(township.path)]
        outside = {str(s.pk) for s in studios} - {str(s.pk) for s in in_township}
        if chosen["studio"] in outside:  # picked before the township changed: the township wins
            chosen["studio"] = ""
        studios = in_township
    if chosen["studio"]:
        studio = next((s for s in studios if str(s.pk) == chosen["studio"]), None)
        slots = slots.filter(studio=studio) if studio else slots.none()
    context = _window(request, slots, extra_query=chosen)
    context.update(
        {"townships": townships, "studios": studios, "chosen": chosen, "filtered": any(chosen.values())}
    )
    return render(request, "studios/schedule.html", context)


def _public_studio(pk: int) -> Studio:
    return get_object_or_404(public_studios(), pk=pk)


def _feed_urls(request, url_name: str, pk: int) -> dict[str, str]:
    https = request.build_absolute_uri(reverse(url_name, args=[pk]))
    return {"feed_url": https, "webcal_url": "webcal://" + https.split("://", 1)[1]}


def studio_detail(request, pk: int):
    """One studio: its facts, its published duties, its current reps, and how to subscribe."""
    studio = _public_studio(pk)
    today = _today()
    # Public identity only (身份公开化): names of the reps serving here and in office today.
    reps = (
        Representative.objects.active(today)
        .filter(
            Exists(
                StudioAssignment.objects.filter(
                    representative=OuterRef("pk"), studio=studio, start__lte=today
                ).filter(Q(end__isnull=True) | Q(end__gte=today))
            )
        )
        .only("name")
    )
    context = _window(request, public_slots().filter(studio=studio), extra_query={})
    context.update(
        {"studio": studio, "reps": list(reps), **_feed_urls(request, "schedule:studio_ics", studio.pk)}
    )
    return render(request, "studios/schedule_studio.html", context)


# --- iCalendar feeds --------------------------------------------------------------------------


def _feed_slots(slots):
    today = _today()
    return slots.filter(
        date__gte=today - datetime.timedelta(days=FEED_PAST_DAYS),
        date__lte=today + datetime.timedelta(days=FEED_FUTURE_DAYS),
    )


def _event(request, slot: DutySlot) -> icalendar.Event:
    studio = slot.studio
    names = rep_names(slot)
    event = icalendar.Event()
    event.add("uid", f"slot-{slot.pk}@liaison")
    # DTSTAMP: when this version of the slot was made public, so an unchanged feed stays the same.
    event.add("dtstamp", slot.latest_change_at or slot.period.published_at or timezone.now())
    event.add("dtstart", slot.starts_at.astimezone(FEED_TIMEZONE))
    event.add("dtend", slot.ends_at.astimezone(FEED_TIMEZONE))
    event.add("summary", _("Party representatives on duty: %(studio)s") % {"studio": studio.name})
    event.add("location", studio.address)
    lines = [slot.get_kind_display()]
    if slot.theme:
        lines.append(_("Theme: %(theme)s") % {"theme": slot.theme})
    if slot.invited_units:
        units = "、".join(unit.name for unit in slot.invited_units)
        lines.append(_("Invited departments: %(units)s") % {"units": units})
    if names:
        lines.append(_("Representatives: %(names)s") % {"names": "、".join(names)})
    if studio.phone:
        lines.append(_("Studio phone: %(phone)s") % {"phone": studio.phone})
    if slot.is_changed:
        lines.append(_("Adjusted: %(reason)s") % {"reason": slot.latest_reason or ""})
    event.add("description", "\n".join(lines))
    event.add("url", request.build_absolute_uri(reverse("schedule:studio", args=[studio.pk])))
    # A changed slot carries its version, so calendars replace the copy they hold.
    event.add("sequence", slot.version if slot.is_changed else 0)
    return event


def _calendar_response(request, name: str, slots, filename: str) -> HttpResponse:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Liaison//Party representative duty schedule//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for slot in with_invited_units(slots):
        cal.add_component(_event(request, slot))
    cal.add_missing_timezones()
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@cache_control(public=True, max_age=FEED_MAX_AGE)
def studio_feed(request, pk: int):
    """The studio's published duties from 30 days ago to 400 days ahead, one VEVENT each."""
    studio = _public_studio(pk)
    slots = _feed_slots(public_slots().filter(studio=studio))
    name = _("Duty schedule: %(studio)s") % {"studio": studio.name}
    return _calendar_response(request, name, slots, f"studio-{studio.pk}.ics")


def _on_duty(rep: Representative) -> Exists:
    """The slot has ``rep`` on duty as the public sees it: someone who stood in replaces the rep."""
    return Exists(
        SlotAssignment.objects.filter(slot=OuterRef("pk")).filter(
            (Q(representative=rep) & ~Q(attendance=SUBSTITUTED)) | Q(substitute=rep, attendance=SUBSTITUTED)
        )
    )


@cache_control(public=True, max_age=FEED_MAX_AGE)
def rep_feed(request, pk: int):
    """A rep's published duties, on duty as assigned or standing in for someone; 404 out of office."""
    rep = get_object_or_404(Representative.objects.active(_today()).only("name"), pk=pk)
    slots = _feed_slots(public_slots().filter(_on_duty(rep)))
    name = _("Duty schedule: %(rep)s") % {"rep": rep.name}
    return _calendar_response(request, name, slots, f"rep-{rep.pk}.ics")


# --- what the reps' public page and contact card show of the schedule ------------------------


def rep_public_facts(rep: Representative, *, now: datetime.datetime) -> list[public_facts.Fact]:
    """The rep's studios, next published duty and duty feed (``reps.public_facts``, 2 queries).

    Only what the public schedule already shows: active studios the rep serves at today, and the
    next duty of a published roster on which the public sees the rep.
    """
    today = timezone.localdate(now)
    serving = StudioAssignment.objects.filter(
        studio=OuterRef("pk"), representative=rep, start__lte=today
    ).filter(Q(end__isnull=True) | Q(end__gte=today))
    studios = Studio.objects.active().filter(Exists(serving)).only("name").order_by("region__path", "name")
    facts = []
    links = [public_facts.Link(s.name, reverse("schedule:studio", args=[s.pk])) for s in studios]
    if links:
        facts.append(public_facts.Fact("studio", _("Studio"), links))
    slot = (
        DutySlot.objects.published()
        .filter(studio__is_active=True, ends_at__gt=now)
        .filter(_on_duty(rep))
        .select_related("studio")
        .only("date", "starts_at", "ends_at", "kind", "studio__name")
        .order_by("starts_at", "pk")
        .first()
    )
    if slot is None:
        facts.append(
            public_facts.Fact("next_duty", _("Next duty"), [public_facts.Link(_("None published yet"))])
        )
    else:
        starts, ends = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        text = _("%(date)s %(weekday)s %(start)s–%(end)s at %(studio)s (%(kind)s)") % {
            "date": f"{starts:%Y-%m-%d}",
            "weekday": RosterRule.Weekday(starts.weekday()).label,
            "start": f"{starts:%H:%M}",
            "end": f"{ends:%H:%M}",
            "studio": slot.studio.name,
            "kind": slot.get_kind_display(),
        }
        url = (
            reverse("schedule:studio", args=[slot.studio_id])
            + "?"
            + urlencode({"from": slot.date.isoformat()})
        )
        facts.append(public_facts.Fact("next_duty", _("Next duty"), [public_facts.Link(text, url)]))
    feed = reverse("schedule:rep_ics", args=[rep.pk])
    facts.append(
        public_facts.Fact(
            "duty_feed",
            _("Duty calendar"),
            [public_facts.Link(_("Subscribe (iCalendar)"), feed)],
            printed=False,
        )
    )
    return facts
