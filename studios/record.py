"""The studio sections of a representative's duty record (registered with ``reps.record``)."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from reps import record
from studios.models import OpinionReport, Reception, SlotAssignment, StudioAssignment


def _studios(rep, start, end) -> dict:
    assignments = (
        StudioAssignment.objects.filter(representative=rep, start__lte=end)
        .filter(Q(end__isnull=True) | Q(end__gte=start))
        .select_related("studio")
        .order_by("start")
    )
    return {"assignments": list(assignments)}


def _duties(rep, start, end) -> dict:
    duties = (
        SlotAssignment.objects.filter(representative=rep, slot__date__gte=start, slot__date__lte=end)
        .select_related("slot__studio", "substitute")
        .order_by("slot__starts_at", "id")
    )
    rows = list(duties)
    held = [d for d in rows if d.attendance != SlotAssignment.Attendance.PENDING]
    attended = sum(1 for d in held if d.attendance == SlotAssignment.Attendance.ATTENDED)
    return {
        "duties": rows,
        "attended": attended,
        "marked": len(held),
        "attendance_rate": round(100 * attended / len(held), 1) if held else None,
    }


def _receptions(rep, start, end) -> dict:
    receptions = (
        Reception.objects.active()
        .filter(representatives=rep, starts_at__date__gte=start, starts_at__date__lte=end)
        .select_related("studio")
        .order_by("starts_at", "id")
    )
    return {"receptions": list(receptions)}


def _opinions(rep, start, end) -> dict:
    reports = OpinionReport.objects.filter(
        representative=rep, month__gte=start.replace(day=1), month__lte=end
    )
    return {"opinions": list(reports.select_related("category").order_by("month", "id"))}


def register() -> None:
    record.register(
        record.Section("studios", _("Studios"), "studios/record/_studios.html", _studios, order=15)
    )
    record.register(
        record.Section("duties", _("Duties and attendance"), "studios/record/_duties.html", _duties, order=20)
    )
    record.register(
        record.Section(
            "receptions", _("Studio receptions"), "studios/record/_receptions.html", _receptions, order=30
        )
    )
    record.register(
        record.Section(
            "opinions", _("Public-opinion reports"), "studios/record/_opinions.html", _opinions, order=65
        )
    )
