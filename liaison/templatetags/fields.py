"""``{% load fields %}``: ``{{ form.title|bs5_field }}``, one form field in the Bootstrap 5 markup
crispy-forms writes (``|as_crispy_field``), built in Python.

For the public intake, where crispy's per-field template rendering was about 70 % of the page's
CPU (issue 14). Same markup and ids as crispy's bootstrap5 pack: the ``div_id_<name>`` wrapper,
the label with its ``requiredField`` asterisk, the widget's ``form-control``/``form-select``/
``form-check-input`` classes, ``is-invalid`` and ``invalid-feedback`` (``<name>_error``,
``error_<n>_<id>``) on errors, the help text (``<id>_helptext``) named by ``aria-describedby``,
checkboxes as ``form-check``. Staff forms keep crispy.
"""

from __future__ import annotations

from django import forms, template
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# The classes crispy's bootstrap5 pack gives each kind of widget (most specific first).
_CLASSES: tuple[tuple[type[forms.Widget], str], ...] = (
    (forms.CheckboxInput, "checkboxinput form-check-input"),
    (forms.Select, "select form-select"),
    (forms.Textarea, "textarea form-control"),
    (forms.FileInput, "form-control"),
    (forms.TextInput, "textinput form-control"),
)


def _widget_class(widget: forms.Widget) -> str:
    for kind, css in _CLASSES:
        if isinstance(widget, kind):
            return css
    return "form-control"


@register.filter(name="bs5_field")
def bs5_field(field: forms.BoundField) -> SafeString:
    widget = field.field.widget
    if widget.is_hidden:
        return mark_safe(str(field))  # noqa: S308 - Django's own rendering of the widget
    auto_id = field.auto_id
    errors = field.errors
    help_text = field.help_text
    css = _widget_class(widget)
    if errors:
        css += " is-invalid"
    existing = widget.attrs.get("class")
    attrs = {"class": f"{existing} {css}" if existing else css}
    described = [f"{auto_id}_helptext"] if help_text else []
    if errors:
        described.append(f"{auto_id}_error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    control = field.as_widget(attrs=attrs)
    error_html = (
        format_html(
            '<div id="{}_error" class="invalid-feedback">{}</div>',
            auto_id,
            format_html_join(
                "",
                '<p id="error_{}_{}"><strong>{}</strong></p>',
                ((n, auto_id, message) for n, message in enumerate(errors, start=1)),
            ),
        )
        if errors
        else ""
    )
    help_html = (
        format_html('<div id="{}_helptext" class="form-text">{}</div>', auto_id, help_text)
        if help_text
        else ""
    )
    required = field.field.required
    label = conditional_escape(field.label)
    asterisk = mark_safe('<span class="asteriskField">*</span>') if required else ""  # noqa: S308 - literal
    if isinstance(widget, forms.CheckboxInput):
        return format_html(
            '<div class="mb-3"><div id="div_{}" class="form-check">{}'
            '<label for="{}" class="form-check-label{}">{}{}</label>{}{}</div></div>',
            auto_id,
            control,
            auto_id,
            " requiredField" if required else "",
            label,
            asterisk,
            error_html,
            help_html,
        )
    body = format_html("{}{}{}", control, error_html, help_html)
    if isinstance(widget, forms.FileInput):  # crispy's file inputs sit in a <div> of their own
        body = format_html("<div>{}</div>", body)
    return format_html(
        '<div id="div_{}" class="mb-3"><label for="{}" class="form-label{}">{}{}</label>{}</div>',
        auto_id,
        auto_id,
        " requiredField" if required else "",
        label,
        asterisk,
        body,
    )
