"""The one-time form token (liaison.idempotency) and the cleaning of typed text every form does
(liaison.forms.CleanInputMixin): direction controls dropped, too-long fields answered in plain
words."""

import datetime

import pytest
import time_machine
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from liaison.forms import CleanInputMixin
from liaison.idempotency import EXPIRED, SubmissionTokenMixin, new_token, read_token
from liaison.validators import clean_text

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


class Note(CleanInputMixin, SubmissionTokenMixin, forms.Form):
    title = forms.CharField(label="Title", max_length=100)
    body = forms.CharField(label="Body", max_length=4000, required=False, widget=forms.Textarea)
    count = forms.IntegerField(required=False)


class TestToken:
    def test_a_token_carries_a_nonce_that_a_new_token_does_not_repeat(self):
        first, second = read_token(new_token()), read_token(new_token())
        assert len(first) == 24 and int(first, 16) >= 0 and first != second

    @pytest.mark.parametrize("bad", ["", "not-a-token", None])
    def test_a_missing_or_forged_token_is_refused_as_an_expired_form(self, bad):
        with pytest.raises(ValidationError) as refused:
            read_token(bad)
        assert refused.value.code == "token" and refused.value.messages == [str(EXPIRED)]

    def test_a_token_whose_signature_was_altered_is_refused(self):
        token = new_token()
        with pytest.raises(ValidationError):
            read_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))

    def test_a_token_signed_for_another_form_is_refused(self):
        with pytest.raises(ValidationError):
            read_token(new_token("proposals.intake.submission"))

    def test_a_token_older_than_two_days_is_refused(self):
        with time_machine.travel(timezone.now() - datetime.timedelta(days=2, minutes=1)):
            old = new_token()
        with pytest.raises(ValidationError):
            read_token(old)


class TestTheFormsToken:
    def test_an_unbound_form_offers_a_fresh_token_each_time(self):
        assert Note().initial["token"] != Note().initial["token"]
        assert 'type="hidden" name="token"' in str(Note()["token"])

    def test_a_good_token_gives_its_nonce(self):
        token = new_token()
        form = Note({"title": "t", "token": token})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["token"] == read_token(token)

    def test_a_tampered_token_is_refused_above_the_form_and_the_page_gets_a_fresh_one(self):
        form = Note({"title": "路灯", "body": "三盏坏了", "token": "tampered"})
        assert not form.is_valid()
        assert form.token_refused and form.non_field_errors() == [str(EXPIRED)]
        assert set(form.errors) == {"__all__"}  # nothing else is wrong, nothing typed is lost
        assert form["title"].value() == "路灯" and form["body"].value() == "三盏坏了"
        read_token(form["token"].value())  # the page shown again carries a good token


class TestCleanText:
    def test_direction_controls_and_control_characters_go_tabs_and_new_lines_stay(self):
        assert clean_text(f"a{BIDI}b\x00\x07\x1b\x7f\x85c\td\r\ne") == "abc\td\r\ne"

    def test_every_text_field_of_a_form_drops_them(self):
        form = Note({"title": "\u202e路灯不亮\u202c", "body": "东街\u2067三盏\u2069", "token": new_token()})
        assert form.is_valid(), form.errors
        assert (form.cleaned_data["title"], form.cleaned_data["body"]) == ("路灯不亮", "东街三盏")

    def test_a_field_of_nothing_but_controls_is_empty_and_required_says_so(self):
        form = Note({"title": "\u202e\u200f ", "token": new_token()})
        assert (
            not form.is_valid()
            and form.errors["title"][0] == forms.CharField.default_error_messages["required"]
        )


class TestTooLong:
    def test_the_message_names_the_field_the_limit_and_what_was_typed(self):
        form = Note({"title": "长" * 100_000, "body": "写了的内容", "token": new_token()})
        with translation.override("en"):
            assert not form.is_valid()
            assert form.errors["title"] == ["Title: at most 100 characters; you typed 100000."]
        assert set(form.errors) == {"title"} and form["body"].value() == "写了的内容"

    def test_a_label_with_a_percent_sign_does_not_break_it(self):
        class Odd(CleanInputMixin, forms.Form):
            share = forms.CharField(label="Share %", max_length=3)

        form = Odd({"share": "1234"})
        with translation.override("en"):
            assert form.errors["share"] == ["Share %: at most 3 characters; you typed 4."]

    def test_a_field_without_a_label_is_named_by_its_name(self):
        class Bare(CleanInputMixin, forms.Form):
            place_name = forms.CharField(max_length=2)

        with translation.override("en"):
            assert Bare({"place_name": "abc"}).errors["place_name"] == [
                "Place name: at most 2 characters; you typed 3."
            ]
