"""Reception records on a phone (from a duty or ad hoc), their list and detail; and the
monthly public-opinion reports of representatives."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from dateutil.relativedelta import relativedelta
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liaison import idempotency
from liaison.forms import CleanInputMixin, NameAndPhoneForm
from liaison.idempotency import SubmissionTokenMixin
from liaison.models import Category
from liaison.roles import STAFF_ROLES, Role
from reps.forms import MatterForm, MultipleFileField
from reps.models import Representative
from studios.models import (
    DutySlot,
    MeetingKind,
    OpinionReport,
    Reception,
    ReceptionMatter,
    SlotAssignment,
    Studio,
)
from studios.receptions import (
    MatterInput,
    VisitorInput,
    eligible_representatives,
    opinion_report_submit,
    own_representative,
    reception_record,
    recordable_slots,
    recordable_studios,
)
from studios.services import may_manage_studio
from studios.todo import awaiting_record

PAGE_SIZE = 30
RECORDER_ROLES = STAFF_ROLES | {Role.STUDIO_OFFICER, Role.REPRESENTATIVE}
BOOK_ROLES = STAFF_ROLES | {Role.STUDIO_OFFICER}  # who keeps the registers (studios.book_views)
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _require_recorder(user) -> None:
    scope = user.scope
    if not (scope.sees_all or scope.roles & RECORDER_ROLES):
        raise PermissionDenied


# --- forms ---------------------------------------------------------------------------------


class ReceptionForm(CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """The record card. Visitors and matters come as formsets beside it; the token makes a second
    post of the same card find the record the first one made (``liaison.idempotency``)."""

    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=MeetingKind.choices)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("time"),
        help_text=gettext_lazy("Beijing time"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    place = forms.CharField(label=gettext_lazy("place"), max_length=200, required=False)
    representatives = forms.ModelMultipleChoiceField(
        label=gettext_lazy("representatives present"),
        queryset=Representative.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    people_received = forms.IntegerField(
        label=gettext_lazy("people received"),
        min_value=1,
        max_value=100000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    notes = forms.CharField(
        label=gettext_lazy("notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    photos = MultipleFileField(label=gettext_lazy("photos"), required=False)

    def __init__(self, *args, reps, own_rep: Representative | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["representatives"].queryset = reps
        # A representative (not the studio's officer or staff) records only what they attended.
        self.own_rep = own_rep

    def clean(self):
        data = super().clean()
        chosen = data.get("representatives")
        if self.own_rep is not None and chosen is not None and self.own_rep not in chosen:
            self.add_error(
                "representatives",
                _("Tick yourself: you may record only a reception you were present at."),
            )
        return data


class VisitorForm(NameAndPhoneForm):
    name = forms.CharField(label=gettext_lazy("visitor's name"), max_length=32, required=False)


class ReceptionMatterForm(MatterForm):
    """The visit's matter form (``reps.forms.MatterForm``): one rule, one look for both."""

    def as_input(self) -> MatterInput:
        return MatterInput(**self.matter_fields())


VisitorFormSet = forms.formset_factory(VisitorForm, extra=1, max_num=20, validate_max=True)
ReceptionMatterFormSet = forms.formset_factory(ReceptionMatterForm, extra=1, max_num=20, validate_max=True)


class OpinionForm(CleanInputMixin, forms.Form):
    representative = forms.ModelChoiceField(
        label=gettext_lazy("representative"), queryset=Representative.objects.none()
    )
    month = forms.DateField(
        label=gettext_lazy("month"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("category"), queryset=Category.objects.filter(is_active=True)
    )
    content = forms.CharField(
        label=gettext_lazy("what was heard"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )

    def __init__(self, *args, reps=None, **kwargs):
        super().__init__(*args, **kwargs)
        if reps is None:  # a representative reports for themself
            del self.fields["representative"]
        else:
            self.fields["representative"].queryset = reps


# --- recording a reception -----------------------------------------------------------------


def _present_at(slot: DutySlot) -> list[int]:
    """The reps who were at the duty: those on it, or who stood in, unless marked absent."""
    present = []
    for a in slot.assignments.all():
        if a.attendance == SlotAssignment.Attendance.SUBSTITUTED and a.substitute_id:
            present.append(a.substitute_id)
        elif a.attendance != SlotAssignment.Attendance.ABSENT:
            present.append(a.representative_id)
    return present


def _attach_errors(exc: ValidationError, form, visitors, matters) -> None:
    """Show a service's refusal next to the field it concerns (or above the form)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        if field == "visitors":
            visitors._non_form_errors = visitors.error_class([*visitors.non_form_errors(), *errors])
        elif field == "matters":
            matters._non_form_errors = matters.error_class([*matters.non_form_errors(), *errors])
        else:
            form.add_error(field if field in form.fields else None, errors)


def _record(request, *, studio: Studio, slot: DutySlot | None = None):
    user = request.user
    on = timezone.localdate(slot.starts_at) if slot else timezone.localdate()
    manager = may_manage_studio(user, studio)
    own_rep = None if manager else own_representative(user)
    if not manager and own_rep is None:
        raise PermissionDenied
    reps = eligible_representatives(studio, on=on, slot=slot)
    if slot is not None:
        present = _present_at(slot)
        initial = {"kind": slot.kind, "starts_at": slot.starts_at, "representatives": present}
    else:
        now = timezone.localtime().replace(second=0, microsecond=0)
        initial = {"kind": MeetingKind.APPOINTED, "starts_at": now}
        if own_rep is not None:
            initial["representatives"] = [own_rep.pk]
    initial["place"] = studio.address
    data = request.POST if request.method == "POST" else None
    form = ReceptionForm(data, request.FILES or None, reps=reps, own_rep=own_rep, initial=initial)
    visitors = VisitorFormSet(data, prefix="visitors")
    matters = ReceptionMatterFormSet(data, prefix="matters")
    if data is not None:
        valid = [form.is_valid(), visitors.is_valid(), matters.is_valid()]  # all, to show every error
        if all(valid):
            try:
                reception = reception_record(
                    actor=user,
                    studio=studio,
                    slot=slot,
                    kind=form.cleaned_data["kind"],
                    starts_at=form.cleaned_data["starts_at"],
                    place=form.cleaned_data["place"],
                    representatives=list(form.cleaned_data["representatives"]),
                    people_received=form.cleaned_data["people_received"],
                    notes=form.cleaned_data["notes"],
                    visitors=[
                        VisitorInput(name=v["name"], phone=v["phone"])
                        for v in visitors.cleaned_data
                        if v and (v.get("name") or v.get("phone"))
                    ],
                    matters=[m.as_input() for m in matters if m.has_changed() and m.cleaned_data],
                    photos=form.cleaned_data["photos"],
                    submission_token=form.cleaned_data["token"],
                )
            except ValidationError as exc:
                _attach_errors(exc, form, visitors, matters)
                form.renew_token()
            else:
                if idempotency.replayed(reception):  # a double tap or a resend: the same result page
                    messages.info(request, idempotency.ALREADY_SAVED)
                else:
                    messages.success(request, _("The reception was recorded."))
                return redirect("studios:reception", pk=reception.pk)
    return render(
        request,
        "studios/reception_form.html",
        {"form": form, "visitors": visitors, "matters": matters, "studio": studio, "slot": slot},
    )


@login_required
def reception_new(request):
    """An ad hoc reception (e.g. an appointed meeting): first the studio, then the card."""
    _require_recorder(request.user)
    studios = recordable_studios(request.user).order_by("region__path", "name")
    chosen = request.GET.get("studio", "")
    if chosen.isdigit():
        return _record(request, studio=get_object_or_404(studios, pk=chosen))
    options = list(studios[:51])
    if len(options) == 1:
        return _record(request, studio=options[0])
    return render(
        request, "studios/reception_choose.html", {"studios": options[:50], "more": len(options) > 50}
    )


@login_required
def reception_from_slot(request, pk: int):
    """The card of a duty, prefilled with its studio, kind, time and reps."""
    _require_recorder(request.user)
    slot = get_object_or_404(
        recordable_slots(request.user).prefetch_related(
            Prefetch("assignments", queryset=SlotAssignment.objects.select_related("representative"))
        ),
        pk=pk,
    )
    existing = Reception.objects.active().filter(slot=slot).first()
    if existing is not None and idempotency.resent(request, existing):
        messages.info(request, idempotency.ALREADY_SAVED)  # the card sent twice: its record
        return redirect("studios:reception", pk=existing.pk)
    if existing is not None:
        visible = Reception.objects.visible_to(request.user).filter(pk=existing.pk).exists()
        return render(
            request,
            "studios/reception_exists.html",
            {"slot": slot, "existing": existing if visible else None},
        )
    return _record(request, studio=slot.studio, slot=slot)


# --- reading receptions --------------------------------------------------------------------


def _month_range(value: str) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The local start of the month ``YYYY-MM`` and of the next one, or None if malformed."""
    try:
        first = datetime.datetime.strptime(value, "%Y-%m")  # noqa: DTZ007 - made aware below
    except ValueError:
        return None
    following = first + relativedelta(months=1)
    tz = timezone.get_current_timezone()
    return timezone.make_aware(first, tz), timezone.make_aware(following, tz)


def _search(receptions, text: str):
    if not text:
        return receptions
    through = Reception.representatives.through
    return receptions.filter(
        Q(place__icontains=text)
        | Q(notes__icontains=text)
        | Q(studio__name__icontains=text)
        | Q(Exists(ReceptionMatter.objects.filter(reception=OuterRef("pk"), content__icontains=text)))
        | Q(Exists(through.objects.filter(reception=OuterRef("pk"), representative__name__icontains=text)))
    )


@login_required
def reception_list(request):
    user = request.user
    _require_recorder(user)
    visible = Reception.objects.active().visible_to(user)  # withdrawn ones: in the admin, marked
    studios = Studio.objects.filter(pk__in=visible.values("studio_id")).order_by("region__path", "name")
    chosen = {
        "q": request.GET.get("q", "").strip(),
        "studio": request.GET.get("studio", ""),
        "month": request.GET.get("month", ""),
    }
    receptions = visible
    if chosen["studio"].isdigit():
        receptions = receptions.filter(studio=get_object_or_404(studios, pk=chosen["studio"]))
    months = _month_range(chosen["month"]) if chosen["month"] else None
    if months:
        receptions = receptions.filter(starts_at__gte=months[0], starts_at__lt=months[1])
    receptions = (
        _search(receptions, chosen["q"])
        .select_related("studio", "township")
        .prefetch_related("representatives")
        .annotate(
            n_matters=Count("matters", distinct=True),
            n_tickets=Count("matters", filter=Q(matters__for_ticket=True), distinct=True),
        )
        .order_by("-starts_at", "-id")
    )
    page = Paginator(receptions, PAGE_SIZE).get_page(request.GET.get("page"))
    awaiting = awaiting_record(user, timezone.now()).select_related("studio").order_by("-starts_at")[:5]
    return render(
        request,
        "studios/reception_list.html",
        {
            "page": page,
            "studios": studios,
            "chosen": chosen,
            "awaiting": awaiting,
            "may_see_book": user.scope.sees_all or bool(user.scope.roles & BOOK_ROLES),
            "query": urlencode({k: v for k, v in chosen.items() if v}),
        },
    )


@login_required
def reception_detail(request, pk: int):
    reception = get_object_or_404(
        Reception.objects.visible_to(request.user)
        .select_related("studio", "township", "slot", "recorded_by", "withdrawn_by")
        .prefetch_related("representatives", "matters", "visitors", "photos"),
        pk=pk,
    )
    return render(request, "studios/reception_detail.html", {"reception": reception})


# --- public-opinion reports ----------------------------------------------------------------


@login_required
def opinions(request):
    """A rep's own monthly reports and the form to add one; staff see (and enter) their scope's."""
    user = request.user
    rep = own_representative(user)
    scope = user.scope
    is_staff = scope.sees_all or bool(scope.roles & STAFF_ROLES)
    if rep is None and not is_staff:
        raise PermissionDenied
    today = timezone.localdate()
    staff_reps = None
    if rep is None:
        staff_reps = Representative.objects.visible_to(user).active(today).order_by("name_initials", "name")
    data = request.POST if request.method == "POST" else None
    form = OpinionForm(data, reps=staff_reps, initial={"month": today.replace(day=1)})
    if data is not None and form.is_valid():
        try:
            opinion_report_submit(
                actor=user,
                representative=form.cleaned_data.get("representative") or rep,
                month=form.cleaned_data["month"],
                category=form.cleaned_data["category"],
                content=form.cleaned_data["content"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("The report was submitted."))
            return redirect("studios:opinions")
    reports = OpinionReport.objects.visible_to(user).select_related("representative__region", "category")
    chosen = {
        "month": request.GET.get("month", ""),
        "category": request.GET.get("category", ""),
        "q": request.GET.get("q", "").strip(),
    }
    try:
        month = datetime.datetime.strptime(chosen["month"], "%Y-%m").date() if chosen["month"] else None  # noqa: DTZ007
    except ValueError:
        month = None
    if month:
        reports = reports.filter(month=month)
    categories = [(str(pk), name) for pk, name in Category.objects.values_list("pk", "name")]
    if chosen["category"] in dict(categories):
        reports = reports.filter(category_id=chosen["category"])
    if chosen["q"] and rep is None:
        reports = reports.filter(representative__name__icontains=chosen["q"])
    page = Paginator(reports.order_by("-month", "-submitted_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    reported_this_month = (
        rep is not None
        and OpinionReport.objects.filter(representative=rep, month=today.replace(day=1)).exists()
    )
    return render(
        request,
        "studios/opinion_list.html",
        {
            "form": form,
            "rep": rep,
            "page": page,
            "chosen": chosen,
            "categories": categories,
            "reported_this_month": reported_this_month,
            "query": urlencode({k: v for k, v in chosen.items() if v}),
        },
    )
