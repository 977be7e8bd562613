"""Registering a ticket by hand (phone, meeting, ...) and turning a matter raised at a
reception or on a home visit into a ticket, prefilled and linked back to where it came from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from liaison import idempotency
from liaison.models import Region
from liaison.roles import STAFF_ROLES, Role
from liaison.scoping import NOTHING
from proposals import services
from proposals.forms import ProposerFormSet, TicketForm
from proposals.models import Ticket
from reps.models import HomeVisit, Representative, VisitMatter
from studios.models import Reception, ReceptionMatter, Studio

REGISTERING_ROLES = STAFF_ROLES | {Role.STUDIO_OFFICER, Role.REPRESENTATIVE}
TITLE_LENGTH = 30


def may_register_tickets(user) -> bool:
    """Staff, studio liaison officers and representatives register tickets by hand."""
    scope = user.scope
    return scope.sees_all or bool(scope.roles & REGISTERING_ROLES)


@dataclass(frozen=True)
class Registering:
    """Where a user may register tickets: the choices their form offers."""

    townships: QuerySet
    studios: QuerySet
    reps: QuerySet
    own_rep: Representative | None  # set when the user registers only as a representative
    studio_required: bool  # a studio officer (and nothing more) registers for their studio


def registering_for(user) -> Registering:
    """The townships, studios and representatives ``user`` may register tickets for; 403 if none."""
    if not may_register_tickets(user):
        raise PermissionDenied
    scope = user.scope
    staff = scope.sees_all or bool(scope.roles & STAFF_ROLES)
    officer_studios = Studio.objects.filter(liaison_officer=user)
    rep = Representative.objects.filter(user=user).select_related("region").first()
    if not scope.has_role(Role.REPRESENTATIVE):
        rep = None
    q = NOTHING
    if staff:
        q |= Q(pk__in=Region.objects.visible_to(user).townships().values("pk"))
    if Role.STUDIO_OFFICER in scope.roles:
        q |= Q(pk__in=officer_studios.values("region")) | Q(pk__in=officer_studios.values("region__parent"))
    if rep is not None:
        q |= Q(path__startswith=rep.region.path)
    townships = Region.objects.townships().filter(q).order_by("path")
    only_officer = not staff and rep is None
    if only_officer:
        studios = officer_studios.filter(is_active=True)
    else:
        studios = Studio.objects.active().filter(Q(region__in=townships) | Q(region__parent__in=townships))
    counties = Region.objects.filter(children__in=townships)
    reps = Representative.objects.active(timezone.localdate()).filter(
        Q(region__in=townships) | Q(region__in=counties)
    )
    return Registering(
        townships=townships,
        studios=studios.order_by("region__path", "name"),
        reps=reps.order_by("name_initials", "name", "id"),
        own_rep=rep if not staff and Role.STUDIO_OFFICER not in scope.roles else None,
        studio_required=only_officer,
    )


SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)\s")


def title_from(content: str) -> str:
    """A first title from the matter's text: its first sentence of its first line (a sentence
    ends at 。！？； or their ASCII forms), without the closing mark, shortened to TITLE_LENGTH."""
    text = (content or "").strip()
    first = text.splitlines()[0].strip() if text else ""
    first = SENTENCE_END.split(first, maxsplit=1)[0].strip().rstrip("。！？；!?;.")
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"


def _attach_errors(exc: ValidationError, form, proposers) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        if field == "proposers":
            proposers._non_form_errors = proposers.error_class([*proposers.non_form_errors(), *errors])
        else:
            form.add_error(field if field in form.fields else None, errors)


def _register_page(
    request,
    *,
    initial: dict,
    where: Registering | None = None,
    proposers_initial=(),
    reception_matter: ReceptionMatter | None = None,
    visit_matter: VisitMatter | None = None,
    origin: str = "",
):
    user = request.user
    where = where or registering_for(user)
    data = request.POST if request.method == "POST" else None
    form = TicketForm(
        data,
        request.FILES or None,
        townships=where.townships,
        studios=where.studios,
        reps=where.reps,
        own_rep=where.own_rep,
        initial=initial,
    )
    if where.studio_required:
        form.fields["studio"].required = True
    proposers = ProposerFormSet(data, prefix="proposers", initial=list(proposers_initial))
    if data is not None:
        valid = [form.is_valid(), proposers.is_valid()]  # both, to show every error at once
        if all(valid):
            d = form.cleaned_data
            try:
                ticket = services.ticket_register(
                    actor=user,
                    township=d["township"],
                    title=d["title"],
                    content=d["content"],
                    category=d["category"],
                    source=d["source"],
                    kind=d["kind"],
                    place=d["place"],
                    studio=d["studio"],
                    representative=where.own_rep or d.get("representative"),
                    co_signers=list(d["co_signers"]),
                    proposers=[
                        (p["name"], p["phone"])
                        for p in proposers.cleaned_data
                        if p and (p.get("name") or "").strip()
                    ],
                    files=d["files"],
                    is_public_interest=d["is_public_interest"],
                    reception_matter=reception_matter,
                    visit_matter=visit_matter,
                    submission_token=d["token"],
                )
            except ValidationError as exc:
                _attach_errors(exc, form, proposers)
                form.renew_token()
            else:
                if idempotency.replayed(ticket):  # a double tap or a resend: the same result page
                    messages.info(request, idempotency.ALREADY_SAVED)
                else:
                    messages.success(
                        request,
                        _("The ticket %(code)s was registered.") % {"code": ticket.display_code},
                    )
                return redirect("proposals:detail", pk=ticket.pk)
    return render(
        request,
        "proposals/ticket_form.html",
        {"form": form, "proposers": proposers, "origin": origin, "own_rep": where.own_rep},
    )


@login_required
def create(request):
    """Register a ticket by hand: a call, a meeting, a letter."""
    initial = {"kind": Ticket.Kind.SUGGESTION, "source": Ticket.Source.PHONE}
    where = registering_for(request.user)
    townships = list(where.townships[:2])
    if len(townships) == 1:
        initial["township"] = townships[0].pk
    return _register_page(request, initial=initial, where=where)


def _existing(request, field: str, matter, back: str):
    """A matter already turned into a ticket goes to that ticket (or says so, if not visible)."""
    existing = Ticket.objects.filter(**{field: matter}).first()
    if existing is None:
        return None
    if idempotency.resent(request, existing):  # this form, sent twice: its ticket
        messages.info(request, idempotency.ALREADY_SAVED)
        return redirect("proposals:detail", pk=existing.pk)
    messages.info(request, _("This matter is already the ticket %(code)s.") % {"code": existing.display_code})
    if Ticket.objects.visible_to(request.user).filter(pk=existing.pk).exists():
        return redirect("proposals:detail", pk=existing.pk)
    return redirect(back)


def _photos_note(n: int) -> str:
    """Say on the form that the record's photos go with the ticket (services.matter_photos)."""
    if not n:
        return ""
    return " · " + ngettext(
        "its %(n)s photo is attached to the ticket", "its %(n)s photos are attached to the ticket", n
    ) % {"n": n}


def _responsible(user, reps: list[Representative]) -> Representative | None:
    """The user themself if they were there, else the first representative present."""
    for rep in reps:
        if rep.user_id == user.pk:
            return rep
    return reps[0] if reps else None


@login_required
def from_reception_matter(request, pk: int):
    """A matter raised at a studio reception, as a ticket: prefilled from the record card."""
    user = request.user
    matter = get_object_or_404(
        ReceptionMatter.objects.filter(
            reception__in=Reception.objects.active().visible_to(user).values("pk")
        ).select_related("reception__studio", "reception__township"),
        pk=pk,
    )
    reception = matter.reception
    back_url = reverse("studios:reception", args=[reception.pk])
    found = _existing(request, "reception_matter", matter, back_url)
    if found is not None:
        return found
    if matter.answered_on_spot:
        messages.info(request, _("This matter was answered on the spot: it needs no ticket."))
        return redirect(back_url)
    reps = list(reception.representatives.all())
    responsible = _responsible(user, reps)
    initial = {
        "kind": Ticket.Kind.SUGGESTION,
        "source": Ticket.Source.RECEPTION,
        "township": reception.township_id,
        "studio": reception.studio_id,
        "representative": responsible.pk if responsible else None,
        "title": title_from(matter.content),
        "content": matter.content,
        "place": reception.place,
        "category": matter.category_id,
    }
    visitors = [{"name": v.name, "phone": v.phone} for v in reception.visitors.all()]
    origin = _("From the reception of %(when)s at %(where)s") % {
        "when": timezone.localtime(reception.starts_at).strftime("%Y-%m-%d %H:%M"),
        "where": reception.studio.name if reception.studio else reception.township.name,
    }
    origin += _photos_note(reception.photos.count())
    return _register_page(
        request, initial=initial, proposers_initial=visitors, reception_matter=matter, origin=origin
    )


@login_required
def from_visit_matter(request, pk: int):
    """A matter raised on a home visit, as a ticket: prefilled from the visit."""
    user = request.user
    matter = get_object_or_404(
        VisitMatter.objects.filter(
            visit__in=HomeVisit.objects.active().visible_to(user).values("pk")
        ).select_related("visit__township"),
        pk=pk,
    )
    visit = matter.visit
    back_url = reverse("reps:me" if user.scope.has_role(Role.REPRESENTATIVE) else "proposals:workspace")
    found = _existing(request, "visit_matter", matter, back_url)
    if found is not None:
        return found
    if matter.answered_on_spot:
        messages.info(request, _("This matter was answered on the spot: it needs no ticket."))
        return redirect(back_url)
    reps = list(visit.representatives.all())
    responsible = _responsible(user, reps)
    contacts = list(visit.contacts.select_related("village"))
    place = next((c.address for c in contacts if c.address), "") or (
        contacts[0].village.name if contacts else ""
    )
    initial = {
        "kind": Ticket.Kind.SUGGESTION,
        "source": Ticket.Source.VISIT,
        "township": visit.township_id,
        "representative": responsible.pk if responsible else None,
        "title": title_from(matter.content),
        "content": matter.content,
        "place": place,
        "category": matter.category_id,
    }
    proposers = [{"name": c.name, "phone": c.phone} for c in contacts]
    origin = _("From the %(kind)s of %(when)s") % {
        "kind": visit.get_kind_display(),
        "when": visit.date.isoformat(),
    }
    origin += _photos_note(visit.photos.count())
    return _register_page(
        request, initial=initial, proposers_initial=proposers, visit_matter=matter, origin=origin
    )
