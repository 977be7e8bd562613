"""Training attended and activity funds (seed 000: at least 800 yuan a year per rep, accounted
separately, the unspent balance carried over), as records with yearly totals in the duty record."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from reps import funds
from reps.models import DutyPolicy, FundExpense, Mandate, Representative, Training
from tests.factories import active_rep

D = datetime.date
TODAY = D(2026, 12, 5)
NOW = datetime.datetime(2026, 12, 5, 2, tzinfo=datetime.UTC)  # 10:00 in Shanghai


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def spend(rep, day, amount, purpose="走访慰问"):
    return FundExpense.objects.create(representative=rep, date=day, amount=Decimal(amount), purpose=purpose)


def loaded(rep) -> Representative:
    return Representative.objects.select_related("region").prefetch_related("mandates").get(pk=rep.pk)


def year_statement(rep, year: int) -> funds.Statement:
    return funds.statement(loaded(rep), start=D(year, 1, 1), end=min(D(year, 12, 31), TODAY), today=TODAY)


class TestFunds:
    """The rep's mandate runs 2024-01-01 to 2028-12-31 (the factory's term)."""

    def test_the_unspent_balance_carries_over_year_after_year(self, my_rep):
        spend(my_rep, D(2024, 5, 1), "300")
        spend(my_rep, D(2025, 3, 1), "1000")
        spend(my_rep, D(2026, 4, 1), "150.50")
        spend(my_rep, D(2026, 9, 1), "49.50")
        # 2024: 800 − 300 = 500 over; 2025: 500 + 800 − 1000 = 300 over; 2026: 300 + 800 − 200.
        s = year_statement(my_rep, 2026)
        assert (s.carried_over, s.allotted, s.spent, s.balance) == (
            Decimal(300),
            Decimal(800),
            Decimal(200),
            Decimal(900),
        )
        assert [e.purpose for e in s.expenses] == ["走访慰问", "走访慰问"]
        assert year_statement(my_rep, 2025).balance == Decimal(300)

    def test_each_year_allots_the_amount_in_force_on_its_last_day(self, my_rep, county):
        DutyPolicy.objects.create(county=county, effective_from=D(2025, 7, 1), activity_funds_per_year=1000)
        spend(my_rep, D(2025, 3, 1), "1300")
        # 2024 under the defaults (800), 2025 under the new policy (1000): 1800 − 1300 = 500.
        s = year_statement(my_rep, 2026)
        assert (s.carried_over, s.allotted) == (Decimal(500), Decimal(1000))

    def test_only_the_years_in_office_allot_funds(self, township_a):
        rep = active_rep(township_a, levels=())
        Mandate.objects.create(
            representative=rep,
            level="township",
            congress="镇党代会",
            term_start=D(2025, 6, 1),
            term_end=D(2030, 5, 31),
        )
        s = year_statement(rep, 2026)
        assert (s.carried_over, s.allotted, s.balance) == (Decimal(800), Decimal(800), Decimal(1600))

    def test_the_whole_term_adds_every_years_allotment(self, my_rep):
        spend(my_rep, D(2024, 5, 1), "300")
        s = funds.statement(loaded(my_rep), start=D(2024, 1, 1), end=TODAY, today=TODAY)
        assert (s.carried_over, s.allotted, s.spent, s.balance) == (
            Decimal(0),
            Decimal(2400),
            Decimal(300),
            Decimal(2100),
        )


@pytest.fixture
def records(my_rep, township_a, clerk_a):
    training = Training.objects.create(
        date=D(2026, 3, 1), title="履职能力培训", hours=Decimal("3.5"), region=township_a
    )
    training.attendees.add(my_rep)
    old = Training.objects.create(date=D(2025, 3, 1), title="去年的培训", hours=2, region=township_a)
    old.attendees.add(my_rep)
    spend(my_rep, D(2026, 4, 1), "200", purpose="慰问困难群众")
    return training


class TestRecord:
    def test_the_record_shows_the_years_training_and_funds(self, records, my_rep, clerk_a):
        with time_machine.travel(NOW, tick=False):
            html = (
                as_user(clerk_a)
                .get(reverse("reps:record", args=[my_rep.pk]), {"year": 2026})
                .content.decode()
            )
        assert 'data-trainings="1" data-hours="3.5"' in html and f'data-training="{records.pk}"' in html
        assert "去年的培训" not in html
        assert (
            'data-carried="1600.00" data-allotted="800.00" data-spent="200.00" data-balance="2200.00"' in html
        )
        assert "慰问困难群众" in html

    def test_the_rep_reads_their_own_and_another_township_does_not(self, records, my_rep, clerk_b):
        url = reverse("reps:record", args=[my_rep.pk])
        with time_machine.travel(NOW, tick=False):
            assert 'id="record-funds"' in as_user(my_rep.user).get(url).content.decode()
            assert as_user(clerk_b).get(url).status_code == 404


class TestAdmin:
    def test_staff_record_a_training_of_their_reps(self, client, clerk_a, my_rep, township_a):
        client.force_login(clerk_a)
        response = client.post(
            reverse("admin:reps_training_add"),
            {
                "date": "2026-03-01",
                "title": "履职培训",
                "hours": "2",
                "region": township_a.pk,
                "attendees": [my_rep.pk],
            },
        )
        assert response.status_code == 302
        training = Training.objects.get()
        assert training.recorded_by == clerk_a and list(training.attendees.all()) == [my_rep]

    def test_a_rep_of_another_township_cannot_be_put_on_the_list(self, client, clerk_a, rep_b, township_a):
        client.force_login(clerk_a)
        response = client.post(
            reverse("admin:reps_training_add"),
            {
                "date": "2026-03-01",
                "title": "履职培训",
                "hours": "2",
                "region": township_a.pk,
                "attendees": [rep_b.pk],
            },
        )
        assert response.status_code == 200
        assert list(response.context["adminform"].form.errors) == ["attendees"]
        assert not Training.objects.exists()

    def test_another_townships_staff_cannot_open_the_training(self, client, clerk_b, records):
        client.force_login(clerk_b)
        assert client.get(reverse("admin:reps_training_change", args=[records.pk])).status_code == 404

    def test_an_expense_must_be_positive(self, client, clerk_a, my_rep):
        client.force_login(clerk_a)
        data = {"representative": my_rep.pk, "date": "2026-04-01", "amount": "0", "purpose": "慰问"}
        response = client.post(reverse("admin:reps_fundexpense_add"), data)
        with translation.override("en"):
            assert list(response.context["adminform"].form.errors) == ["amount"]
        assert (
            client.post(reverse("admin:reps_fundexpense_add"), {**data, "amount": "120"}).status_code == 302
        )
        assert FundExpense.objects.get().recorded_by == clerk_a

    def test_staff_cannot_spend_another_townships_reps_funds(self, client, clerk_a, rep_b):
        client.force_login(clerk_a)
        data = {"representative": rep_b.pk, "date": "2026-04-01", "amount": "120", "purpose": "慰问"}
        response = client.post(reverse("admin:reps_fundexpense_add"), data)
        assert list(response.context["adminform"].form.errors) == ["representative"]
        assert not FundExpense.objects.exists()
