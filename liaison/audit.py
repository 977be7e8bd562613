"""Write the append-only audit log. Services call ``record`` inside their transaction.

Each row says who did what to which record, when, from which IP and with what outcome. The
IP comes from the request being served (``AuditContextMiddleware`` keeps it for the request),
so services need not pass it; ``ip=`` overrides it.

The table is append-only in the database (a PostgreSQL trigger refuses UPDATE and DELETE);
``purge`` is the one way rows leave it: those older than the county's retention policy, never
younger than six months (the trigger checks that too).
"""

from __future__ import annotations

import datetime
import logging
from contextvars import ContextVar
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from liaison.http import client_ip
from liaison.models import AuditEvent, Region
from liaison.pii import mask_phone  # the project's one masking rule (138****5678)

log = logging.getLogger(__name__)

# The client IP of the request being served (None outside requests: tasks, commands).
_current_ip: ContextVar[str | None] = ContextVar("liaison_audit_ip", default=None)

MIN_RETENTION_MONTHS = 6  # 网络安全法 第二十一条; the trigger has the same floor


def _actor(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _row(actor, verb, subject, region, ip, outcome, data) -> AuditEvent:
    return AuditEvent(
        actor=_actor(actor),
        verb=verb,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        subject_label=str(subject)[:200],
        region=region,
        ip=ip if ip is not None else _current_ip.get(),
        outcome=outcome,
        data=data,
    )


# What each action means, for the readers of the audit log (/audit/). Admin writes are
# "<model>.added/changed/deleted" and withdrawals "<model>.withdrawn" (ACTIONS, the record type
# says which model); every other verb a service writes is named here. A test keeps the two lists
# complete against the code.
ACTIONS = {
    "added": pgettext_lazy("audit action", "added"),
    "changed": pgettext_lazy("audit action", "changed"),
    "deleted": pgettext_lazy("audit action", "deleted"),
    "withdrawn": pgettext_lazy("audit action", "withdrawn"),
}
VERBS = {
    "auth.login": pgettext_lazy("audit action", "signed in"),
    "auth.login_failed": pgettext_lazy("audit action", "sign-in failed"),
    "auth.locked": pgettext_lazy("audit action", "sign-in locked"),
    "auth.unlocked": pgettext_lazy("audit action", "sign-in unlocked"),
    "auth.idle_timeout": pgettext_lazy("audit action", "signed out when idle"),
    "auth.superseded": pgettext_lazy("audit action", "signed out by a newer sign-in"),
    "auth.2fa_enrolled": pgettext_lazy("audit action", "two-step sign-in set up"),
    "auth.2fa_failed": pgettext_lazy("audit action", "two-step code refused"),
    "auth.2fa_reset": pgettext_lazy("audit action", "two-step sign-in reset"),
    "auth.2fa_recovery_codes": pgettext_lazy("audit action", "new recovery codes"),
    "audit.exported": pgettext_lazy("audit action", "audit log downloaded"),
    "pii.exported": pgettext_lazy("audit action", "people exported"),
    "pii.phone_revealed": pgettext_lazy("audit action", "phone number revealed"),
    "pii.anonymised": pgettext_lazy("audit action", "closed matters anonymised"),
    "import.uploaded": pgettext_lazy("audit action", "import sheet uploaded"),
    "import.applied": pgettext_lazy("audit action", "import applied"),
    "contact.added": pgettext_lazy("audit action", "contact added"),
    "contact.updated": pgettext_lazy("audit action", "contact changed"),
    "visit.recorded": pgettext_lazy("audit action", "visit recorded"),
    "reception.recorded": pgettext_lazy("audit action", "reception recorded"),
    "opinion.submitted": pgettext_lazy("audit action", "public-opinion report handed in"),
    "opinion_register.submitted": pgettext_lazy("audit action", "public-opinion register sent"),
    "research_report.submitted": pgettext_lazy("audit action", "research report handed in"),
    "duty_report.submitted": pgettext_lazy("audit action", "duty report (述职) handed in"),
    "duty_activity.recorded": pgettext_lazy("audit action", "sitting in or inspection (列席/视察) recorded"),
    "duty_report.changed": pgettext_lazy("audit action", "duty report (述职) changed"),
    "duty_report.evaluated": pgettext_lazy("audit action", "duty report (述职) evaluation recorded"),
    "roster.generated": pgettext_lazy("audit action", "rosters generated"),
    "roster.published": pgettext_lazy("audit action", "rosters published"),
    "slot.changed": pgettext_lazy("audit action", "duty changed"),
    "attendance.marked": pgettext_lazy("audit action", "attendance marked"),
    "delivery.resent": pgettext_lazy("audit action", "message resent"),
    "bulletin.drafted": pgettext_lazy("audit action", "bulletin drafted"),
    "bulletin.edited": pgettext_lazy("audit action", "bulletin edited"),
    "bulletin.published": pgettext_lazy("audit action", "bulletin published"),
    "ticket.adopted": pgettext_lazy("audit action", "suggestion adopted"),
    "api_key.created": pgettext_lazy("audit action", "API key created"),
    "api_key.revoked": pgettext_lazy("audit action", "API key revoked"),
    "open311.filed": pgettext_lazy("audit action", "matter filed through the Open311 API"),
    "open311.refused": pgettext_lazy("audit action", "revoked API key refused"),
    "webhook.created": pgettext_lazy("audit action", "webhook subscription created"),
    "webhook.resent": pgettext_lazy("audit action", "failed webhook delivery resent"),
    "webhook.secret_rotated": pgettext_lazy("audit action", "webhook signing secret replaced"),
    "review.entered": pgettext_lazy("audit action", "year-end review scores entered"),
    "assessment.published": pgettext_lazy("audit action", "assessment published"),
    "assessment.amended": pgettext_lazy("audit action", "assessment amended"),
    "commendation.opened": pgettext_lazy("audit action", "commendation round opened"),
    "commendation.nominated": pgettext_lazy("audit action", "nominated from the ranking"),
    "commendation.added": pgettext_lazy("audit action", "nominee added"),
    "commendation.removed": pgettext_lazy("audit action", "nominee removed"),
    "commendation.moved": pgettext_lazy("audit action", "nominee moved"),
    "commendation.published": pgettext_lazy("audit action", "commendations published"),
}


def verb_label(verb: str) -> str:
    """The words for ``verb`` (the code itself when it is unknown, so nothing is hidden)."""
    if verb in VERBS:
        return str(VERBS[verb])
    action = verb.rpartition(".")[2]
    return str(ACTIONS[action]) if action in ACTIONS else verb


def record(
    *,
    actor,
    verb: str,
    subject: models.Model,
    region: Region | None = None,
    ip: str | None = None,
    outcome: str = AuditEvent.Outcome.OK,
    **data: Any,
) -> AuditEvent:
    """Log that ``actor`` did ``verb`` to ``subject`` (in ``region``, for scoping who may read it).

    ``ip`` defaults to the current request's client IP; ``outcome`` is "ok" or "refused".
    """
    row = _row(actor, verb, subject, region, ip, outcome, data)
    row.save(force_insert=True)
    return row


def record_many(
    *,
    actor,
    verb: str,
    subjects,
    region_of=lambda obj: None,
    ip: str | None = None,
    outcome: str = AuditEvent.Outcome.OK,
    **data: Any,
) -> None:
    """Log the same action on many records at once (one INSERT)."""
    AuditEvent.objects.bulk_create(
        _row(actor, verb, subject, region_of(subject), ip, outcome, data) for subject in subjects
    )


# Relations followed, in this order, to find the region an audited record belongs to (the
# audit row's region decides who may read it).
_REGION_ATTRS = ("township", "region", "village", "county")
_PARENT_ATTRS = (
    "studio",
    "representative",
    "unit",
    "ticket",
    "period",
    "slot",
    "visit",
    "reception",
    "contact",
)


def region_of(obj, actor=None):
    """The region ``obj`` belongs to, or else the actor's own (their first root), or None."""
    from liaison.models import Region

    if isinstance(obj, Region):
        return obj
    for candidate in (obj, *(getattr(obj, name, None) for name in _PARENT_ATTRS)):
        if candidate is None:
            continue
        for name in _REGION_ATTRS:
            region = getattr(candidate, name, None)
            if isinstance(region, Region):
                return region
    scope = getattr(actor, "scope", None)
    if scope is not None and scope.region_paths:
        return Region.objects.filter(path=scope.region_paths[0]).first()
    return None


def is_secret(field_name: str) -> bool:
    """Fields whose values never enter the log, not even masked (passwords, secrets, tokens)."""
    return any(word in field_name for word in ("password", "secret", "token", "otp"))


def masked(field_name: str, values: list) -> list:
    """``values`` of a field as the audit log keeps them: personal phone numbers masked."""
    if "phone" not in field_name:
        return values
    return [mask_phone(v) if v not in (None, "") else v for v in values]


class AuditContextMiddleware:
    """Keep the client IP of the request for the audit rows written while serving it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _current_ip.reset(token)


# --- Retention --------------------------------------------------------------------------------


def retention_cutoffs(now: datetime.datetime) -> tuple[dict[str, datetime.datetime], datetime.datetime]:
    """Per county path, the time before which its rows may go; and the cutoff of the other rows
    (no region, or a county without a policy): the longest retention of any policy, so a row
    whose county cannot be told is kept as long as the strictest county keeps its own."""
    from liaison.models import SecurityPolicy

    months_by_path = {
        path: max(months, MIN_RETENTION_MONTHS)
        for path, months in SecurityPolicy.objects.values_list("county__path", "audit_retention_months")
    }
    default = SecurityPolicy._meta.get_field("audit_retention_months").default
    longest = max([MIN_RETENTION_MONTHS, default, *months_by_path.values()])
    cutoffs = {path: now - relativedelta(months=months) for path, months in months_by_path.items()}
    return cutoffs, now - relativedelta(months=longest)


@transaction.atomic
def purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the audit rows older than their county's retention; return how many went.

    The only writer allowed to delete: it sets ``liaison.audit_purge`` for its own transaction,
    which the PostgreSQL trigger requires (with rows at least six months old).
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL liaison.audit_purge = 'on'")
    cutoffs, other_cutoff = retention_cutoffs(now)
    deleted = 0
    in_a_policy = models.Q(pk__in=[])
    for path, cutoff in cutoffs.items():
        county_rows = models.Q(region__path__startswith=path)
        in_a_policy |= county_rows
        deleted += AuditEvent.objects.filter(county_rows, at__lt=cutoff).delete()[0]
    others = AuditEvent.objects.exclude(in_a_policy).filter(at__lt=other_cutoff)
    deleted += others.delete()[0]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # in case the caller's transaction goes on
            cursor.execute("SET LOCAL liaison.audit_purge = 'off'")
    log.info("audit purge: %d rows older than their retention deleted", deleted)
    return deleted
