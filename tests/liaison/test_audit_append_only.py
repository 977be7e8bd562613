"""The audit log and the ticket timeline are append-only in PostgreSQL itself: a trigger refuses
UPDATE and DELETE, whoever sends them (the ORM or raw SQL). The one exception is the retention
purge (``liaison.audit.purge``), which deletes only audit rows older than their retention.
(The ticket timeline's trigger: tests/proposals/test_timeline_append_only.py.)"""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from liaison import audit
from liaison.models import AuditEvent, SecurityPolicy
from tests.factories import CountyFactory, TownshipFactory

pytestmark = pytest.mark.postgres

REFUSED = "the table is append-only"


@pytest.fixture(autouse=True)
def _on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.fail("the append-only triggers are PostgreSQL's: run these with `make test`")


def old_event(at: datetime.datetime, region=None) -> AuditEvent:
    """An audit row written at ``at`` (inserted with that time: rows are never changed)."""
    return AuditEvent.objects.create(
        at=at,
        verb="test.old",
        subject_type="liaison.region",
        subject_id="1",
        subject_label="x",
        region=region,
    )


def refused(callable_) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        callable_()
    return str(caught.value)


def raw(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_raw_sql_update_and_delete_of_an_audit_row_fail(liaison_office):
    row = audit.record(actor=liaison_office, verb="test.done", subject=liaison_office)

    message = refused(lambda: raw("UPDATE liaison_auditevent SET verb = 'forged' WHERE id = %s", row.pk))
    assert "UPDATE of liaison_auditevent" in message and REFUSED in message
    message = refused(lambda: raw("DELETE FROM liaison_auditevent WHERE id = %s", row.pk))
    assert "DELETE of liaison_auditevent" in message and REFUSED in message
    assert AuditEvent.objects.get(pk=row.pk).verb == "test.done"


def test_orm_update_and_delete_of_an_audit_row_fail(liaison_office):
    row = audit.record(actor=liaison_office, verb="test.done", subject=liaison_office)

    assert REFUSED in refused(lambda: AuditEvent.objects.filter(pk=row.pk).update(verb="forged"))
    assert REFUSED in refused(lambda: AuditEvent.objects.filter(pk=row.pk).delete())
    row.verb = "forged"
    assert REFUSED in refused(row.save)
    assert AuditEvent.objects.filter(pk=row.pk, verb="test.done").exists()


def test_a_user_who_acted_is_protected_not_erased_from_the_log(liaison_office, clerk_a):
    audit.record(actor=clerk_a, verb="test.done", subject=clerk_a)
    with pytest.raises(ProtectedError):
        clerk_a.delete()


def test_the_purge_deletes_only_rows_older_than_the_retention(township_a, township_b):
    now = timezone.now()
    county = township_a.parent
    other_county = CountyFactory()
    other_township = TownshipFactory(parent=other_county)
    SecurityPolicy.objects.create(county=county, audit_retention_months=6)
    SecurityPolicy.objects.create(county=other_county, audit_retention_months=12)
    old_here = old_event(now - datetime.timedelta(days=200), township_a)
    young_here = old_event(now - datetime.timedelta(days=170), township_b)
    old_there = old_event(now - datetime.timedelta(days=200), other_township)
    ancient_there = old_event(now - datetime.timedelta(days=400), other_township)
    no_region_mid = old_event(now - datetime.timedelta(days=200))  # kept as long as the longest policy
    no_region_ancient = old_event(now - datetime.timedelta(days=400))

    call_command("purge_audit", stdout=open("/dev/null", "w"))  # noqa: SIM115

    left = set(AuditEvent.objects.values_list("pk", flat=True))
    assert old_here.pk not in left and ancient_there.pk not in left and no_region_ancient.pk not in left
    assert {young_here.pk, old_there.pk, no_region_mid.pk} <= left
    # The purge's permission ends with its own work: a plain delete is refused again.
    assert REFUSED in refused(lambda: AuditEvent.objects.filter(pk=young_here.pk).delete())


def test_the_trigger_refuses_even_the_purge_setting_on_rows_younger_than_six_months():
    young = old_event(timezone.now() - datetime.timedelta(days=150))

    def purge_young():
        raw("SET LOCAL liaison.audit_purge = 'on'")
        raw("DELETE FROM liaison_auditevent WHERE id = %s", young.pk)

    assert "DELETE of liaison_auditevent" in refused(purge_young)
