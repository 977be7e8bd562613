from django import forms
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from liaison.models import User
from liaison.validators import normalize_phone


class NameAndPhoneForm(forms.Form):
    """A person met (a visitor, a proposer): a name, and a phone only with the name.

    Subclasses set the name field's label; the phone is checked in one place
    (``liaison.validators``)."""

    name = forms.CharField(label=_("name"), max_length=32, required=False)
    phone = forms.CharField(
        label=_("phone"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        return normalize_phone(phone) if phone else ""

    def clean(self):
        data = super().clean()
        if data.get("phone") and not (data.get("name") or "").strip():
            self.add_error("name", gettext_now("Give the name too, or leave the phone empty."))
        return data


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_by_email", "notify_by_sms"]
        labels = {
            "notify_by_email": _("Also send my notifications by email"),
            "notify_by_sms": _("Also send my notifications by SMS"),
        }
