"""Pages for representatives (their own duties, contacts and visits) and for the staff and
committee members who follow them (duty status, contact network)."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Min, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import idempotency
from liaison.exports import xlsx_response
from liaison.models import Region
from liaison.regions import county_id_of_path
from liaison.roles import STAFF_ROLES, Role
from reps import duties
from reps.forms import ContactForm, DutyActivityForm, MatterFormSet, ResearchReportForm, VisitForm
from reps.models import CommitteeLink, Contact, ContactLink, Group, HomeVisit, Representative, ResearchReport
from reps.services import (
    DuplicatePerson,
    MatterInput,
    contact_add_for_rep,
    contact_update,
    duty_activity_record,
    research_report_submit,
    visit_record,
)

PAGE_SIZE = 50
STATUS_ORDER = {"behind": 0, "due": 1, "ok": 2, "na": 3}


def today() -> datetime.date:
    return timezone.localdate()


def own_representative(request) -> Representative:
    """The signed-in user's representative record; 403 for anyone who is not a rep."""
    rep = Representative.objects.filter(user=request.user).select_related("region").first()
    if rep is None or not request.user.scope.has_role(Role.REPRESENTATIVE):
        raise PermissionDenied
    return rep


def may_follow_reps(user) -> bool:
    scope = user.scope
    return scope.sees_all or bool(scope.roles & (STAFF_ROLES | {Role.COMMITTEE_MEMBER}))


# --- a representative's own pages ---------------------------------------------------------


@login_required
def me(request):
    rep = own_representative(request)
    quotas, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=today())
    visits = (
        HomeVisit.objects.active()
        .filter(representatives=rep)
        .prefetch_related("contacts")
        .annotate(n_matters=Count("matters"))
        .order_by("-date", "-id")[:10]
    )
    return render(
        request,
        "reps/me.html",
        {
            "rep": rep,
            "quotas": quotas,
            "row": rows[0] if rows else None,
            "visits": visits,
            "mandates": rep.mandates.all(),
            "led_groups": Group.objects.filter(Q(leader=rep) | Q(liaison=rep)).order_by("name"),
        },
    )


@login_required
def visit_new(request):
    rep = own_representative(request)
    contacts = Contact.objects.filter(links__representative=rep).select_related("village").order_by("name")
    form = VisitForm(
        request.POST or None,
        request.FILES or None,
        contacts=contacts,
        initial={"date": today(), "kind": HomeVisit.Kind.VISIT},
    )
    matters = MatterFormSet(request.POST or None, prefix="matters")
    if request.method == "POST" and all([form.is_valid(), matters.is_valid()]):
        try:
            visit = visit_record(
                actor=request.user,
                representative=rep,
                date=form.cleaned_data["date"],
                kind=form.cleaned_data["kind"],
                contacts=list(form.cleaned_data["contacts"]),
                notes=form.cleaned_data["notes"],
                matters=[MatterInput(**m.matter_fields()) for m in matters if m.cleaned_data.get("content")],
                photos=form.cleaned_data["photos"],
                submission_token=form.cleaned_data["token"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            form.renew_token()
        else:
            if idempotency.replayed(visit):  # a double tap or a resend: the same result page
                messages.info(request, idempotency.ALREADY_SAVED)
            else:
                messages.success(request, _("The visit was recorded."))
            return redirect("reps:me")
    return render(
        request,
        "reps/visit_form.html",
        {"form": form, "matters": matters, "rep": rep, "has_contacts": contacts.exists()},
    )


@login_required
def contacts(request):
    rep = own_representative(request)
    links = (
        ContactLink.objects.filter(representative=rep)
        .select_related("contact__village")
        .annotate(
            n_visits=Count(
                "contact__visits",
                filter=Q(
                    contact__visits__representatives=rep,
                    contact__visits__date__year=today().year,
                    contact__visits__withdrawn_at__isnull=True,
                ),
            )
        )
        .order_by("contact__name")
    )
    query = request.GET.get("q", "").strip()
    if query:
        links = links.filter(Q(contact__name__icontains=query) | Q(contact__phone__contains=query))
    page = Paginator(links, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reps/contacts.html",
        {
            "rep": rep,
            "page": page,
            "query": query,
            "query_string": urlencode({"q": query}) if query else "",
        },
    )


def _rep_villages(rep: Representative):
    return Region.objects.filter(level=Region.Level.VILLAGE, path__startswith=rep.region.path)


@login_required
def contact_add(request):
    rep = own_representative(request)
    form = ContactForm(request.POST or None, villages=_rep_villages(rep))
    if request.method == "POST" and form.is_valid():
        try:
            contact_add_for_rep(
                actor=request.user,
                representative=rep,
                contact=form.save(commit=False),
                is_pairing=form.cleaned_data["is_pairing"],
            )
        except DuplicatePerson as exc:
            form.add_error(None, exc.messages[0])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The contact was added."))
            return redirect("reps:contacts")
    return render(request, "reps/contact_form.html", {"form": form, "rep": rep})


@login_required
def contact_edit(request, pk: int):
    rep = own_representative(request)
    link = get_object_or_404(ContactLink.objects.select_related("contact"), representative=rep, contact_id=pk)
    form = ContactForm(
        request.POST or None,
        instance=link.contact,
        villages=_rep_villages(rep),
        initial={"is_pairing": link.is_pairing},
    )
    if request.method == "POST" and form.is_valid():
        contact_update(
            actor=request.user,
            contact=form.save(commit=False),
            fields=[f for f in form.changed_data if f != "is_pairing"],
            is_pairing=form.cleaned_data["is_pairing"],
            representative=rep,
        )
        messages.success(request, _("The contact was saved."))
        return redirect("reps:contacts")
    return render(request, "reps/contact_form.html", {"form": form, "rep": rep, "editing": link.contact})


# --- research reports: a rep hands them in, staff of their region read them ----------------


@login_required
def report_new(request):
    """A rep hands in a research report: one service call, safe to post twice (the form's token)."""
    rep = own_representative(request)
    form = ResearchReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = research_report_submit(
                actor=request.user,
                representative=rep,
                title=form.cleaned_data["title"],
                summary=form.cleaned_data["summary"],
                upload=form.cleaned_data["file"],
                submission_token=form.cleaned_data["token"],
                today=today(),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.error_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc)
            form.renew_token()  # the old one may be another rep's: a fresh form to send again
        else:
            if idempotency.replayed(report):  # a double tap or a resend: the same result page
                messages.info(request, idempotency.ALREADY_SAVED)
            else:
                messages.success(request, _("Your research report was handed in."))
            return redirect("reps:reports")
    return render(request, "reps/report_form.html", {"form": form, "rep": rep})


@login_required
def activity_new(request):
    """A rep records sitting in on a meeting (列席) or an inspection (视察); safe to post twice."""
    rep = own_representative(request)
    form = DutyActivityForm(request.POST or None, initial={"date": today(), "kind": "sit_in"})
    if request.method == "POST" and form.is_valid():
        try:
            activity = duty_activity_record(
                actor=request.user,
                representative=rep,
                kind=form.cleaned_data["kind"],
                date=form.cleaned_data["date"],
                title=form.cleaned_data["title"],
                notes=form.cleaned_data["notes"],
                submission_token=form.cleaned_data["token"],
                today=today(),
            )
        except ValidationError as exc:
            for name, errors in exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc)]:
                form.add_error(name if name in form.fields else None, errors)
            form.renew_token()
        else:
            if idempotency.replayed(activity):
                messages.info(request, idempotency.ALREADY_SAVED)
            else:
                messages.success(request, _("Recorded: %(what)s.") % {"what": activity.get_kind_display()})
            return redirect("reps:me")
    return render(request, "reps/activity_form.html", {"form": form, "rep": rep})


@login_required
def reports(request):
    """Research reports: a rep's own; staff those of their region's reps. Search and pages."""
    scope = request.user.scope
    is_rep = scope.has_role(Role.REPRESENTATIVE)
    if not (is_rep or may_follow_reps(request.user)):
        raise PermissionDenied
    found = ResearchReport.objects.visible_to(request.user).select_related("representative__region")
    query = request.GET.get("q", "").strip()
    if query:
        found = found.filter(
            Q(title__icontains=query)
            | Q(representative__name__icontains=query)
            | Q(representative__name_initials__startswith=query.lower())
        )
    page = Paginator(found.order_by("-submitted_on", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reps/reports.html",
        {
            "page": page,
            "query": query,
            "query_string": urlencode({"q": query}) if query else "",
            "is_rep": is_rep,
        },
    )


@login_required
def report_file(request, pk: int):
    """Send a report's file, only to those who may see the report, as the type it was stored as."""
    report = get_object_or_404(ResearchReport.objects.visible_to(request.user).exclude(file=""), pk=pk)
    try:
        handle = report.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type=report.content_type or "application/octet-stream",
        as_attachment=not report.content_type.startswith("image/"),
        filename=report.file_name or report.file.name.rsplit("/", 1)[-1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- following representatives: duty status and network ----------------------------------


def _followed_reps(request, year: int | None = None):
    """The reps the user follows who served at some time in the year (this year: up to today)."""
    if not may_follow_reps(request.user):
        raise PermissionDenied
    until = duties.reference_day(today(), year)
    return Representative.objects.visible_to(request.user).serving_between(
        until.replace(month=1, day=1), until
    )


def _duty_filters(request, reps):
    """Apply the township, group and search filters from the query string."""
    townships = (
        Region.objects.visible_to(request.user).townships()
        if request.user.scope.region_paths or request.user.is_superuser
        else Region.objects.none()
    )
    groups = Group.objects.visible_to(request.user).order_by("name")
    chosen = {
        "township": request.GET.get("township", ""),
        "group": request.GET.get("group", ""),
        "q": request.GET.get("q", "").strip(),
        "status": request.GET.get("status", ""),
    }
    if chosen["township"].isdigit():
        township = get_object_or_404(townships, pk=chosen["township"])
        reps = reps.filter(region__path__startswith=township.path)
    if chosen["group"].isdigit():
        reps = reps.filter(memberships__group=get_object_or_404(groups, pk=chosen["group"]))
    reps = reps.search(chosen["q"])
    return reps, chosen, townships, groups


def _year(request) -> int | None:
    raw = request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= today().year:
        return int(raw)
    return None


def _sorted_rows(rows, sort: str, quotas):
    keys = {q.key for q in quotas}
    key = sort.lstrip("-")
    if key in keys:
        rows.sort(
            key=lambda r: (STATUS_ORDER[r.cells[key].status], r.cells[key].value),
            reverse=sort.startswith("-"),
        )
    elif key == "status":
        rows.sort(key=lambda r: STATUS_ORDER[r.worst], reverse=sort.startswith("-"))
    else:
        rows.sort(key=lambda r: (r.rep.name_initials, r.rep.name), reverse=sort.startswith("-"))
    return rows


@login_required
def duty(request):
    year = _year(request)
    reps, chosen, townships, groups = _duty_filters(request, _followed_reps(request, year))
    quotas, rows = duties.standing(reps, today=today(), year=year)
    if chosen["status"] in STATUS_ORDER:
        rows = [r for r in rows if r.worst == chosen["status"]]
    sort = request.GET.get("sort", "name")
    rows = _sorted_rows(rows, sort, quotas)
    if request.GET.get("format") == "xlsx":
        return _duty_xlsx(quotas, rows)
    counts = {status: sum(1 for r in rows if r.worst == status) for status in ("behind", "due", "ok")}
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reps/duty.html",
        {
            "quotas": quotas,
            "page": page,
            "chosen": chosen,
            "townships": townships,
            "groups": groups,
            "sort": sort,
            "counts": counts,
            "year": year or today().year,
            "query": query.urlencode(),
            "years": range(today().year, today().year - 5, -1),
        },
    )


def _duty_xlsx(quotas, rows) -> HttpResponse:
    header = [_("full name"), _("township"), *[str(q.label) for q in quotas], _("overall")]
    labels = {"ok": _("met"), "due": _("on track"), "behind": _("behind"), "na": "—"}
    body = [
        [
            row.rep.name,
            row.rep.region.name,
            *[f"{row.cells[q.key].label} {labels[row.cells[q.key].status]}" for q in quotas],
            labels[row.worst],
        ]
        for row in rows
    ]
    return xlsx_response(_("duty status"), header, body, filename=f"{_('duty status')}.xlsx")


@login_required
def network(request):
    reps = _followed_reps(request).active(today())
    contacts = Contact.objects.visible_to(request.user)
    if not request.user.scope.region_paths and not request.user.is_superuser:
        contacts = contacts.filter(links__representative__in=reps).distinct()
    links = CommitteeLink.objects.visible_to(request.user).filter(representative__in=reps)
    tiers = {
        "members": links.values("member").distinct().count(),
        "reps": reps.count(),
        "party_members": contacts.filter(kind=Contact.Kind.PARTY_MEMBER).count(),
        "residents": contacts.filter(kind=Contact.Kind.RESIDENT).count(),
    }
    quotas, rows = duties.standing(reps, today=today())
    short = [r for r in rows if r.cells["contacts"].status == "behind"]
    unpaired = [
        r for r in rows if "behind" in (r.cells["pairing_poor"].status, r.cells["pairing_difficult"].status)
    ]
    members = list(
        links.values("member", "member__name", "member__username")
        .annotate(n=Count("representative"), path=Min("representative__region__path"))
        .order_by("member__name")
    )
    # Seed 000: each committee member is linked to a number of reps within the county's range.
    policies = duties.policies_of(county_id_of_path(m["path"]) for m in members)
    for m in members:
        policy = duties.policy_in_force(county_id_of_path(m["path"]), today(), policies)
        m["min"], m["max"] = policy.reps_per_committee_member_min, policy.reps_per_committee_member_max
        m["outlier"] = not m["min"] <= m["n"] <= m["max"]
    member_id = request.GET.get("member", "")
    drill = None
    if member_id.isdigit():
        drill_reps = reps.filter(committee_links__member_id=member_id).annotate(
            n_contacts=Count("contact_links", distinct=True)
        )
        if not drill_reps.exists():
            raise Http404
        drill = drill_reps
    return render(
        request,
        "reps/network.html",
        {
            "tiers": tiers,
            "short": short,
            "unpaired": unpaired,
            "members": members,
            "drill": drill,
            "member_id": member_id,
        },
    )
