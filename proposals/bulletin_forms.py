"""The forms of the bulletin pages (``proposals.bulletin_views``): they only validate."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from liaison.forms import CleanInputMixin
from proposals.bulletins import TYPICAL_MAX
from proposals.models import Bulletin, normalize_code

CODE_SEPARATORS = re.compile(r"[\s,，、;；]+")


class BulletinNewForm(forms.Form):
    """Which period's bulletin to draft (or open, when it is drafted already)."""

    county = forms.ModelChoiceField(queryset=None, label=_("county"), empty_label=None)
    kind = forms.ChoiceField(choices=Bulletin.Kind.choices, label=_("kind"))
    year = forms.IntegerField(min_value=2000, max_value=2100, label=_("year"))
    number = forms.IntegerField(
        min_value=1, max_value=12, label=_("month or quarter"), help_text=_("Month 1–12, or quarter 1–4.")
    )

    def __init__(self, *args, counties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].queryset = counties

    def clean(self):
        data = super().clean()
        if data.get("kind") == Bulletin.Kind.QUARTER and (data.get("number") or 0) > 4:
            self.add_error("number", _("A quarter is numbered 1 to 4."))
        return data


class BulletinEditForm(CleanInputMixin, forms.Form):
    """The office's commentary and its typical matters: ticked in the list, or typed by code."""

    commentary = forms.CharField(
        label=_("commentary"), required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 10})
    )
    matters = forms.MultipleChoiceField(
        label=_("typical matters of the period"), required=False, widget=forms.CheckboxSelectMultiple
    )
    codes = forms.CharField(
        label=_("other typical matters, by tracking code"),
        required=False,
        max_length=500,
        help_text=_("Separate the codes with spaces or commas."),
    )

    # The draft's ``updated_at`` when the form was opened: a save by someone else since is refused.
    version = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["matters"].choices = choices

    def renew_version(self, version) -> None:
        """Show the page again on the draft as it is now: saving again then replaces it."""
        data = self.data.copy()
        data[self.add_prefix("version")] = version.isoformat()
        self.data = data

    def clean(self):
        data = super().clean()
        typed = [normalize_code(code) for code in CODE_SEPARATORS.split(data.get("codes") or "") if code]
        codes = list(dict.fromkeys([*data.get("matters", []), *typed]))
        if len(codes) > TYPICAL_MAX:
            raise forms.ValidationError(_("Choose at most %(max)d typical matters.") % {"max": TYPICAL_MAX})
        data["all_codes"] = codes
        return data
