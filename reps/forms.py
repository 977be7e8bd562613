from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from liaison.forms import CleanInputMixin
from liaison.idempotency import SubmissionTokenMixin
from liaison.models import Category
from liaison.uploads import ACCEPT, MAX_FILE_BYTES, clean_attachment
from liaison.validators import normalize_phone
from reps.models import Contact, DutyActivity, DutyReport, HomeVisit, Representative, ResearchReport
from reps.services import duplicate_message, duplicate_of


class DuplicateCheckMixin:
    """Refuse a second record of the same person (name + phone), linking to the first."""

    admin_url_name: str

    def clean(self):
        data = super().clean()
        name, phone = data.get("name"), data.get("phone")
        if name and phone:
            try:
                phone = normalize_phone(phone)
            except forms.ValidationError:
                return data  # the phone field reports its own error
            existing = duplicate_of(self._meta.model, name=name, phone=phone, exclude_pk=self.instance.pk)
            if existing is not None:
                raise forms.ValidationError(
                    duplicate_message(existing, self.admin_url_name), code="duplicate"
                )
        return data


class RepresentativeAdminForm(CleanInputMixin, DuplicateCheckMixin, forms.ModelForm):
    admin_url_name = "admin:reps_representative_change"

    class Meta:
        model = Representative
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean_photo(self):
        from liaison.uploads import clean_image

        photo = self.cleaned_data.get("photo")
        if photo and hasattr(photo, "content_type"):  # a new upload, not the stored file
            return clean_image(photo)
        return photo


class ContactAdminForm(CleanInputMixin, DuplicateCheckMixin, forms.ModelForm):
    admin_url_name = "admin:reps_contact_change"

    class Meta:
        model = Contact
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown


class ContactForm(CleanInputMixin, forms.ModelForm):
    """A representative adds or edits one of their own contacts."""

    is_pairing = forms.BooleanField(label=_("pairing (结对帮扶)"), required=False)

    class Meta:
        model = Contact
        fields = ["name", "kind", "phone", "village", "address", *Contact.CATEGORY_FIELDS]

    def __init__(self, *args, villages=None, **kwargs):
        super().__init__(*args, **kwargs)
        if villages is not None:
            self.fields["village"].queryset = villages


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe); each is checked by the service."""

    def __init__(self, *args, max_files: int = 6, **kwargs):
        self.max_files = max_files
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > self.max_files:
            raise forms.ValidationError(_("At most %(n)s photos.") % {"n": self.max_files})
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class VisitForm(CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """The mobile home-visit form. Matters raised come as a formset beside it; the token makes
    a second post of the same form find the visit the first one recorded (``liaison.idempotency``)."""

    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kind = forms.ChoiceField(label=_("kind"), choices=HomeVisit.Kind.choices)
    contacts = forms.ModelMultipleChoiceField(
        label=_("contacts visited"), queryset=Contact.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(
        label=_("notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    photos = MultipleFileField(label=_("photos"), required=False)

    def __init__(self, *args, contacts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = contacts if contacts is not None else Contact.objects.none()


def report_file_field() -> forms.FileField:
    """A report's file: a PDF or a photo of the paper (``ReportFileMixin`` checks it)."""
    return forms.FileField(
        label=_("the report (PDF or photo)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )


class ReportFileMixin:
    """Checks a report form's ``file`` with ``clean_attachment`` (type by content, size limit)."""

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        return clean_attachment(upload) if upload else None


class MatterForm(CleanInputMixin, forms.Form):
    """A matter raised on a visit or at a reception (``studios`` subclasses it): answered on the
    spot, with the answer, or to become a suggestion ticket, in a category the ticket starts in."""

    ANSWERED, TICKET = "answered", "ticket"

    content = forms.CharField(
        label=_("matter raised"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    handling = forms.ChoiceField(
        label=_("how it was handled"),
        choices=[(ANSWERED, _("answered on the spot")), (TICKET, _("turn into a suggestion ticket"))],
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),  # two big buttons (reps/_matter.html)
    )
    answer = forms.CharField(
        label=_("answer given"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    category = forms.ModelChoiceField(
        label=_("category"),
        queryset=Category.objects.filter(is_active=True),
        required=False,
        empty_label=_("Choose later"),
    )

    def clean(self):
        data = super().clean()
        if data.get("handling") == self.ANSWERED and not (data.get("answer") or "").strip():
            self.add_error("answer", _("Say what was answered on the spot."))
        return data

    def matter_fields(self) -> dict:
        """The cleaned matter as the services take it (``MatterInput``'s fields)."""
        data = self.cleaned_data
        answered = data["handling"] == self.ANSWERED
        return {
            "content": data["content"],
            "answered_on_spot": answered,
            "answer": data["answer"] if answered else "",
            "for_ticket": data["handling"] == self.TICKET,
            "category": data.get("category"),
        }


MatterFormSet = forms.formset_factory(MatterForm, extra=1, max_num=10, validate_max=True)


class ResearchReportForm(ReportFileMixin, CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """A representative hands in a research report (调研报告): a title, a summary and/or the file.

    The one-time ``token`` (``liaison.idempotency``): a second post of the same form (a double
    tap, a resend after a dropped connection) finds the report the first one made.
    """

    title = forms.CharField(label=_("title"), max_length=200)
    summary = forms.CharField(
        label=_("summary"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=4000,
        help_text=_("What you looked into, what you found and what you propose."),
    )
    file = report_file_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext(
            "A PDF or a photo of the paper report, at most %(limit)s."
        ) % {"limit": filesizeformat(MAX_FILE_BYTES)}

    def clean(self):
        data = super().clean()
        if not (data.get("summary") or "").strip() and not data.get("file") and "file" not in self.errors:
            self.add_error(
                "file", forms.ValidationError(_("Attach the report, or write its summary."), code="empty")
            )
        return data


class ResearchReportAdminForm(CleanInputMixin, forms.ModelForm):
    """Staff file a report in the admin under the same upload rule as the rep's page."""

    class Meta:
        model = ResearchReport
        fields = ["representative", "title", "submitted_on", "summary", "file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            checked = clean_attachment(upload)
            self.instance.file_name, self.instance.content_type = checked.name, checked.content_type
            return checked.content
        return upload


class GroupReportForm(ReportFileMixin, CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """A group's leader or liaison files its written report: the text and/or the file.

    The one-time ``token`` (``liaison.idempotency``): the same post sent twice files it once.
    """

    text = forms.CharField(
        label=_("the report"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        max_length=8000,
        help_text=_("What the group did this year, what it heard and what it proposes."),
    )
    file = report_file_field()

    def __init__(self, *args, has_file: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_file = has_file
        self.fields["file"].help_text = gettext(
            "A PDF or a photo of the paper report, at most %(limit)s."
        ) % {"limit": filesizeformat(MAX_FILE_BYTES)}

    def clean(self):
        data = super().clean()
        empty = not (data.get("text") or "").strip() and not data.get("file") and not self.has_file
        if empty and "file" not in self.errors:
            self.add_error(
                "file", forms.ValidationError(_("Attach the report, or write it here."), code="empty")
            )
        return data


class DutyReportForm(ReportFileMixin, CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """A representative hands in (or changes) their duty report (述职), or the half-year report.

    ``years`` are the years offered (this one and last, as 述职 often falls in January);
    ``kinds`` the kinds the rep's county asks for. The service keeps one per rep, year and kind.
    """

    year = forms.TypedChoiceField(label=_("year"), coerce=int)
    kind = forms.ChoiceField(label=_("kind"))
    text = forms.CharField(
        label=_("text"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        max_length=8000,
        help_text=_("What you did in the year for the people you represent, and what remains to do."),
    )
    file = report_file_field()

    def __init__(self, *args, years, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, str(y)) for y in years]
        self.fields["kind"].choices = [(k, DutyReport.Kind(k).label) for k in kinds]
        self.fields["file"].help_text = gettext(
            "A PDF or a photo of the paper report, at most %(limit)s. A new file replaces the one handed in."
        ) % {"limit": filesizeformat(MAX_FILE_BYTES)}


class DutyReportEvaluationForm(forms.Form):
    """The electoral unit's evaluation of a duty report: how many said each."""

    satisfied = forms.IntegerField(label=_("satisfied (满意)"), min_value=0)
    basically_satisfied = forms.IntegerField(label=_("basically satisfied (基本满意)"), min_value=0)
    unsatisfied = forms.IntegerField(label=_("unsatisfied (不满意)"), min_value=0)


class DutyActivityForm(CleanInputMixin, SubmissionTokenMixin, forms.Form):
    """A rep records sitting in on a meeting (列席) or an inspection (视察); sent twice, kept once."""

    kind = forms.ChoiceField(label=_("kind"), choices=DutyActivity.Kind.choices, widget=forms.RadioSelect)
    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(
        label=_("meeting or place"),
        max_length=200,
        help_text=_("e.g. the township party committee's meeting, or the road works inspected."),
    )
    notes = forms.CharField(
        label=_("notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=4000
    )
