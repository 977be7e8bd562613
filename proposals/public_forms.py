"""Forms of the public pages: filing a matter, tracking it, rating the reply.

Forms only validate. Files are checked here (type from their bytes, size, count) so that a bad
file is reported next to the field; the service stores what the form hands it.
"""

from __future__ import annotations

import dataclasses
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from liaison import idempotency
from liaison.forms import CleanInputMixin, OnePassSelect
from liaison.models import Region
from liaison.validators import MOBILE_RE, UNWANTED_CHARACTERS, clean_text, normalize_phone
from proposals.files import MAX_FILE_BYTES, MAX_FILES, clean_attachment
from proposals.models import Category, Rating
from reps.forms import MultipleFileInput
from reps.models import Representative
from studios.models import Studio

SUBMISSION_SALT = "proposals.intake.submission"
TOKEN_MAX_AGE = 2 * 24 * 3600  # a form left open over a weekend night still goes through
ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
EXTENSIONS = {
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "image/webp": ("webp",),
    "application/pdf": ("pdf",),
}


def new_submission_token() -> str:
    """A random nonce signed with the secret key (``liaison.idempotency``, the intake's salt)."""
    return idempotency.new_token(SUBMISSION_SALT)


def read_submission_token(value: str) -> str:
    """The nonce inside a token (stored as ``Ticket.submission_token``), or ValidationError."""
    return idempotency.read_token(value, salt=SUBMISSION_SALT, max_age=TOKEN_MAX_AGE)


def safe_file_name(name: str, content_type: str) -> str:
    """The sender's file name without control characters or path parts, ending in the
    extension of the type its bytes really are (the stored file's suffix comes from it)."""
    name = UNWANTED_CHARACTERS.sub("", name or "").replace("/", "_").replace("\\", "_").strip() or "file"
    real = EXTENSIONS[content_type]
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem and ext.lower() in real):
        name = f"{name[:100]}.{real[0]}"
    return name[-120:]


class TextField(forms.CharField):
    """A text field that drops stray control and direction characters (tabs and new lines stay);
    ``CleanInputMixin`` does the same for any form's text fields."""

    def to_python(self, value):
        value = super().to_python(value)
        return clean_text(value).strip() if value else value


class AttachmentsField(forms.FileField):
    """Up to ``MAX_FILES`` images or PDFs in one input (Django's documented recipe)."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        uploads = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(uploads) > MAX_FILES:
            raise ValidationError(
                _("Send at most %(n)s files; you chose %(chosen)s.")
                % {"n": MAX_FILES, "chosen": len(uploads)},
                code="too_many",
            )
        cleaned, errors = [], []
        for upload in uploads:
            try:
                checked = clean_attachment(upload, max_bytes=MAX_FILE_BYTES)
            except ValidationError as exc:
                errors.extend(exc.messages)
                continue
            cleaned.append(
                dataclasses.replace(checked, name=safe_file_name(upload.name, checked.content_type))
            )
        if errors:
            raise ValidationError(errors)
        return cleaned


class TownshipChoiceField(forms.ModelChoiceField):
    """Townships, named with their county when there is more than one county. Whether there is
    is asked only when the choices are drawn: a valid post never draws them (one query less)."""

    def __init__(self, *args, with_county: bool = False, **kwargs):
        self.with_county = with_county
        super().__init__(*args, **kwargs)

    @property
    def with_county(self) -> bool:
        if callable(self._with_county):
            self._with_county = bool(self._with_county())
        return self._with_county

    @with_county.setter
    def with_county(self, value) -> None:
        self._with_county = value

    def label_from_instance(self, obj: Region) -> str:
        return f"{obj.parent.name} {obj.name}" if self.with_county and obj.parent_id else obj.name


def _township_of(region: Region | None) -> Region | None:
    """The township a region is, or lies in; None for a county."""
    if region is None:
        return None
    if region.level == Region.Level.TOWNSHIP:
        return region
    if region.level == Region.Level.VILLAGE:
        return region.parent
    return None


def _pick(queryset, raw):
    raw = str(raw or "").strip()
    return queryset.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 10 else None


class IntakeForm(CleanInputMixin, forms.Form):
    """A resident's matter. Township, studio and representative come from the contact card's
    QR code (``?rep=``, ``?studio=``) when there is one; otherwise the resident picks the township.

    The representative and the studio travel as plain hidden inputs, read in ``__init__``: one
    that is unknown or no longer active is dropped rather than shown as an error nobody can fix.
    """

    township = TownshipChoiceField(
        label=_("Township or street"),
        widget=OnePassSelect,
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("Choose where the matter is"),
    )
    category = forms.ModelChoiceField(
        label=_("What it is about"),
        widget=OnePassSelect,
        queryset=Category.objects.none(),
        empty_label=_("Choose a category"),
    )
    title = TextField(
        label=_("Title"),
        max_length=100,
        help_text=_("One line, e.g. “Street lights at the village entrance are out”."),
    )
    content = TextField(
        label=_("Your matter or suggestion"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What is wrong, since when, and what you would like done. At most 4,000 characters."),
    )
    place = TextField(label=_("Where"), max_length=200, required=False)
    name = TextField(
        label=_("Your name"), max_length=32, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    phone = forms.CharField(
        label=_("Your phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    sms_consent = forms.BooleanField(
        label=_("Send me SMS about this matter"),
        required=False,
        help_text=_(
            "The receipt with your tracking code, the reply when it is ready to rate, and a notice "
            "if it is handled again. Only to a mobile number; leave it unticked and we send none."
        ),
    )
    privacy_consent = forms.BooleanField(
        label=_(
            "I have read the privacy notice and agree that my name, phone and matter are used to handle it"
        ),
        required=True,
        error_messages={
            "required": _(
                "Tick this box to send the matter: without your consent we may not keep your name and phone."
            )
        },
    )
    files = AttachmentsField(
        label=_("Photos or PDF files (optional)"),
        required=False,
        help_text=_("Up to 3 images (JPEG, PNG, WebP) or PDF files, at most 5 MB each."),
    )
    # The honeypot: hidden from people (off screen, out of the tab order), filled in by bots.
    homepage = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        today = today or timezone.localdate()
        reps = Representative.objects.active(today).select_related("region").defer("phone")
        studios = Studio.objects.active().select_related("region", "region__parent")
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        source = self.data if self.is_bound else self.initial
        self.rep = _pick(reps, source.get("representative"))
        self.studio_chosen = _pick(studios, source.get("studio"))
        # Where the matter is: the studio's township, else the rep's (a rep or studio at the
        # county level leaves the resident to choose among that county's townships).
        self.fixed_township = _township_of(self.studio_chosen and self.studio_chosen.region) or _township_of(
            self.rep and self.rep.region
        )
        townships = Region.objects.townships().select_related("parent").order_by("path")
        anchor = next(
            (x.region for x in (self.studio_chosen, self.rep) if x and x.region.level == Region.Level.COUNTY),
            None,
        )
        if anchor is not None:
            townships = townships.filter(path__startswith=anchor.path)
        field = self.fields["township"]
        field.queryset = townships
        field.with_county = (lambda: Region.objects.counties().count() > 1) if anchor is None else False
        if self.fixed_township is not None:
            field.widget = forms.HiddenInput()
        else:
            field.required = True

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data["phone"])

    def clean_token(self) -> str:
        return read_submission_token(self.cleaned_data["token"])

    def clean(self):
        data = super().clean()
        data["representative"], data["studio"] = self.rep, self.studio_chosen
        if data.get("sms_consent") and data.get("phone") and not MOBILE_RE.match(data["phone"]):
            self.add_error(
                "sms_consent", _("SMS can only go to a mobile number. Untick this or give a mobile.")
            )
        if self.fixed_township is not None:
            data["township"] = self.fixed_township
            self.errors.pop("township", None)
        elif not data.get("township") and "township" not in self.errors:
            self.add_error("township", _("Choose the township or street where the matter is."))
        return data

    @property
    def token_expired(self) -> bool:
        return any(e.code == "token" for e in self.errors.as_data().get("token", []))


class TrackForm(CleanInputMixin, forms.Form):
    code = forms.CharField(
        label=_("Tracking code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        help_text=_("The code on your receipt, e.g. BK7M-Q2XD-9T."),
    )
    phone_last4 = forms.CharField(
        label=_("Last four digits of your phone"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]*"}),
    )

    def clean_code(self) -> str:
        from proposals.models import normalize_code

        code = normalize_code(self.cleaned_data["code"])
        if not code:
            raise ValidationError(_("Enter the tracking code from your receipt."))
        return code

    def clean_phone_last4(self) -> str:
        digits = re.sub(r"\D", "", self.cleaned_data["phone_last4"])
        if len(digits) != 4:
            raise ValidationError(_("Enter the last four digits of the phone you gave."))
        return digits


class RatingForm(CleanInputMixin, forms.Form):
    score = forms.ChoiceField(
        label=_("Are you satisfied with the reply?"),
        choices=Rating.Score.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    comment = TextField(
        label=_("Comment (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
