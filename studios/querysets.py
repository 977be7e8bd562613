"""Reads of studios, rosters and receptions. Every list goes through ``visible_to(user)``.

Who sees what: staff everything under their region; a studio liaison officer their own
studios and what belongs to them; a representative their own duties, receptions and reports.
The public schedule reads ``published()`` slots and shows no private data.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q

from liaison.querysets import ScopedQuerySet
from liaison.scoping import NOTHING


def _officer(scope, studio_field: str) -> Q:
    prefix = f"{studio_field}__" if studio_field else ""
    return Q(**{f"{prefix}liaison_officer_id": scope.user_id}) if scope.user_id else NOTHING


class StudioQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        return scope.region_q("region") | _officer(scope, "")

    def active(self):
        return self.filter(is_active=True)


class RosterPeriodQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        return scope.region_q("studio__region") | _officer(scope, "studio")


class DutySlotQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        q = scope.region_q("studio__region") | _officer(scope, "studio")
        if scope.user_id:
            from studios.models import SlotAssignment

            mine = SlotAssignment.objects.filter(slot=OuterRef("pk"), representative__user_id=scope.user_id)
            q |= Q(Exists(mine))
        return q

    def published(self):
        return self.filter(period__status="published")

    def between(self, start: datetime.datetime, end: datetime.datetime):
        return self.filter(starts_at__gte=start, starts_at__lt=end)

    def overlapping(self, start: datetime.datetime, end: datetime.datetime):
        """Slots whose time overlaps [start, end)."""
        return self.filter(starts_at__lt=end, ends_at__gt=start)


class ReceptionQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        q = scope.region_q("township") | _officer(scope, "studio")
        if scope.user_id:
            through = self.model.representatives.through
            q |= Q(
                Exists(
                    through.objects.filter(reception=OuterRef("pk"), representative__user_id=scope.user_id)
                )
            )
        return q

    def active(self):
        """The receptions that count: not withdrawn."""
        return self.filter(withdrawn_at__isnull=True)


class OpinionReportQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        q = scope.region_q("representative__region")
        return q | Q(representative__user_id=scope.user_id) if scope.user_id else q


def with_invited_units(slots):
    """Set ``invited_units`` on each slot: the units its rule invites, by name (one query in all).

    For the schedule pages, which show a thematic duty's invited departments.
    """
    from studios.models import RosterRule

    slots = list(slots)
    rule_ids = {slot.rule_id for slot in slots if slot.rule_id}
    names: dict[int, list] = {}
    if rule_ids:
        through = RosterRule.invited_units.through
        for row in (
            through.objects.filter(rosterrule_id__in=rule_ids)
            .select_related("handlingunit")
            .only("rosterrule_id", "handlingunit__name")
            .order_by("handlingunit__name", "handlingunit_id")
        ):
            names.setdefault(row.rosterrule_id, []).append(row.handlingunit)
    for slot in slots:
        slot.invited_units = names.get(slot.rule_id, [])
    return slots
