from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from liaison.health import run_checks
from liaison.models import Heartbeat, RoleAssignment


def home(request):
    """The landing page: the product's public entry points, and for staff their roles."""
    roles = []
    if request.user.is_authenticated:
        roles = RoleAssignment.objects.filter(user=request.user).select_related("region", "unit")
    return render(request, "liaison/home.html", {"roles": roles})


@never_cache
@require_GET
def healthz(request):
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks}
    body["beat_last_seen"] = _beat_last_seen() if checks["database"] == "ok" else None
    return JsonResponse(body, status=200 if healthy else 503)


def _beat_last_seen() -> str | None:
    try:
        seen = Heartbeat.objects.filter(name="beat").values_list("seen_at", flat=True).first()
    except DatabaseError:  # reachable but not migrated yet: reachability is what we report
        return None
    return timezone.localtime(seen).isoformat() if seen else None
