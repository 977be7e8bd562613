import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from liaison import health, notify, todo
from liaison.forms import NotificationSettingsForm
from liaison.models import Notification, RoleAssignment
from liaison.roles import Role


def home(request):
    """The landing page: for visitors the public entry points; for a signed-in user what waits
    for them (``liaison.todo``), then their roles."""
    roles, sections = [], []
    if request.user.is_authenticated:
        roles = RoleAssignment.objects.filter(user=request.user).select_related("region", "unit")
        sections = todo.sections_for(request.user, now=timezone.now())
    return render(request, "liaison/home.html", {"roles": roles, "sections": sections})


@never_cache
@require_GET
def healthz(request):
    """200 ``{"status": "ok"}`` or 503 ``{"status": "failing"}``; what was checked and why it
    failed only for the liaison office, superusers, or a monitor that sends ``HEALTHZ_TOKEN``
    (the public learns nothing of the servers behind it)."""
    checks = health.run_checks()
    healthy = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if healthy else "failing"}
    if _may_see_health_details(request):
        body["checks"] = checks
        database_ok = checks["database"] == "ok"
        body.update(health.details() if database_ok else {"beat_last_seen": None, "warnings": []})
    return JsonResponse(body, status=200 if healthy else 503)


def _may_see_health_details(request) -> bool:
    token = settings.HEALTHZ_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        sent = header[len("Bearer ") :] if header.startswith("Bearer ") else request.GET.get("token", "")
        if hmac.compare_digest(sent.encode(), token.encode()):
            return True
    try:  # with the database down a signed-in user cannot be read: then the public answer
        user = request.user
        if not user.is_authenticated:
            return False
        office = RoleAssignment.objects.filter(user=user, role=Role.LIAISON_OFFICE)
        return user.is_superuser or office.exists()
    except DatabaseError:
        return False


# --- Notifications ---------------------------------------------------------------------------

INBOX_PAGE_SIZE = 25


@login_required
def inbox(request):
    """The user's notifications, newest first, unread ones highlighted."""
    page = Paginator(notify.inbox(request.user), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page)
    items = list(zip(rows, notify.render_messages(rows), strict=True))
    return render(request, "liaison/inbox.html", {"page": page, "items": items})


@login_required
def inbox_open(request, pk: int):
    """Mark one of the user's notifications read and go to what it is about."""
    notification = get_object_or_404(Notification.objects.for_user(request.user), pk=pk)
    notify.mark_read(user=request.user, ids=[notification.pk])
    url = notify.render_messages([notification])[0].url
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = reverse("inbox")
    return redirect(url)


@login_required
@require_POST
def inbox_mark_read(request):
    count = notify.mark_read(user=request.user)
    messages.success(
        request,
        ngettext("%(count)d notification marked read.", "%(count)d notifications marked read.", count)
        % {"count": count},
    )
    return redirect("inbox")


@login_required
def notification_settings(request):
    """Let users choose whether notifications also reach them by email and SMS."""
    form = NotificationSettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        notify.preferences_update(
            user=request.user,
            email=form.cleaned_data["notify_by_email"],
            sms=form.cleaned_data["notify_by_sms"],
        )
        messages.success(request, _("Your notification settings were saved."))
        return redirect("notification_settings")
    return render(request, "liaison/notification_settings.html", {"form": form})
