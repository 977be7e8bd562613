"""Pinyin initials of Chinese names, for searching the directory by "wjg" for 王建国."""

from pypinyin import Style, lazy_pinyin


def initials(text: str) -> str:
    """Return the lower-case initials: "王建国" → "wjg"; other letters are kept as they are."""
    letters = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(letter[:1] for letter in letters if letter.strip()).lower()[:32]
