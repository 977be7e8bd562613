"""Which security policy applies to a user (``policy_for``).

A county's ``SecurityPolicy`` row sets its rules; a county without a row has the model's
defaults. A user whose roles lie in several counties, and a user with no county (a superuser,
or someone with no role yet), gets the strictest of the policies that could apply, combined
field by field (``strictest``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from liaison.models import Region, SecurityPolicy
from liaison.scoping import scope_of

# The fields where a smaller number is stricter (shorter sessions, fewer tries, earlier erasure).
SMALLEST_WINS = ("idle_timeout_minutes", "lockout_failures", "anonymise_after_years")
# The fields where a larger number is stricter (a longer lockout, a longer-kept audit log).
LARGEST_WINS = ("lockout_minutes", "audit_retention_months")
# The booleans where "on" is stricter.
ANY_TRUE_WINS = ("staff_sessions_end_at_browser_close", "single_session", "two_factor_superusers")

_CACHE_ATTR = "_liaison_security_policy"


def policy_for(user) -> SecurityPolicy:
    """Return the policy that applies to ``user``, computed once per user object (request).

    - a user whose roles lie in one county: that county's policy (defaults if it has no row);
    - in several counties: the strictest of theirs (a county without a row counts as defaults);
    - a superuser, an anonymous user or a user with no role: the strictest of every county's
      row (the defaults when there is none).
    The result is unsaved when it combines several rows or stands for the defaults: read it,
    never save it.
    """
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = scope_of(user)
    county_ids = set() if scope.sees_all else scope.county_ids
    if county_ids:
        rows = list(SecurityPolicy.objects.filter(county_id__in=county_ids))
        missing = county_ids - {row.county_id for row in rows}
        policies = rows + [SecurityPolicy() for _ in missing]
    else:
        policies = list(SecurityPolicy.objects.all())
    policy = strictest(policies)
    if user is not None:
        with contextlib.suppress(AttributeError):  # an object that takes no attributes
            setattr(user, _CACHE_ATTR, policy)
    return policy


def strictest(policies: Iterable[SecurityPolicy]) -> SecurityPolicy:
    """Combine ``policies`` field by field into the strictest (defaults for none, the row for one)."""
    policies = list(policies)
    if not policies:
        return SecurityPolicy()
    if len(policies) == 1:
        return policies[0]
    combined = SecurityPolicy()
    for name in SMALLEST_WINS:
        setattr(combined, name, min(getattr(p, name) for p in policies))
    for name in LARGEST_WINS:
        setattr(combined, name, max(getattr(p, name) for p in policies))
    for name in ANY_TRUE_WINS:
        setattr(combined, name, any(getattr(p, name) for p in policies))
    roles: list[str] = []
    for p in policies:
        roles += [role for role in p.two_factor_roles if role not in roles]
    combined.two_factor_roles = roles
    return combined


def forget(user) -> None:
    """Drop the policy cached on ``user`` (after a change to their roles or to a policy)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def county_policy(county: Region) -> SecurityPolicy:
    """The policy of one county (its row, or the defaults)."""
    return SecurityPolicy.objects.filter(county=county).first() or SecurityPolicy()
