"""Reads of representatives and their network. Every list goes through ``visible_to(user)``.

Who sees what:
- liaison office and township staff: everything under their region (one ``Scope``);
- a representative: their own record, contacts, visits, reports;
- a committee member: the representatives linked to them (not those reps' contacts);
- a studio liaison officer: the representatives of their township (to run rosters).
"""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from liaison.querysets import ScopedQuerySet
from liaison.roles import Role
from liaison.scoping import NOTHING


def _own_rep(scope, field: str = "representative") -> Q:
    """Rows belonging to the viewer's own representative record."""
    return Q(**{f"{field}__user_id": scope.user_id}) if scope.user_id else NOTHING


class RepresentativeQuerySet(ScopedQuerySet):
    region_field = "region"

    def scope_filter(self, scope) -> Q:
        CommitteeLink = apps.get_model("reps", "CommitteeLink")
        q = scope.region_q("region")
        if scope.user_id:
            q |= Q(user_id=scope.user_id)
            q |= Q(
                Exists(CommitteeLink.objects.filter(member_id=scope.user_id, representative=OuterRef("pk")))
            )
        for path in scope.anchor_paths.get(Role.STUDIO_OFFICER, ()):
            q |= Q(region__path__startswith=path)
        return q

    def active(self, on: datetime.date):
        """Representatives holding at least one mandate whose term covers ``on``."""
        Mandate = apps.get_model("reps", "Mandate")
        current = Mandate.objects.filter(representative=OuterRef("pk"), term_start__lte=on, term_end__gte=on)
        return self.filter(Exists(current))

    def serving_between(self, start: datetime.date, end: datetime.date):
        """Representatives holding a mandate at any time from ``start`` to ``end``."""
        Mandate = apps.get_model("reps", "Mandate")
        overlapping = Mandate.objects.filter(
            representative=OuterRef("pk"), term_start__lte=end, term_end__gte=start
        )
        return self.filter(Exists(overlapping))

    def search(self, text: str):
        """Match a name fragment, or pinyin initials ("wjg" finds 王建国)."""
        text = (text or "").strip()
        if not text:
            return self
        return self.filter(Q(name__icontains=text) | Q(name_initials__startswith=text.lower()))

    def in_region(self, region):
        return self.filter(region__path__startswith=region.path)


class ContactQuerySet(ScopedQuerySet):
    region_field = "village"

    def scope_filter(self, scope) -> Q:
        ContactLink = apps.get_model("reps", "ContactLink")
        q = scope.region_q("village")
        if scope.user_id:
            own = ContactLink.objects.filter(contact=OuterRef("pk"), representative__user_id=scope.user_id)
            q |= Q(Exists(own))
        return q

    def search(self, text: str):
        text = (text or "").strip()
        return self.filter(Q(name__icontains=text) | Q(phone__contains=text)) if text else self


class ContactLinkQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        return scope.region_q("contact__village") | _own_rep(scope)

    def active(self, on: datetime.date):
        return self.filter(since__lte=on).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))


class HomeVisitQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        q = scope.region_q("township")
        if scope.user_id:
            through = self.model.representatives.through
            q |= Q(
                Exists(
                    through.objects.filter(homevisit=OuterRef("pk"), representative__user_id=scope.user_id)
                )
            )
        return q

    def in_period(self, start: datetime.date, end: datetime.date):
        return self.filter(date__gte=start, date__lte=end)

    def active(self):
        """The visits that count: not withdrawn."""
        return self.filter(withdrawn_at__isnull=True)


class GroupQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        q = scope.region_q("region")
        if scope.user_id:
            Membership = apps.get_model("reps", "GroupMembership")
            mine = Membership.objects.filter(group=OuterRef("pk"), representative__user_id=scope.user_id)
            q |= Q(Exists(mine))
        return q


class CommitteeLinkQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        q = scope.region_q("representative__region")
        return q | Q(member_id=scope.user_id) if scope.user_id else q


class ResearchReportQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        return scope.region_q("representative__region") | _own_rep(scope)


class DutyReportQuerySet(ScopedQuerySet):
    """Duty reports (述职): staff of the rep's region, and the rep their own."""

    def scope_filter(self, scope) -> Q:
        return scope.region_q("representative__region") | _own_rep(scope)


class DutyPolicyQuerySet(ScopedQuerySet):
    """Policies are reference data for everyone working in the county."""

    def scope_filter(self, scope) -> Q:
        return Q(county_id__in=scope.county_ids) if scope.county_ids else NOTHING

    def in_force(self, county_id: int, on: datetime.date):
        return self.filter(county_id=county_id, effective_from__lte=on).order_by("-effective_from").first()


class PointsPolicyQuerySet(DutyPolicyQuerySet):
    """Points policies, like duty policies, are reference data for everyone working in the county."""


class AssessmentQuerySet(ScopedQuerySet):
    """Published assessment sheets: the staff of the county (a township reads its own reps' rows)."""

    def scope_filter(self, scope) -> Q:
        return Q(county_id__in=scope.county_ids) if scope.county_ids and scope.region_paths else NOTHING


class GroupReportQuerySet(ScopedQuerySet):
    """Group reports: the staff over the group's region, and the group's own reps."""

    def scope_filter(self, scope) -> Q:
        q = scope.region_q("group__region")
        if scope.user_id:
            Membership = apps.get_model("reps", "GroupMembership")
            mine = Membership.objects.filter(group=OuterRef("group"), representative__user_id=scope.user_id)
            q |= Q(group__leader__user_id=scope.user_id) | Q(group__liaison__user_id=scope.user_id)
            q |= Q(Exists(mine))
        return q


class TrainingQuerySet(ScopedQuerySet):
    """Trainings: the staff over the region that held them, and the reps who attended."""

    def scope_filter(self, scope) -> Q:
        q = scope.region_q("region")
        if scope.user_id:
            through = self.model.attendees.through
            q |= Q(
                Exists(through.objects.filter(training=OuterRef("pk"), representative__user_id=scope.user_id))
            )
        return q


class FundExpenseQuerySet(ScopedQuerySet):
    """Activity fund expenses: the staff over the rep's region, and the rep."""

    def scope_filter(self, scope) -> Q:
        return scope.region_q("representative__region") | _own_rep(scope)


class DutyActivityQuerySet(ScopedQuerySet):
    """Sittings-in and inspections: the staff over the rep's region, and the rep."""

    def scope_filter(self, scope) -> Q:
        return scope.region_q("representative__region") | _own_rep(scope)
