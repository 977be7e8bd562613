from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from liaison.models import User
from liaison.validators import clean_name_and_phone


class NameAndPhoneForm(forms.Form):
    """A person met (a visitor, a proposer): a name, and a phone only with the name.

    Subclasses set the name field's label; the rule is ``liaison.validators.clean_name_and_phone``,
    which the services apply again to what they are given."""

    name = forms.CharField(label=_("name"), max_length=32, required=False)
    phone = forms.CharField(
        label=_("phone"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    def clean(self):
        data = super().clean()
        if "name" in self.errors or "phone" in self.errors:
            return data
        try:
            data["name"], data["phone"] = clean_name_and_phone(data.get("name", ""), data.get("phone", ""))
        except ValidationError as exc:
            self.add_error(None, exc)  # a dict of errors: each goes to its field
        return data


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_by_email", "notify_by_sms"]
        labels = {
            "notify_by_email": _("Also send my notifications by email"),
            "notify_by_sms": _("Also send my notifications by SMS"),
        }
