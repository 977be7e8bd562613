"""Every user-facing string is translated, and the catalogue is up to date with the code."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, project_env

PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def entries(text: str) -> dict[str, tuple[str, bool]]:
    """Parse a .po file into {msgid: (msgstr, fuzzy)} (enough for our own catalogue)."""
    result, fuzzy, field, msgid, msgstr = {}, False, None, "", ""

    def flush():
        if msgid:
            result[msgid] = (msgstr, fuzzy)

    for line in text.splitlines() + [""]:
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            flush()
            field, msgid, msgstr = "id", _unquote(line[6:]), ""
        elif line.startswith("msgid_plural "):
            field = "plural"
        elif line.startswith("msgstr"):
            field, msgstr = "str", msgstr + _unquote(line.split(" ", 1)[1])
        elif line.startswith('"'):
            if field == "id":
                msgid += _unquote(line)
            elif field == "str":
                msgstr += _unquote(line)
        elif not line.strip():
            flush()
            field, msgid, msgstr, fuzzy = None, "", "", False
    return result


def _unquote(s: str) -> str:
    return s.strip()[1:-1]


def test_every_string_has_a_chinese_translation():
    catalogue = entries(PO.read_text(encoding="utf-8"))
    assert len(catalogue) > 50
    untranslated = [msgid for msgid, (msgstr, fuzzy) in catalogue.items() if not msgstr or fuzzy]
    assert untranslated == []


def test_the_catalogue_holds_every_string_in_the_code(tmp_path):
    """makemessages on a copy of the tree finds no string the committed catalogue lacks."""
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns(".venv", "var", ".git", "__pycache__", "node_modules", "*.mo")
    shutil.copytree(ROOT, copy, ignore=ignore)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v0"],
        cwd=copy,
        env=project_env(DEBUG="1", LIAISON_VAR_DIR=str(tmp_path / "var")),
        check=True,
        capture_output=True,
    )
    fresh = entries((copy / PO.relative_to(ROOT)).read_text(encoding="utf-8"))
    committed = entries(PO.read_text(encoding="utf-8"))
    assert sorted(set(fresh) - set(committed)) == []
    assert Path(PO).exists()
