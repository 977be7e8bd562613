"""The intake's flood refused before the rest of the stack reads the request."""

from __future__ import annotations

import functools

from django.conf import settings
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.urls import ResolverMatch, get_script_prefix, get_urlconf, resolve, reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from liaison.middleware import LanguageMiddleware, activate_chosen_language
from proposals import ratelimit
from proposals.public_views import intake_address

# The middleware below this one in MIDDLEWARE that put headers on every response: the early
# 429 gets them from them (Content-Language, Content-Length, X-Frame-Options), so that it is
# answered as the view's 429 is (tests/proposals/test_public_limits.py compares the two).
INNER_HEADERS = (LanguageMiddleware, CommonMiddleware, XFrameOptionsMiddleware)


@functools.lru_cache(maxsize=16)
def _intake(urlconf: str, prefix: str) -> tuple[str, ResolverMatch]:
    """The intake's path and its URL match: reversed once, not per POST (about 60 µs each)."""
    path = reverse("public:intake", urlconf=urlconf)
    return path, resolve("/" + path.removeprefix(prefix), urlconf=urlconf)


class IntakeFloodMiddleware:
    """Refuse the public intake's POST from an address already over its hourly ceiling
    (``intake_ip``), before the session, CSRF, authentication and the posted form are read.

    1. Only a POST to the intake is looked at; every other request passes untouched.
    2. The address's counter is read (``ratelimit.peek``, the view's rule and subject from
       ``public_views.intake_address``), not raised: a post that gets through is counted by the
       view as before, with the per-form limit after it, and a refused one changes nothing.
    3. Over the ceiling: the view's own 429 (``ratelimit.too_many``: the small page in the
       chosen language, counted rather than logged), with the headers the rest of the stack
       would have added. The middleware above this one (metrics, request id, security, CSP,
       Permissions-Policy) add theirs as for any response; the URL match is set so the metrics
       label it as the intake's.

    A flood's 429 then costs about what a bare request does, instead of the whole stack plus
    parsing the form (bench/bench_flood.py). The view keeps its own check: between this read
    and its count, concurrent posts from the same address can still cross the ceiling.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.inner = [cls(get_response) for cls in reversed(INNER_HEADERS)]

    def __call__(self, request):
        if request.method == "POST":
            path, match = _intake(get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
            if request.path == path:
                verdict = ratelimit.peek(*intake_address(request))
                if not verdict.allowed:
                    return self.refuse(request, verdict, match)
        return self.get_response(request)

    def refuse(self, request, verdict: ratelimit.Verdict, match: ResolverMatch):
        request.resolver_match = match
        activate_chosen_language(request)
        response = ratelimit.too_many(request, verdict)
        add_never_cache_headers(response)  # as the view's @never_cache
        patch_vary_headers(response, ("Cookie",))  # in the language the cookie chose
        for middleware in self.inner:  # innermost first, as the stack would
            response = middleware.process_response(request, response)
        return response
