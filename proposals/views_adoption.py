"""Recording that a suggestion was adopted (采纳): ``services.ticket_adopt``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liaison.forms import CleanInputMixin
from proposals import services
from proposals.models import Ticket
from proposals.transitions import Conflict, InvalidMove, check, parties


class AdoptionForm(CleanInputMixin, forms.Form):
    adopted_by = forms.CharField(
        label=gettext_lazy("adopted by"),
        max_length=100,
        help_text=gettext_lazy("The body that took the suggestion up, e.g. 县委, 镇党委, 县住建局."),
    )
    adopted_on = forms.DateField(
        label=gettext_lazy("adopted on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


def may_adopt(ticket: Ticket, user) -> bool:
    """Whether the ticket page offers the adoption form (as the service would decide now)."""
    try:
        check(ticket, "adopt", parties(ticket, user))
    except (InvalidMove, PermissionDenied):
        return False
    return not services.refusal(ticket, "adopt", user=user, now=timezone.now())


@login_required
def adopt(request, pk: int):
    """Township staff or the liaison office record that a suggestion was adopted, once."""
    ticket = get_object_or_404(
        Ticket.objects.visible_to(request.user)
        .select_related("township", "representative")
        .prefetch_related("assignments"),
        pk=pk,
    )
    try:
        check(ticket, "adopt", parties(ticket, request.user))
    except InvalidMove:
        raise PermissionDenied from None
    reason = services.refusal(ticket, "adopt", user=request.user, now=timezone.now())
    if reason:  # already adopted (a second post of the form lands here too): nothing to do
        messages.info(request, reason)
        return redirect("proposals:detail", pk=pk)
    form = AdoptionForm(request.POST or None, initial={"adopted_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_adopt(
                actor=request.user,
                ticket=ticket,
                adopted_by=form.cleaned_data["adopted_by"],
                adopted_on=form.cleaned_data["adopted_on"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except (InvalidMove, Conflict) as exc:  # another post recorded it first
            messages.info(request, str(exc))
            return redirect("proposals:detail", pk=pk)
        else:
            messages.success(request, _("The adoption was recorded."))
            return redirect("proposals:detail", pk=pk)
    return render(request, "proposals/adopt.html", {"ticket": ticket, "form": form})
