"""What other apps add to a rep's public page and contact card: a registry, like ``reps.duties``.

The studios app knows where a rep serves and when they are next on duty; this app must not
import it. So the studios app registers a *source* in its ``ready()``, and the public page and
the card loop over what was registered. A source takes one rep and returns its public facts in
a fixed number of queries, and shows only what is public by design (the published schedule).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from reps.models import Representative


@dataclass(frozen=True)
class Link:
    text: str
    url: str = ""


@dataclass(frozen=True)
class Fact:
    """One line of the page: a label and one or more texts, each with a link or none."""

    key: str
    label: str
    links: list[Link] = field(default_factory=list)
    # On the printed card: a feed link means nothing on paper.
    printed: bool = True


Source = Callable[..., list[Fact]]  # source(rep, *, now) -> facts

_SOURCES: dict[str, tuple[int, Source]] = {}


def register(name: str, source: Source, *, order: int = 50) -> None:
    """Add (or replace, by name) a source of public facts; lower orders come first."""
    _SOURCES[name] = (order, source)


def facts_for(rep: Representative, *, now: datetime.datetime) -> list[Fact]:
    """Every registered source's facts about ``rep``, in order."""
    facts: list[Fact] = []
    for _order, source in sorted(_SOURCES.values(), key=lambda pair: pair[0]):
        facts += source(rep, now=now)
    return facts
