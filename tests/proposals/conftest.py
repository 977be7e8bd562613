"""Ticket fixtures: a registered ticket in township A, and the people who act on it."""

import pytest
from django.utils import timezone

from liaison.roles import Role
from proposals import services
from tests.factories import HandlingUnitFactory, StudioFactory, active_rep, user_with_role


@pytest.fixture
def unit_a_staff(unit_a):
    return user_with_role(Role.HANDLING_UNIT, unit=unit_a, username="unit_a_staff", name="周强")


@pytest.fixture
def co_unit(county):
    return HandlingUnitFactory(name="县交通运输局", region=county)


@pytest.fixture
def co_unit_staff(co_unit):
    return user_with_role(Role.HANDLING_UNIT, unit=co_unit, username="jiaotong", name="孙丽")


@pytest.fixture
def make_ticket(township_a, category, my_rep, clerk_a):
    """Register a ticket in township A, for my_rep, with one proposer (张大爷, 13812345678)."""

    def make(**kwargs):
        fields = {
            "actor": clerk_a,
            "township": township_a,
            "title": "村口路灯不亮",
            "content": "东街社区村口三盏路灯坏了一个月",
            "category": category,
            "source": "reception",
            "representative": my_rep,
            "proposers": [("张大爷", "13812345678")],
        }
        fields.update(kwargs)
        return services.ticket_register(**fields)

    return make


@pytest.fixture
def ticket(make_ticket):
    return make_ticket()


# --- the cast of the transition matrix, and tickets walked to any status ---------------------


@pytest.fixture
def unit_a2(township_a):
    """A second office of township A: the co-unit when the township assigns."""
    return HandlingUnitFactory(name="城关镇城建办", region=township_a)


@pytest.fixture
def unit_a2_staff(unit_a2):
    return user_with_role(Role.HANDLING_UNIT, unit=unit_a2, username="chengjian", name="吴敏")


@pytest.fixture
def unit_b_staff(unit_b):
    """Staff of a unit that has nothing to do with township A's tickets."""
    return user_with_role(Role.HANDLING_UNIT, unit=unit_b, username="unit_b_staff", name="郑伟")


@pytest.fixture
def other_rep_user(township_a):
    """A representative of the same township who is not responsible for the ticket."""
    user = user_with_role(Role.REPRESENTATIVE, region=township_a, username="other_rep", name="王秀兰")
    active_rep(township_a, user=user, name="王秀兰")
    return user


@pytest.fixture
def studio_a(township_a):
    return StudioFactory(name="城关镇党代表工作室", region=township_a)


@pytest.fixture
def studio_officer(studio_a, township_a):
    """The liaison officer of the studio the ticket came through."""
    user = user_with_role(Role.STUDIO_OFFICER, region=township_a, username="studio_officer", name="钱芳")
    studio_a.liaison_officer = user
    studio_a.save(update_fields=["liaison_officer"])
    return user


# The statuses in the order a ticket reaches them on each route: "township" (the township
# assigns its own office unit_a, with co-unit unit_a2) or "county" (forwarded to the liaison
# office, which assigns county_unit, with co-unit co_unit).
ROUTE_STATUSES = {
    "township": ["registered", "assigned", "signed", "contacted", "planned", "replied", "forwarded",
                 "dissatisfied", "closed", "archived"],
    "county": ["at_county", "assigned", "signed", "contacted", "planned", "replied", "forwarded",
               "dissatisfied", "closed", "archived"],
}  # fmt: skip


@pytest.fixture
def walk(clerk_a, liaison_office, unit_a, unit_a2, unit_a_staff, unit_a2_staff, county_unit, unit_staff,
         co_unit, co_unit_staff, rep_a):  # fmt: skip
    """``walk(ticket, status, route)``: move a ticket on to ``status`` through the services,
    the way the people of that route would, and return it freshly loaded.

    The co-unit files its opinion only when the walk goes past "planned" (so that a ticket left
    at "planned" still waits for it). "dissatisfied": the rep is dissatisfied; "closed": both the
    rep and the proposer are satisfied.
    """
    from proposals.models import Ticket

    def load(ticket):
        return (
            Ticket.objects.select_related("township", "representative", "lead_unit")
            .prefetch_related("assignments__unit")
            .get(pk=ticket.pk)
        )

    def go(ticket, status: str, route: str = "township"):
        statuses = ["registered", *ROUTE_STATUSES[route]] if route == "county" else ROUTE_STATUSES[route]
        target = statuses.index(status)
        office = clerk_a if route == "township" else liaison_office
        lead, co = (unit_a_staff, unit_a2_staff) if route == "township" else (unit_staff, co_unit_staff)
        t = load(ticket)
        steps = statuses[statuses.index(t.status) + 1 : target + 1]
        if status in ("closed", "archived"):
            steps.remove("dissatisfied")  # closed straight from the feedback
        for step in steps:
            if step == "at_county":
                services.ticket_forward_to_county(actor=clerk_a, ticket=t)
            elif step == "assigned":
                if route == "township":
                    services.ticket_assign(actor=clerk_a, ticket=t, lead_unit=unit_a, co_units=[unit_a2])
                else:
                    services.ticket_assign(actor=liaison_office, ticket=t, lead_unit=county_unit,
                                           co_units=[co_unit])  # fmt: skip
            elif step == "signed":
                services.ticket_sign(actor=lead, ticket=t)
            elif step == "contacted":
                services.ticket_contact(actor=lead, ticket=t, how="电话", contacted_on=timezone.localdate())
            elif step == "planned":
                services.ticket_plan(actor=lead, ticket=t, plan="更换灯具", rep_consulted=True)
            elif step == "replied":
                if any(
                    a.role == "co" and a.ended_at is None and a.opinion_at is None
                    for a in t.assignments.all()
                ):
                    services.co_opinion_file(actor=co, ticket=t, text="同意牵头单位方案")
                services.ticket_reply(actor=lead, ticket=load(t), text="已更换三盏路灯")
            elif step == "forwarded":
                services.ticket_forward(actor=office, ticket=t)
            elif step == "dissatisfied":
                services.ticket_rate(ticket=t, actor=rep_a, score="dissatisfied")
                services.ticket_rate(ticket=load(t), proposer=t.proposers.first(), score="satisfied")
            elif step == "closed":
                services.ticket_rate(ticket=t, actor=rep_a, score="satisfied")
                services.ticket_rate(ticket=load(t), proposer=t.proposers.first(), score="basically")
            elif step == "archived":
                services.ticket_archive(actor=office, ticket=t)
            t = load(t)
            assert t.status == step, f"the walk stopped at {t.status}, not {step}"
        return t

    return go
