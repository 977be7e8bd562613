from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from liaison.health import run_checks
from liaison.models import RoleAssignment
from liaison.tasks import HEARTBEAT_KEY


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
    if checks["cache"] == "ok":
        body["beat_last_seen"] = cache.get(HEARTBEAT_KEY)
    return JsonResponse(body, status=200 if healthy else 503)
