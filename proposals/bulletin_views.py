"""The bulletin pages (定期通报, ``proposals.bulletins``): list, draft, edit, publish, print.

Who sees what (``Bulletin.objects.visible_to``): the county's liaison office (and users who see
everything) every bulletin of the county, drafts too, and only they draft, edit and publish
(``managed_by``); township staff and representatives of the county read its published ones.
Anything else answers 404.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liaison import idempotency
from proposals import bulletins
from proposals.bulletin_forms import BulletinEditForm, BulletinNewForm
from proposals.models import Bulletin, format_code
from proposals.querysets import bulletin_counties
from proposals.transitions import Status

PAGE_SIZE = 20
CHECKLIST_SIZE = 50  # the period's tickets offered as typical matters (the newest replied first)


def _visible(request, pk: int) -> Bulletin:
    return get_object_or_404(
        Bulletin.objects.visible_to(request.user).select_related("county"),
        pk=pk,
    )


def _managed(request, pk: int) -> Bulletin:
    return get_object_or_404(Bulletin.objects.managed_by(request.user).select_related("county"), pk=pk)


def _matters(bulletin: Bulletin) -> list[dict]:
    """The typical matters' snapshot, with the words for each status and the code as it is read
    aloud and printed everywhere else ("BK7M-Q2XD-9T")."""
    labels = dict(Status.choices)
    return [
        {
            **m,
            "status_label": labels.get(m.get("status"), m.get("status", "")),
            "display_code": format_code(m.get("tracking_code", "")),
        }
        for m in bulletin.typical_matters
    ]


def _context(request, bulletin: Bulletin) -> dict:
    return {
        "bulletin": bulletin,
        "figures": bulletin.figures,
        "matters": _matters(bulletin),
        "may_manage": not bulletin.is_published
        and Bulletin.objects.managed_by(request.user).filter(pk=bulletin.pk).exists(),
    }


@login_required
def bulletin_list(request):
    bulletins_shown = Bulletin.objects.visible_to(request.user).select_related("county")
    page = Paginator(bulletins_shown, PAGE_SIZE).get_page(request.GET.get("page"))
    may_draft = bulletin_counties(request.user).exists()
    return render(request, "proposals/bulletin_list.html", {"page": page, "may_draft": may_draft})


@login_required
def bulletin_new(request):
    """Choose a period; a POST drafts its bulletin, or opens it when it exists (twice: one draft)."""
    counties = bulletin_counties(request.user)
    if not counties.exists():
        raise Http404
    today = timezone.localdate()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    initial = {
        "county": counties.first(),
        "kind": Bulletin.Kind.MONTH,
        "year": last_month.year,
        "number": last_month.month,
    }
    form = BulletinNewForm(request.POST or None, counties=counties, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bulletin, created = bulletins.bulletin_draft(
                actor=request.user,
                county=data["county"],
                kind=data["kind"],
                year=data["year"],
                number=data["number"],
                now=timezone.now(),
            )
        except bulletins.BulletinError as exc:
            form.add_error(None, str(exc))
        else:
            if created:
                messages.success(request, _("The draft bulletin was made from the records."))
            else:
                messages.info(request, _("This period's bulletin exists already: here it is."))
            return redirect("bulletins:detail", pk=bulletin.pk)
    return render(request, "proposals/bulletin_new.html", {"form": form})


@login_required
def bulletin_detail(request, pk: int):
    bulletin = _visible(request, pk)
    return render(request, "proposals/bulletin_detail.html", _context(request, bulletin))


@login_required
def bulletin_print(request, pk: int):
    """The bulletin on an A4 page of its own, for printing (a draft is marked as such)."""
    bulletin = _visible(request, pk)
    context = {**_context(request, bulletin), "today": timezone.localdate()}
    return render(request, "proposals/bulletin_print.html", context)


@login_required
def bulletin_edit(request, pk: int):
    bulletin = _managed(request, pk)
    if bulletin.is_published:
        messages.error(request, _("This bulletin has been published and can no longer be changed."))
        return redirect("bulletins:detail", pk=pk)
    chosen = [m["tracking_code"] for m in bulletin.typical_matters]
    offered = list(
        bulletins.period_tickets(bulletin)
        .order_by("-replied_at", "-created_at")
        .values_list("tracking_code", "title")[:CHECKLIST_SIZE]
    )
    offered_codes = {code for code, _title in offered}
    choices = [(code, f"{format_code(code)} {title}") for code, title in offered]
    choices += [
        (m["tracking_code"], f"{format_code(m['tracking_code'])} {m['title']}")
        for m in bulletin.typical_matters
        if m["tracking_code"] not in offered_codes
    ]
    initial = {
        "commentary": bulletin.commentary,
        "matters": chosen,
        "version": bulletin.updated_at.isoformat(),
    }
    form = BulletinEditForm(request.POST or None, choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            bulletins.bulletin_edit(
                actor=request.user,
                bulletin=bulletin,
                commentary=form.cleaned_data["commentary"],
                codes=form.cleaned_data["all_codes"],
                now=timezone.now(),
                seen=form.cleaned_data["version"],
            )
        except bulletins.StaleEdit as exc:
            form.add_error(None, str(exc))
            form.renew_version(exc.current)
        except bulletins.BulletinError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The bulletin was saved."))
            return redirect("bulletins:detail", pk=pk)
    return render(request, "proposals/bulletin_edit.html", {"bulletin": bulletin, "form": form})


@login_required
@require_POST
def bulletin_refresh(request, pk: int):
    bulletin = _managed(request, pk)
    try:
        seen = parse_datetime(request.POST.get("seen", ""))  # the figures_at the page showed
    except ValueError:  # well formed but no such time: computed again, as without it
        seen = None
    try:
        bulletin = bulletins.bulletin_refresh(
            actor=request.user, bulletin=bulletin, now=timezone.now(), seen=seen
        )
    except bulletins.BulletinError as exc:
        messages.error(request, str(exc))
    else:
        if idempotency.replayed(bulletin):  # tapped twice: computed once
            messages.info(request, idempotency.ALREADY_SAVED)
        else:
            messages.success(request, _("The figures were computed again from the records."))
    return redirect("bulletins:detail", pk=pk)


@login_required
def bulletin_publish(request, pk: int):
    """GET: the confirmation page (publishing cannot be undone); POST: publish."""
    bulletin = _managed(request, pk)
    if request.method == "POST":
        try:
            bulletin = bulletins.bulletin_publish(actor=request.user, bulletin=bulletin, now=timezone.now())
        except bulletins.AlreadyPublished:  # a double tap or a second tab: published once, say so
            messages.info(request, idempotency.ALREADY_SAVED)
        except bulletins.BulletinError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Bulletin %(issue)s was published and its readers notified.")
                % {"issue": bulletin.issue_label},
            )
        return redirect("bulletins:detail", pk=pk)
    if bulletin.is_published:
        messages.info(request, _("This bulletin has been published and can no longer be changed."))
        return redirect("bulletins:detail", pk=pk)
    return render(request, "proposals/bulletin_publish.html", {"bulletin": bulletin})
