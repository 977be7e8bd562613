"""Forms that create something are safe to send twice: a signed one-time token.

A double tap, or a resend on a weak phone signal, posts the same form twice. The form carries a
hidden ``token`` (``SubmissionTokenMixin``): a random nonce signed with the secret key, so it can
be neither guessed nor forged, and it expires. The service stores the nonce in the new record's
unique ``submission_token`` column and keeps one rule:

- a nonce seen before returns the record that post made (``earlier``), marked ``replayed``;
- two posts at the same instant meet at the unique index (``save_once``): the second INSERT
  fails, its savepoint rolls back, and it returns the record the first one made.

The view then shows the one result page either way, saying "already saved" for a replay. A
tampered or expired token refuses the form with a message, and the page comes back with what was
typed and a fresh token.
"""

from __future__ import annotations

import re
import secrets
from typing import TypeVar

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext_lazy as _

M = TypeVar("M", bound=models.Model)

SALT = "liaison.submission"
MAX_AGE = 2 * 24 * 3600  # a form left open over a weekend night still goes through
NONCE = re.compile(r"[0-9a-f]{24}")
EXPIRED = _("This form has expired. Check what you wrote and send it again.")
ALREADY_SAVED = _("This was already saved: sending the form again changed nothing.")
REPLAYED = "_submission_replayed"


def new_token(salt: str = SALT) -> str:
    """A random nonce signed with the secret key: it cannot be forged or guessed."""
    return signing.dumps(secrets.token_hex(12), salt=salt)


def read_token(value: str, salt: str = SALT, max_age: int = MAX_AGE) -> str:
    """The nonce inside a token (what ``submission_token`` columns store), or ValidationError
    with code ``token`` for a token that is missing, tampered with or expired."""
    try:
        nonce = signing.loads(str(value or ""), salt=salt, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is one
        raise ValidationError(EXPIRED, code="token") from None
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce):
        raise ValidationError(EXPIRED, code="token")
    return nonce


class SubmissionTokenMixin:
    """A form's hidden one-time ``token``; ``cleaned_data["token"]`` is its nonce.

    Put it before ``forms.Form`` in the bases and render ``{{ form.token }}`` in the template. A
    refused token is reported above the form (code ``token``) and replaced by a fresh one in the
    page shown again, so the person sends what they typed once more without retyping it.
    """

    token_salt = SALT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"] = forms.CharField(widget=forms.HiddenInput, required=False, strip=True)
        if not self.is_bound:
            self.initial = {**self.initial, "token": new_token(self.token_salt)}

    def clean_token(self) -> str:
        try:
            return read_token(self.cleaned_data.get("token"), salt=self.token_salt)
        except ValidationError as exc:
            self.add_error(None, exc)
            self.renew_token()
            return ""

    def renew_token(self) -> None:
        """Give the page shown again a fresh token (after a refusal, nothing was saved with it)."""
        data = self.data.copy()
        data[self.add_prefix("token")] = new_token(self.token_salt)
        self.data = data

    @property
    def token_refused(self) -> bool:
        return any(e.code == "token" for e in self.errors.as_data().get(forms.forms.NON_FIELD_ERRORS, []))


def earlier(model: type[M], nonce: str | None, **owner) -> M | None:
    """The record an earlier post with ``nonce`` made, marked ``replayed``; None if none did.

    ``owner`` (e.g. ``recorded_by=actor``) must match: another person's nonce is refused as an
    expired form rather than showing them someone else's record.
    """
    if not nonce:
        return None
    # One query: a twin post may commit at any moment, and two reads could see two states.
    found = model._base_manager.filter(submission_token=nonce).first()
    if found is None:
        return None
    if not all(_same(found, name, value) for name, value in owner.items()):
        raise ValidationError(EXPIRED, code="token")
    setattr(found, REPLAYED, True)
    return found


def _same(record: models.Model, name: str, value) -> bool:
    """``record.<name>`` is ``value`` (a related object compared by its key, None as no object)."""
    have = getattr(record, record._meta.get_field(name).attname)
    return have == (value.pk if isinstance(value, models.Model) else value)


def save_once(instance: models.Model, nonce: str | None, **owner) -> models.Model:
    """INSERT ``instance`` with ``nonce`` as its ``submission_token``; if a twin post stored the
    same nonce first, return the twin's record (``replayed``) instead of failing.

    Call it inside the service's transaction; the savepoint keeps that transaction usable.
    Check ``replayed(result)`` before writing anything else that hangs off the record.
    """
    instance.submission_token = nonce or None
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError:
        twin = earlier(type(instance), nonce, **owner)
        if twin is None:
            raise
        return twin
    return instance


def resent(request, record, *, field: str = "token", salt: str = SALT) -> bool:
    """True if ``request`` posts again the form that made ``record`` (its token's nonce is the
    record's ``submission_token``): for a page that would otherwise refuse the second post."""
    if request.method != "POST" or not getattr(record, "submission_token", None):
        return False
    try:
        return read_token(request.POST.get(field, ""), salt=salt) == record.submission_token
    except ValidationError:
        return False


def replayed(record) -> bool:
    """True if ``record`` was made by an earlier post of the same form."""
    return getattr(record, REPLAYED, False)
