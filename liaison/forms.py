import functools

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.functional import lazy
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from liaison.models import User
from liaison.validators import clean_name_and_phone, clean_text

# Django's own wording ("确保该变量包含不超过 100 字符") is a programmer's; this names the field,
# the limit and what was typed.
TOO_LONG = _("%(field)s: at most %(limit_value)d characters; you typed %(show_value)d.")


def _too_long(label) -> str:
    # The label goes in now; the limit and the length when Django formats the error.
    return gettext(TOO_LONG).replace("%(field)s", capfirst(str(label)).replace("%", "%%"))


_too_long_lazy = lazy(_too_long, str)


def _cleaned_input(to_python, value):
    return to_python(clean_text(value) if isinstance(value, str) else value)


def harden_text_field(field: forms.Field, name: str = "") -> None:
    """Make a form's text field drop control and direction characters from what is typed
    (``liaison.validators.clean_text``, before Django strips and checks the length) and answer a
    too-long entry in plain words. Fields that are not text are left as they are."""
    if not isinstance(field, forms.CharField) or getattr(field, "_hardened", False):
        return
    field.to_python = functools.partial(_cleaned_input, field.to_python)
    field.error_messages["max_length"] = _too_long_lazy(field.label or capfirst(name.replace("_", " ")))
    field._hardened = True


class CleanInputMixin:
    """Every text field of the form goes through ``harden_text_field``: the one cleaning of typed
    text, used by every form of the project (put it first in the bases)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            harden_text_field(field, name)


class NameAndPhoneForm(CleanInputMixin, forms.Form):
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


class NotificationSettingsForm(CleanInputMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_by_email", "notify_by_sms"]
        labels = {
            "notify_by_email": _("Also send my notifications by email"),
            "notify_by_sms": _("Also send my notifications by SMS"),
        }


class OnePassSelect(forms.Select):
    """A ``<select>`` written in one pass: Django renders each option through a template (about
    0.1 ms each), most of a form's widget time when a list is long. The same markup, no option
    groups; labels from the field's ``label_from_instance``."""

    def rows(self):
        return self.choices

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        parts = [f"<select{flatatt(self.build_attrs(self.attrs, {**(attrs or {}), 'name': name}))}>"]
        for option_value, label in self.rows():
            text = str(option_value)
            selected = " selected" if text in chosen else ""
            parts.append(
                f'<option value="{conditional_escape(text)}"{selected}>{conditional_escape(label)}</option>'
            )
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 - values and labels escaped above


class ManyOptionsSelect(OnePassSelect):
    """A ``OnePassSelect`` of a model's many rows read as (pk, name) pairs, with no model instance per
    option: the township and unit filters of a province (1,500 and 6,500 options). The option's
    text is the row's ``name`` (its ``__str__``)."""

    def rows(self):
        field = self.choices.field
        head = [] if field.empty_label is None else [("", field.empty_label)]
        return [*head, *self.choices.queryset.values_list("pk", "name")]
