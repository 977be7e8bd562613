"""Signed-in ticket pages: the workspace (queues), a ticket's page with the moves the user may
make, editing, attachments and the Excel exports.

Thin views: every ticket is fetched through ``Ticket.objects.visible_to(user)`` (404 when the
user may not see it), every write is one service call, and the domain's refusals become a
message. Registering a ticket (by hand or from the field) is in ``views_create.py``.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import BooleanField, Case, Prefetch, Q, Value, When
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from liaison.admin_mixins import CappedCountPaginator
from liaison.exports import xlsx_response
from liaison.models import HandlingUnit, Region
from liaison.roles import STAFF_ROLES, Role
from proposals import deadlines, services, statistics, todo
from proposals.forms import MOVE_FORMS, MoveForm, TicketEditForm, TicketFilterForm, parse_version, version_of
from proposals.hotline_views import may_import_hotline
from proposals.models import Assignment, Attachment, Extension, Rating, Ticket, TicketEvent
from proposals.queues import (
    BY_KEY,
    COUNT_CAP,
    co_opinion_pending,
    counts,
    matters_to_hand_in,
    queue_filter,
    queues_for,
    rep_to_rate,
)
from proposals.queues import overdue_by_unit as overdue_by_unit_rows
from proposals.queues import timeliness_filter as timeliness_q
from proposals.transitions import (
    CLOSED,
    MOVES,
    TRIAGE,
    WITH_UNIT,
    Conflict,
    InvalidMove,
    Party,
    Status,
    allowed_moves,
    check,
    parties,
)
from proposals.views_create import may_register_tickets

PAGE_SIZE = 30
# Who may read the proposers' names and phones: those who must contact them. A committee
# member or a studio officer follows the ticket but does not handle it, so they see how many
# proposers there are, not who.
SEES_PROPOSERS = frozenset(
    {Party.OFFICE, Party.TOWNSHIP, Party.LEAD_UNIT, Party.CO_UNIT, Party.REPRESENTATIVE}
)
LIST_RELATED = ("category", "lead_unit", "township")


def _visible(user):
    return Ticket.objects.visible_to(user)


def _time_status(ticket: Ticket, now: datetime.datetime):
    """The reply deadline's state, while a unit holds the ticket (afterwards it no longer runs)."""
    if ticket.status not in WITH_UNIT:
        return None
    return deadlines.time_status(ticket.due_at, now)


# --- the workspace ---------------------------------------------------------------------------


def _filter_townships(user):
    return Region.objects.visible_to(user).townships().order_by("path")


def _filter_units(user):
    return HandlingUnit.objects.visible_to(user).order_by("region__path", "name", "pk")


def _visible_choice(request, name: str, choices) -> None:
    """404 for an id in the query string that is not one of the user's ``choices`` (a tampered
    link), as for a ticket they may not see."""
    value = request.GET.get(name, "")
    if value and not choices.filter(pk=value if value.isdigit() else 0).exists():
        raise Http404


# ``?closed=1``: the list also shows closed and archived tickets (hidden by default: a queue is a to-do).
SHOW_CLOSED = "closed"


def _filtered(request):
    """The current queue of the user, filtered as the query string says.

    Returns (queues, current queue, filter form, tickets queryset, the query to keep).
    404 for a queue the user does not have, or a township or unit they may not see.
    """
    user = request.user
    queues = queues_for(user)
    if not queues:
        raise PermissionDenied
    key = request.GET.get("queue") or queues[0].key
    if key not in {q.key for q in queues}:
        raise Http404
    townships = _filter_townships(user)
    units = _filter_units(user)
    _visible_choice(request, "township", townships)
    _visible_choice(request, "unit", units)
    form = TicketFilterForm(request.GET, townships=townships, units=units)
    chosen = form.values()
    tickets = _visible(user).filter(queue_filter(key, user))
    # Closed and archived tickets only on request, or when the status filter asks for one of them.
    with_closed = request.GET.get(SHOW_CLOSED) == "1" or chosen.get("status") in CLOSED
    if not with_closed:
        tickets = tickets.exclude(status__in=CLOSED)
    if chosen.get("q"):
        tickets = tickets.search(chosen["q"])
    if chosen.get("status"):
        tickets = tickets.filter(status=chosen["status"])
    if chosen.get("category"):
        tickets = tickets.filter(category=chosen["category"])
    if chosen.get("timeliness"):
        tickets = tickets.filter(timeliness_q(chosen["timeliness"], timezone.now()))
    if chosen.get("township"):
        tickets = tickets.filter(township=chosen["township"])
    if chosen.get("unit"):
        tickets = tickets.filter(lead_unit=chosen["unit"])
    if chosen.get("registered_from"):
        tickets = tickets.filter(created_at__gte=statistics.day_start(chosen["registered_from"]))
    if chosen.get("registered_to"):
        tickets = tickets.filter(
            created_at__lt=statistics.day_start(chosen["registered_to"] + datetime.timedelta(days=1))
        )
    kept = {"queue": key}
    # The filters the statistics page links with (proposals.statistics): a source, a responsible
    # rep, and ``stat``, the very rule that counted a column there. A bad value is dropped.
    extra = _statistics_filters(request)
    for name, (value, rule) in extra.items():
        tickets = tickets.filter(rule)
        kept[name] = value
    if request.GET.get(SHOW_CLOSED) == "1":
        kept[SHOW_CLOSED] = "1"
    # A to-do item of the home page (proposals.todo): the same filter that counted it there.
    todo_key = request.GET.get("todo", "")
    if todo_key:
        item = todo.BY_KEY.get(todo_key)
        if item is None or item.queue != key or item not in todo.items_for(user):
            raise Http404
        tickets = tickets.filter(item.rule(user, timezone.now()))
        kept["todo"] = todo_key
    for name in ("q", "status", "category", "timeliness", "township", "unit", *TicketFilterForm.DATES):
        value = request.GET.get(name, "").strip()
        if value and chosen.get(name):
            kept[name] = value
    return queues, BY_KEY[key], form, tickets.by_due(), kept


STATISTICS_FILTERS = ("stat", "source", "rep", "lead", "closed_from", "closed_to")


def _statistics_filters(request) -> dict:
    found = {}
    source = request.GET.get("source", "")
    if source in Ticket.Source.values:
        found["source"] = (source, Q(source=source))
    # A rep or a lead unit by id, over tickets already scoped: a township's ticket led by a county
    # unit opens too, which the ``unit`` choice (the township's own units) would refuse.
    for name, field in (("rep", "representative_id"), ("lead", "lead_unit_id")):
        value = request.GET.get(name, "")
        if value.isdigit():
            found[name] = (value, Q(**{field: int(value)}))
    stat = request.GET.get("stat", "")
    rule = statistics.column_q(stat) if stat else None
    if rule is not None:
        found["stat"] = (stat, rule)
    # The overview's "closed in a month" bars: closing dates, Beijing time, both days included.
    for name, lookup, shift in (("closed_from", "closed_at__gte", 0), ("closed_to", "closed_at__lt", 1)):
        try:
            day = datetime.date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            continue
        found[name] = (
            day.isoformat(),
            Q(**{lookup: statistics.day_start(day + datetime.timedelta(days=shift))}),
        )
    return found


@login_required
def workspace(request):
    """The user's queues as tabs, each with its count; the current one listed by due time."""
    user = request.user
    queues, current, form, tickets, kept = _filtered(request)
    scope = user.scope
    annotations = {}
    co_pending = co_opinion_pending(scope)
    if co_pending is not None:
        annotations["co_pending"] = co_pending
    if scope.has_role(Role.REPRESENTATIVE):
        annotations["to_rate"] = Case(
            When(rep_to_rate(user), then=Value(True)), default=False, output_field=BooleanField()
        )
    tickets = tickets.select_related(*LIST_RELATED).annotate(**annotations)
    # Pages up to a capped count ("Page 1 of 334+"): never a COUNT of every ticket listed.
    page = CappedCountPaginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for ticket in page.object_list:
        ticket.time = _time_status(ticket, now)
    with_closed = SHOW_CLOSED in kept
    counted = counts(user, queues, with_closed=with_closed)
    # Past the cap a tab says "1000+": how many exactly is not worth reading every ticket.
    capped = {key for key, n in counted.items() if n > COUNT_CAP}
    counted = {key: min(n, COUNT_CAP) for key, n in counted.items()}
    # The rep's to-do also holds the matters they collected and have not handed in as tickets.
    hand_in, hand_in_count = [], 0
    if "mine" in counted:
        matters = matters_to_hand_in(user)
        hand_in_count = matters.count()
        counted["mine"] += hand_in_count
        if current.key == "mine" and hand_in_count:
            hand_in = [_matter_row(*row) for row in matters[:HAND_IN_SHOWN]]
    # County staff (or staff of several townships) narrow the list to one township.
    townships_shown = (
        scope.sees_all
        or Role.LIAISON_OFFICE in scope.roles
        or len(scope.anchor_paths.get(Role.TOWNSHIP_STAFF, ())) > 1
    )
    toggle = {k: v for k, v in kept.items() if k not in (SHOW_CLOSED, "status")}
    if not with_closed:
        toggle[SHOW_CLOSED] = "1"
    return render(
        request,
        "proposals/workspace.html",
        {
            "queues": [(q, counted.get(q.key, 0), q.key in capped) for q in queues],
            "current": current,
            "todo_label": todo.BY_KEY[kept["todo"]].label if "todo" in kept else "",
            "stat_filtered": any(k in kept for k in STATISTICS_FILTERS),
            "stat_label": dict(statistics.TICKET_COLUMNS + statistics.OTHER_FIGURES).get(
                kept.get("stat", ""), ""
            ),
            "form": form,
            "townships_shown": townships_shown,
            "units_shown": scope.sees_all or bool(scope.roles & STAFF_ROLES),
            "overdue_by_unit_shown": sees_overdue_by_unit(user),
            "with_closed": with_closed,
            "closed_toggle": urlencode(toggle),
            "hand_in": hand_in,
            "hand_in_more": hand_in_count - len(hand_in),
            "page": page,
            "query": urlencode(kept),
            "queue_query": urlencode({k: v for k, v in kept.items() if k != "queue"}),
            "tab_query": "&closed=1" if with_closed else "",
            "may_create": may_register_tickets(user),
            "may_import_hotline": may_import_hotline(user),
            "weekly_townships": list(_filter_townships(user).values("pk", "name"))
            if scope.roles & STAFF_ROLES or scope.sees_all
            else [],
            "export_url": f"{reverse('proposals:export')}?{urlencode(kept)}",
        },
    )


# The matters awaiting hand-in listed on the rep's tab (the oldest: the reminders chase those).
HAND_IN_SHOWN = 20


def _matter_row(kind: str, pk: int, day, content: str) -> dict:
    """One matter awaiting hand-in, with the page that turns it into a ticket."""
    if isinstance(day, str):  # SQLite returns a union's computed date as text
        day = datetime.date.fromisoformat(day[:10])
    view = "proposals:from_visit_matter" if kind == "visit" else "proposals:from_reception_matter"
    return {
        "kind": kind,
        "kind_label": _("home visit") if kind == "visit" else _("reception"),
        "day": day,
        "content": content,
        "url": reverse(view, args=[pk]),
    }


def sees_overdue_by_unit(user) -> bool:
    """The liaison office (all units of its county) and township staff (their township's units)."""
    scope = user.scope
    return scope.sees_all or bool(scope.roles & {Role.LIAISON_OFFICE, Role.TOWNSHIP_STAFF})


@login_required
def overdue_by_unit(request):
    """Per handling unit, its overdue tickets: how many and the oldest, each linking to the list."""
    user = request.user
    if not sees_overdue_by_unit(user):
        raise PermissionDenied
    now = timezone.now()
    workspace_url = reverse("proposals:workspace")
    rows = []
    counted = list(overdue_by_unit_rows(user, now))
    units = HandlingUnit.objects.filter(pk__in=[row["lead_unit"] for row in counted])
    names = dict(units.values_list("pk", "name"))
    for row in counted:
        oldest = row["oldest"]
        rows.append(
            {
                "unit": names[row["lead_unit"]],
                "overdue": row["overdue"],
                "oldest": oldest,
                "late": deadlines.time_status(oldest, now),
                "url": f"{workspace_url}?"
                + urlencode({"queue": "all", "unit": row["lead_unit"], "timeliness": "overdue"}),
            }
        )
    return render(
        request,
        "proposals/overdue_by_unit.html",
        {"rows": rows, "total": sum(r["overdue"] for r in rows), "now": now},
    )


def _list_rows(tickets, now):
    for t in tickets:
        time = _time_status(t, now)
        yield [
            t.display_code,
            t.title,
            t.category.name,
            t.township.name,
            t.place,
            t.get_status_display(),
            t.lead_unit.name if t.lead_unit else "",
            timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(t.due_at).strftime("%Y-%m-%d") if t.due_at else "",
            time.label if time else "",
        ]


def _list_header():
    return [
        _("tracking code"),
        _("title"),
        _("category"),
        _("township"),
        _("place"),
        _("status"),
        _("lead unit"),
        _("registered at"),
        _("reply due"),
        _("time status"),
    ]


@login_required
def export(request):
    """The current queue, filtered as on the page, as an Excel sheet."""
    _queues, current, _form, tickets, _kept = _filtered(request)
    rows = _list_rows(tickets.select_related(*LIST_RELATED).iterator(chunk_size=2000), timezone.now())
    stamp = timezone.localdate().isoformat()
    return xlsx_response(
        str(current.label), _list_header(), rows, filename=_("tickets-%(stamp)s.xlsx") % {"stamp": stamp}
    )


def week_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """Monday 00:00 to the next Monday 00:00, Beijing time, of the week containing ``day``."""
    monday = day - datetime.timedelta(days=day.weekday())
    tz = timezone.get_default_timezone()
    start = datetime.datetime.combine(monday, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(monday + datetime.timedelta(days=7), datetime.time.min, tzinfo=tz)
    return start, end


ALL_TOWNSHIPS = "all"


@login_required
def weekly_export(request):
    """The weekly problem list (每周梳理上报一次): the tickets registered that week in one
    township, or, for staff over several (``township=all``), in all of theirs by township."""
    user = request.user
    townships = _filter_townships(user)
    chosen = request.GET.get("township", "")
    if chosen == ALL_TOWNSHIPS:
        township = None
    elif chosen:
        township = get_object_or_404(townships, pk=chosen if chosen.isdigit() else 0)
    else:
        options = list(townships[:2])
        if len(options) != 1:
            raise Http404  # staff of several townships say which one
        township = options[0]
    try:
        day = (
            datetime.date.fromisoformat(request.GET["week"])
            if request.GET.get("week")
            else timezone.localdate()
        )
    except ValueError:
        return HttpResponseBadRequest(_("Give the week as a date, e.g. 2026-03-02."))
    start, end = week_bounds(day)
    tickets = _visible(user).filter(created_at__gte=start, created_at__lt=end).select_related(*LIST_RELATED)
    if township is None:
        tickets = tickets.filter(township__in=townships).order_by("township__path", "created_at", "id")
    else:
        tickets = tickets.filter(township=township).order_by("created_at", "id")
    header = [
        *([_("township")] if township is None else []),
        _("tracking code"),
        _("registered at"),
        _("category"),
        _("title"),
        _("place"),
        _("status"),
        _("lead unit"),
        _("reply due"),
    ]
    rows = (
        [
            *([t.township.name] if township is None else []),
            t.display_code,
            timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M"),
            t.category.name,
            t.title,
            t.place,
            t.get_status_display(),
            t.lead_unit.name if t.lead_unit else "",
            timezone.localtime(t.due_at).strftime("%Y-%m-%d") if t.due_at else "",
        ]
        for t in tickets.iterator(chunk_size=2000)
    )
    monday = start.date()
    return xlsx_response(
        _("Weekly problem list"),
        header,
        rows,
        filename=_("%(township)s-weekly problem list-%(monday)s.xlsx")
        % {"township": township.name if township else _("all townships"), "monday": monday},
    )


# --- one ticket ------------------------------------------------------------------------------


def _move_queryset(user):
    """A visible ticket with what a move reads: who the user is to it (``parties``), the
    preconditions (``services.ticket_moves``: its assignments, extensions and ratings) and the move's
    form. A form sent with a mistake shows the page again from ``_page_queryset``."""
    return (
        _visible(user)
        .select_related("township", "representative", "lead_unit")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("unit", "opinion_by").order_by("role", "id"),
            ),
            Prefetch(
                "extensions",
                queryset=Extension.objects.select_related("requested_by", "decided_by").order_by(
                    "requested_at", "id"
                ),
            ),
            Prefetch("ratings", queryset=Rating.objects.select_related("proposer", "representative")),
        )
    )


def _page_queryset(user):
    """A visible ticket with everything its page shows, in a fixed number of queries."""
    return (
        _move_queryset(user)
        .select_related("studio", "category", "merged_into", "created_by")
        .prefetch_related(
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor").order_by("at", "id")),
            "proposers",
            "attachments",
            "co_signers",
        )
    )


# The order the forms appear in: the usual next step first, what cannot be undone last.
FORM_ORDER = [
    "sign", "set_rep", "assign", "forward_to_county", "contact", "plan", "reply", "co_opinion", "forward",
    "to_proposers", "rate", "enter_rating",
    "decide_extension", "request_extension", "rework", "rehandle", "conclude", "answer_on_spot", "merge",
    "explain", "return", "close", "archive",
]  # fmt: skip


# Refused moves the page does not mention: having no extension request to decide is the usual
# state of a ticket, not news.
# Nor the one of "forward to the rep" and "send to the proposers" that the ticket's rep (or its
# lack) rules out: the other is offered instead.
UNMENTIONED = frozenset({"decide_extension", "forward", "to_proposers"})


def _move_options(ticket: Ticket, acting_as: frozenset[str], user, now):
    """The moves the page has a form for, as the services would decide them now: (allowed, refused)."""
    options = [
        o
        for o in services.ticket_moves(ticket, user=user, now=now, acting_as=acting_as)
        if o.name in MOVE_FORMS
    ]
    options.sort(key=lambda o: FORM_ORDER.index(o.name))
    return [o for o in options if o.allowed], [o for o in options if not o.allowed]


EVENT_KEYS = {
    "how": lambda v: (_("contacted by"), v),
    "on": lambda v: (_("contacted on"), v),
    "lead_unit": lambda v: (_("lead unit"), v),
    "co_units": lambda v: (_("co-units"), "、".join(v)) if v else None,
    "unit": lambda v: (_("unit"), v),
    "due": lambda v: (_("due date"), v[:10]),
    "until": lambda v: (_("asked until"), v),
    "approved": lambda v: (_("decision"), _("approved") if v else _("refused")),
    "capped": lambda v: (_("capped"), _("at one month after assignment")) if v else None,
    "reason": lambda v: (_("reason"), v),
    "into_code": lambda v: (_("merged into"), v),
    "rep_consulted": lambda v: (_("representative consulted"), _("yes")) if v else None,
    "rep": lambda v: (_("responsible representative"), v or _("none")),
    "rep_before": lambda v: (_("previously"), v) if v else None,
    "via": lambda v: (_("given"), Rating.Via(v).label if v in Rating.Via.values else v),
    "score": lambda v: (_("rating"), Rating.Score(v).label if v in Rating.Score.values else v),
    "scores": lambda v: (
        (_("ratings"), "、".join(str(Rating.Score(s).label) for s in v if s in Rating.Score.values))
        if v
        else None
    ),
    "source": lambda v: (_("source"), Ticket.Source(v).label if v in Ticket.Source.values else v),
    "external_ref": lambda v: (_("external order number"), v),
    "received_at": lambda v: (_("received by the hotline at"), v),
    "adopted_by": lambda v: (_("adopted by"), v),
    "adopted_on": lambda v: (_("adopted on"), v),
}


def event_details(event: TicketEvent) -> list[tuple[str, str]]:
    """The event's data as label/value pairs a person can read."""
    data = event.data or {}
    shown = []
    for key, fmt in EVENT_KEYS.items():
        if key in data:
            pair = fmt(data[key])
            if pair:
                shown.append(pair)
    if "before" in data and "after" in data:
        for field, after in data["after"].items():
            name = Ticket._meta.get_field(field).verbose_name if field in services.EDITABLE else field
            shown.append((str(name), f"{data['before'].get(field, '')} → {after}"))
    return shown


def _detail_context(request, ticket: Ticket, *, bound: MoveForm | None = None, unsaved: str = "") -> dict:
    user = request.user
    now = timezone.now()
    acting_as = parties(ticket, user)
    allowed, refused = _move_options(ticket, acting_as, user, now)
    forms = []
    for option in allowed:
        if bound is not None and bound.move == option.name:
            forms.append(bound)
        else:
            forms.append(MOVE_FORMS[option.name](ticket=ticket, acting_as=acting_as, user=user))
    assignments = list(ticket.assignments.all())
    timeline = [
        {
            "event": e,
            "label": MOVES[e.move].label if e.move in MOVES else _("registered"),
            "details": event_details(e),
        }
        for e in ticket.events.all()
    ]
    may_edit = "edit" in {m.name for m in allowed_moves(ticket, acting_as)}
    may_correct_summary = "correct_summary" in {m.name for m in allowed_moves(ticket, acting_as)}
    may_adopt = "adopt" in {m.name for m in allowed_moves(ticket, acting_as)} and not services.refusal(
        ticket, "adopt", user=user, now=now
    )
    # What the role allows but the ticket's state refuses now, each with its reason.
    refused = [
        {"move": o.name, "title": MOVE_FORMS[o.name].title, "reason": o.reason}
        for o in refused
        if o.name not in UNMENTIONED
    ]
    return {
        "ticket": ticket,
        "acting_as": acting_as,
        "is_staff_party": bool(acting_as & TRIAGE),
        "sees_proposers": bool(acting_as & SEES_PROPOSERS),
        "time": _time_status(ticket, now),
        "lead": [a for a in assignments if a.role == Assignment.Role.LEAD],
        "co_units": [a for a in assignments if a.role == Assignment.Role.CO],
        "extensions": list(ticket.extensions.all()),
        "ratings": list(ticket.ratings.all()),
        "matter_files": [a for a in ticket.attachments.all() if a.purpose == Attachment.Purpose.MATTER],
        "reply_files": [a for a in ticket.attachments.all() if a.purpose == Attachment.Purpose.REPLY],
        "timeline": timeline,
        "forms": forms,
        "refused": refused,
        "may_edit": may_edit,
        "may_correct_summary": may_correct_summary,
        "may_adopt": may_adopt,
        "unsaved": unsaved,
        "Status": Status,
    }


@login_required
def detail(request, pk: int):
    ticket = get_object_or_404(_page_queryset(request.user), pk=pk)
    return render(request, "proposals/detail.html", _detail_context(request, ticket))


def _attach_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _note(d) -> str:
    return d.get("note") or ""


ACTIONS = {
    "assign": lambda u, t, d: services.ticket_assign(
        actor=u, ticket=t, lead_unit=d["lead_unit"], co_units=list(d["co_units"]), note=_note(d)
    ),
    "forward_to_county": lambda u, t, d: services.ticket_forward_to_county(actor=u, ticket=t, note=_note(d)),
    "answer_on_spot": lambda u, t, d: services.ticket_answer_on_spot(actor=u, ticket=t, note=d["note"]),
    "explain": lambda u, t, d: services.ticket_explain(actor=u, ticket=t, note=d["note"]),
    "merge": lambda u, t, d: services.ticket_merge(actor=u, ticket=t, into=d["into"], note=_note(d)),
    "sign": lambda u, t, d: services.ticket_sign(actor=u, ticket=t),
    "return": lambda u, t, d: services.ticket_return(actor=u, ticket=t, reason=d["reason"]),
    "contact": lambda u, t, d: services.ticket_contact(
        actor=u, ticket=t, how=d["how"], contacted_on=d["contacted_on"], note=_note(d)
    ),
    "plan": lambda u, t, d: services.ticket_plan(
        actor=u, ticket=t, plan=d["plan"], rep_consulted=d.get("rep_consulted", False)
    ),
    "reply": lambda u, t, d: services.ticket_reply(
        actor=u, ticket=t, text=d["text"], files=d["files"], summary=d["summary"]
    ),
    "co_opinion": lambda u, t, d: services.co_opinion_file(actor=u, ticket=t, text=d["text"]),
    "request_extension": lambda u, t, d: services.extension_request(
        actor=u, ticket=t, until=d["until"], reason=d["reason"]
    ),
    "decide_extension": lambda u, t, d: services.extension_decide(
        actor=u, ticket=t, extension=d["extension"], approve=d["decision"] == "approve", note=_note(d)
    ),
    "rework": lambda u, t, d: services.ticket_rework(actor=u, ticket=t, note=d["note"]),
    "forward": lambda u, t, d: services.ticket_forward(
        actor=u, ticket=t, note=_note(d), summary=d["summary"]
    ),
    "to_proposers": lambda u, t, d: services.ticket_to_proposers(
        actor=u, ticket=t, note=_note(d), summary=d["summary"]
    ),
    "set_rep": lambda u, t, d: services.ticket_set_representative(
        actor=u, ticket=t, representative=d["representative"], note=_note(d)
    ),
    "rate": lambda u, t, d: services.ticket_rate(ticket=t, actor=u, score=d["score"], comment=d["comment"]),
    "enter_rating": lambda u, t, d: services.rating_enter(
        actor=u, ticket=t, proposer=d["proposer"], score=d["score"], via=d["via"], comment=d["comment"]
    ),
    "conclude": lambda u, t, d: services.ticket_conclude(ticket=t, actor=u),
    "rehandle": lambda u, t, d: services.ticket_rehandle(actor=u, ticket=t, note=d["note"]),
    "close": lambda u, t, d: services.ticket_close(actor=u, ticket=t, note=d["note"]),
    "archive": lambda u, t, d: services.ticket_archive(actor=u, ticket=t),
}


# Contributions several people make side by side (each co-unit's opinion, each rating): one
# filed since the page was loaded does not make the other's page stale.
INDEPENDENT = frozenset({"co_opinion", "rate", "enter_rating"})


def _failed(request, pk: int, form: MoveForm, message: str):
    """Show the ticket as it is now, the reason, and what the user typed (nothing is lost)."""
    messages.error(request, message)
    ticket = get_object_or_404(_page_queryset(request.user), pk=pk)
    acting_as = parties(ticket, request.user)
    allowed, _refused = _move_options(ticket, acting_as, request.user, timezone.now())
    if form.move in {o.name for o in allowed}:
        data = form.data.copy()
        data[form.add_prefix("version")] = version_of(ticket)  # sending it again acts on this version
        again = type(form)(data, ticket=ticket, acting_as=acting_as, user=request.user)
        context = _detail_context(request, ticket, bound=again)
    else:
        context = _detail_context(request, ticket, unsaved=form.visible_text)
    return render(request, "proposals/detail.html", context, status=409)


@login_required
@require_POST
def act(request, pk: int, move: str):
    """Make one move on a ticket: validate its form, call its service, say what happened."""
    user = request.user
    ticket = get_object_or_404(_move_queryset(user), pk=pk)
    form_class = MOVE_FORMS.get(move)
    if form_class is None:
        raise Http404
    acting_as = parties(ticket, user)
    form = form_class(request.POST, request.FILES, ticket=ticket, acting_as=acting_as, user=user)
    try:
        check(ticket, move, acting_as)  # PermissionDenied (403) for a move that is never the user's
        # Refuse at once, with the reason, a move whose precondition is unmet (the page did not offer it).
        reason = services.refusal(ticket, move, user=user, now=timezone.now())
        if reason:
            raise InvalidMove(reason)
        if form.is_valid():
            seen = parse_version(form.cleaned_data.get("version", ""))
            if move not in INDEPENDENT and seen is not None and seen != ticket.updated_at:
                raise Conflict
            data = dict(form.cleaned_data)
            if move == "decide_extension":
                data["extension"] = form.extension  # the pending one: there is one, or refusal() said so
            ACTIONS[move](user, ticket, data)
    except ValidationError as exc:
        _attach_errors(form, exc)
    except (InvalidMove, Conflict) as exc:
        return _failed(request, pk, form, str(exc))
    except IntegrityError:  # a twin request won a race the status compare-and-set does not cover
        return _failed(request, pk, form, str(Conflict()))
    if not form.is_valid():  # the page again, with the form as sent and its errors
        ticket = get_object_or_404(_page_queryset(user), pk=pk)
        return render(request, "proposals/detail.html", _detail_context(request, ticket, bound=form))
    messages.success(request, _("Done: %(move)s.") % {"move": MOVES[move].label})
    if not _visible(user).filter(pk=pk).exists():  # e.g. a unit that returned it no longer holds it
        return redirect("proposals:workspace")
    return redirect("proposals:detail", pk=pk)


@login_required
def edit(request, pk: int):
    """Staff correct the title, content, category, place and public-interest flag."""
    user = request.user
    ticket = get_object_or_404(
        _visible(user)
        .select_related("township", "representative", "category")
        .prefetch_related("assignments"),
        pk=pk,
    )
    try:
        check(ticket, "edit", parties(ticket, user))
    except InvalidMove as exc:
        messages.error(request, str(exc))
        return redirect("proposals:detail", pk=pk)
    form = TicketEditForm(request.POST or None, ticket=ticket)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            seen = parse_version(data.get("version", ""))
            if seen is not None and seen != ticket.updated_at:
                raise Conflict
            services.ticket_edit(actor=user, ticket=ticket, **{f: data[f] for f in TicketEditForm.FIELDS})
        except ValidationError as exc:
            _attach_errors(form, exc)
        except (Conflict, InvalidMove) as exc:
            messages.error(request, str(exc))
            ticket.refresh_from_db()
            fresh = request.POST.copy()
            fresh["version"] = version_of(ticket)
            form = TicketEditForm(fresh, ticket=ticket)
            status = 409
        else:
            messages.success(request, _("The ticket was corrected."))
            return redirect("proposals:detail", pk=pk)
    return render(request, "proposals/edit.html", {"ticket": ticket, "form": form}, status=status)


@login_required
def attachment(request, pk: int):
    """Send one attachment, only to those who may see its ticket, as the type it was stored as."""
    item = get_object_or_404(Attachment.objects.visible_to(request.user), pk=pk)
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type=item.content_type,
        as_attachment=not item.content_type.startswith("image/"),
        filename=item.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
