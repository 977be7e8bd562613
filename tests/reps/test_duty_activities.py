"""Sitting in on meetings (列席) and inspections (视察): duties a rep records that count in the duty
record and the routine points."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from liaison.idempotency import ALREADY_SAVED, new_token
from liaison.models import AuditEvent
from reps import points
from reps.models import DutyActivity, PointsPolicy, Representative
from reps.services import duty_activity_record
from tests.helpers import refusal
from tests.twice import messages_of, page_token

D = datetime.date
NOW = datetime.datetime(2026, 5, 20, 2, tzinfo=datetime.UTC)  # 10:00 in Shanghai


@pytest.fixture
def as_rep(client, rep_a, my_rep):
    client.force_login(rep_a)
    return client


def post(client, *, token=None, **fields):
    data = {"kind": "sit_in", "date": "2026-05-18", "title": "镇党委扩大会议", "notes": "", **fields}
    return client.post(reverse("reps:activity_new"), {**data, "token": token or new_token()})


class TestRecording:
    def test_a_rep_records_sitting_in_on_a_meeting(self, as_rep, my_rep, rep_a):
        with time_machine.travel(NOW, tick=False):
            response = post(as_rep)
        assert response.status_code == 302 and response["Location"] == reverse("reps:me")
        activity = DutyActivity.objects.get()
        assert (activity.representative, activity.kind, activity.date, activity.recorded_by) == (
            my_rep,
            "sit_in",
            D(2026, 5, 18),
            rep_a,
        )
        assert AuditEvent.objects.filter(verb="duty_activity.recorded").count() == 1

    def test_the_same_form_sent_twice_records_one(self, as_rep):
        with time_machine.travel(NOW, tick=False):
            token = page_token(as_rep.get(reverse("reps:activity_new")))
            first, second = (
                post(as_rep, token=token, kind="inspection"),
                post(as_rep, token=token, kind="inspection"),
            )
        assert first.status_code == second.status_code == 302
        assert messages_of(second)[-1] == str(ALREADY_SAVED)
        assert DutyActivity.objects.count() == 1

    def test_a_day_in_the_future_is_refused_and_nothing_typed_is_lost(self, as_rep):
        with time_machine.travel(NOW, tick=False):
            response = post(as_rep, date="2026-05-21", notes="会上提出村道问题")
        errors = response.context["form"].errors.as_data()
        assert list(errors) == ["date"] and errors["date"][0].code == "future"
        assert "会上提出村道问题" in response.content.decode()
        assert not DutyActivity.objects.exists()

    def test_the_service_refuses_an_unknown_kind(self, my_rep, rep_a):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            duty_activity_record(
                actor=rep_a, representative=my_rep, kind="party", date=D(2026, 5, 1), title="会"
            )
        assert refusal(caught.value) == {"kind": ["Choose sitting in or inspection."]}

    @pytest.mark.parametrize("persona", ["clerk_a", "unit_staff", "liaison_office"])
    def test_only_a_rep_records_their_own(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(reverse("reps:activity_new")).status_code == 403
        assert post(client).status_code == 403
        assert not DutyActivity.objects.exists()

    def test_the_reps_page_links_to_the_form(self, as_rep):
        assert f'href="{reverse("reps:activity_new")}"' in as_rep.get(reverse("reps:me")).content.decode()


class TestCounting:
    def test_it_counts_in_the_points_at_the_policys_rate(self, my_rep, rep_a, county):
        PointsPolicy.objects.create(county=county, effective_from=D(2026, 1, 1), per_activity=Decimal("2.5"))
        for kind, day in (
            ("sit_in", D(2026, 3, 1)),
            ("inspection", D(2026, 4, 1)),
            ("sit_in", D(2025, 12, 31)),
        ):
            duty_activity_record(
                actor=rep_a, representative=my_rep, kind=kind, date=day, title="会", today=D(2026, 5, 20)
            )
        (score,) = points.year_scores(
            Representative.objects.filter(pk=my_rep.pk), year=2026, today=D(2026, 5, 20)
        )
        line = next(line for line in score.lines if line.key == "activities")
        assert (line.count, line.points) == (2, Decimal("5.0"))

    def test_the_record_lists_the_years_sittings_in_and_inspections(
        self, client, clerk_a, clerk_b, my_rep, rep_a
    ):
        mine = duty_activity_record(
            actor=rep_a,
            representative=my_rep,
            kind="inspection",
            date=D(2026, 4, 1),
            title="村道工程",
            today=D(2026, 5, 20),
        )
        url = reverse("reps:record", args=[my_rep.pk])
        client.force_login(clerk_a)
        with time_machine.travel(NOW, tick=False):
            html = client.get(url, {"year": 2026}).content.decode()
            assert f'data-activity="{mine.pk}"' in html and "村道工程" in html
            client.force_login(clerk_b)
            assert client.get(url).status_code == 404
