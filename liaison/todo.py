"""The home page's to-do: what waits for this user, counted, each item linking to its list.

A registry, like ``liaison.navigation`` and ``reps.duties``: this module knows nothing of
tickets or rosters. Each app registers a *source* in its ``ready()``; a source looks at the
user's roles and returns its section of the to-do (or nothing), with a fixed number of
queries whatever the number of rows, so the home page costs the same for ten tickets as
for a million. The page loops over what was registered.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

# Tones, as Bootstrap names them: overdue work is "danger", work due soon "warning".
DANGER, WARNING, NORMAL = "danger", "warning", "secondary"


@dataclass(frozen=True)
class Item:
    """One line of the to-do: a count (or a short text, such as the next duty) and its list."""

    key: str
    label: str
    url: str
    count: int | None = None
    text: str = ""
    tone: str = NORMAL

    @property
    def is_pending(self) -> bool:
        """Whether it asks for action now (a count of zero does not)."""
        return bool(self.count) or bool(self.text)

    @property
    def shown_tone(self) -> str:
        return self.tone if self.count else NORMAL


@dataclass(frozen=True)
class Section:
    title: str
    items: list[Item] = field(default_factory=list)


Source = Callable[..., list[Section]]  # source(user, *, now) -> sections

_SOURCES: dict[str, tuple[int, Source]] = {}


def register(name: str, source: Source, *, order: int = 50) -> None:
    """Add (or replace, by name) a source of to-do sections; lower orders come first."""
    _SOURCES[name] = (order, source)


def sections_for(user, *, now: datetime.datetime) -> list[Section]:
    """Every registered source's sections for ``user``, in order; empty sections left out."""
    if not user.is_authenticated:
        return []
    found: list[Section] = []
    for _order, source in sorted(_SOURCES.values(), key=lambda entry: entry[0]):
        found.extend(section for section in source(user, now=now) if section.items)
    return found
