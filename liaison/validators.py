"""Validators shared by every app. Phone numbers are checked here and nowhere else."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Mainland mobile: 11 digits starting 13–19, spaces and hyphens ignored. Landline: an area
# code, 7–8 digits, an optional extension. Area codes are three digits exactly when they
# start 01 or 02 (010 Beijing, 020–029) and four otherwise, so digits typed without
# separators still split one way only.
MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$", re.ASCII)
LANDLINE_RE = re.compile(
    r"^[(（]?(0[12]\d|0[3-9]\d{2})[)）]?[\s\-]*(\d{7,8})"
    r"(?:(?:[\s\-]*(?:转|ext\.?|#)[\s\-]*|[\s\-]+)(\d{1,6}))?$",
    re.IGNORECASE | re.ASCII,
)
_PHONE_MESSAGE = _(
    "Enter a mainland mobile number (11 digits) or a landline with area code, e.g. 0513-88123456."
)
_NAME_WITH_PHONE_MESSAGE = _("Give the name too, or leave the phone empty.")

# What no one means to type, dropped from every text a form takes in (``clean_text``): control
# characters other than tab and new lines (NUL among them, which PostgreSQL refuses in any text),
# and the Unicode direction controls (embeddings and overrides U+202A-U+202E, isolates
# U+2066-U+2069, the marks U+200E, U+200F and U+061C) with which a text makes itself read
# backwards in staff lists ("Trojan Source", CVE-2021-42574).
UNWANTED_CHARACTERS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_text(value: str) -> str:
    """``value`` without control and direction-override characters (tab, CR, LF stay)."""
    return UNWANTED_CHARACTERS.sub("", value)


def normalize_phone(value: str) -> str:
    """Return the phone number in one canonical form, or raise ValidationError.

    Mobile numbers become 11 digits (``13812345678``); landlines ``0513-88123456``, with
    ``-123`` for an extension.
    """
    # NFKC folds what an input method types in full-width mode (１３８, －, （）, ＋) into ASCII;
    # re.ASCII keeps other scripts' digits out, so a stored number is always ASCII.
    typed = unicodedata.normalize("NFKC", str(value or "")).strip()
    if match := MOBILE_RE.match(re.sub(r"[\s\-]", "", typed)):
        return match.group(1)
    if match := LANDLINE_RE.match(typed):
        area, number, ext = match.groups()
        return f"{area}-{number}" + (f"-{ext}" if ext else "")
    raise ValidationError(_PHONE_MESSAGE, code="invalid_phone")


def clean_name_and_phone(name: str, phone: str) -> tuple[str, str]:
    """Return a person's name and phone, stripped and normalised, or raise ValidationError.

    The one rule for a person met (a reception's visitor, a ticket's proposer): the phone, if
    given, is a valid number, and it comes with a name. Errors are keyed ``name`` and ``phone``
    so that a form shows them next to its fields; services wrap them for their own rows.
    """
    name, phone = str(name or "").strip(), str(phone or "").strip()
    errors: dict[str, ValidationError] = {}
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc
        if not name:
            errors["name"] = ValidationError(_NAME_WITH_PHONE_MESSAGE, code="phone_without_name")
    if errors:
        raise ValidationError(errors)
    return name, phone


def clean_phone_field(instance, field: str = "phone") -> None:
    """Normalise ``instance.<field>`` in place for a model's clean(); errors name the field."""
    value = getattr(instance, field)
    if value:
        try:
            setattr(instance, field, normalize_phone(value))
        except ValidationError as exc:
            raise ValidationError({field: exc.messages}) from None
