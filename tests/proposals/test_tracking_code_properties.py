"""Tracking-code properties: what the generator draws, and what normalising makes of anything typed.

A person reads the code from a receipt ("BK7M-Q2XD-9T") and types it on a phone, often with a
Chinese input method: in lower case, with spaces or no separator at all, in full-width forms
(ＢＫ７Ｍ－Ｑ２ＸＤ). Whatever they type of the right code must normalise back to it.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from proposals.models import CODE_ALPHABET, CODE_LENGTH, format_code, new_tracking_code, normalize_code

codes = st.text(alphabet=CODE_ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH)
SEPARATORS = ["-", " ", "", "  ", "－", "　", " - "]  # hyphen, space, none, full-width hyphen and space


def full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else {" ": "　"}.get(ch, ch)


@st.composite
def typed_by_a_person(draw, code: str) -> str:
    """The code as someone might type it from the receipt's grouped form."""
    groups = format_code(code).split("-")
    out = draw(st.sampled_from(["", " ", "　"]))
    for n, group in enumerate(groups):
        if n:
            out += draw(st.sampled_from(SEPARATORS))
        for ch in group:
            if draw(st.booleans()):
                ch = ch.lower()
            if draw(st.booleans()):
                ch = full_width(ch)
            out += ch
    return out + draw(st.sampled_from(["", " ", "\t", "　"]))


def test_the_alphabet_has_no_look_alikes_and_no_vowels():
    assert len(CODE_ALPHABET) == len(set(CODE_ALPHABET)) == 28
    assert not set(CODE_ALPHABET) & set("0O1ILAEIOU")
    assert set(CODE_ALPHABET) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_every_generated_code_uses_only_the_alphabet():
    drawn = [new_tracking_code() for _ in range(2000)]
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in drawn)
    # 20,000 draws from 28 symbols: every symbol shows up, so none is left out of the draw.
    assert set("".join(drawn)) == set(CODE_ALPHABET)


@given(codes.flatmap(lambda code: st.tuples(st.just(code), typed_by_a_person(code))))
@example(("BK7MQ2XD9T", "ｂｋ７ｍ－Ｑ２ＸＤ－９Ｔ"))  # full width, as a Chinese input method types it
def test_a_code_survives_the_round_trip_through_what_a_person_types(code_and_typed):
    code, typed = code_and_typed
    assert normalize_code(typed) == code


@given(codes)
def test_the_grouped_form_reads_back_as_the_code(code):
    shown = format_code(code)
    assert [len(group) for group in shown.split("-")] == [4, 4, 2]
    assert normalize_code(shown) == normalize_code(shown.lower()) == code


@given(st.text())
def test_normalising_twice_changes_nothing(typed):
    once = normalize_code(typed)
    assert normalize_code(once) == once


# What the docstring promises, written out for the characters a keyboard gives: full-width forms
# fold to their ASCII twins, case is dropped, everything but letters and digits goes, and the
# look-alikes O, I and L read as 0 and 1. At most 32 characters are kept.
keyboard = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    | st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E)
    | st.just("　"),
    max_size=50,
)


def by_hand(typed: str) -> str:
    ascii_ = "".join(full_width_to_ascii(ch) for ch in typed).upper()
    kept = "".join(ch for ch in ascii_ if ch.isascii() and ch.isalnum())
    return "".join({"O": "0", "I": "1", "L": "1"}.get(ch, ch) for ch in kept)[:32]


def full_width_to_ascii(ch: str) -> str:
    return chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else {"　": " "}.get(ch, ch)


@given(keyboard)
@example("ｏｉｌ-OIL bk7m")
def test_what_is_typed_on_a_keyboard_normalises_as_documented(typed):
    assert normalize_code(typed) == by_hand(typed)
