"""Check a sheet: validate every row and plan what an import would write, writing nothing.

``check`` reads the job's sheet and hands it to its kind's ``check_rows``; ``Row`` (a row's cells
and errors) and ``Places`` (the places the uploader may name) serve every kind, and
``check_rows`` below is the people's kinds'. The bad rows are recorded with their row number,
column and reason (an English message id and its values, translated when the preview shows them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model
from django.utils.translation import gettext_noop

from liaison.models import Region
from reps.importing.reading import (
    MAX_ROWS,
    NAME,
    CellError,
    Sheet,
    TooManyRows,
    UnreadableSheet,
    blank,
    chunks,
    read_sheet,
)
from reps.importing.specs import CHILD, PERSON, PHONE, Column, Spec, missing_columns, spec_for
from reps.models import ImportJob


class Row:
    """One sheet row being read: its cells by header, and the errors found in it."""

    def __init__(self, number: int, values: tuple, columns: dict[str, int], errors: list[dict]):
        self.number, self.values, self.columns, self.errors = number, values, columns, errors
        self.bad = False

    def has(self, header: str) -> bool:
        return header in self.columns

    def raw(self, header: str):
        index = self.columns.get(header)
        return self.values[index] if index is not None and index < len(self.values) else None

    def read(self, column: Column):
        """Return the column's value in this row: parsed, or its default when blank or wrong."""
        raw = self.raw(column.header)
        if blank(raw):
            if column.required:
                self.error(column.header, gettext_noop("This field is required."))
            return column.default
        try:
            value = column.parse(raw)
        except CellError as exc:
            self.error(column.header, exc.message, **exc.params)
            return column.default
        if column.max_length and isinstance(value, str) and len(value) > column.max_length:
            self.error(column.header, gettext_noop("At most %(max)s characters."), max=column.max_length)
            return column.default
        return value

    def error(self, column: str, message: str, /, **params) -> None:
        self.bad = True
        self.errors.append({"row": self.number, "column": column, "message": message, "params": params})


class Places:
    """The regions a job may name: those the uploader sees now, under the job's region."""

    def __init__(self, job: ImportJob):
        regions = Region.objects.visible_to(job.created_by).filter(path__startswith=job.region.path)
        self.by_id: dict[int, Region] = {}
        self.by_name: dict[tuple[str, str], list[Region]] = defaultdict(list)
        self.user, self.region = job.created_by, job.region
        for region in regions.only("id", "name", "level", "path"):
            self.by_id[region.pk] = region
            group = "village" if region.level == Region.Level.VILLAGE else "area"
            self.by_name[(group, region.name)].append(region)
        self.root_path = job.region.path

    def covers(self, region_id: int | None) -> bool:
        return region_id in self.by_id

    def find(self, row: Row, header: str, name: str, *, group: str, unknown: str) -> Region | None:
        found = self.by_name.get((group, name), [])
        if len(found) == 1:
            return found[0]
        if found:
            row.error(header, gettext_noop("Several places are called %(name)s."), name=name)
        else:
            row.error(header, unknown, name=name)
        return None


# --- the plan of what an import would write -------------------------------------------------


@dataclass
class Child:
    """A mandate or contact link of a person, from one row."""

    row: int
    key_fields: dict  # what makes the child and is never changed: its key (and a mandate's region)
    fields: dict  # what the sheet sets, for the columns the sheet has
    existing: Model | None = None
    changed: list[str] = field(default_factory=list)  # fields of ``existing`` the sheet changes


@dataclass
class Person:
    """One person of the sheet (possibly on several rows) and what to write for them."""

    first_row: int
    fields: dict  # model field → value, for the columns the sheet has
    existing: Model | None
    rows: int = 0
    children: dict[tuple, Child] = field(default_factory=dict)  # by the spec's child key
    changed: list[str] = field(default_factory=list)  # fields of ``existing`` the sheet changes

    def changes(self) -> bool:
        return bool(self.changed) or any(c.existing is None or c.changed for c in self.children.values())


@dataclass
class SheetPlan:
    """What a check found in a sheet of any kind: its rows and errors; each kind adds what it writes."""

    kind: str
    total: int
    errors: list[dict]

    @property
    def error_rows(self) -> int:
        return len({e["row"] for e in self.errors})

    def summary(self) -> dict:
        return {"rows": self.total, "error_rows": self.error_rows, "errors": len(self.errors)}


@dataclass
class Plan(SheetPlan):
    """The plan of a people's sheet."""

    people: list[Person]

    def summary(self) -> dict:
        created = sum(1 for p in self.people if p.existing is None)
        updated = sum(1 for p in self.people if p.existing is not None and p.changes())
        return {
            "rows": self.total,
            "people": len(self.people),
            "created": created,
            "updated": updated,
            "unchanged": len(self.people) - created - updated,
            "error_rows": self.error_rows,
            "errors": len(self.errors),
        }


def check(job: ImportJob, progress) -> SheetPlan:
    """Read and validate the job's sheet as of now: the uploader's current scope and data."""
    spec = spec_for(job.kind)
    try:
        with job.file.open("rb") as fileobj:
            sheet = read_sheet(fileobj, anchor=spec.anchor)
    except UnreadableSheet:
        return _file_error(job, gettext_noop("The file is not an Excel .xlsx workbook that can be read."))
    except TooManyRows:
        return _file_error(
            job,
            gettext_noop("The sheet has more than %(max)s rows; split it into smaller files."),
            max=MAX_ROWS,
        )
    except FileNotFoundError:
        return _file_error(job, gettext_noop("The uploaded file is no longer there; upload it again."))
    sheet.read_aliases(spec.columns)
    missing = missing_columns(job.kind, sheet.columns)
    if missing:
        return _file_error(
            job,
            gettext_noop("The sheet lacks the columns: %(columns)s. Start from the template."),
            columns="、".join(missing),
        )
    if not sheet.rows:
        return _file_error(job, gettext_noop("The sheet has no rows to import."))
    progress.start(len(sheet.rows))
    plan = spec.check_rows(sheet, Places(job), progress)
    plan.errors.sort(key=lambda e: e["row"] or 0)
    return plan


def general_error(message: str, **params) -> dict:
    """An error of the whole file or job, not of one row."""
    return {"row": None, "column": "", "message": message, "params": params}


def _file_error(job: ImportJob, message: str, **params) -> SheetPlan:
    return SheetPlan(job.kind, 0, [general_error(message, **params)])


def check_rows(spec: Spec, sheet: Sheet, places: Places, progress: Callable[[int], None]) -> Plan:
    """Validate every row of a sheet of ``spec``'s kind and plan what an import would write.

    1. Load, a few queries for the whole sheet, the people already registered under the
       sheet's names and whatever the kind's rules look up.
    2. Read each row: the name, the place (looked up in the uploader's area), then the other
       columns in the sheet's order; the kind's rules check the row as a whole and give the
       key of the child (mandate or link) it adds. A row with any error goes no further.
    3. Find the row's person by the natural key (``Spec.key``): a person already on an earlier
       row must have the same values there; a new one is matched against the database, where
       someone registered outside the uploader's area is an error.
    4. A second row of the same person and child is an error.
    5. Compare the plan with the database: which people and children an import would change.
    """
    errors: list[dict] = []
    by_phone, without_phone = _existing_people(spec, sheet.texts(NAME))
    lookups = spec.lookups(sheet, places)
    name_column, place_column = spec.column(NAME), spec.column(spec.place)
    other_columns = [c for c in spec.columns if c not in (name_column, place_column)]
    people: dict[tuple, Person] = {}
    for done, (number, values) in enumerate(sheet.rows, start=1):
        progress(done)
        row = Row(number, values, sheet.columns, errors)
        read = {"name": row.read(name_column)}
        place = None
        if place_name := row.read(place_column):
            place = places.find(
                row, spec.place, place_name, group=spec.place_group, unknown=spec.unknown_place
            )
        read[place_column.field] = place.pk if place else None
        for column in other_columns:
            read[column.field] = row.read(column)
        child_key_fields = spec.rules(row, read, place, lookups)
        if row.bad:
            continue
        # Only the columns the sheet has are written (a missing column changes nothing); the
        # phone is part of the key, blank when the sheet has no phone column.
        profile = {
            c.field: read[c.field]
            for c in spec.columns
            if c.part == PERSON and (row.has(c.header) or c.field == "phone")
        }
        key = spec.key(profile)
        person = people.get(key)
        if person is None:
            matched, existing = _match(row, spec, places, key, by_phone, without_phone)
            if not matched:
                continue
            person = people[key] = Person(number, profile, existing)
        elif not _same_profile(row, spec, person, profile):
            continue
        child_key = tuple(child_key_fields[f] for f in spec.child_key)
        if child_key in person.children:
            row.error(NAME, spec.same_child, row=person.children[child_key].row)
            continue
        child_fields = {c.field: read[c.field] for c in spec.columns if c.part == CHILD and row.has(c.header)}
        person.children[child_key] = Child(number, child_key_fields, child_fields)
        person.rows += 1
    for person in people.values():
        # A row that names no child (a contact without a representative) adds none.
        person.children = {k: c for k, c in person.children.items() if None not in k}
    plan = Plan(spec.kind, len(sheet.rows), errors, list(people.values()))
    _compare(plan, spec)
    return plan


def _existing_people(spec: Spec, names: list[str]) -> tuple[dict, dict]:
    """Load the people of ``spec`` with these names: by (name, phone), and by (name, place)
    for those without a phone."""
    by_phone, without_phone = {}, defaultdict(list)
    place = spec.place_field.removesuffix("_id")
    for chunk in chunks(names, 500):
        for person in spec.model.objects.filter(name__in=chunk).select_related(place).order_by("pk"):
            if person.phone:
                by_phone[(person.name, person.phone)] = person
            else:
                without_phone[(person.name, getattr(person, spec.place_field))].append(person)
    return by_phone, without_phone


def _match(row: Row, spec: Spec, places: Places, key: tuple, by_phone: dict, without_phone: dict):
    """Return (matched, existing person or None) for a new key of the sheet."""
    if key[1]:
        existing = by_phone.get(key[:2])
        if existing is not None and not places.covers(getattr(existing, spec.place_field)):
            row.error(
                PHONE,
                gettext_noop("%(name)s with this phone number is already registered outside your area."),
                name=key[0],
            )
            return False, None
        return True, existing
    found = without_phone.get((key[0], key[2]), [])
    if len(found) > 1:
        row.error(
            NAME,
            gettext_noop(
                "There are already several people called %(name)s here without a phone number; add the phone."
            ),
            name=key[0],
        )
        return False, None
    return True, (found[0] if found else None)


def _same_profile(row: Row, spec: Spec, person: Person, profile: dict) -> bool:
    """Whether a further row of a person agrees with their first row; if not, say where."""
    headers = {c.field: c.header for c in spec.columns}
    for name, value in profile.items():
        if person.fields.get(name) != value:
            row.error(
                headers[name],
                gettext_noop("Row %(row)s has the same person with a different value here."),
                row=person.first_row,
            )
            return False
    return True


def _compare(plan: Plan, spec: Spec) -> None:
    """Find what the sheet changes in existing people and their mandates or links."""
    existing = {p.existing.pk: p for p in plan.people if p.existing is not None}
    for person in existing.values():
        person.changed = [f for f, v in person.fields.items() if getattr(person.existing, f) != v]
    parent_id = f"{spec.child_parent}_id"
    for chunk in chunks(list(existing), 500):
        for child in spec.child_model.objects.filter(**{f"{parent_id}__in": chunk}):
            key = tuple(getattr(child, f) for f in spec.child_key)
            entry = existing[getattr(child, parent_id)].children.get(key)
            if entry is not None:
                entry.existing = child
                entry.changed = [f for f, v in entry.fields.items() if getattr(child, f) != v]
