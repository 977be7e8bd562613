"""Querysets of the organisation models. Every list a user sees goes through ``visible_to``."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Q

from liaison.scoping import NOTHING, scope_of


class ScopedQuerySet(models.QuerySet):
    """A queryset whose rows belong to a region, reached through ``region_field``.

    Subclasses name the lookup (``region_field = "township"``) and may widen
    ``scope_filter`` with personal links, always through the user's ``Scope``.
    """

    region_field = "region"

    def visible_to(self, user):
        scope = scope_of(user)
        if scope.sees_all:
            return self
        return self.filter(self.scope_filter(scope))

    def scope_filter(self, scope) -> Q:
        return scope.region_q(self.region_field)


class RegionQuerySet(ScopedQuerySet):
    region_field = ""

    def counties(self):
        return self.filter(level="county")

    def townships(self):
        return self.filter(level="township")


class AnnualMeetingQuerySet(ScopedQuerySet):
    """Meetings of the counties the user works in: reference data for everyone in the county."""

    def scope_filter(self, scope) -> Q:
        return Q(county_id__in=scope.county_ids) if scope.county_ids else NOTHING


class HandlingUnitQuerySet(ScopedQuerySet):
    def active(self):
        return self.filter(is_active=True)

    def scope_filter(self, scope) -> Q:
        # Staff see the units under their region; unit staff see their own unit.
        return scope.region_q("region") | Q(pk__in=scope.unit_ids)


class RoleAssignmentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope) -> Q:
        return scope.region_q("region") | scope.region_q("unit__region")


class UserQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Users holding a role in the viewer's scope, and the viewer themself."""
        from liaison.models import RoleAssignment

        scope = scope_of(user)
        if scope.sees_all:
            return self
        in_scope = RoleAssignment.objects.filter(user=OuterRef("pk")).filter(
            scope.region_q("region") | scope.region_q("unit__region")
        )
        return self.filter(Q(Exists(in_scope)) | Q(pk=scope.user_id or 0))


def _visible_users(user):
    from liaison.models import User

    return User.objects.visible_to(user).values("pk")


class ReminderQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Reminders that told at least one user the viewer may see."""
        if scope_of(user).sees_all:
            return self
        from liaison.models import Notification

        told = Notification.objects.filter(reminder=OuterRef("pk"), user__in=_visible_users(user))
        return self.filter(Exists(told))


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        """The user's own inbox."""
        return self.filter(user_id=user.pk)

    def unread(self):
        return self.filter(read_at__isnull=True)

    def visible_to(self, user):
        """Notifications of the users the viewer may see (the admin's scope)."""
        if scope_of(user).sees_all:
            return self
        return self.filter(user__in=_visible_users(user))


class DeliveryQuerySet(models.QuerySet):
    def due(self, now):
        return self.filter(status="pending", next_attempt_at__lte=now)

    def visible_to(self, user):
        if scope_of(user).sees_all:
            return self
        return self.filter(notification__user__in=_visible_users(user))


class SecurityPolicyQuerySet(ScopedQuerySet):
    """A county's policy is the liaison office's: only staff whose region covers the whole
    county (the liaison office; superusers) see it, township staff do not."""

    region_field = "county"


class LoginThrottleQuerySet(models.QuerySet):
    def locked(self, now):
        return self.filter(locked_until__gt=now)

    def visible_to(self, user):
        """The accounts of the users the viewer may see; IPs and unknown usernames: superusers."""
        if scope_of(user).sees_all:
            return self
        return self.filter(user__in=_visible_users(user))
