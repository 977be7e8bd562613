"""The studio quotas a representative's duty status shows (registered with reps.duties)."""

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from reps import duties, points
from reps.models import Level
from studios.models import OpinionReport, Reception


def _receptions(contexts, period, as_of):
    ids = [c.rep.pk for c in contexts]
    rows = (
        Reception.objects.active()
        .filter(representatives__in=ids, starts_at__date__gte=period.start, starts_at__date__lte=as_of)
        .values_list("representatives")
        .annotate(n=Count("id", distinct=True))
    )
    return dict(rows)


def _opinion_reports(contexts, period, as_of):
    ids = [c.rep.pk for c in contexts]
    rows = (
        OpinionReport.objects.filter(representative__in=ids, month__gte=period.start, month__lte=as_of)
        .values_list("representative")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def _reception_quota(ctx) -> int:
    """Provincial reps receive at least once a quarter, others twice (policy), prorated."""
    per_quarter = (
        ctx.policy.receptions_per_quarter_province
        if ctx.levels == {Level.PROVINCE}
        else ctx.policy.receptions_per_quarter
    )
    return duties.prorated(per_quarter, ctx)


def _reception_points(rep_ids, start, end) -> dict[int, int]:
    rows = (
        Reception.objects.active()
        .filter(representatives__in=rep_ids, starts_at__date__gte=start, starts_at__date__lte=end)
        .values_list("representatives")
        .annotate(n=Count("id", distinct=True))
    )
    return dict(rows)


def _opinion_points(rep_ids, start, end) -> dict[int, int]:
    rows = (
        OpinionReport.objects.filter(representative__in=rep_ids, month__gte=start, month__lte=end)
        .values_list("representative")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def register() -> None:
    # The points (考核积分) a studio reception and a monthly public-opinion report earn.
    points.register_source(
        points.Source(
            "receptions", _("studio receptions"), lambda p: p.per_reception, _reception_points, order=10
        )
    )
    points.register_source(
        points.Source(
            "opinion_reports", _("public-opinion reports"), lambda p: p.per_report, _opinion_points, order=55
        )
    )
    duties.register(
        duties.Quota(
            "receptions",
            _("Studio receptions this quarter"),
            duties.QUARTER,
            _reception_quota,
            _receptions,
            order=40,
        )
    )
    duties.register(
        duties.Quota(
            "four_ones_reception",
            _("“Four ones”: a studio reception this month"),
            duties.MONTH,
            lambda c: 1 if c.active_at_end else 0,
            _receptions,
            enabled=lambda p: p.four_ones,
            order=81,
        )
    )
    duties.register(
        duties.Quota(
            "four_ones_opinion",
            _("“Four ones”: a public-opinion report this month"),
            duties.MONTH,
            lambda c: 1 if c.active_at_end else 0,
            _opinion_reports,
            enabled=lambda p: p.four_ones,
            order=82,
        )
    )
