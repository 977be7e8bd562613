"""The ticket notification kinds: what each one says, and where it links.

Each kind renders a batch of notifications in a constant number of queries (the subjects are
loaded with one ``in_bulk``, the reminders' periods with one more), at read time: a message
always shows the ticket as it is now, and the period of the reminder says which due date or
month it was about. Importing this module registers the kinds (``ProposalsConfig.ready()``).

Periods, as written by ``proposals.reminders``:
- ``ticket.due_soon``: ``"3d:2026-03-29"`` (days before, due date);
- ``ticket.overdue``, ``ticket.co_opinion_overdue``, ``ticket.feedback_overdue``: the due date;
- ``ticket.escalated``: ``"+1d:2026-03-29"`` (days overdue, due date);
- ``ticket.overdue_digest``: the day; ``ticket.bulletin``: the month reported on, ``"2026-03"``;
- ``bulletin.published``: ``""``, the subject being the published bulletin;
- the event kinds (``ticket.assigned`` ...): ``""``, the subject being the event itself.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from liaison import notify
from liaison.models import Delivery, Notification, Region, Reminder
from liaison.notify import Kind, Message

# Kinds owed by the clock (proposals.reminders.ticket_reminders_send_due).
DUE_SOON = "ticket.due_soon"
OVERDUE = "ticket.overdue"
ESCALATED = "ticket.escalated"
CO_OPINION_OVERDUE = "ticket.co_opinion_overdue"
HANDIN_OVERDUE = "ticket.handin_overdue"
FEEDBACK_OVERDUE = "ticket.feedback_overdue"
OVERDUE_DIGEST = "ticket.overdue_digest"
BULLETIN = "ticket.bulletin"
BULLETIN_PUBLISHED = "bulletin.published"  # event-driven: proposals.bulletins.bulletin_publish

# Kinds owed by a move (proposals.reminders.ticket_events_notify): move → kind.
EVENT_KINDS = {
    "assign": "ticket.assigned",
    "return": "ticket.returned",
    "reply": "ticket.replied",
    "request_extension": "ticket.extension_requested",
    "decide_extension": "ticket.extension_decided",
    "rework": "ticket.rework",
    "rehandle": "ticket.rehandled",
    "forward": "ticket.forwarded",
}

# Kinds sent by SMS to the proposers who ticked "send me SMS about this matter" on the intake
# form (proposals.reminders.ticket_events_notify); the subject is the event.
PROPOSER_RECEIPT = "proposer.receipt"  # the matter was registered: its tracking code
PROPOSER_REPLY = "proposer.reply_ready"  # the reply reached the proposers: read and rate it
PROPOSER_REHANDLED = "proposer.rehandled"  # handled again (重办) after dissatisfaction

NOTE_LENGTH = 120  # a note quoted in a message is cut here: an SMS is short
SMS_TITLE_LENGTH = 20  # the matter's title, in a resident's SMS


# --- helpers ---------------------------------------------------------------------------------


def ticket_url(pk: int) -> str:
    return reverse("proposals:detail", args=[pk])


def _ticket_urls() -> Callable[[int], str]:
    """``ticket_url`` for many tickets: the pattern reversed once (with this thread's script
    prefix), each ticket's id put in its place; a batch of deliveries names hundreds."""
    placeholder = 987654321987654321
    head, tail = reverse("proposals:detail", args=[placeholder]).split(str(placeholder))
    return lambda pk: f"{head}{pk}{tail}"


def _workspace_url(**query: str) -> str:
    """The ticket workspace, on a queue and filter (``queue="office", timeliness="overdue"``)."""
    return f"{reverse('proposals:workspace')}?{urlencode(query)}"


def _inbox_url() -> str:
    return reverse("inbox")


def _day(text: str) -> str:
    """A "2026-03-29" period part, written the way the language writes dates."""
    return _day_in(translation.get_language(), text)


@functools.lru_cache(maxsize=1024)
def _day_in(language: str | None, text: str) -> str:
    # A batch of deliveries writes the same few due dates hundreds of times: once per language.
    try:
        return formats.date_format(datetime.date.fromisoformat(text), "DATE_FORMAT")
    except ValueError:
        return text


def _moment(value: datetime.datetime | None) -> str:
    return formats.date_format(timezone.localdate(value), "DATE_FORMAT") if value else "–"


def _cut(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= NOTE_LENGTH else text[: NOTE_LENGTH - 1] + "…"


def _periods(notifications: list[Notification]) -> dict[int, str]:
    """The period of each notification's reminder, in one query."""
    ids = {n.reminder_id for n in notifications}
    return dict(Reminder.objects.filter(pk__in=ids).values_list("pk", "period"))


def _gone() -> Message:
    return Message(
        title=_("Ticket notice"),
        body=_("The record this notice was about no longer exists."),
        url=_inbox_url(),
    )


def _ticket_fields(ticket) -> dict[str, str]:
    return {
        "code": ticket.display_code,
        "title": ticket.title,
        "unit": ticket.lead_unit.name if ticket.lead_unit_id else "–",
    }


def _with_tickets(write: Callable) -> Callable[[list[Notification]], list[Message]]:
    """A render function for kinds about a ticket: ``write(ticket, period) -> (title, body)``."""

    def render(notifications: list[Notification]) -> list[Message]:
        from proposals.models import Ticket

        tickets = Ticket.objects.select_related("lead_unit").in_bulk({n.subject_id for n in notifications})
        periods = _periods(notifications)
        url = _ticket_urls()
        messages = []
        for n in notifications:
            ticket = tickets.get(n.subject_id)
            if ticket is None:
                messages.append(_gone())
                continue
            title, body = write(ticket, periods.get(n.reminder_id, ""))
            messages.append(Message(title=title, body=body, url=url(ticket.pk)))
        return messages

    return render


# --- owed by the clock -------------------------------------------------------------------------


def _due_soon(ticket, period: str) -> tuple[str, str]:
    days, _sep, due = period.partition(":")
    n = int(days.rstrip("d") or 0)
    fields = _ticket_fields(ticket) | {"days": n, "due": _day(due)}
    return (
        ngettext("Reply due within %(days)d day: %(title)s", "Reply due within %(days)d days: %(title)s", n)
        % fields,
        _("Ticket %(code)s “%(title)s” must be replied to by the end of %(due)s.") % fields,
    )


def _overdue(ticket, period: str) -> tuple[str, str]:
    fields = _ticket_fields(ticket) | {"due": _day(period)}
    return (
        _("Reply overdue: %(title)s") % fields,
        _("Ticket %(code)s “%(title)s” (lead unit: %(unit)s) was due on %(due)s and has no reply yet.")
        % fields,
    )


def _escalated(ticket, period: str) -> tuple[str, str]:
    days, _sep, due = period.partition(":")
    n = int(days.strip("+d") or 0)
    fields = _ticket_fields(ticket) | {"days": n, "due": _day(due)}
    return (
        ngettext("Overdue by %(days)d day: %(title)s", "Overdue by %(days)d days: %(title)s", n) % fields,
        _(
            "Ticket %(code)s “%(title)s” (lead unit: %(unit)s) was due on %(due)s and is still "
            "unanswered. Please follow it up."
        )
        % fields,
    )


def _feedback_overdue(ticket, period: str) -> tuple[str, str]:
    fields = _ticket_fields(ticket) | {"due": _day(period)}
    return (
        _("Please rate the reply: %(title)s") % fields,
        _(
            "The reply to ticket %(code)s “%(title)s” was sent to you; your feedback was due on "
            "%(due)s. Please say whether you are satisfied."
        )
        % fields,
    )


def render_co_opinion_overdue(notifications: list[Notification]) -> list[Message]:
    from proposals.models import Assignment

    assignments = Assignment.objects.select_related("unit", "ticket", "ticket__lead_unit").in_bulk(
        {n.subject_id for n in notifications}
    )
    periods = _periods(notifications)
    messages = []
    for n in notifications:
        assignment = assignments.get(n.subject_id)
        if assignment is None:
            messages.append(_gone())
            continue
        fields = _ticket_fields(assignment.ticket) | {
            "co_unit": assignment.unit.name,
            "due": _day(periods.get(n.reminder_id, "")),
        }
        messages.append(
            Message(
                title=_("Co-unit opinion overdue: %(title)s") % fields,
                body=_(
                    "%(co_unit)s has not filed its opinion on ticket %(code)s “%(title)s”, due on %(due)s."
                )
                % fields,
                url=ticket_url(assignment.ticket_id),
            )
        )
    return messages


def render_handin_overdue(notifications: list[Notification]) -> list[Message]:
    """Matters raised at a reception or a home visit, marked for a ticket, not handed in."""
    from reps.models import VisitMatter
    from studios.models import ReceptionMatter

    wanted: dict[str, set[int]] = defaultdict(set)
    for n in notifications:
        wanted[n.subject_type].add(n.subject_id)
    receptions = ReceptionMatter.objects.select_related("reception", "reception__studio").in_bulk(
        wanted["studios.receptionmatter"]
    )
    visits = VisitMatter.objects.select_related("visit").in_bulk(wanted["reps.visitmatter"])
    messages = []
    for n in notifications:
        if n.subject_type == "studios.receptionmatter" and n.subject_id in receptions:
            matter = receptions[n.subject_id]
            reception = matter.reception
            fields = {
                "matter": _cut(matter.content),
                "date": _moment(reception.starts_at),
                "place": reception.studio.name if reception.studio_id else reception.place or "–",
            }
            body = _(
                "A matter raised at the reception of %(date)s (%(place)s) is to become a ticket but "
                "has not been handed in: %(matter)s"
            )
            url = reverse("proposals:from_reception_matter", args=[matter.pk])
        elif n.subject_type == "reps.visitmatter" and n.subject_id in visits:
            matter = visits[n.subject_id]
            fields = {"matter": _cut(matter.content), "date": _day(matter.visit.date.isoformat())}
            body = _("A matter raised on the home visit of %(date)s has not been handed in: %(matter)s")
            url = reverse("proposals:from_visit_matter", args=[matter.pk])
        else:
            messages.append(_gone())
            continue
        messages.append(Message(title=_("Matter not handed in yet"), body=body % fields, url=url))
    return messages


def render_overdue_digest(notifications: list[Notification]) -> list[Message]:
    """One office's overdue tickets, counted when read (township: its own; county: the office's)."""
    from proposals.models import Ticket

    ids = {n.subject_id for n in notifications}
    regions = Region.objects.in_bulk(ids)
    overdue = Ticket.objects.overdue(timezone.now())
    counts = dict(
        overdue.filter(assigned_by=Ticket.AssignedBy.TOWNSHIP, township_id__in=ids)
        .values_list("township_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    county_counts = dict(
        overdue.filter(assigned_by=Ticket.AssignedBy.COUNTY, township__parent_id__in=ids)
        .values_list("township__parent_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    periods = _periods(notifications)
    messages = []
    for n in notifications:
        region = regions.get(n.subject_id)
        if region is None:
            messages.append(_gone())
            continue
        is_county = region.level == Region.Level.COUNTY
        count = (county_counts if is_county else counts).get(region.pk, 0)
        fields = {"office": region.name, "count": count, "date": _day(periods.get(n.reminder_id, ""))}
        messages.append(
            Message(
                title=_("Overdue tickets, %(date)s: %(office)s") % fields,
                body=ngettext(
                    "%(count)d ticket assigned by %(office)s is overdue now.",
                    "%(count)d tickets assigned by %(office)s are overdue now.",
                    count,
                )
                % fields,
                url=_workspace_url(queue="office" if is_county else "township", timeliness="overdue"),
            )
        )
    return messages


def render_bulletin(notifications: list[Notification]) -> list[Message]:
    """The monthly bulletin (定期通报) is drafted: the county office edits and publishes it.

    The subject is the county, the period the month ("2026-03"); the sweep drafted that month's
    bulletin (``proposals.bulletins``) before telling the office, and the message links to it.
    """
    from proposals.models import Bulletin

    periods = _periods(notifications)
    regions = Region.objects.in_bulk({n.subject_id for n in notifications})
    wanted = Q(pk__in=[])
    for n in notifications:
        year, _sep, month = periods.get(n.reminder_id, "").partition("-")
        if year.isdigit() and month.isdigit():
            wanted |= Q(county_id=n.subject_id, kind=Bulletin.Kind.MONTH, year=int(year), number=int(month))
    bulletins = {(b.county_id, f"{b.year}-{b.number:02d}"): b for b in Bulletin.objects.filter(wanted)}
    messages = []
    for n in notifications:
        month = periods.get(n.reminder_id, "")
        region = regions.get(n.subject_id)
        if region is None:
            messages.append(_gone())
            continue
        bulletin = bulletins.get((region.pk, month))
        url = reverse("bulletins:detail", args=[bulletin.pk]) if bulletin else reverse("bulletins:index")
        fields = {"month": month, "county": region.name}
        if bulletin is not None and bulletin.is_published:
            body = _("The bulletin on %(month)s has been published.") % fields
        else:
            body = (
                _(
                    "The draft bulletin on %(month)s is ready, with the month's figures. Write the "
                    "commentary, choose the typical matters and publish it."
                )
                % fields
            )
        messages.append(
            Message(
                title=_("Monthly bulletin %(month)s: %(county)s") % fields,
                body=body,
                url=url,
            )
        )
    return messages


def render_bulletin_published(notifications: list[Notification]) -> list[Message]:
    """A bulletin was published: its readers are told once, with a link to it."""
    from proposals.models import Bulletin

    bulletins = Bulletin.objects.select_related("county").in_bulk({n.subject_id for n in notifications})
    messages = []
    for n in notifications:
        bulletin = bulletins.get(n.subject_id)
        if bulletin is None:
            messages.append(_gone())
            continue
        fields = {
            "county": bulletin.county.name,
            "issue": bulletin.issue_label,
            "period": bulletin.period_label,
        }
        messages.append(
            Message(
                title=_("Bulletin %(issue)s: %(county)s") % fields,
                body=_("The liaison office of %(county)s has published its bulletin on %(period)s.") % fields,
                url=reverse("bulletins:detail", args=[bulletin.pk]),
            )
        )
    return messages


# --- owed by a move --------------------------------------------------------------------------


def render_event(notifications: list[Notification]) -> list[Message]:
    """One renderer for every event kind: the move decides the wording."""
    from proposals.models import TicketEvent

    events = TicketEvent.objects.select_related("ticket", "ticket__lead_unit").in_bulk(
        {n.subject_id for n in notifications}
    )
    messages = []
    for n in notifications:
        event = events.get(n.subject_id)
        if event is None:
            messages.append(_gone())
            continue
        ticket = event.ticket
        fields = _ticket_fields(ticket) | {
            "by": event.actor_label or _("System"),
            "note": _cut(event.note),
            "due": _moment(ticket.due_at),
        }
        title, body = _EVENT_TEXT.get(event.move, _event_generic)(event, fields)
        messages.append(Message(title=title % fields, body=body % fields, url=ticket_url(ticket.pk)))
    return messages


def _event_generic(event, fields):
    return _("Ticket update: %(title)s"), _("Ticket %(code)s “%(title)s” has changed.")


def _assigned(event, fields):
    return (
        _("New ticket: %(title)s"),
        _(
            "%(by)s assigned ticket %(code)s “%(title)s” (lead unit: %(unit)s). Please sign for it; "
            "the reply is due on %(due)s."
        ),
    )


def _returned(event, fields):
    return (
        _("Ticket returned: %(title)s"),
        _("%(by)s returned ticket %(code)s “%(title)s” as not its remit: %(note)s"),
    )


def _replied(event, fields):
    return (
        _("Reply to review: %(title)s"),
        _(
            "%(by)s replied to ticket %(code)s “%(title)s”. Please review the reply and forward it "
            "to the representative."
        ),
    )


def _extension_requested(event, fields):
    fields["until"] = _day(str(event.data.get("until", "")))
    return (
        _("Extension requested: %(title)s"),
        _("%(by)s asks to extend ticket %(code)s “%(title)s” to %(until)s: %(note)s"),
    )


def _extension_decided(event, fields):
    if event.data.get("approved"):
        return (
            _("Extension approved: %(title)s"),
            _("Ticket %(code)s “%(title)s” is now due on %(due)s."),
        )
    return (
        _("Extension refused: %(title)s"),
        _("Ticket %(code)s “%(title)s” stays due on %(due)s. %(note)s"),
    )


def _rework(event, fields):
    return (
        _("Reply returned for rework: %(title)s"),
        _("%(by)s returned the reply to ticket %(code)s “%(title)s” for rework: %(note)s"),
    )


def _rehandled(event, fields):
    return (
        _("Handle again: %(title)s"),
        _(
            "The reply to ticket %(code)s “%(title)s” did not satisfy. Handle it again (重办) by "
            "%(due)s: %(note)s"
        ),
    )


def _forwarded(event, fields):
    fields["due"] = _moment(event.ticket.feedback_due_at)
    return (
        _("A reply for you to rate: %(title)s"),
        _(
            "The reply to ticket %(code)s “%(title)s” is ready. Please read it and say by %(due)s "
            "whether you are satisfied."
        ),
    )


_EVENT_TEXT = {
    "assign": _assigned,
    "return": _returned,
    "reply": _replied,
    "request_extension": _extension_requested,
    "decide_extension": _extension_decided,
    "rework": _rework,
    "rehandle": _rehandled,
    "forward": _forwarded,
}

# --- to the proposers, by SMS -------------------------------------------------------------------


def track_path(code: str) -> str:
    """The tracking page with the code filled in (never the phone: the resident types its digits)."""
    return f"{reverse('public:track')}?{urlencode({'code': code})}"


def track_link(code: str) -> str:
    """``track_path`` as an absolute link, or "" when ``SITE_URL`` is not set."""
    return settings.SITE_URL.rstrip("/") + track_path(code) if settings.SITE_URL else ""


def render_proposer(notifications: list[Notification]) -> list[Message]:
    """A resident's SMS: short, with nothing they did not give us but the code and the link.

    Read when sent, like the staff kinds: the re-handling notice gives the due date in force.
    """
    from proposals.models import TicketEvent

    events = TicketEvent.objects.select_related("ticket").in_bulk({n.subject_id for n in notifications})
    messages = []
    for n in notifications:
        event = events.get(n.subject_id)
        if event is None:
            messages.append(_gone())
            continue
        ticket = event.ticket
        title = " ".join(ticket.title.split())
        fields = {
            "title": title if len(title) <= SMS_TITLE_LENGTH else title[: SMS_TITLE_LENGTH - 1] + "…",
            "code": ticket.display_code,
            "link": track_link(ticket.tracking_code),
            "due": _moment(ticket.due_at),
        }
        heading, with_link, without_link = _PROPOSER_TEXT[n.kind]()
        body = (with_link if fields["link"] else without_link) % fields
        messages.append(Message(title=heading, body=body, url=track_path(ticket.tracking_code)))
    return messages


def _receipt_text():
    return (
        _("Matter received"),
        _("“%(title)s”, tracking code %(code)s. Follow it at %(link)s"),
        _("“%(title)s”, tracking code %(code)s. Keep it to follow the matter on the tracking page."),
    )


def _reply_ready_text():
    return (
        _("Reply ready"),
        _("“%(title)s”: read the reply and rate it at %(link)s (enter the last 4 digits of your phone)"),
        _("“%(title)s”: read the reply and rate it on the tracking page with code %(code)s."),
    )


def _rehandled_text():
    return (
        _("Handled again"),
        _("“%(title)s” is being handled again; the reply is due by %(due)s. Follow it at %(link)s"),
        _("“%(title)s” is being handled again; the reply is due by %(due)s. Tracking code %(code)s."),
    )


_PROPOSER_TEXT = {
    PROPOSER_RECEIPT: _receipt_text,
    PROPOSER_REPLY: _reply_ready_text,
    PROPOSER_REHANDLED: _rehandled_text,
}

EMAIL_ONLY = (Delivery.Channel.EMAIL,)  # long texts, for reading at a desk
SMS_ONLY = (Delivery.Channel.SMS,)  # to residents, who gave a phone number and no email

KINDS = (
    Kind(DUE_SOON, _with_tickets(_due_soon)),
    Kind(OVERDUE, _with_tickets(_overdue)),
    Kind(ESCALATED, _with_tickets(_escalated), supersedes=(OVERDUE,)),
    Kind(FEEDBACK_OVERDUE, _with_tickets(_feedback_overdue)),
    Kind(CO_OPINION_OVERDUE, render_co_opinion_overdue),
    Kind(HANDIN_OVERDUE, render_handin_overdue),
    Kind(OVERDUE_DIGEST, render_overdue_digest, channels=EMAIL_ONLY),
    Kind(BULLETIN, render_bulletin, channels=EMAIL_ONLY),
    Kind(BULLETIN_PUBLISHED, render_bulletin_published, channels=EMAIL_ONLY),
    *(Kind(code, render_event) for code in EVENT_KINDS.values()),
    *(Kind(code, render_proposer, channels=SMS_ONLY) for code in _PROPOSER_TEXT),
)

for _kind in KINDS:
    notify.register(_kind)
