"""The import's template and the admin's exports, in the import's columns (an export imports back)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from liaison import pii
from liaison.exports import append_row
from reps.importing.reading import MAX_ROWS
from reps.importing.specs import CATEGORY_COLUMNS, LEVEL_ORDER, LEVEL_WORDS, Kind, columns_for, spec_for
from reps.models import Contact, ContactLink, Representative

LEVEL_WORD = {level: words[0] for level, words in LEVEL_WORDS.items()}
GENDER_WORD = {Representative.Gender.MALE: "男", Representative.Gender.FEMALE: "女"}
KIND_WORD = {Contact.Kind.PARTY_MEMBER: "党员", Contact.Kind.RESIDENT: "群众"}


def _yes(value: bool) -> str:
    return "是" if value else "否"


def template_bytes(kind: str) -> bytes:
    """Return an empty sheet of ``kind`` with its headers, drop-downs and a notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    spec = spec_for(kind)
    columns = spec.columns
    book = Workbook()
    sheet = book.active
    sheet.title = spec.sheet_title
    append_row(sheet, [c.header for c in columns])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True, color="C00000" if column.required else None)
        sheet.column_dimensions[letter].width = max(10, 2 + 2 * len(column.header))
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
        if column.choices:
            choice = DataValidation(type="list", formula1=f'"{",".join(column.choices)}"', allow_blank=True)
            choice.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(choice)
    notes = book.create_sheet("填写说明")
    append_row(notes, ["列", "必填", "说明"])
    for column in columns:
        append_row(notes, [column.header, "是" if column.required else "", column.note])
    append_row(notes, [])
    for line in spec.template_notes:
        append_row(notes, [line])
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["C"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_rows(kind: str, queryset: QuerySet, *, user) -> tuple[list[str], Iterator[list]]:
    """Return the header and rows of an export, in the import's columns (a constant number of queries).

    A representative has one row per mandate, a contact one row per current link to a
    representative the user may see; people without either have one row.
    """
    header = [c.header for c in columns_for(kind)]
    if Kind(kind) == Kind.REPRESENTATIVES:
        people = queryset.select_related("region").prefetch_related(None).prefetch_related("mandates")
        return header, _rep_rows(people, user)
    links = (
        ContactLink.objects.active(timezone.localdate())
        .filter(representative__in=Representative.objects.visible_to(user))
        .select_related("representative__region")
        .order_by("id")
    )
    people = (
        queryset.select_related("village").prefetch_related(None).prefetch_related(Prefetch("links", links))
    )
    return header, _contact_rows(people, user)


def phone_for(user, person) -> str:
    """The phone an export may carry for ``user``: a rep's published number, or a number the user
    may reveal on screen (``liaison.pii``); otherwise none (PIPL: a studio officer's export of
    reps holds no number a rep did not consent to publish)."""
    if not person.phone:
        return ""
    if getattr(person, "phone_public", False) or pii.may_reveal(user, person):
        return person.phone
    return ""


def _rep_rows(reps: QuerySet, user) -> Iterator[list]:
    for rep in reps:
        profile = [
            rep.name,
            GENDER_WORD.get(rep.gender, ""),
            rep.region.name,
            rep.title,
            rep.party_branch,
            rep.sector,
            phone_for(user, rep),
            _yes(rep.phone_public),
        ]
        mandates = sorted(rep.mandates.all(), key=lambda m: (LEVEL_ORDER.index(m.level), m.term_start))
        if not mandates:
            yield [*profile, "", "", None, None, ""]
        for m in mandates:
            yield [*profile, LEVEL_WORD[m.level], m.congress, m.term_start, m.term_end, m.electoral_unit]


def _contact_rows(contacts: QuerySet, user) -> Iterator[list]:
    for contact in contacts:
        profile = [
            contact.name,
            KIND_WORD.get(contact.kind, ""),
            phone_for(user, contact),
            contact.village.name,
            contact.address,
            *(_yes(getattr(contact, f)) for f in CATEGORY_COLUMNS.values()),
        ]
        links = list(contact.links.all())
        if not links:
            yield [*profile, "", "", ""]
        for link in links:
            yield [
                *profile,
                link.representative.name,
                phone_for(user, link.representative),
                _yes(link.is_pairing),
            ]
