"""The county of a region, read off the region tree's materialised path.

A region's ``path`` lists the ids from the root down to its own: ``/12/`` for a county,
``/12/34/`` for a township, ``/12/34/56/`` for a village. Counties are the roots, so a
region's county is the first id of its path. This module is the one place that says so;
it imports nothing from the models, so that ``liaison.scoping`` can use it too.
"""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Coalesce


def county_id_of_path(path: str) -> int:
    """Return the id of the county that the region with this ``path`` lies in."""
    root = path.strip("/").split("/", 1)[0]
    if not root.isdigit():
        raise ValueError(f"not a region path: {path!r}")
    return int(root)


def county_path_of_path(path: str) -> str:
    """Return the path of the county that the region with this ``path`` lies in."""
    return f"/{county_id_of_path(path)}/"


def county_id_of(region_field: str = "region") -> Coalesce:
    """The same county in SQL, for a record anchored at a county or a township.

    A township's parent is its county, and a county has no parent: one join, no string
    parsing. (A village anchor would give its township: the records annotated with this
    (representatives, groups) are never anchored at a village.)
    """
    return Coalesce(F(f"{region_field}__parent_id"), F(f"{region_field}_id"))
