"""The duty record of a representative (履职档案, seed 004: "对党代表履职情况及时进行登记").

Sections are registered, like the duty quotas: this app adds mandates and groups, contacts and
pairings, visits, sittings-in and inspections, research reports, group reports, training, activity
funds and points; the studios app its studios, duties and attendance, receptions and
public-opinion reports; the proposals app the tickets raised with their outcome and rating. Each
section loads its rows for one rep and a date range with a query or two.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reps import funds
from reps.models import (
    ContactLink,
    DutyActivity,
    DutyReport,
    GroupReport,
    HomeVisit,
    Representative,
    ResearchReport,
)

# A loader returns the section's template context for one rep from ``start`` to ``end``.
Loader = Callable[[Representative, datetime.date, datetime.date], dict]


@dataclass(frozen=True)
class Section:
    key: str
    title: object
    template: str
    load: Loader
    order: int = 50


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> Section:
    _SECTIONS[section.key] = section
    return section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: s.order)


def term_span(rep: Representative, today: datetime.date) -> tuple[datetime.date, datetime.date] | None:
    """The current term of the rep: from the earliest start of the mandates running today to today
    (the last term that ended, when none runs)."""
    mandates = list(rep.mandates.all())
    running = [m for m in mandates if m.is_active_on(today)]
    if running:
        return min(m.term_start for m in running), today
    ended = [m for m in mandates if m.term_end < today]
    if not ended:
        return None
    last = max(ended, key=lambda m: m.term_end)
    return last.term_start, last.term_end


def _mandates(rep, start, end) -> dict:
    return {
        "mandates": [m for m in rep.mandates.all() if m.term_start <= end and m.term_end >= start],
        "groups": list(rep.memberships.select_related("group").order_by("group__name")),
    }


def _contacts(rep, start, end) -> dict:
    links = (
        ContactLink.objects.filter(representative=rep, since__lte=end)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=start))
        .select_related("contact__village")
        .order_by("-is_pairing", "contact__name")
    )
    return {"links": list(links)}


def _visits(rep, start, end) -> dict:
    visits = (
        HomeVisit.objects.active()
        .filter(representatives=rep, date__gte=start, date__lte=end)
        .prefetch_related("contacts")
        .order_by("date", "id")
    )
    return {"visits": list(visits)}


def _reports(rep, start, end) -> dict:
    reports = ResearchReport.objects.filter(
        representative=rep, submitted_on__gte=start, submitted_on__lte=end
    )
    return {"reports": list(reports.order_by("submitted_on", "id"))}


def _group_reports(rep, start, end) -> dict:
    """The written reports filed in the range by the groups the rep belongs to, leads or liaises."""
    reports = (
        GroupReport.objects.filter(submitted_on__gte=start, submitted_on__lte=end)
        .filter(Q(group__memberships__representative=rep) | Q(group__leader=rep) | Q(group__liaison=rep))
        .select_related("group", "submitted_by")
        .distinct()
        .order_by("submitted_on", "id")
    )
    return {"group_reports": list(reports)}


def _activities(rep, start, end) -> dict:
    found = DutyActivity.objects.filter(representative=rep, date__gte=start, date__lte=end)
    return {"activities": list(found.order_by("date", "id"))}


def _trainings(rep, start, end) -> dict:
    trainings = list(rep.trainings.filter(date__gte=start, date__lte=end).order_by("date", "id"))
    return {"trainings": trainings, "hours": sum((t.hours for t in trainings), Decimal(0))}


def _funds(rep, start, end) -> dict:
    return {"funds": funds.statement(rep, start=start, end=end, today=timezone.localdate())}


def _duty_reports(rep, start, end) -> dict:
    reports = DutyReport.objects.filter(representative=rep, year__gte=start.year, year__lte=end.year)
    return {"duty_reports": list(reports.order_by("year", "kind"))}


register(Section("mandates", _("Mandates and groups"), "reps/record/_mandates.html", _mandates, order=10))
register(Section("contacts", _("Contacts and pairings"), "reps/record/_contacts.html", _contacts, order=40))
register(Section("visits", _("Home visits"), "reps/record/_visits.html", _visits, order=45))
register(Section("research", _("Research reports"), "reps/record/_reports.html", _reports, order=70))
register(
    Section(
        "activities", _("Sitting in and inspections"), "reps/record/_activities.html", _activities, order=47
    )
)
register(Section("trainings", _("Training attended"), "reps/record/_trainings.html", _trainings, order=80))
register(Section("funds", _("Activity funds"), "reps/record/_funds.html", _funds, order=85))
register(
    Section("group_reports", _("Group reports"), "reps/record/_group_reports.html", _group_reports, order=75)
)
register(
    Section(
        "duty_reports", _("Duty reports (述职)"), "reps/record/_duty_reports.html", _duty_reports, order=76
    )
)
