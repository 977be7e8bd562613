from django import forms
from django.utils.translation import gettext_lazy as _

from liaison.models import User


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_by_email", "notify_by_sms"]
        labels = {
            "notify_by_email": _("Also send my notifications by email"),
            "notify_by_sms": _("Also send my notifications by SMS"),
        }
