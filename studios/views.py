"""Rosters for staff and studio liaison officers: generate, publish, change, mark attendance;
and a representative's own duties."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from liaison.forms import CleanInputMixin
from liaison.models import Region
from liaison.roles import STAFF_ROLES, Role
from reps.models import Representative
from studios import rosters as roster_generator
from studios import services
from studios.models import DutySlot, RosterPeriod, SlotAssignment, Studio, StudioAssignment
from studios.querysets import with_invited_units

PAGE_SIZE = 30


def _require_roster_role(user) -> None:
    scope = user.scope
    if not (scope.sees_all or scope.roles & (STAFF_ROLES | {Role.STUDIO_OFFICER})):
        raise PermissionDenied


class GenerateForm(CleanInputMixin, forms.Form):
    start = forms.DateField(
        label=gettext_lazy("from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=gettext_lazy("until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    township = forms.ModelChoiceField(
        label=gettext_lazy("township"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=gettext_lazy("All studios I manage"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = Region.objects.visible_to(user).exclude(level=Region.Level.VILLAGE)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end comes before the start."))
            elif (end - start).days > 366:
                self.add_error("end", _("Generate at most one year at a time."))
        return data


@login_required
def rosters(request):
    _require_roster_role(request.user)
    studios = (
        Studio.objects.visible_to(request.user)
        .active()
        .select_related("region")
        .annotate(
            n_reps=Count(
                "assignments",
                filter=Q(assignments__end__isnull=True) | Q(assignments__end__gte=timezone.localdate()),
                distinct=True,
            ),
        )
    )
    query = request.GET.get("q", "").strip()
    if query:
        studios = studios.filter(Q(name__icontains=query) | Q(region__name__icontains=query))
    page = Paginator(studios.order_by("region__path", "name"), PAGE_SIZE).get_page(request.GET.get("page"))
    periods = {}
    for period in RosterPeriod.objects.filter(studio__in=[s.pk for s in page]).order_by(
        "studio_id", "-start"
    ):
        periods.setdefault(period.studio_id, []).append(period)
    for studio in page:
        studio.recent_periods = periods.get(studio.pk, [])[:3]
    today = timezone.localdate()
    next_year = datetime.date(today.year + 1, 1, 1)
    form = GenerateForm(
        user=request.user, initial={"start": next_year, "end": next_year.replace(month=12, day=31)}
    )
    return render(request, "studios/rosters.html", {"page": page, "form": form, "query": query})


@login_required
@require_POST
def generate(request):
    _require_roster_role(request.user)
    form = GenerateForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "studios/rosters.html", {"page": None, "form": form, "query": ""}, status=400)
    studios = Studio.objects.visible_to(request.user)
    if form.cleaned_data["township"]:
        studios = studios.filter(region__path__startswith=form.cleaned_data["township"].path)
    report = roster_generator.generate(
        actor=request.user, studios=studios, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
    )
    return render(
        request,
        "studios/generate_report.html",
        {"report": report, "start": form.cleaned_data["start"], "end": form.cleaned_data["end"]},
    )


def _period_for(request, pk) -> RosterPeriod:
    _require_roster_role(request.user)
    return get_object_or_404(
        RosterPeriod.objects.visible_to(request.user).select_related("studio__region"), pk=pk
    )


@login_required
def period_detail(request, pk: int):
    period = _period_for(request, pk)
    slots = period.slots.prefetch_related(
        Prefetch(
            "assignments", queryset=SlotAssignment.objects.select_related("representative", "substitute")
        )
    ).order_by("starts_at")
    month = request.GET.get("month", "")
    today = timezone.localdate()
    if "month" not in request.GET and period.start <= today <= period.end:
        month = str(today.month)  # a year's roster opens on this month; "all months" shows the rest
    if month.isdigit() and 1 <= int(month) <= 12:
        slots = slots.filter(date__month=int(month))
    page = Paginator(slots, 60).get_page(request.GET.get("page"))
    page.object_list = with_invited_units(page.object_list)
    return render(
        request,
        "studios/period.html",
        {
            "period": period,
            "page": page,
            "month": month,
            "months": range(1, 13),
            "query": f"month={month}" if month else "",
            "Attendance": SlotAssignment.Attendance,
        },
    )


@login_required
@require_POST
def period_publish(request, pk: int):
    period = _period_for(request, pk)
    try:
        services.period_publish(actor=request.user, period=period)
    except (ValidationError, services.Conflict) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, _("The roster was published."))
    return redirect("studios:period", pk=period.pk)


class SlotForm(CleanInputMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    date = forms.DateField(
        label=gettext_lazy("date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label=gettext_lazy("from"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_time = forms.TimeField(
        label=gettext_lazy("until"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    representatives = forms.ModelMultipleChoiceField(
        label=gettext_lazy("representatives"),
        queryset=Representative.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    theme = forms.CharField(label=gettext_lazy("theme"), required=False, max_length=200)
    reason = forms.CharField(
        label=gettext_lazy("reason for the change"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, reps, published: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["representatives"].queryset = reps
        self.fields["reason"].required = published


@login_required
def slot_edit(request, pk: int):
    _require_roster_role(request.user)
    slot = get_object_or_404(
        DutySlot.objects.visible_to(request.user).select_related("period", "studio__region"), pk=pk
    )
    if not services.may_manage_studio(request.user, slot.studio):
        raise PermissionDenied
    published = slot.period.status == RosterPeriod.Status.PUBLISHED
    reps = (
        Representative.objects.filter(
            Q(studio_assignments__studio=slot.studio) | Q(slot_assignments__slot=slot)
        )
        .distinct()
        .order_by("name_initials")
    )
    local_start, local_end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    form = SlotForm(
        request.POST or None,
        reps=reps,
        published=published,
        initial={
            "version": slot.version,
            "date": local_start.date(),
            "start_time": local_start.time(),
            "end_time": local_end.time(),
            "representatives": list(slot.representatives.all()),
            "theme": slot.theme,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        try:
            services.slot_change(
                actor=request.user,
                slot=slot,
                expected_version=data["version"],
                representatives=list(data["representatives"]),
                starts_at=timezone.make_aware(
                    datetime.datetime.combine(data["date"], data["start_time"]), tz
                ),
                ends_at=timezone.make_aware(datetime.datetime.combine(data["date"], data["end_time"]), tz),
                theme=data["theme"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            for field, errors in (
                exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]
            ):
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        except services.Conflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The duty was changed."))
            return redirect("studios:period", pk=slot.period_id)
    return render(
        request,
        "studios/slot_form.html",
        {
            "form": form,
            "slot": slot,
            "published": published,
            "changes": slot.changes.select_related("changed_by"),
        },
    )


@login_required
@require_POST
def attendance(request, pk: int):
    assignment = get_object_or_404(
        SlotAssignment.objects.select_related("slot__studio__region", "slot__period", "representative"),
        pk=pk,
        slot__in=DutySlot.objects.visible_to(request.user),
    )
    substitute = None
    if request.POST.get("substitute", "").isdigit():
        substitute = get_object_or_404(
            Representative.objects.active(timezone.localdate()), pk=request.POST["substitute"]
        )
    try:
        services.attendance_mark(
            actor=request.user,
            assignment=assignment,
            expected=request.POST.get("expected", ""),
            attendance=request.POST.get("attendance", ""),
            substitute=substitute,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except services.Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Attendance saved."))
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("studios:period", pk=assignment.slot.period_id)


@login_required
def my_duties(request):
    rep = Representative.objects.filter(user=request.user).first()
    if rep is None or not request.user.scope.has_role(Role.REPRESENTATIVE):
        raise PermissionDenied
    now = timezone.now()
    assignments = SlotAssignment.objects.filter(
        representative=rep, slot__period__status=RosterPeriod.Status.PUBLISHED
    ).select_related("slot__studio", "substitute")
    upcoming = assignments.filter(slot__ends_at__gte=now).order_by("slot__starts_at")[:20]
    past = assignments.filter(slot__ends_at__lt=now).order_by("-slot__starts_at")[:20]
    return render(
        request,
        "studios/my_duties.html",
        {"rep": rep, "upcoming": upcoming, "past": past, "Attendance": SlotAssignment.Attendance},
    )


@login_required
def today(request):
    """Today's published duties at the studios the user manages, to mark attendance on a phone.

    One tap per rep (attended / absent), or a stand-in chosen from the studio's other reps. In
    constant queries: the slots, their assignments, and the reps each studio could call on.
    """
    _require_roster_role(request.user)
    day = timezone.localdate()
    studios = Studio.objects.visible_to(request.user)
    slots = (
        DutySlot.objects.published()
        .filter(studio__in=studios, date=day)
        .select_related("studio")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=SlotAssignment.objects.select_related("representative", "substitute").order_by("pk"),
            )
        )
        .order_by("starts_at", "studio__name", "pk")
    )
    page = Paginator(slots, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = with_invited_units(page.object_list)
    serving: dict[int, list[Representative]] = {}
    for assignment in (
        StudioAssignment.objects.filter(
            studio__in={slot.studio_id for slot in page},
            start__lte=day,
            representative__in=Representative.objects.active(day),
        )
        .filter(Q(end__isnull=True) | Q(end__gte=day))
        .select_related("representative")
        .order_by("representative__name_initials", "representative_id")
    ):
        serving.setdefault(assignment.studio_id, []).append(assignment.representative)
    for slot in page:
        on_slot = {a.representative_id for a in slot.assignments.all()}
        slot.stand_ins = [rep for rep in serving.get(slot.studio_id, []) if rep.pk not in on_slot]
    return render(
        request,
        "studios/today.html",
        {"page": page, "day": day, "Attendance": SlotAssignment.Attendance},
    )
