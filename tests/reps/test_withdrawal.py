"""Visits and receptions count toward duties: a wrong one is withdrawn with a reason, never
erased. The admin offers "Withdraw" (a confirmation page asking why) instead of delete, even to
superusers; withdrawn records stay, marked, and drop out of duty counts, statistics and lists."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from liaison.models import AuditEvent
from reps import duties
from reps.models import HomeVisit, Representative
from studios.models import Reception
from studios.statistics import studio_statistics
from tests.factories import ContactFactory, ContactLinkFactory, active_rep, studio_with_reps, visit

D = datetime.date


@pytest.fixture
def rep(township_a):
    return active_rep(township_a)


@pytest.fixture
def contacts(rep, village_a):
    made = [ContactFactory(village=village_a) for _ in range(2)]
    for contact in made:
        ContactLinkFactory(representative=rep, contact=contact)
    return made


@pytest.fixture
def a_visit(rep, contacts, clerk_a):
    return visit(rep, contacts, timezone.localdate(), recorded_by=clerk_a)


@pytest.fixture
def a_reception(township_a, clerk_a):
    studio = studio_with_reps(township_a, 1)
    reception = Reception.objects.create(
        studio=studio,
        township=township_a,
        kind="regular",
        # The start of today in Beijing: never tomorrow's or yesterday's, whatever the hour the
        # suite runs (an hour ago was yesterday between 00:00 and 01:00, and the statistics of
        # today then counted nobody).
        starts_at=timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0),
        people_received=4,
        recorded_by=clerk_a,
    )
    reception.representatives.add(*Representative.objects.filter(studio_assignments__studio=studio))
    return reception


def visits_cell(rep):
    _quotas, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=timezone.localdate())
    return rows[0].cells["visits"].value


def withdraw_url(record):
    return reverse(f"admin:{record._meta.app_label}_{record._meta.model_name}_withdraw", args=[record.pk])


def change_url(record):
    return reverse(f"admin:{record._meta.app_label}_{record._meta.model_name}_change", args=[record.pk])


def test_the_admin_withdraws_a_visit_with_a_reason_and_keeps_it(client, clerk_a, a_visit, rep, township_a):
    client.force_login(clerk_a)
    page = client.get(change_url(a_visit)).content.decode()
    assert withdraw_url(a_visit) in page
    assert "/delete/" not in page

    blank = client.post(withdraw_url(a_visit), {"reason": "  "})
    assert blank.status_code == 200 and set(blank.context["form"].errors) == {"reason"}
    assert HomeVisit.objects.get(pk=a_visit.pk).withdrawn_at is None

    response = client.post(withdraw_url(a_visit), {"reason": "重复录入"}, REMOTE_ADDR="10.0.0.9")

    assert response.status_code == 302
    kept = HomeVisit.objects.get(pk=a_visit.pk)
    assert (kept.withdrawn_by, kept.withdrawn_reason) == (clerk_a, "重复录入")
    assert kept.withdrawn_at is not None
    row = AuditEvent.objects.get(verb="homevisit.withdrawn")
    assert (row.actor, row.subject_id, row.region, row.ip, row.data) == (
        clerk_a,
        str(a_visit.pk),
        township_a,
        "10.0.0.9",
        {"reason": "重复录入"},
    )
    # Marked in the list, read-only, and not withdrawn twice.
    listed = client.get(reverse("admin:reps_homevisit_changelist") + "?withdrawn=yes")
    shown = listed.context["cl"]
    assert [v.pk for v in shown.result_list] == [a_visit.pk]
    assert f"{timezone.localdate():%Y-%m-%d}" in shown.model_admin.withdrawal(shown.result_list[0])
    assert client.get(withdraw_url(a_visit)).status_code == 403
    changed = client.get(change_url(a_visit))
    assert changed.status_code == 200 and not changed.context["has_change_permission"]


@pytest.mark.parametrize("record", ["a_visit", "a_reception"])
def test_nobody_deletes_a_record_of_work_not_even_a_superuser(client, record, request, django_user_model):
    obj = request.getfixturevalue(record)
    admin_user = django_user_model.objects.create_superuser("root", password="x-long-pass-1")
    client.force_login(admin_user)
    opts = obj._meta
    delete_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert client.post(withdraw_url(obj), {"reason": "录错了"}).status_code == 302
    assert type(obj).objects.get(pk=obj.pk).withdrawn_reason == "录错了"


def test_a_withdrawn_visit_drops_out_of_the_duty_count(client, rep, contacts, a_visit, clerk_a):
    visit(rep, contacts, timezone.localdate(), recorded_by=clerk_a)  # two visits each: enough
    counted = visits_cell(rep)
    client.force_login(clerk_a)
    client.post(withdraw_url(a_visit), {"reason": "重复录入"})
    assert visits_cell(rep) < counted


def test_a_withdrawn_reception_drops_out_of_duties_and_statistics(client, clerk_a, a_reception):
    rep = a_reception.representatives.get()
    today = timezone.localdate()

    def counted():
        _quotas, rows = duties.standing(Representative.objects.filter(pk=rep.pk), today=today)
        stats = studio_statistics(
            type(a_reception.studio).objects.filter(pk=a_reception.studio_id), start=today, end=today
        )
        return rows[0].cells["receptions"].value, stats[0].people

    assert counted() == (1, 4)
    client.force_login(clerk_a)
    assert client.post(withdraw_url(a_reception), {"reason": "不是本站接待"}).status_code == 302
    assert counted() == (0, 0)
    assert Reception.objects.filter(pk=a_reception.pk).exists()
    assert a_reception.pk not in [r.pk for r in Reception.objects.active()]


def test_a_withdrawn_reception_says_so_and_its_matters_no_longer_become_tickets(
    client, clerk_a, a_reception, a_visit
):
    from reps.models import VisitMatter
    from studios.models import ReceptionMatter

    reception_matter = ReceptionMatter.objects.create(
        reception=a_reception, content="路灯坏了", for_ticket=True
    )
    visit_matter = VisitMatter.objects.create(visit=a_visit, content="路面积水", for_ticket=True)
    client.force_login(clerk_a)
    from_reception = reverse("proposals:from_reception_matter", args=[reception_matter.pk])
    from_visit = reverse("proposals:from_visit_matter", args=[visit_matter.pk])
    assert client.get(from_reception).status_code == 200
    assert client.get(from_visit).status_code == 200

    client.post(withdraw_url(a_reception), {"reason": "不是本站接待"})
    client.post(withdraw_url(a_visit), {"reason": "重复录入"})

    page = client.get(reverse("studios:reception", args=[a_reception.pk])).content.decode()
    assert 'id="withdrawn"' in page and "不是本站接待" in page
    assert client.get(from_reception).status_code == 404
    assert client.get(from_visit).status_code == 404
