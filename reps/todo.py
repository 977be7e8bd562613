"""The representatives part of the home to-do (``liaison.todo``): a rep's own duties that are
behind pace or still to do in the current period, from the duty engine (``reps.duties``)."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from liaison import todo
from liaison.roles import Role
from reps import duties
from reps.models import Representative


def sections(user, *, now: datetime.datetime) -> list[todo.Section]:
    scope = user.scope
    if scope.sees_all or Role.REPRESENTATIVE not in scope.roles:
        return []
    rep = Representative.objects.filter(user=user).values_list("pk", flat=True).first()
    if rep is None:
        return []
    _quotas, rows = duties.standing(Representative.objects.filter(pk=rep), today=timezone.localdate(now))
    statuses = [cell.status for cell in rows[0].cells.values()] if rows else []
    page = reverse("reps:me")
    return [
        todo.Section(
            _("My duties"),
            [
                todo.Item(
                    "duties_behind",
                    _("duties behind pace"),
                    page,
                    count=statuses.count("behind"),
                    tone=todo.DANGER,
                ),
                todo.Item(
                    "duties_due", _("duties still to do this period"), page, count=statuses.count("due")
                ),
            ],
        )
    ]
