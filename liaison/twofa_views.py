"""Pages of the second factor: set up an authenticator app, confirm a sign-in, new recovery codes.

The rules and the devices are in ``liaison.twofa``; these pages only ask and show.
"""

from __future__ import annotations

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from liaison import twofa

NEW_CODES_KEY = "twofa_new_codes"
NEXT_KEY = "twofa_next"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, digits_only: bool = False, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        field.help_text = help_text
        if digits_only:
            field.widget.attrs.update({"inputmode": "numeric", "pattern": "[0-9 ]*"})


def _next_url(request, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def _with_next(name: str, next_url: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse(name)}?{urlencode({'next': next_url})}"


@login_required
def setup(request):
    """Scan a QR code into an authenticator app and type the code it shows to confirm."""
    user = request.user
    next_url = _next_url(request)
    if twofa.authenticator(user):
        if twofa.is_verified(user):
            messages.info(request, _("Your two-step sign-in is already set up."))
            return redirect("twofa_recovery_codes")
        return redirect(_with_next("twofa_verify", next_url))
    device = twofa.pending_authenticator(user)
    form = CodeForm(
        request.POST or None,
        digits_only=True,
        help_text=_("The 6 digits your app shows for this account."),
    )
    if request.method == "POST" and form.is_valid():
        outcome, codes = twofa.confirm_enrolment(request, form.cleaned_data["code"])
        if outcome.ok:
            request.session[NEW_CODES_KEY] = codes
            request.session[NEXT_KEY] = next_url
            return redirect("twofa_recovery_codes")
        form.add_error("code", outcome.error)
    # segno draws the SVG from the otpauth:// URL alone (no user text from a form): safe inline.
    qr_svg = mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, svgclass="qr"))  # noqa: S308
    context = {"form": form, "qr_svg": qr_svg, "secret": twofa.secret_for_typing(device), "next": next_url}
    return render(request, "liaison/twofa/setup.html", context)


@login_required
def verify(request):
    """Confirm this sign-in with a code from the app or one recovery code."""
    user = request.user
    next_url = _next_url(request)
    if not twofa.authenticator(user):
        return redirect(_with_next("twofa_setup", next_url))
    if twofa.is_verified(user):
        return HttpResponseRedirect(next_url)
    form = CodeForm(
        request.POST or None,
        help_text=_("The 6 digits your app shows now; without your phone, one of your recovery codes."),
    )
    if request.method == "POST" and form.is_valid():
        outcome = twofa.verify(request, form.cleaned_data["code"])
        if outcome.ok:
            if outcome.used_recovery_code:
                left = twofa.recovery_codes_left(user)
                messages.warning(
                    request,
                    ngettext(
                        "You used a recovery code; %(count)d is left. Make new ones under "
                        "Two-step sign-in in your menu.",
                        "You used a recovery code; %(count)d are left. Make new ones under "
                        "Two-step sign-in in your menu.",
                        left,
                    )
                    % {"count": left},
                )
            return HttpResponseRedirect(next_url)
        form.add_error("code", outcome.error)
    return render(request, "liaison/twofa/verify.html", {"form": form, "next": next_url})


@login_required
def recovery_codes(request):
    """Show new recovery codes once; or make new ones after the user types a code from the app."""
    user = request.user
    codes = request.session.pop(NEW_CODES_KEY, None)
    if codes:
        next_url = request.session.pop(NEXT_KEY, None) or reverse("home")
        return render(request, "liaison/twofa/recovery_codes.html", {"codes": codes, "next": next_url})
    if not twofa.authenticator(user):
        return redirect("twofa_setup")
    form = CodeForm(
        request.POST or None,
        digits_only=True,
        help_text=_("To make new recovery codes, type the 6 digits your app shows now."),
    )
    if request.method == "POST" and form.is_valid():
        outcome = twofa.check_code(user, form.cleaned_data["code"], recovery=False)
        if outcome.ok:
            request.session[NEW_CODES_KEY] = twofa.regenerate_recovery_codes(user)
            request.session[NEXT_KEY] = reverse("home")
            return redirect("twofa_recovery_codes")
        form.add_error("code", outcome.error)
    context = {"form": form, "left": twofa.recovery_codes_left(user)}
    return render(request, "liaison/twofa/recovery_codes.html", context)
