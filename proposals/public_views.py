"""Public pages, for anyone without a login: file a matter, track it, read the published results.

What a resident may see of a ticket is decided here and nowhere else:
- the receipt, only in the browser session that filed the matter (the ticket id is kept in the
  session, never in a URL);
- the tracking page, only after the tracking code and the last four digits of a proposer's
  phone match (rate-limited, and the answer never says whether a code exists);
- the results, only closed tickets of general concern (``Ticket.objects.published()``), without
  any personal data: no names or phones, no tracking codes, no content (which is free text that
  may name people), only what the office wrote for the public (the reply summary).
"""

from __future__ import annotations

import datetime
import hmac
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, ExtractYear
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from liaison import navigation
from liaison.models import Region, SecurityPolicy
from proposals import deadlines, ratelimit, results_cache, services
from proposals.models import (
    Assignment,
    Attachment,
    Category,
    Proposer,
    Rating,
    Ticket,
    format_code,
    normalize_code,
)
from proposals.notifications import track_path
from proposals.public_forms import IntakeForm, RatingForm, TrackForm, new_submission_token
from proposals.transitions import MOVES, PUBLIC_LABEL, WITH_UNIT, Conflict, InvalidMove, Status

SESSION_RECEIPT = "public_intake_ticket"
SESSION_TRACK = "public_track"
HONEYPOT = "thanks"  # what the session remembers after a bot's submission: nothing to show
RESULTS_PAGE_SIZE = 20
# The reply is shown from the moment it is forwarded to the representative (and the proposers).
REPLY_SHOWN = frozenset({Status.FORWARDED, Status.DISSATISFIED, Status.CLOSED, Status.ARCHIVED})
# Moves whose note is written for the proposer (the answer, the explanation).
NOTE_FOR_PROPOSER = frozenset({"answer_on_spot", "explain", "close"})
# What the proposer reads of a ticket without a responsible representative: the steps and the
# status that name one say nothing of one (step 2 by what the unit recorded, "rep_consulted").
WITHOUT_REP = {
    "contact": gettext_lazy("step 1: contacted the proposers"),
    "plan": gettext_lazy("step 2: plan made"),
}
CONTACTED_WITHOUT_REP = gettext_lazy("The unit has contacted you.")
# A rating the office entered for a proposer, by how the proposer gave it (书面/电话).
ENTERED_RATING = {
    Rating.Via.PAPER: gettext_lazy("rated in writing (书面)"),
    Rating.Via.PHONE: gettext_lazy("rated by phone (电话)"),
}


def register_public_nav() -> None:
    """The public entries of the navigation bar (called from ``ProposalsConfig.ready``)."""
    for label, url_name, order, visitors_only in (
        (gettext_lazy("Submit a matter"), "public:intake", 41, True),
        (gettext_lazy("Track"), "public:track", 42, True),
        (gettext_lazy("Results"), "public:results", 43, False),
    ):
        navigation.register(
            navigation.NavItem(label, url_name, order=order, public=True, visitors_only=visitors_only)
        )


def phone_last4(phone: str) -> str:
    """The last four digits of the number itself (a landline's extension is not part of it)."""
    parts = (phone or "").split("-")
    main = parts[1] if len(parts) >= 2 and parts[0].startswith("0") else parts[0]
    return re.sub(r"\D", "", main)[-4:]


# --- intake --------------------------------------------------------------------------------


def _add_service_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def intake_address(request) -> tuple[str, str]:
    """The intake's ceiling per address, as (rule, subject): counted by the view, read by the
    early refusal of a flood (``proposals.middleware.IntakeFloodMiddleware``)."""
    return "intake_ip", ratelimit.client_ip(request)


@never_cache
@require_http_methods(["GET", "POST"])
def intake(request):
    """File a matter. ``?rep=<id>`` (the contact card's QR code) or ``?studio=<id>`` preselect.

    1. Count the post against the hourly limits of its form and its address (429 over either).
    2. A filled honeypot is a bot: pretend success, create nothing.
    3. Validate; register through the service with the form's signed submission token, so the
       same form sent twice (double click, back and resend) makes one ticket.
    4. Redirect to the receipt, which only this session can see.
    """
    if request.method == "POST":
        address = intake_address(request)
        ip = address[1]
        # Per form and address (one form resent over and over), and a ceiling per address high
        # enough for a studio's shared Wi-Fi on a reception day, each resident with their form.
        form_token = request.POST.get("token", "")[:200]
        # The address first, and no second count once refused: a flood from one address costs
        # one counter per post, not two. (An address already over its ceiling seldom gets here:
        # proposals.middleware refuses it before the session, CSRF and the form are read.)
        for rule, subject in (address, ("intake", f"{ip} {form_token}")):
            verdict = ratelimit.hit(rule, subject)
            if not verdict.allowed:
                return ratelimit.too_many(request, verdict)
        if request.POST.get("homepage"):
            request.session[SESSION_RECEIPT] = HONEYPOT
            return redirect("public:receipt")
        form = IntakeForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            studio = data["studio"]
            try:
                ticket = services.ticket_register(
                    actor=None,
                    source=Ticket.Source.INTAKE,
                    township=data["township"],
                    # A county-level studio lies in no township: the matter keeps its rep only.
                    studio=studio if studio and studio.region.is_within(data["township"]) else None,
                    representative=data["representative"],
                    category=data["category"],
                    title=data["title"],
                    content=data["content"],
                    place=data["place"],
                    proposers=[(data["name"], data["phone"], data["sms_consent"])],
                    files=data["files"],
                    submission_token=data["token"],
                    privacy_consent_at=timezone.now(),
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                request.session[SESSION_RECEIPT] = ticket.pk
                return redirect("public:receipt")
        token = request.POST.get("token", "") if "token" not in form.errors else new_submission_token()
    else:
        form = IntakeForm(
            initial={"representative": request.GET.get("rep"), "studio": request.GET.get("studio")}
        )
        token = new_submission_token()
    return render(
        request,
        "proposals/public/intake.html",
        {
            "form": form,
            "token": token,
            "files_sent": request.method == "POST" and bool(request.FILES),
            # The notice on the form names the longest wait of any county (the full page lists each).
            "anonymise_years": max(n for _county, n in anonymise_years_by_county()),
        },
    )


@never_cache
@require_GET
def receipt(request):
    """The receipt of the matter this browser session just filed (printable)."""
    marker = request.session.get(SESSION_RECEIPT)
    if marker == HONEYPOT:
        return render(request, "proposals/public/receipt.html", {"ticket": None})
    ticket = (
        Ticket.objects.select_related("township", "category").filter(pk=marker).first()
        if isinstance(marker, int)
        else None
    )
    if ticket is None:
        return redirect("public:intake")
    proposer = ticket.proposers.first()
    policy = deadlines.policy_for(ticket.county_id, timezone.localdate(ticket.created_at))
    return render(
        request,
        "proposals/public/receipt.html",
        {
            "ticket": ticket,
            "phone_end": phone_last4(proposer.phone) if proposer else "",
            "reply_days": policy.reply_days,
            "track_url": request.build_absolute_uri(reverse("public:track")),
            # The "track it" button: the code filled in, the resident types only the phone digits.
            "track_with_code": track_path(ticket.tracking_code),
            "sms_consent": bool(proposer and proposer.sms_consent),
        },
    )


# --- privacy -------------------------------------------------------------------------------


def anonymise_years_by_county() -> list[tuple[str, int]]:
    """Each county's ``SecurityPolicy.anonymise_after_years`` (the model's default without a row)."""
    default = SecurityPolicy().anonymise_after_years
    if not Region.objects.counties().exists():
        return [("", default)]
    rows = dict(SecurityPolicy.objects.values_list("county_id", "anonymise_after_years"))
    return [(c.name, rows.get(c.pk, default)) for c in Region.objects.counties().order_by("path")]


@require_GET
def privacy(request):
    """The full privacy notice (个人信息保护告知) the intake form links to."""
    by_county = anonymise_years_by_county()
    years = {n for _name, n in by_county}
    return render(
        request,
        "proposals/public/privacy.html",
        {"by_county": by_county, "years": years.pop() if len(years) == 1 else None},
    )


# --- tracking ------------------------------------------------------------------------------


def _match(code: str, last4: str) -> tuple[Ticket, Proposer] | None:
    """The ticket and the proposer whose code and phone match.

    One query whether or not the code exists (no timing difference to learn from), and a
    constant-time comparison of the digits.
    """
    found = None
    for proposer in Proposer.objects.filter(ticket__tracking_code=code).select_related("ticket"):
        digits = phone_last4(proposer.phone)
        if len(digits) == 4 and hmac.compare_digest(digits, last4) and found is None:
            found = (proposer.ticket, proposer)
    return found


@never_cache
@require_http_methods(["GET", "POST"])
def track(request):
    """Look a matter up by tracking code and the last four digits of the proposer's phone.

    Wrong pairs count against the address (``track_ip``, across codes) and the code from that
    address (``track_code``: someone else's guesses never lock the code's owner out); over
    either limit the page answers 429 before looking anything up. An unknown code and a wrong
    phone get the same page, and the typed values are not echoed back, so the two are
    indistinguishable.
    """
    failed = False
    form = TrackForm(request.POST or None, initial=_code_from_link(request))
    if form.initial:
        form.fields["phone_last4"].widget.attrs["autofocus"] = True  # the one thing left to type
    if request.method == "POST":
        ip = ratelimit.client_ip(request)
        verdict = ratelimit.peek("track_ip", ip)
        if not verdict.allowed:
            return ratelimit.too_many(request, verdict)
        if form.is_valid():
            code, last4 = form.cleaned_data["code"], form.cleaned_data["phone_last4"]
            verdict = ratelimit.peek("track_code", f"{code} {ip}")
            if not verdict.allowed:
                return ratelimit.too_many(request, verdict)
            found = _match(code, last4)
            if found is not None:
                ticket, proposer = found
                request.session.cycle_key()  # a new session id for what is now a private view
                request.session[SESSION_TRACK] = {"ticket": ticket.pk, "proposer": proposer.pk}
                return redirect("public:track_ticket")
            ratelimit.hit("track_ip", ip)
            ratelimit.hit("track_code", f"{code} {ip}")
            failed = True
            form = TrackForm()
    return render(request, "proposals/public/track.html", {"form": form, "failed": failed})


def _code_from_link(request) -> dict[str, str]:
    """The code a link carries (``/track/?code=…``, from the receipt or an SMS), shown grouped.

    Only shown back, never looked up here: the page is the same whether the code exists or not.
    """
    code = normalize_code(request.GET.get("code", "")) if request.method == "GET" else ""
    return {"code": format_code(code)} if code else {}


def _tracked(request) -> tuple[Ticket, Proposer]:
    """The ticket and proposer this session proved it knows; 404 otherwise."""
    info = request.session.get(SESSION_TRACK)
    if not isinstance(info, dict):
        raise Http404
    proposer = (
        Proposer.objects.select_related("ticket__township", "ticket__category", "ticket__lead_unit")
        .filter(pk=info.get("proposer"), ticket_id=info.get("ticket"))
        .first()
    )
    if proposer is None:
        raise Http404
    return proposer.ticket, proposer


def public_timeline(ticket: Ticket) -> list[dict]:
    """The public steps of a ticket: what happened, when, by which unit or office."""
    steps = []
    for event in ticket.events.public().order_by("at", "id"):
        step = {"at": event.at, "by": event.actor_label, "note": "", "due": None, "reason": ""}
        if event.move == "register":
            step["label"] = _("matter received")
        elif event.move == "plan" and not event.data.get("rep_consulted"):
            step["label"] = WITHOUT_REP["plan"]
        elif event.move == "contact" and ticket.representative_id is None:
            step["label"] = WITHOUT_REP["contact"]
        elif event.move == "enter_rating":
            step["label"] = ENTERED_RATING.get(event.data.get("via"), MOVES[event.move].label)
        elif event.move in MOVES:
            step["label"] = MOVES[event.move].label
        else:
            continue
        if event.move == "decide_extension":
            if not event.data.get("approved") or not event.data.get("due"):
                continue  # a refused extension changes nothing the proposer sees
            step["label"] = _("more time granted")
            step["due"] = _parse_time(event.data["due"])
            step["reason"] = event.data.get("reason", "")
        if event.move in NOTE_FOR_PROPOSER:
            step["note"] = event.note
        steps.append(step)
    return steps


def _parse_time(value: str):
    try:
        return datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def track_ticket(request):
    """Where the matter stands, its public steps, the reply once forwarded, and the rating."""
    info = request.session.get(SESSION_TRACK)
    if not isinstance(info, dict):
        return redirect("public:track")
    ticket, proposer = _tracked(request)
    rated = Rating.objects.filter(ticket=ticket, round=ticket.round, proposer=proposer).first()
    may_rate = ticket.status == Status.FORWARDED and rated is None
    form = RatingForm(request.POST or None) if may_rate else None
    if request.method == "POST":
        if form is None:
            messages.error(request, _("This reply has already been rated by you, or cannot be rated now."))
            return redirect("public:track_ticket")
        if form.is_valid():
            try:
                services.ticket_rate(
                    ticket=ticket,
                    proposer=proposer,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            except (Conflict, InvalidMove) as exc:
                messages.error(request, str(exc))
            except PermissionDenied:
                raise Http404 from None
            else:
                messages.success(request, _("Thank you. Your rating has been recorded."))
            return redirect("public:track_ticket")
    reply_shown = ticket.status in REPLY_SHOWN
    return render(
        request,
        "proposals/public/track_ticket.html",
        {
            "ticket": ticket,
            "public_status": (
                _("Replied. Thank you for your rating; we are waiting for the others asked.")
                if rated and ticket.status == Status.FORWARDED
                else CONTACTED_WITHOUT_REP
                if ticket.status == Status.CONTACTED and ticket.representative_id is None
                else PUBLIC_LABEL.get(ticket.status, "")
            ),
            "timeline": public_timeline(ticket),
            "phone_end": phone_last4(proposer.phone),
            "reply_shown": reply_shown,
            "reply_files": ticket.attachments.filter(purpose=Attachment.Purpose.REPLY) if reply_shown else [],
            "show_due": ticket.due_at is not None and ticket.status in WITH_UNIT,
            "rated": rated,
            "form": form,
        },
    )


@never_cache
@require_GET
def track_attachment(request, pk: int):
    """A file of the reply, for the session that tracks its ticket, once the reply is shown."""
    ticket, _proposer = _tracked(request)
    if ticket.status not in REPLY_SHOWN:
        raise Http404
    attachment = get_object_or_404(Attachment, pk=pk, ticket=ticket, purpose=Attachment.Purpose.REPLY)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )


# --- published results ---------------------------------------------------------------------


def _ratings_of_last_round(**filters):
    """How many residents' ratings of the row's last handling round (matching ``filters``) there
    are: a subquery per listed row, so the list is read in index order and stops at its page."""
    rated = (
        Rating.objects.filter(
            ticket=OuterRef("pk"), round=OuterRef("round"), proposer__isnull=False, **filters
        )
        .order_by()
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(rated, output_field=IntegerField()), 0)


def published_results():
    """Closed tickets of general concern with what the results show, in one query.

    Only public columns are loaded (no content, reply text, code or people); the satisfaction
    counts are the residents' (the proposers') ratings of the last handling round: the
    representative's rating is not a resident's, and a ticket no resident rated has no figure.
    Ordered as the partial index ``ticket_published`` is, so a page reads its own rows only.
    """
    return (
        Ticket.objects.published()
        .select_related("category", "lead_unit", "township")
        .only(
            "id",
            "title",
            "reply_summary",
            "summary_corrected_at",
            "resolution",
            "round",
            "created_at",
            "closed_at",
            "category__name",
            "lead_unit__name",
            "township__name",
        )
        .annotate(
            ratings_total=_ratings_of_last_round(),
            ratings_satisfied=_ratings_of_last_round(score__in=Rating.SATISFIED_SCORES),
        )
        .order_by("-closed_at", "-id")
    )


def _describe_result(ticket: Ticket) -> Ticket:
    ticket.days_taken = (
        (timezone.localdate(ticket.closed_at) - timezone.localdate(ticket.created_at)).days
        if ticket.closed_at
        else None
    )
    ticket.satisfaction = (
        round(100 * ticket.ratings_satisfied / ticket.ratings_total) if ticket.ratings_total else None
    )
    return ticket


def _int(value: str, *, digits: int = 9) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= digits else None


def _results_choices() -> dict:
    """The categories, townships and years that have published results (the filters' choices):
    cached as the pages are, so they are read once per version, not per request."""
    cache_key = results_cache.key("choices")
    cached = results_cache.get(cache_key)
    if cached is not None:
        return cached
    published = Ticket.objects.published()
    choices = {
        "categories": list(Category.objects.filter(pk__in=published.values("category_id"))),
        "townships": list(Region.objects.townships().filter(pk__in=published.values("township_id"))),
        "years": list(
            published.annotate(year=ExtractYear("closed_at"))
            .values_list("year", flat=True)
            .distinct()
            .order_by("-year")
        ),
    }
    results_cache.put(cache_key, choices)
    return choices


def _results_page(chosen: dict, number: str):
    """One page of the results as ``chosen`` filters them: one query for the page's rows over the
    partial index of published tickets, and its count."""
    tickets = published_results()
    if chosen["q"]:
        # Title and summary only: searching the private content would let anyone test
        # whether a name or a phone number appears in it.
        tickets = tickets.filter(Q(title__icontains=chosen["q"]) | Q(reply_summary__icontains=chosen["q"]))
    if chosen["category"] is not None:
        tickets = tickets.filter(category_id=chosen["category"])
    if chosen["township"] is not None:
        tickets = tickets.filter(township_id=chosen["township"])
    if chosen["year"] is not None:
        tickets = tickets.filter(closed_at__year=chosen["year"])
    page = Paginator(tickets, RESULTS_PAGE_SIZE).get_page(number)
    page.object_list = [_describe_result(t) for t in page.object_list]
    return page


@require_GET
def results(request):
    """The published results: searchable by title and summary, filtered by category, township
    and year, paginated.

    The list (everything but the site's frame) is rendered once per language, filters and page
    and then served from the cache until something is published, unpublished or corrected
    (``proposals.results_cache``): a miss reads the page in one query over the partial index of
    published tickets, plus its count and the filters' choices. An address asking for too many
    pages is refused (``results_ip``)."""
    verdict = ratelimit.hit("results_ip", ratelimit.client_ip(request))
    if not verdict.allowed:
        return ratelimit.too_many(request, verdict)
    chosen = {
        "q": request.GET.get("q", "").strip()[:100],
        "category": _int(request.GET.get("category", "")),
        "township": _int(request.GET.get("township", "")),
        "year": _int(request.GET.get("year", ""), digits=4),
    }
    number = request.GET.get("page", "")
    cache_key = results_cache.key("body", get_language(), sorted(chosen.items()), number)
    body = results_cache.get(cache_key)
    if body is None:
        query = request.GET.copy()
        query.pop("page", None)
        body = render_to_string(
            "proposals/public/_results_body.html",
            {
                "page": _results_page(chosen, number),
                "chosen": chosen,
                **_results_choices(),
                "query": query.urlencode(),
                "filtered": any(v not in (None, "") for v in chosen.values()),
            },
        )
        results_cache.put(cache_key, body)
    return render(request, "proposals/public/results.html", {"body": mark_safe(body)})  # noqa: S308 - our template's output


@require_GET
def result_detail(request, pk: int):
    """One published result; 404 for any ticket that is not published."""
    ticket = _describe_result(get_object_or_404(published_results(), pk=pk))
    co_units = (
        Assignment.objects.filter(ticket_id=ticket.pk, role=Assignment.Role.CO)
        .select_related("unit")
        .values_list("unit__name", flat=True)
        .distinct()
    )
    return render(
        request, "proposals/public/result_detail.html", {"ticket": ticket, "co_units": list(co_units)}
    )
