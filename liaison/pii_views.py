"""The phone reveal: the one place a staff member sees a resident's full number (``liaison.pii``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from liaison import audit, pii
from liaison.http import client_ip


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if ok else ""


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reveal_phone(request, label: str, pk: int):
    """GET: the masked number and a "show number" button (the admin links here, since its pages
    are forms already). POST: for a user who may reveal it, the full number, audited once per
    reveal; anyone else gets 403 and no number."""
    entry = pii.revealable(label)
    if entry is None:
        raise Http404
    obj = entry.objects().filter(pk=pk).first()
    if obj is None:
        raise Http404
    if not pii.may_reveal(request.user, obj):
        raise PermissionDenied
    number = getattr(obj, entry.field, "") or ""
    context = {"obj": obj, "masked": pii.mask_phone(number), "next": _next(request), "number": ""}
    if request.method == "POST" and number:
        audit.record(
            actor=request.user,
            verb="pii.phone_revealed",
            subject=obj,
            region=entry.region_of(obj),
            ip=client_ip(request),
        )
        context["number"] = number
    return render(request, "liaison/phone_reveal.html", context)
