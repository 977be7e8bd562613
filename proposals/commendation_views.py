"""Annual commendations: the liaison office's round page (/commendations/round/) and the public
page of the published lists (/commendations/, no login). See ``proposals.commendations``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liaison.models import Region
from liaison.roles import Role
from proposals import commendations
from proposals.models import CommendationList, CommendationRound, Nominee
from reps.views import today


def _county(request) -> Region:
    """The county of the user's liaison office (a superuser may choose with ``?county=``)."""
    scope = request.user.scope
    counties = Region.objects.filter(level=Region.Level.COUNTY).order_by("path")
    if not scope.sees_all:
        paths = scope.anchor_paths.get(Role.LIAISON_OFFICE, ())
        if not paths:
            raise PermissionDenied
        counties = counties.filter(path__in=paths)
    raw = request.POST.get("county") or request.GET.get("county", "")
    county = get_object_or_404(counties, pk=raw) if raw.isdigit() else counties.first()
    if county is None:
        raise Http404
    return county


def _year(request) -> int:
    raw = request.POST.get("year") or request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= today().year:
        return int(raw)
    return today().year - 1


def _back(round_: CommendationRound) -> str:
    return f"{reverse('commendations:round')}?year={round_.year}&county={round_.county_id}"


@login_required
def round_page(request):
    """The county's round of a year: each list's nominees and its pre-ranked candidates."""
    county, year = _county(request), _year(request)
    found = CommendationRound.objects.visible_to(request.user).filter(county=county, year=year).first()
    policy = commendations.policy_for(county, year, today())
    sections = []
    if found is not None:
        listed = commendations.lists_of(found)
        for kind, label in CommendationList.choices:
            nominated = {n.object_id for n in listed[kind]}
            ranked = commendations.candidates(county, year, kind, today(), policy)
            sections.append(
                {
                    "kind": kind,
                    "label": label,
                    "places": policy.places(kind),
                    "criteria": policy.criteria(kind),
                    "nominees": listed[kind],
                    "candidates": [c for c in ranked if c.object_id not in nominated][
                        : commendations.CANDIDATES_SHOWN
                    ],
                }
            )
    return render(
        request,
        "proposals/commendations/round.html",
        {
            "county": county,
            "year": year,
            "years": range(today().year, today().year - 5, -1),
            "round": found,
            "sections": sections,
            "changes": list(found.changes.select_related("changed_by")) if found else [],
            "flagged": commendations.flagged_reps(county, year, today(), policy),
            "policy": policy,
        },
    )


def _act(request, action) -> None:
    try:
        action()
    except commendations.Frozen as exc:
        messages.error(request, exc.messages[0])
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))


@login_required
@require_POST
def round_open(request):
    county, year = _county(request), _year(request)
    found = None

    def action():
        nonlocal found
        found = commendations.round_open(actor=request.user, county=county, year=year, today=today())

    _act(request, action)
    return redirect(f"{reverse('commendations:round')}?year={year}&county={county.pk}")


def _round(request, pk: int) -> CommendationRound:
    return get_object_or_404(
        CommendationRound.objects.visible_to(request.user).select_related("county"), pk=pk
    )


@login_required
@require_POST
def nominate(request, pk: int, kind: str):
    found = _round(request, pk)
    if kind not in commendations.KINDS:
        raise Http404
    _act(
        request,
        lambda: commendations.nominate_ranked(actor=request.user, round_=found, kind=kind, today=today()),
    )
    return redirect(_back(found))


@login_required
@require_POST
def add(request, pk: int, kind: str):
    found = _round(request, pk)
    raw = request.POST.get("object_id", "")
    if kind not in commendations.KINDS or not raw.isdigit():
        raise Http404
    _act(
        request,
        lambda: commendations.nominee_add(
            actor=request.user,
            round_=found,
            kind=kind,
            object_id=int(raw),
            reason=request.POST.get("reason", ""),
            today=today(),
        ),
    )
    return redirect(_back(found))


def _nominee(request, pk: int) -> Nominee:
    return get_object_or_404(
        Nominee.objects.filter(round__in=CommendationRound.objects.visible_to(request.user)).select_related(
            "round__county"
        ),
        pk=pk,
    )


@login_required
@require_POST
def remove(request, pk: int):
    nominee = _nominee(request, pk)
    _act(
        request,
        lambda: commendations.nominee_remove(
            actor=request.user, nominee=nominee, reason=request.POST.get("reason", "")
        ),
    )
    return redirect(_back(nominee.round))


@login_required
@require_POST
def move(request, pk: int):
    nominee = _nominee(request, pk)
    raw = request.POST.get("position", "")
    _act(
        request,
        lambda: commendations.nominee_move(
            actor=request.user,
            nominee=nominee,
            position=int(raw) if raw.isdigit() else 0,
            reason=request.POST.get("reason", ""),
        ),
    )
    return redirect(_back(nominee.round))


@login_required
@require_POST
def publish(request, pk: int):
    found = _round(request, pk)

    def action():
        commendations.round_publish(actor=request.user, round_=found)
        messages.success(request, _("The commendations were published; the lists are now frozen."))

    _act(request, action)
    return redirect(_back(found))


# What the public page shows of each list (no phone, no id card, no proposer).
PUBLIC_FIELDS = {
    CommendationList.REPS: ("name", "title", "township"),
    CommendationList.STUDIOS: ("name", "township"),
    CommendationList.FIVE_GOOD: ("name", "township"),
    CommendationList.SUGGESTIONS: ("name", "unit"),
    CommendationList.UNITS: ("name",),
}


def public_fields(nominee: Nominee) -> list[str]:
    return [value for field in PUBLIC_FIELDS[nominee.kind] if (value := getattr(nominee, field))]


def public_page(request):
    """The published lists (no login): public fields only, copied when nominated."""
    rounds = list(
        CommendationRound.objects.filter(published_at__isnull=False)
        .select_related("county")
        .order_by("-year", "county__path")[:20]
    )
    nominees = Nominee.objects.filter(round__in=[r.pk for r in rounds]).order_by("kind", "position", "pk")
    by_round: dict[int, dict[str, list[Nominee]]] = {
        r.pk: {kind: [] for kind in commendations.KINDS} for r in rounds
    }
    for nominee in nominees.only("round_id", "kind", "position", "name", "title", "township", "unit"):
        by_round[nominee.round_id][nominee.kind].append(nominee)
    labels = dict(CommendationList.choices)
    published = [
        {
            "round": r,
            "lists": [
                (labels[kind], kind, [public_fields(n) for n in items])
                for kind, items in by_round[r.pk].items()
                if items
            ],
        }
        for r in rounds
    ]
    return render(request, "proposals/commendations/public.html", {"published": published})
