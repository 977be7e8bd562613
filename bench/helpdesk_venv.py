"""Run a ``helpdesk_*.py`` script in django-helpdesk 2.6.1's own virtualenv (issue 14's peer).

The virtualenv (``bench/.cache/helpdesk-venv``) is made and filled once, with pip from the
index pip is configured with; the scripts print ``HELPDESK <kind> <figures ...>`` lines.
(Not named ``helpdesk.py``: the scripts run from this folder, where it would hide the package.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELPDESK_VENV = HERE / ".cache" / "helpdesk-venv"
# psycopg2-binary at Liaison's own version, so that helpdesk can run on the same PostgreSQL.
REQUIREMENTS = ("django-helpdesk==2.6.1", "psycopg2-binary==2.9.13")


def helpdesk_python() -> Path:
    """Install django-helpdesk into its virtualenv unless done already; its Python."""
    python = HELPDESK_VENV / "bin" / "python"
    installed = HELPDESK_VENV / "installed"
    wanted = " ".join(REQUIREMENTS)
    if not installed.exists() or installed.read_text(encoding="utf-8") != wanted:
        subprocess.run([sys.executable, "-m", "venv", str(HELPDESK_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True, capture_output=True
        )
        installed.write_text(wanted, encoding="utf-8")
    return python


def helpdesk_run(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, list[float]]:
    """Run ``bench/<script>`` in helpdesk's Python: its figures, ``{kind: [numbers]}``.

    Raises ``OSError`` or ``subprocess.CalledProcessError`` (its stderr attached) when the
    install or the script fails.
    """
    out = subprocess.run(
        [str(helpdesk_python()), str(HERE / script), *args],
        check=True, capture_output=True, text=True, cwd=tempfile.gettempdir(), env=env,
    ).stdout  # fmt: skip
    figures = {}
    for line in out.splitlines():
        if line.startswith("HELPDESK "):
            _tag, kind, *values = line.split()
            figures[kind] = [float(v) for v in values]
    return figures
