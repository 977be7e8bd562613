"""/audit/: the audit log, read-only and scoped; filters, pages, Excel; constant queries."""

import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from liaison import audit, navigation
from liaison.models import AuditEvent
from tests.factories import CountyFactory, TownshipFactory

URL = "/audit/"


def row(region, verb="thing.changed", *, actor=None, at=None, ip=None, outcome="ok", label="记录", **data):
    return AuditEvent(
        at=at or timezone.now(),
        actor=actor,
        verb=verb,
        subject_type="liaison.region",
        subject_id=str(region.pk if region else 0),
        subject_label=label,
        region=region,
        ip=ip,
        outcome=outcome,
        data=data,
    )


def shown(response) -> list[str]:
    # Less the sign-ins the tests make: they are audited too, under the user's own region, so an
    # office reads its staff's (tests/liaison/test_lockout.py).
    return [e.subject_label for e in response.context["page"] if e.verb != "auth.login"]


@pytest.fixture
def rows(township_a, township_b, clerk_a, liaison_office):
    elsewhere = TownshipFactory(parent=CountyFactory())
    AuditEvent.objects.bulk_create(
        [
            row(township_a, "unit.changed", actor=clerk_a, label="甲镇的", ip="10.0.0.1"),
            row(township_b, "unit.deleted", actor=liaison_office, label="乙镇的", outcome="refused"),
            row(township_a.parent, "policy.changed", actor=liaison_office, label="县里的"),
            row(elsewhere, "unit.changed", label="别县的"),
            row(None, "system.thing", label="无地区的"),
        ]
    )


def test_each_role_reads_its_own_scope(client, rows, liaison_office, clerk_a, django_user_model):
    client.force_login(liaison_office)
    assert sorted(shown(client.get(URL))) == sorted(["甲镇的", "乙镇的", "县里的"])
    client.force_login(clerk_a)
    assert shown(client.get(URL)) == ["甲镇的"]
    client.force_login(django_user_model.objects.create_superuser("root", password="x-long-pass-1"))
    # (and the sign-ins the tests just made, which are audited too)
    assert {"甲镇的", "乙镇的", "县里的", "别县的", "无地区的"} <= set(shown(client.get(URL)))


def test_others_are_refused(client, rep_a, unit_staff):
    assert client.get(URL).status_code == 302  # to the login page
    for user in (rep_a, unit_staff):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_filters(client, rows, liaison_office, clerk_a):
    client.force_login(liaison_office)
    assert shown(client.get(URL, {"verb": "*.deleted"})) == ["乙镇的"]
    assert shown(client.get(URL, {"actor": clerk_a.username})) == ["甲镇的"]
    assert shown(client.get(URL, {"outcome": "refused"})) == ["乙镇的"]
    assert shown(client.get(URL, {"q": "10.0.0.1"})) == ["甲镇的"]
    assert shown(client.get(URL, {"q": "县里"})) == ["县里的"]
    assert len(shown(client.get(URL, {"subject_type": "liaison.region"}))) == 3
    today = timezone.localdate()
    assert shown(client.get(URL, {"date_to": (today - datetime.timedelta(days=1)).isoformat()})) == []
    assert len(shown(client.get(URL, {"date_from": today.isoformat(), "date_to": today.isoformat()}))) == 3
    # A verb outside the user's rows is not even offered.
    refused = client.get(URL, {"verb": "system.thing"})
    assert set(refused.context["form"].errors) == {"verb"} and shown(refused) == []


def test_pages_of_fifty(client, liaison_office, township_a):
    client.force_login(liaison_office)  # first: its sign-in is the oldest row, on page 2
    AuditEvent.objects.bulk_create(row(township_a, label=f"第{i}条") for i in range(60))
    assert len(shown(client.get(URL))) == 50
    assert len(shown(client.get(URL, {"page": 2}))) == 10


def test_the_page_costs_the_same_queries_for_10_and_1000_rows(
    client, liaison_office, township_a, django_assert_num_queries
):
    AuditEvent.objects.bulk_create(
        row(township_a, f"verb.{i % 7}", actor=liaison_office, changes={"name": ["a", "b"]})
        for i in range(10)
    )
    client.force_login(liaison_office)
    client.get(URL)  # warm the session and the scope
    with CaptureQueriesContext(connection) as ten:
        response = client.get(URL)
    assert len(response.context["page"]) == 11  # and the office's own sign-in
    AuditEvent.objects.bulk_create(
        row(township_a, f"verb.{i % 7}", actor=liaison_office, changes={"name": ["a", "b"]})
        for i in range(990)
    )
    with django_assert_num_queries(len(ten)):
        response = client.get(URL)
    assert len(response.context["page"]) == 50 and response.context["page"].paginator.count == 1001
    assert "name: a → b" in response.content.decode()


def test_the_excel_download_has_the_filtered_rows_and_is_audited(client, rows, liaison_office):
    client.force_login(liaison_office)
    response = client.get(URL, {"q": "镇的", "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    labels = sorted(r[7] for r in sheet.iter_rows(min_row=2, values_only=True))
    assert labels == ["乙镇的", "甲镇的"]
    exported = AuditEvent.objects.get(verb="audit.exported")
    assert exported.actor == liaison_office and exported.data == {"filters": {"q": "镇的"}}


def test_nothing_edits_or_deletes_the_log_not_even_a_superuser(client, rows, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x-long-pass-1")
    client.force_login(root)
    forms = re.findall(r"<form[^>]*>", client.get(URL).content.decode())
    assert [
        f for f in forms if 'method="post"' in f and "/accounts/logout/" not in f and "/i18n/" not in f
    ] == []
    event = AuditEvent.objects.first()
    change = client.get(reverse("admin:liaison_auditevent_change", args=[event.pk]))
    assert change.status_code == 200 and not change.context["has_change_permission"]
    assert (
        client.post(reverse("admin:liaison_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:liaison_auditevent_add")).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_navigation_offers_the_log_to_the_office_and_township_staff_only(liaison_office, clerk_a, rep_a):
    def has_link(user):
        return any(item["url_name"] == "audit_log" for item in navigation.items_for(user))

    assert has_link(liaison_office) and has_link(clerk_a) and not has_link(rep_a)


def test_record_still_takes_its_old_keywords(liaison_office, township_a):
    event = audit.record(actor=liaison_office, verb="x.done", subject=township_a, region=township_a, n=1)
    assert (event.ip, event.outcome, event.data) == (None, "ok", {"n": 1})
    refused = audit.record(
        actor=liaison_office, verb="x.tried", subject=township_a, ip="192.0.2.1", outcome="refused"
    )
    assert (refused.ip, refused.outcome, refused.data) == ("192.0.2.1", "refused", {})


def test_the_purge_is_scheduled_nightly_and_keeps_six_months_at_least(township_a):
    from liaison.celery import app

    assert app.conf.beat_schedule["purge-audit"]["task"] == "liaison.tasks.purge_audit"
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [
            row(township_a, label="七个月前", at=now - datetime.timedelta(days=215)),
            row(township_a, label="五个月前", at=now - datetime.timedelta(days=150)),
        ]
    )
    assert audit.purge(now=now) == 1
    assert list(AuditEvent.objects.values_list("subject_label", flat=True)) == ["五个月前"]


def test_every_verb_the_code_writes_has_words():
    """Each audit verb written in the code is named in audit.VERBS, or is a model's
    added/changed/deleted/withdrawn (audit.ACTIONS); both lists are the action filter's choices."""
    import pathlib

    written = set()
    for path in pathlib.Path(audit.__file__).parent.parent.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        written |= set(re.findall(r'verb="([a-z0-9_.]+)"', path.read_text()))
    assert written and written <= set(audit.VERBS), written - set(audit.VERBS)
    with translation.override("en"):
        assert audit.verb_label("auth.login") == "signed in"
        assert audit.verb_label("homevisit.withdrawn") == "withdrawn"
    assert audit.verb_label("something.new") == "something.new"  # unknown: the code, nothing hidden


def test_the_action_filter_reads_a_models_action_across_records(client, liaison_office, township_a):
    AuditEvent.objects.bulk_create(
        [row(township_a, "unit.changed", label="单位"), row(township_a, "contact.changed", label="联系人")]
        + [row(township_a, "unit.added", label="新单位")]
    )
    client.force_login(liaison_office)
    assert sorted(shown(client.get(URL, {"verb": "*.changed"}))) == ["单位", "联系人"]
    page = client.get(URL).content.decode()
    assert "<code" in page and "unit.added" in page
