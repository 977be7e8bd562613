"""Correcting the published summary of a closed ticket (``services.ticket_correct_summary``)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from liaison.forms import CleanInputMixin
from proposals import services
from proposals.models import Ticket
from proposals.transitions import InvalidMove, check, parties


class SummaryCorrectionForm(CleanInputMixin, forms.Form):
    summary = forms.CharField(
        label=gettext_lazy("public summary"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Shown on the published results, without any personal data."),
    )
    reason = forms.CharField(
        label=gettext_lazy("why it is corrected"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Kept on the ticket's timeline; not published."),
    )


def may_correct_summary(ticket: Ticket, user) -> bool:
    try:
        check(ticket, "correct_summary", parties(ticket, user))
    except (InvalidMove, PermissionDenied):
        return False
    return True


@login_required
def correct_summary(request, pk: int):
    """Township staff or the liaison office correct the public summary of a closed ticket."""
    ticket = get_object_or_404(
        Ticket.objects.visible_to(request.user)
        .select_related("township", "representative")
        .prefetch_related("assignments"),
        pk=pk,
    )
    if not may_correct_summary(ticket, request.user):
        raise PermissionDenied
    form = SummaryCorrectionForm(request.POST or None, initial={"summary": ticket.reply_summary})
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_correct_summary(
                actor=request.user,
                ticket=ticket,
                summary=form.cleaned_data["summary"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("The published summary was corrected."))
            return redirect("proposals:detail", pk=pk)
    return render(request, "proposals/correct_summary.html", {"ticket": ticket, "form": form})
