"""Forms of the signed-in ticket pages. They validate what was typed; the services decide.

Each move on the detail page has its own small form (prefixed with the move's name, so several
can sit on one page), carrying the version of the ticket the user was looking at: a page gone
stale is refused with a conflict message instead of acting on a ticket that has changed.
"""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from liaison.forms import CleanInputMixin, ManyOptionsSelect, NameAndPhoneForm
from liaison.idempotency import SubmissionTokenMixin
from liaison.models import HandlingUnit, Region
from proposals import services
from proposals.files import MAX_FILES, clean_attachment
from proposals.models import Category, Rating, Ticket, normalize_code
from proposals.transitions import Party, Status
from reps.forms import MultipleFileField, MultipleFileInput
from reps.models import Representative
from studios.models import Studio

ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"


def version_of(ticket: Ticket) -> str:
    """The ticket's version as a page carries it: its last-change time, to the microsecond."""
    return ticket.updated_at.isoformat()


def parse_version(value: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _clean_files(files) -> list:
    if len(files) > MAX_FILES:
        raise ValidationError(_("At most %(n)s files.") % {"n": MAX_FILES})
    cleaned, errors = [], []
    for upload in files:
        try:
            cleaned.append(clean_attachment(upload))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _files_field(label) -> MultipleFileField:
    return MultipleFileField(
        label=label,
        required=False,
        max_files=MAX_FILES,
        widget=MultipleFileInput(attrs={"accept": ACCEPT}),
        help_text=gettext_lazy("Up to 3 images (JPEG, PNG, WebP) or PDF files, 5 MB each."),
    )


def _text(
    label, *, required: bool = True, rows: int = 3, max_length: int = 4000, help_text=""
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


# --- the workspace filter --------------------------------------------------------------------


class TicketFilterForm(CleanInputMixin, forms.Form):
    """The workspace's filters (GET). A bad value is dropped, never an error page."""

    TIMELINESS = [
        ("", gettext_lazy("Any time status")),
        ("on_time", gettext_lazy("on time")),
        ("due_soon", gettext_lazy("due soon")),
        ("overdue", gettext_lazy("overdue")),
    ]

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    status = forms.ChoiceField(label=gettext_lazy("status"), required=False)
    category = forms.ModelChoiceField(
        label=gettext_lazy("category"), required=False, queryset=Category.objects.all()
    )
    timeliness = forms.ChoiceField(label=gettext_lazy("time status"), required=False, choices=TIMELINESS)
    township = forms.ModelChoiceField(
        label=gettext_lazy("township"),
        required=False,
        queryset=Region.objects.none(),
        widget=ManyOptionsSelect,
    )
    unit = forms.ModelChoiceField(
        label=gettext_lazy("lead unit"),
        required=False,
        queryset=HandlingUnit.objects.none(),
        widget=ManyOptionsSelect,
    )
    registered_from = forms.DateField(
        label=gettext_lazy("registered from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    registered_to = forms.DateField(
        label=gettext_lazy("registered until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    DATES = ("registered_from", "registered_to")

    def __init__(self, *args, townships=None, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", gettext_lazy("Any status")), *Status.choices]
        self.fields["category"].empty_label = gettext_lazy("Any category")
        if townships is None:
            del self.fields["township"]
        else:
            self.fields["township"].queryset = townships
            self.fields["township"].empty_label = gettext_lazy("Every township")
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units
            self.fields["unit"].empty_label = gettext_lazy("Every lead unit")
        for name, field in self.fields.items():
            if name in self.DATES:
                field.widget.attrs.update({"class": "form-control"})
            elif name != "q":
                field.widget.attrs.update({"class": "form-select", "aria-label": field.label})

    def clean(self):
        data = super().clean()
        start, end = data.get("registered_from"), data.get("registered_to")
        if start and end and start > end:
            # Neither date filters a range that cannot hold anything: the list stays whole.
            data.pop("registered_from")
            self.add_error(
                "registered_to",
                _("The end date (%(end)s) is before the start date (%(start)s).")
                % {"end": end.isoformat(), "start": start.isoformat()},
            )
        return data

    def values(self) -> dict:
        """The valid filters only: an invalid one is ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) for name in self.fields if name not in self.errors}


# --- registering and editing -----------------------------------------------------------------


class TicketForm(CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """Register a ticket by hand (phone, meeting, ...) or from a reception or home visit."""

    kind = forms.ChoiceField(
        label=gettext_lazy("kind"),
        choices=Ticket.Kind.choices,
        initial=Ticket.Kind.SUGGESTION,
        widget=forms.RadioSelect,
    )
    source = forms.ChoiceField(label=gettext_lazy("source"))
    township = forms.ModelChoiceField(label=gettext_lazy("township"), queryset=Region.objects.none())
    studio = forms.ModelChoiceField(
        label=gettext_lazy("studio"), queryset=Studio.objects.none(), required=False
    )
    representative = forms.ModelChoiceField(
        label=gettext_lazy("responsible representative"),
        queryset=Representative.objects.none(),
        required=False,
    )
    co_signers = forms.ModelMultipleChoiceField(
        label=gettext_lazy("co-signing representatives"),
        queryset=Representative.objects.none(),
        required=False,
        help_text=gettext_lazy("For a formal motion made jointly."),
    )
    category = forms.ModelChoiceField(label=gettext_lazy("category"), queryset=Category.objects.none())
    title = forms.CharField(label=gettext_lazy("title"), max_length=100)
    content = _text(gettext_lazy("content"), rows=5)
    place = forms.CharField(label=gettext_lazy("place"), max_length=200, required=False)
    is_public_interest = forms.BooleanField(
        label=gettext_lazy("of general concern"),
        required=False,
        help_text=gettext_lazy(
            "Closed tickets of general concern are published (without any personal data)."
        ),
    )
    files = _files_field(gettext_lazy("attachments"))

    def __init__(self, *args, townships, studios, reps, own_rep: Representative | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_rep = own_rep
        # The intake page, the Open311 API and the 12345 hotline's import (with its order
        # numbers) file their own tickets: staff never pick them.
        self.fields["source"].choices = [
            c
            for c in Ticket.Source.choices
            if c[0] not in (Ticket.Source.INTAKE, Ticket.Source.API, Ticket.Source.HOTLINE)
        ]
        self.fields["township"].queryset = townships
        self.fields["studio"].queryset = studios
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["co_signers"].queryset = reps
        if own_rep is not None:
            # A representative registers what they collected: they are the responsible rep.
            del self.fields["representative"]
            self.fields["co_signers"].queryset = reps.exclude(pk=own_rep.pk)
        else:
            self.fields["representative"].queryset = reps

    def clean_files(self):
        return _clean_files(self.cleaned_data.get("files") or [])

    def clean(self):
        data = super().clean()
        rep = self.own_rep or data.get("representative")
        if data.get("kind") == Ticket.Kind.MOTION and rep is None:
            self.add_error("representative", _("A formal motion is made by a representative."))
        if rep is not None and rep in (data.get("co_signers") or []):
            self.add_error("co_signers", _("The responsible representative is not also a co-signer."))
        return data


class ProposerForm(NameAndPhoneForm):
    name = forms.CharField(label=gettext_lazy("proposer's name"), max_length=32, required=False)


ProposerFormSet = forms.formset_factory(ProposerForm, extra=1, max_num=20, validate_max=True)


class TicketEditForm(CleanInputMixin, forms.Form):
    """Staff correct a ticket's details (services.ticket_edit records before and after)."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)
    title = forms.CharField(label=gettext_lazy("title"), max_length=100)
    content = _text(gettext_lazy("content"), rows=6)
    category = forms.ModelChoiceField(label=gettext_lazy("category"), queryset=Category.objects.all())
    place = forms.CharField(label=gettext_lazy("place"), max_length=200, required=False)
    is_public_interest = forms.BooleanField(
        label=gettext_lazy("of general concern"),
        required=False,
        help_text=gettext_lazy(
            "Closed tickets of general concern are published (without any personal data)."
        ),
    )

    FIELDS = ("title", "content", "category", "place", "is_public_interest")

    def __init__(self, *args, ticket: Ticket, **kwargs):
        kwargs.setdefault(
            "initial", {f: getattr(ticket, f) for f in self.FIELDS} | {"version": version_of(ticket)}
        )
        super().__init__(*args, **kwargs)
        # An inactive category the ticket already has stays choosable.
        self.fields["category"].queryset = Category.objects.filter(
            Q(is_active=True) | Q(pk=ticket.category_id)
        )


# --- the moves -------------------------------------------------------------------------------


class MoveForm(CleanInputMixin, forms.Form):
    """One move on the detail page. ``confirm`` asks once more for what cannot be undone."""

    move = ""
    title = ""
    button = gettext_lazy("Save")
    confirm = False
    style = "primary"

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, ticket: Ticket, acting_as: frozenset[str], user=None, **kwargs):
        kwargs.setdefault("prefix", self.move)
        super().__init__(*args, **kwargs)
        self.ticket, self.acting_as, self.user = ticket, acting_as, user
        self.fields["version"].initial = version_of(ticket)
        if self.confirm:
            self.fields["confirmed"] = forms.BooleanField(
                label=gettext_lazy("I confirm: this cannot be undone."), required=True
            )

    @property
    def visible_text(self) -> str:
        """What the user typed in the text fields (to show it back when the move fails)."""
        if not self.is_bound:
            return ""
        parts = []
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.Textarea) or type(field.widget) is forms.TextInput:
                value = (self.data.get(self.add_prefix(name)) or "").strip()
                if value:
                    parts.append(value)
        return "\n\n".join(parts)


class AssignForm(MoveForm):
    move, title, button = "assign", gettext_lazy("Assign to a handling unit"), gettext_lazy("Assign")
    lead_unit = forms.ModelChoiceField(label=gettext_lazy("lead unit"), queryset=HandlingUnit.objects.none())
    co_units = forms.ModelMultipleChoiceField(
        label=gettext_lazy("co-units (吹哨报到)"),
        queryset=HandlingUnit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Each co-unit files its opinion; the lead unit replies."),
    )
    note = _text(gettext_lazy("note"), required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # As the service decides: the county's units once the county office holds the ticket.
        acting = (
            self.acting_as if self.ticket.status == Status.REGISTERED else self.acting_as & {Party.OFFICE}
        )
        units = services.assignable_units(self.ticket, acting).order_by("region__path", "name")
        self.fields["lead_unit"].queryset = units
        self.fields["co_units"].queryset = units

    def clean(self):
        data = super().clean()
        lead, co = data.get("lead_unit"), data.get("co_units") or []
        if lead is not None and lead in co:
            self.add_error("co_units", _("The lead unit cannot also be a co-unit, nor a unit twice."))
        return data


class ForwardToCountyForm(MoveForm):
    move, title = "forward_to_county", gettext_lazy("Forward to the county liaison office")
    button = gettext_lazy("Forward to the county")
    note = _text(gettext_lazy("why the township cannot handle it"), required=False, rows=2)


class AnswerOnSpotForm(MoveForm):
    move, title, button = (
        "answer_on_spot",
        gettext_lazy("Answered on the spot"),
        gettext_lazy("Close as answered"),
    )
    note = _text(gettext_lazy("answer given"))


class ExplainForm(MoveForm):
    move, title = "explain", gettext_lazy("Explain (unreasonable, or already decided)")
    button, confirm, style = gettext_lazy("Close with this explanation"), True, "danger"
    note = _text(gettext_lazy("explanation given to the proposer"))


class MergeForm(MoveForm):
    move, title, button = "merge", gettext_lazy("Merge into another ticket"), gettext_lazy("Merge")
    confirm, style = True, "danger"
    into = forms.CharField(
        label=gettext_lazy("the ticket it duplicates"),
        max_length=32,
        help_text=gettext_lazy("Its tracking code (e.g. BK7M-Q2XD-9T) or its number."),
    )
    note = _text(gettext_lazy("note"), required=False, rows=2)

    def clean_into(self):
        typed = self.cleaned_data["into"].strip()
        visible = Ticket.objects.visible_to(self.user).select_related("township")
        found = None
        if typed.isdigit():
            found = visible.filter(pk=int(typed)).first()
        if found is None:
            code = normalize_code(typed)
            found = visible.filter(tracking_code=code).first() if code else None
        if found is None:
            raise ValidationError(_("No ticket you can see has this code or number."))
        return found


class SignForm(MoveForm):
    move, title, button = "sign", gettext_lazy("Sign for the ticket (签收)"), gettext_lazy("Sign for it")


class ReturnForm(MoveForm):
    move, title, button = "return", gettext_lazy("Return as not our remit (退回)"), gettext_lazy("Return it")
    confirm, style = True, "danger"
    reason = _text(gettext_lazy("reason"))


class ContactForm(MoveForm):
    move, title = "contact", gettext_lazy("Step 1: contacted the representative and the proposers")
    button = gettext_lazy("Record step 1")
    how = forms.CharField(
        label=gettext_lazy("how"),
        max_length=200,
        help_text=gettext_lazy("e.g. by phone, a visit, a meeting on site"),
    )
    contacted_on = forms.DateField(
        label=gettext_lazy("when"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = _text(gettext_lazy("what was learned"), required=False, rows=3)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacted_on"].initial = timezone.localdate()


class PlanForm(MoveForm):
    move, title = "plan", gettext_lazy("Step 2: a solution, agreed with the representative")
    button = gettext_lazy("Record step 2")
    plan = _text(gettext_lazy("the plan, and the laws or policies it rests on"), rows=4)
    rep_consulted = forms.BooleanField(label=gettext_lazy("The representative was consulted"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.ticket.representative_id is None:  # nobody to consult
            self.title = gettext_lazy("Step 2: a solution")
            del self.fields["rep_consulted"]


class ReplyForm(MoveForm):
    move, title = "reply", gettext_lazy("Step 3: carried out, written reply")
    button = gettext_lazy("Send the reply")
    text = _text(gettext_lazy("written reply"), required=False, rows=6, max_length=8000)
    files = _files_field(gettext_lazy("reply as a file"))
    summary = forms.CharField(
        label=gettext_lazy("public summary"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("One or two sentences for the tracking page and published results: no names."),
    )

    def clean_files(self):
        return _clean_files(self.cleaned_data.get("files") or [])

    def clean(self):
        data = super().clean()
        if "files" in data and not (data.get("text") or "").strip() and not data.get("files"):
            self.add_error("text", _("Write the reply or attach it as a file."))
        return data


class CoOpinionForm(MoveForm):
    move, title, button = "co_opinion", gettext_lazy("Our co-unit opinion"), gettext_lazy("File the opinion")
    text = _text(gettext_lazy("opinion"), rows=4)


class RequestExtensionForm(MoveForm):
    move, title, button = "request_extension", gettext_lazy("Ask for more time"), gettext_lazy("Ask")
    until = forms.DateField(
        label=gettext_lazy("new due date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Never later than one month after assignment."),
    )
    reason = forms.CharField(
        label=gettext_lazy("reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecideExtensionForm(MoveForm):
    move, title, button = (
        "decide_extension",
        gettext_lazy("Decide the extension request"),
        gettext_lazy("Decide"),
    )
    decision = forms.ChoiceField(
        label=gettext_lazy("decision"),
        choices=[("approve", gettext_lazy("approve")), ("refuse", gettext_lazy("refuse"))],
        widget=forms.RadioSelect,
    )
    note = _text(gettext_lazy("note"), required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extension = services.pending_extension(self.ticket)


class ReworkForm(MoveForm):
    move, title, button = (
        "rework",
        gettext_lazy("Return the reply for rework"),
        gettext_lazy("Return for rework"),
    )
    note = _text(gettext_lazy("what is missing"))


class ForwardForm(MoveForm):
    move, title = "forward", gettext_lazy("Forward the reply to the representative")
    button = gettext_lazy("Forward")
    summary = forms.CharField(
        label=gettext_lazy("public summary"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("One or two sentences for the tracking page and published results: no names."),
    )
    note = _text(gettext_lazy("note"), required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["summary"].initial = self.ticket.reply_summary


class ToProposersForm(ForwardForm):
    """With no responsible representative, the reply goes to the proposers' rating alone."""

    move, title = "to_proposers", gettext_lazy("Send the reply to the proposers for their rating")
    button = gettext_lazy("Send for rating")


class FilteredSelect(forms.Select):
    """A plain ``<select>`` that the ticket page's script gives a text box, to narrow a long list by
    name or pinyin initials (each option's ``data-initials``). Without the script it is a select."""

    def __init__(self, attrs=None):
        super().__init__(
            {
                "data-filterable": "1",
                "data-filter-label": gettext_lazy("Narrow the list: a name or pinyin initials"),
                **(attrs or {}),
            }
        )

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        initials = getattr(getattr(value, "instance", None), "name_initials", "")
        if initials:
            option["attrs"]["data-initials"] = initials
        return option


class SetRepForm(MoveForm):
    """Set or change the responsible representative, as part of triage."""

    move, title = "set_rep", gettext_lazy("Responsible representative")
    button = gettext_lazy("Save the representative")
    representative = forms.ModelChoiceField(
        label=gettext_lazy("responsible representative"),
        queryset=Representative.objects.none(),
        required=False,
        widget=FilteredSelect,
        empty_label=gettext_lazy("— none —"),
        help_text=gettext_lazy("The representatives of this county in their term whom you can see."),
    )
    note = _text(gettext_lazy("note"), required=False, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["representative"]
        field.queryset = services.eligible_reps(self.ticket, self.user).select_related("region")
        field.label_from_instance = lambda rep: f"{rep.name} · {rep.region.name}"
        field.initial = self.ticket.representative_id
        if self.ticket.representative_id is None:
            self.title = gettext_lazy("Choose the responsible representative")


class EnterRatingForm(MoveForm):
    """The reviewing office enters a rating a named proposer gave in writing or by phone."""

    move, title = "enter_rating", gettext_lazy("Enter a proposer's rating given in writing or by phone")
    button = gettext_lazy("Enter the rating")
    proposer = forms.TypedChoiceField(label=gettext_lazy("proposer"), coerce=int, widget=forms.RadioSelect)
    via = forms.ChoiceField(
        label=gettext_lazy("given"),
        choices=[(v.value, v.label) for v in (Rating.Via.PAPER, Rating.Via.PHONE)],
        widget=forms.RadioSelect,
    )
    score = forms.ChoiceField(
        label=gettext_lazy("rating"), choices=Rating.Score.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=gettext_lazy("comment"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # From what the page prefetched: no query of its own.
        self.waiting = {p.pk: p for p in services.proposers_to_rate(self.ticket)}
        self.fields["proposer"].choices = [(pk, p.name) for pk, p in self.waiting.items()]
        if len(self.waiting) == 1:
            self.fields["proposer"].initial = next(iter(self.waiting))

    def clean_proposer(self):
        return self.waiting[self.cleaned_data["proposer"]]


class RateForm(MoveForm):
    move, title, button = "rate", gettext_lazy("Rate the reply"), gettext_lazy("Send my rating")
    score = forms.ChoiceField(
        label=gettext_lazy("rating"), choices=Rating.Score.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=gettext_lazy("comment"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ConcludeForm(MoveForm):
    move, title = "conclude", gettext_lazy("End the feedback now")
    button, confirm = gettext_lazy("End the feedback"), True


class RehandleForm(MoveForm):
    move, title, button = "rehandle", gettext_lazy("Order re-handling (重办)"), gettext_lazy("Re-handle")
    note = _text(gettext_lazy("what must be done again"))


class CloseForm(MoveForm):
    move, title = "close", gettext_lazy("Close with an explanation")
    button, confirm, style = pgettext_lazy("close a ticket", "Close"), True, "danger"
    note = _text(gettext_lazy("explanation given to the representative and the proposers"))


class ArchiveForm(MoveForm):
    move, title, button = "archive", gettext_lazy("Archive"), gettext_lazy("Archive")
    confirm, style = True, "secondary"


MOVE_FORMS: dict[str, type[MoveForm]] = {
    f.move: f
    for f in (
        AssignForm,
        ForwardToCountyForm,
        AnswerOnSpotForm,
        ExplainForm,
        MergeForm,
        SignForm,
        ReturnForm,
        ContactForm,
        PlanForm,
        ReplyForm,
        CoOpinionForm,
        RequestExtensionForm,
        DecideExtensionForm,
        ReworkForm,
        ForwardForm,
        ToProposersForm,
        SetRepForm,
        RateForm,
        EnterRatingForm,
        ConcludeForm,
        RehandleForm,
        CloseForm,
        ArchiveForm,
    )
}
