from django import forms
from django.utils.translation import gettext_lazy as _

from liaison.validators import normalize_phone
from reps.models import Contact, HomeVisit, Representative
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


class RepresentativeAdminForm(DuplicateCheckMixin, forms.ModelForm):
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


class ContactAdminForm(DuplicateCheckMixin, forms.ModelForm):
    admin_url_name = "admin:reps_contact_change"

    class Meta:
        model = Contact
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown


class ContactForm(forms.ModelForm):
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


class VisitForm(forms.Form):
    """The mobile home-visit form. Matters raised come as a formset beside it."""

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


class MatterForm(forms.Form):
    content = forms.CharField(
        label=_("matter raised"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    answered_on_spot = forms.BooleanField(label=_("answered on the spot"), required=False)
    answer = forms.CharField(
        label=_("answer given"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )

    def clean(self):
        data = super().clean()
        if data.get("answered_on_spot") and not (data.get("answer") or "").strip():
            self.add_error("answer", _("Say what was answered on the spot."))
        return data


MatterFormSet = forms.formset_factory(MatterForm, extra=1, max_num=10, validate_max=True)
