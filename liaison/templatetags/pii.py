"""``{% load pii %}``: ``{{ phone|mask_phone }}`` and ``{% phone obj %}`` (masked, with a reveal
button for a user who may reveal it: a POST form, no script)."""

from django import template

from liaison import pii

register = template.Library()


@register.filter(name="mask_phone")
def mask_phone(value) -> str:
    return pii.mask_phone(value)


@register.inclusion_tag("liaison/_phone.html", takes_context=True)
def phone(context, obj, field: str = "phone"):
    """The masked phone of ``obj`` and, for a user who may reveal it, the reveal button."""
    request = context.get("request")
    user = getattr(request, "user", None)
    number = getattr(obj, field, "") or ""
    return {
        "masked": pii.mask_phone(number),
        "reveal": bool(number) and pii.may_reveal(user, obj),
        "label": obj._meta.label_lower,
        "pk": obj.pk,
        "next": request.get_full_path() if request else "",
        "csrf_token": context.get("csrf_token"),
    }
