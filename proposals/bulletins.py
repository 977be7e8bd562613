"""The periodic bulletin (定期通报): the liaison office's monthly or quarterly document.

A bulletin tells a county's townships, groups and representatives how the representatives keep
in contact with party members and residents, and how the units handle their matters:

- contact work by township and by group: contacts linked, home visits, studio receptions and,
  where the county's policy asks for it, "four ones" (四个一) compliance, month by month;
- unit handling: replies in the period (first replies only), on time and late, and the
  satisfaction of the rep and of the residents with the last round (满意 + 基本满意);
- a few typical matters chosen by the office, kept as a snapshot of public-safe fields
  (tracking code, title, category, unit, status, public reply summary; never a proposer).

Its life: draft → edit → publish, once::

    bulletin_draft ──▶ draft ──(bulletin_refresh, bulletin_edit)──▶ draft ──bulletin_publish──▶ published

A draft's figures are a JSON snapshot computed from the records and refreshed on demand; the
office edits the commentary and the typical matters. Publishing (compare-and-set on the status)
gives it the county's next issue number of the year ("2026年第3期"), freezes it, writes the
audit row and notifies its readers exactly once (``liaison.notify``: the reminder key of the
bulletin and ``BULLETIN_PUBLISHED``). A published bulletin is never changed: the services refuse,
the admin shows it read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE of the row.

On the 1st, ``bulletins_draft_due`` (a daily beat task, also ``manage.py draft_bulletins``) drafts
last month's bulletin for every county that has none, each county on its own, and the deadline
sweep (``proposals.reminders``) tells each office, once, that its draft is ready.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import audit, idempotency, notify
from liaison.models import Region, User
from liaison.roles import Role
from proposals import statistics
from proposals.models import Bulletin, Ticket, TicketEvent
from proposals.notifications import BULLETIN_PUBLISHED  # the kind of notice readers get
from proposals.statistics import day_start
from reps import duties
from reps.models import ContactLink, Group, GroupMembership, HomeVisit, Representative
from studios.models import Reception
from studios.statistics import period_of

log = logging.getLogger(__name__)

TYPICAL_MAX = 10  # typical matters in one bulletin
FOUR_ONES_PREFIX = "four_ones_"  # the keys of the "four ones" quotas in reps.duties


class BulletinError(Exception):
    """A bulletin service refused: the message says why, for the user."""


class AlreadyPublished(BulletinError):
    """The bulletin is published: a second publish (a double tap, a second tab) changes nothing."""


class StaleEdit(BulletinError):
    """Someone saved the draft after the editor opened it; ``current`` is its ``updated_at`` now."""

    def __init__(self, message: str, *, current: datetime.datetime):
        super().__init__(message)
        self.current = current


# --- the figures ---------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _township_of(path: str) -> int | None:
    """The township id of a region path under a county ("/1/4/17/" → 4), None for the county."""
    parts = path.strip("/").split("/")
    return int(parts[1]) if len(parts) > 1 else None


def _counts(rows: Iterable[tuple[int | None, int]]) -> dict[int | None, int]:
    return {key: n or 0 for key, n in rows}


def _four_ones(
    county: Region, reps: QuerySet, start: datetime.date, end: datetime.date, today: datetime.date
):
    """Per rep id, (months the "four ones" applied, months all of them were met) in the period.

    Read from ``reps.duties.standing`` month by month (its quotas, policies and mandates), up to
    today for a period still running. A month whose policy in force (on the day ``standing``
    reads it) asks no "four ones" is skipped: ``standing`` computes every quota, and a county
    without the "four ones" would pay for all of them to find none (0.7 s a month at Hai'an's size).
    """
    due: dict[int, int] = defaultdict(int)
    met: dict[int, int] = defaultdict(int)
    policies = duties.policies_of([county.pk])
    month = start
    while month <= end and month <= today:
        last = period_of(duties.MONTH, month.year, month.month).end
        if not duties.policy_in_force(county.pk, min(last, today), policies).four_ones:
            month = last + datetime.timedelta(days=1)
            continue
        _shown, rows = duties.standing(reps, today=min(last, today))
        for row in rows:
            cells = [
                c for key, c in row.cells.items() if key.startswith(FOUR_ONES_PREFIX) and c.status != "na"
            ]
            if cells:
                due[row.rep.pk] += 1
                met[row.rep.pk] += all(c.status == "ok" for c in cells)
        month = last + datetime.timedelta(days=1)
    return due, met


def _contact_row(name: str, *, reps: int, contacts: int, visits: int, receptions: int, people: int,
                 due: int, met: int) -> dict:  # fmt: skip
    return {
        "name": name,
        "reps": reps,
        "contacts": contacts,
        "visits": visits,
        "receptions": receptions,
        "people": people,
        "four_ones_due": due,
        "four_ones_met": met,
        "four_ones_rate": _rate(met, due),
    }


def bulletin_figures(
    *, county: Region, start: datetime.date, end: datetime.date, today: datetime.date
) -> dict:
    """Compute the figures of ``county`` from ``start`` to ``end`` (local dates, both included).

    A constant number of queries whatever the number of records (the "four ones" cost one
    ``duties.standing`` per month of the period). Contacts are the links held on the period's
    last day (or today); visits, receptions and replies are those dated within the period.
    """
    as_of = min(end, today)
    since, until = day_start(start), day_start(end + datetime.timedelta(days=1))
    townships = list(Region.objects.filter(parent=county, level=Region.Level.TOWNSHIP).order_by("name", "pk"))
    reps = Representative.objects.filter(region__path__startswith=county.path).serving_between(start, end)
    rep_township = {pk: _township_of(path) for pk, path in reps.values_list("pk", "region__path")}
    contacts = _counts(
        ContactLink.objects.active(as_of)
        .filter(representative__in=reps.values("pk"))
        .values_list("representative")
        .annotate(n=Count("pk"))
        .order_by()
    )
    visits = HomeVisit.objects.active().filter(township__parent=county, date__gte=start, date__lte=end)
    receptions = Reception.objects.active().filter(
        township__parent=county, starts_at__gte=since, starts_at__lt=until
    )
    due, met = _four_ones(county, reps, start, end, today)

    visits_by_township = _counts(visits.values_list("township").annotate(n=Count("pk")).order_by())
    receptions_by_township = {
        row["township"]: row
        for row in receptions.values("township")
        .annotate(n=Count("pk"), people=Sum("people_received"))
        .order_by()
    }
    by_township = []
    for township in townships:
        mine = [pk for pk, t in rep_township.items() if t == township.pk]
        received = receptions_by_township.get(township.pk, {})
        by_township.append(
            _contact_row(
                township.name,
                reps=len(mine),
                contacts=sum(contacts.get(pk, 0) for pk in mine),
                visits=visits_by_township.get(township.pk, 0),
                receptions=received.get("n", 0),
                people=received.get("people") or 0,
                due=sum(due[pk] for pk in mine),
                met=sum(met[pk] for pk in mine),
            )
        )

    groups = list(Group.objects.filter(region__path__startswith=county.path).order_by("region__path", "name"))
    members: dict[int, list[int]] = defaultdict(list)
    for group_id, rep_id in GroupMembership.objects.filter(group__in=groups).values_list(
        "group_id", "representative_id"
    ):
        if rep_id in rep_township:
            members[group_id].append(rep_id)
    member = "representatives__memberships__group"
    visits_by_group = _counts(
        visits.filter(**{f"{member}__in": groups})
        .values_list(member)
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    receptions_by_group: dict[int, dict] = defaultdict(lambda: {"n": 0, "people": 0})
    # One row per (group, reception): a reception with two reps of one group counts once.
    for group_id, _pk, people in (
        receptions.filter(**{f"{member}__in": groups})
        .values_list(member, "pk", "people_received")
        .order_by()
        .distinct()
    ):
        receptions_by_group[group_id]["n"] += 1
        receptions_by_group[group_id]["people"] += people
    by_group = []
    for group in groups:
        mine = members[group.pk]
        received = receptions_by_group.get(group.pk, {})
        by_group.append(
            _contact_row(
                group.name,
                reps=len(mine),
                contacts=sum(contacts.get(pk, 0) for pk in mine),
                visits=visits_by_group.get(group.pk, 0),
                receptions=received.get("n", 0),
                people=received.get("people") or 0,
                due=sum(due[pk] for pk in mine),
                met=sum(met[pk] for pk in mine),
            )
        )
    totals = _contact_row(
        "",
        reps=len(rep_township),
        contacts=sum(contacts.get(pk, 0) for pk in rep_township),
        visits=visits.count(),
        receptions=sum(r["n"] for r in receptions_by_township.values()),
        people=sum(r["people"] or 0 for r in receptions_by_township.values()),
        due=sum(due.values()),
        met=sum(met.values()),
    )
    units, unit_totals = _unit_figures(county, since, until)
    return {
        "townships": by_township,
        "groups": by_group,
        "contact_totals": totals,
        "units": units,
        "unit_totals": unit_totals,
        "collected": Ticket.objects.filter(
            township__parent=county, created_at__gte=since, created_at__lt=until
        ).count(),
    }


def _first_replied(county: Region, since: datetime.datetime, until: datetime.datetime) -> QuerySet[Ticket]:
    """The county's tickets whose first reply came in [since, until): a reply in the period and
    none before it (the event index on (move, at) finds the first, on (ticket, at) the second)."""
    replies = TicketEvent.objects.filter(move="reply")
    return Ticket.objects.filter(
        township__parent=county,
        pk__in=replies.filter(at__gte=since, at__lt=until).values("ticket_id"),
    ).exclude(Exists(replies.filter(ticket=OuterRef("pk"), at__lt=since)))


def _unit_figures(county: Region, since: datetime.datetime, until: datetime.datetime) -> tuple[list, dict]:
    """Per lead unit, the tickets first replied to in the period: on time, late, satisfaction.

    The cohort differs from ``proposals.statistics`` (tickets first replied to in the period,
    not registered in it), the figures are the same ones: read, in one query, from what each
    ticket keeps on its row (``proposals.facts``), through ``statistics.tally``: the first
    reply on time by the due time in force then, and the ratings of the ticket's last round.
    """
    rows = statistics.tally(_first_replied(county, since, until), "lead_unit_id", "lead_unit__name")
    keys = ("replied", "on_time", "rep_ratings", "rep_satisfied", "res_ratings", "res_satisfied")
    units = [_unit_row(row["lead_unit__name"] or _("(no unit)"), **{k: row[k] for k in keys}) for row in rows]
    units.sort(key=lambda r: (-r["late"], -r["on_time"], r["name"]))
    totals = _unit_row("", **{key: sum(u[key] for u in units) for key in keys})
    return units, totals


def _unit_row(name: str, *, replied: int, on_time: int, rep_ratings: int, rep_satisfied: int,
              res_ratings: int, res_satisfied: int) -> dict:  # fmt: skip
    return {
        "name": name,
        "replied": replied,
        "on_time": on_time,
        "late": replied - on_time,
        "on_time_rate": _rate(on_time, replied),
        "rep_ratings": rep_ratings,
        "rep_satisfied": rep_satisfied,
        "rep_satisfaction": _rate(rep_satisfied, rep_ratings),
        "res_ratings": res_ratings,
        "res_satisfied": res_satisfied,
        "res_satisfaction": _rate(res_satisfied, res_ratings),
    }


# --- typical matters -------------------------------------------------------------------------


def period_tickets(bulletin: Bulletin) -> QuerySet[Ticket]:
    """The county's tickets registered in the bulletin's period: what typical matters are chosen from."""
    return Ticket.objects.filter(
        township__parent_id=bulletin.county_id,
        created_at__gte=day_start(bulletin.start),
        created_at__lt=day_start(bulletin.end + datetime.timedelta(days=1)),
    )


def _snapshot(tickets: Iterable[Ticket]) -> list[dict]:
    """The public-safe fields of each ticket: no proposer, no content, no phone."""
    return [
        {
            "ticket_id": t.pk,
            "tracking_code": t.tracking_code,
            "title": t.title,
            "category": t.category.name,
            "unit": t.lead_unit.name if t.lead_unit_id else "",
            "status": t.status,
            "reply_summary": t.reply_summary,
        }
        for t in tickets
    ]


def _typical(county: Region, codes: list[str]) -> list[dict]:
    codes = list(dict.fromkeys(codes))
    if len(codes) > TYPICAL_MAX:
        raise BulletinError(_("Choose at most %(max)d typical matters.") % {"max": TYPICAL_MAX})
    found = {
        t.tracking_code: t
        for t in Ticket.objects.filter(township__parent=county, tracking_code__in=codes).select_related(
            "category", "lead_unit"
        )
    }
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise BulletinError(
            _("No matter of this county has the tracking code %(codes)s.") % {"codes": "、".join(unknown)}
        )
    return _snapshot(found[code] for code in codes)


# --- the services ----------------------------------------------------------------------------


def _locked_draft(bulletin: Bulletin) -> Bulletin:
    current = Bulletin.objects.select_for_update().select_related("county").get(pk=bulletin.pk)
    if current.status != Bulletin.Status.DRAFT:
        raise AlreadyPublished(_("This bulletin has been published and can no longer be changed."))
    return current


@transaction.atomic
def bulletin_draft(
    *, actor: User | None, county: Region, kind: str, year: int, number: int, now: datetime.datetime
) -> tuple[Bulletin, bool]:
    """Return the period's bulletin, drafting it (with its figures) if there is none yet.

    Idempotent: a second call, or a concurrent one (they meet at the unique key), returns the
    bulletin the first made, and ``False``.
    """
    if county.level != Region.Level.COUNTY:
        raise BulletinError(_("A bulletin belongs to a county."))
    try:
        period = period_of(kind, year, number)
    except ValueError:
        raise BulletinError(_("There is no such period.")) from None
    today = timezone.localdate(now)
    if period.start > today:
        raise BulletinError(_("The period has not begun yet."))
    key = {"county": county, "kind": kind, "year": year, "number": number}
    existing = Bulletin.objects.filter(**key).first()
    if existing is not None:
        return existing, False
    bulletin = Bulletin(
        **key,
        start=period.start,
        end=period.end,
        figures=bulletin_figures(county=county, start=period.start, end=period.end, today=today),
        figures_at=now,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            bulletin.save(force_insert=True)
    except IntegrityError:  # drafted at the same instant by another request or the sweep
        return Bulletin.objects.get(**key), False
    audit.record(actor=actor, verb="bulletin.drafted", subject=bulletin, region=county)
    return bulletin, True


# From the 1st, up to this day of the month, last month's missing drafts are made (a catch-up
# after downtime); later days start no backlog.
DRAFT_CATCH_UP_DAYS = 7


def bulletins_draft_due(*, now: datetime.datetime) -> int:
    """Draft last month's bulletin for each county that has none, from the 1st; return how many.

    Each county in its own transaction: one county's failure (logged) leaves the others drafted,
    and the next run tries it again. Safe to run twice: ``bulletin_draft`` is idempotent.
    """
    today = timezone.localdate(now)
    if today.day > DRAFT_CATCH_UP_DAYS:
        return 0
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    period = {"kind": Bulletin.Kind.MONTH, "year": last_month.year, "number": last_month.month}
    drafted = Bulletin.objects.filter(**period).values("county_id")
    made = 0
    for county in Region.objects.filter(level=Region.Level.COUNTY).exclude(pk__in=drafted):
        try:
            made += bulletin_draft(actor=None, county=county, now=now, **period)[1]
        except Exception:  # noqa: BLE001 - one county's failure must not stop the others
            log.exception("bulletins: drafting %s for %s failed", last_month.strftime("%Y-%m"), county)
    return made


@transaction.atomic
def bulletin_refresh(
    *, actor: User, bulletin: Bulletin, now: datetime.datetime, seen: datetime.datetime | None = None
) -> Bulletin:
    """Recompute a draft's figures (and its typical matters' snapshot) from the records.

    ``seen`` is the ``figures_at`` the page showed: if the figures were computed since (the
    button tapped twice, or by a colleague), they are fresh already and are not computed again
    (``idempotency.replayed`` says so); at a county of Hai'an's size a quarter takes seconds.
    """
    bulletin = _locked_draft(bulletin)
    if seen is not None and bulletin.figures_at is not None and bulletin.figures_at > seen:
        setattr(bulletin, idempotency.REPLAYED, True)
        return bulletin
    bulletin.figures = bulletin_figures(
        county=bulletin.county, start=bulletin.start, end=bulletin.end, today=timezone.localdate(now)
    )
    bulletin.typical_matters = _typical(
        bulletin.county, [m["tracking_code"] for m in bulletin.typical_matters]
    )
    # ``updated_at`` stays: it marks the office's text, which an editor may have open right now.
    bulletin.figures_at = now
    bulletin.save(update_fields=["figures", "typical_matters", "figures_at"])
    return bulletin


@transaction.atomic
def bulletin_edit(
    *,
    actor: User,
    bulletin: Bulletin,
    commentary: str,
    codes: list[str],
    now: datetime.datetime,
    seen: datetime.datetime | None = None,
) -> Bulletin:
    """Set a draft's commentary and its typical matters (by tracking code, in this order).

    The same text and codes sent again (a double tap) change nothing and are not audited again.
    ``seen`` is the ``updated_at`` the editor's form was opened on: when someone else saved in
    between, the edit is refused (``StaleEdit``) rather than silently replacing their text.
    """
    bulletin = _locked_draft(bulletin)
    codes = list(dict.fromkeys(codes))
    if bulletin.commentary == commentary.strip() and codes == [
        m["tracking_code"] for m in bulletin.typical_matters
    ]:
        return bulletin
    if seen is not None and bulletin.updated_at != seen:
        raise StaleEdit(
            _(
                "Someone else saved this bulletin in the meantime. Compare with the bulletin page; "
                "saving again replaces their text with yours."
            ),
            current=bulletin.updated_at,
        )
    bulletin.commentary = commentary.strip()
    bulletin.typical_matters = _typical(bulletin.county, codes)
    bulletin.updated_at = now
    bulletin.save(update_fields=["commentary", "typical_matters", "updated_at"])
    audit.record(actor=actor, verb="bulletin.edited", subject=bulletin, region=bulletin.county)
    return bulletin


@transaction.atomic
def bulletin_publish(*, actor: User, bulletin: Bulletin, now: datetime.datetime) -> Bulletin:
    """Publish a draft once: number it, freeze it, audit it, notify its readers once.

    1. Lock the county's row: publishes in one county take their issue numbers one at a time.
    2. Lock the bulletin and refuse anything but a draft (a second publish, from a second tab
       or a double click, is refused here rather than numbered twice).
    3. The next issue number of the county's publishing year; compare-and-set draft → published.
    4. Audit, and notify the readers (``BULLETIN_PUBLISHED``): the reminder key of the bulletin
       makes the notice exactly-once even if this ran again.
    """
    list(Region.objects.select_for_update().filter(pk=bulletin.county_id).values_list("pk", flat=True))
    current = _locked_draft(bulletin)
    year = timezone.localdate(now).year
    last = Bulletin.objects.filter(county_id=current.county_id, serial_year=year).aggregate(n=Max("serial"))[
        "n"
    ]
    serial = (last or 0) + 1
    moved = Bulletin.objects.filter(pk=current.pk, status=Bulletin.Status.DRAFT).update(
        status=Bulletin.Status.PUBLISHED,
        serial=serial,
        serial_year=year,
        published_by=actor,
        published_at=now,
    )
    if not moved:
        raise AlreadyPublished(_("This bulletin has been published and can no longer be changed."))
    current.status, current.serial, current.serial_year = Bulletin.Status.PUBLISHED, serial, year
    current.published_by, current.published_at = actor, now
    audit.record(
        actor=actor,
        verb="bulletin.published",
        subject=current,
        region=current.county,
        serial=serial,
        year=year,
    )
    notify.notify(
        kind=BULLETIN_PUBLISHED, subject=current, users=bulletin_readers(current.county, now), now=now
    )
    return current


def bulletin_readers(county: Region, now: datetime.datetime) -> QuerySet[User]:
    """Who is told of a published bulletin: the county's township staff, its representatives
    with an account and a mandate running today, and its groups' leaders (a rep without an
    account has no inbox and is skipped)."""
    today = timezone.localdate(now)
    reps = Representative.objects.active(today).filter(region__path__startswith=county.path)
    leaders = Group.objects.filter(region__path__startswith=county.path).values("leader")
    return User.objects.filter(
        Q(roles__role=Role.TOWNSHIP_STAFF, roles__region__path__startswith=county.path)
        | Q(representative__in=reps.values("pk"))
        | Q(representative__in=leaders)
    )
