"""Links from the field records (a reception's or a home visit's matters) to their tickets.

``{% matter_links reception.matters.all "reception" as links %}`` then, per matter,
``{% include "proposals/_matter_link.html" with link=links|get_item:m.pk %}``: two queries for
all the matters of a page, whatever their number.
"""

from __future__ import annotations

from django import template

from proposals.models import Ticket
from proposals.views_create import may_register_tickets

register = template.Library()

FIELDS = {"reception": "reception_matter", "visit": "visit_matter"}


def _links(user, matters, kind: str) -> dict[int, dict]:
    field = FIELDS[kind]
    matters = list(matters)
    if not matters or not getattr(user, "is_authenticated", False):
        return {}
    tickets = {
        getattr(t, f"{field}_id"): t
        for t in Ticket.objects.filter(**{f"{field}__in": [m.pk for m in matters]}).only(
            "pk", "tracking_code", "status", field
        )
    }
    visible = set(
        Ticket.objects.visible_to(user)
        .filter(pk__in=[t.pk for t in tickets.values()])
        .values_list("pk", flat=True)
        if tickets
        else ()
    )
    may_create = may_register_tickets(user)
    return {
        m.pk: {
            "kind": kind,
            "matter": m,
            "ticket": tickets.get(m.pk),
            "visible": m.pk in tickets and tickets[m.pk].pk in visible,
            "may_create": may_create and not m.answered_on_spot and m.pk not in tickets,
        }
        for m in matters
    }


@register.simple_tag(takes_context=True)
def matter_links(context, matters, kind: str) -> dict[int, dict]:
    """For each matter: its ticket (if any), whether the user may open it or create one."""
    return _links(context["request"].user, matters, kind)


@register.simple_tag(takes_context=True)
def visit_matter_links(context, visits) -> dict[int, list[dict]]:
    """The matters of these home visits with their ticket links, by visit: three queries in all."""
    from reps.models import VisitMatter

    visits = list(visits)
    matters = VisitMatter.objects.filter(visit__in=[v.pk for v in visits]).order_by("id") if visits else []
    links = _links(context["request"].user, matters, "visit")
    by_visit: dict[int, list[dict]] = {}
    for link in links.values():
        by_visit.setdefault(link["matter"].visit_id, []).append(link)
    return by_visit


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


STATUS_CSS = {
    "registered": "text-bg-warning",
    "at_county": "text-bg-warning",
    "assigned": "text-bg-primary",
    "signed": "text-bg-primary",
    "contacted": "text-bg-primary",
    "planned": "text-bg-primary",
    "replied": "text-bg-info",
    "forwarded": "text-bg-info",
    "dissatisfied": "text-bg-danger",
    "closed": "text-bg-success",
    "archived": "text-bg-secondary",
}


@register.filter
def status_css(status: str) -> str:
    """The badge colour of a ticket status: waiting for triage, with a unit, replied, done."""
    return STATUS_CSS.get(status, "text-bg-light")
