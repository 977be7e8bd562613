"""The reception book (接待登记簿): one line per reception, by month and meeting kind.

The paper register a studio keeps beside its door, kept from the record cards: the date, the
studio, the kind of meeting, the representatives present, the people received, the matters
raised and how each was handled. On screen (paginated), as Excel and as an A4 print view.

Staff see the receptions of their region, a studio liaison officer those of their studios
(``Reception.objects.visible_to``); withdrawn records are left out (``.active()``). The page
costs a fixed number of queries: the studios for the filter, the count, the page, and one
prefetch each for the representatives and the matters.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Prefetch
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison.exports import xlsx_response
from liaison.roles import STAFF_ROLES, Role
from reps.duties import MONTH, Period
from reps.models import Representative
from studios.models import Reception, ReceptionMatter, Studio
from studios.reception_views import _month_range
from studios.statistics import PART_OF, SPLIT, period_label, split_names, ticketed

PAGE_SIZE = 30


def _require_book_role(user) -> None:
    scope = user.scope
    if not (scope.sees_all or scope.roles & (STAFF_ROLES | {Role.STUDIO_OFFICER})):
        raise PermissionDenied


def handling(matter: ReceptionMatter) -> str:
    """How a matter was handled, in the register's words."""
    if matter.answered_on_spot:
        return (
            _("answered on the spot: %(answer)s") % {"answer": matter.answer}
            if matter.answer
            else _("answered on the spot")
        )
    if getattr(matter, "has_ticket", False):
        return _("registered as a suggestion ticket")
    if matter.for_ticket:
        return _("to become a suggestion ticket")
    return _("recorded")


def _lines(receptions) -> list[dict]:
    names = split_names()
    lines = []
    for reception in receptions:
        matters = list(reception.matters.all())
        lines.append(
            {
                "reception": reception,
                "when": timezone.localtime(reception.starts_at),
                "studio": reception.studio.name if reception.studio else reception.place,
                "kind": reception.get_kind_display(),
                "part": names[PART_OF[reception.kind]],
                "reps": "、".join(rep.name for rep in reception.representatives.all()),
                "people": reception.people_received,
                "matters": [(m.content, handling(m)) for m in matters],
            }
        )
    return lines


def _header() -> list[str]:
    return [
        _("date"),
        _("studio"),
        _("meeting kind"),
        _("representatives present"),
        _("people received"),
        _("matters raised"),
        _("how handled"),
    ]


@login_required
def reception_book(request):
    user = request.user
    _require_book_role(user)
    visible = Reception.objects.active().visible_to(user)
    today = timezone.localdate()
    month = request.GET.get("month", "")
    months = _month_range(month)
    if months is None:
        month = today.strftime("%Y-%m")
        months = _month_range(month)
    part = request.GET.get("kind", "")
    studio = request.GET.get("studio", "")
    studios = Studio.objects.visible_to(user).order_by("region__path", "name")
    receptions = visible.filter(starts_at__gte=months[0], starts_at__lt=months[1])
    kinds = dict(SPLIT)
    if part in kinds:
        receptions = receptions.filter(kind__in=kinds[part])
    else:
        part = ""
    if studio.isdigit():
        receptions = receptions.filter(studio_id=int(studio))
    else:
        studio = ""
    receptions = (
        receptions.select_related("studio")
        .prefetch_related(
            Prefetch("representatives", queryset=Representative.objects.only("pk", "name").order_by("name")),
            Prefetch(
                "matters",
                queryset=ReceptionMatter.objects.annotate(
                    has_ticket=ExpressionWrapper(ticketed(), output_field=BooleanField())
                ).order_by("pk"),
            ),
        )
        .order_by("starts_at", "id")
    )
    first = datetime.date.fromisoformat(f"{month}-01")
    chosen = {"month": month, "kind": part, "studio": studio}
    title = _("Reception book, %(month)s") % {"month": period_label(Period.containing(MONTH, first))}
    if request.GET.get("format") == "xlsx":
        rows = [
            [
                line["when"].strftime("%Y-%m-%d %H:%M"),
                line["studio"],
                line["kind"],
                line["reps"],
                line["people"],
                "\n".join(f"{n}. {content}" for n, (content, _how) in enumerate(line["matters"], 1)),
                "\n".join(f"{n}. {how}" for n, (_content, how) in enumerate(line["matters"], 1)),
            ]
            for line in _lines(receptions)
        ]
        return xlsx_response(_("Reception book"), _header(), rows, filename=f"{title}.xlsx")
    context = {
        "title": title,
        "chosen": chosen,
        "studios": studios,
        "parts": list(split_names().items()),
        "header": _header(),
        "query": urlencode({k: v for k, v in chosen.items() if v}),
        "today": today,
    }
    if request.GET.get("print"):
        context["lines"] = _lines(receptions)
        return render(request, "studios/reception_book_print.html", context)
    page = Paginator(receptions, PAGE_SIZE).get_page(request.GET.get("page"))
    context["page"] = page
    context["lines"] = _lines(page.object_list)
    return render(request, "studios/reception_book.html", context)
