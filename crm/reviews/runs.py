"""What the beat runs for the regular reviews (R7) and `crm review …` runs by hand: one
function per review, each safe to run twice for the same period."""

from crm.reviews import analysis, consumption, quarterly, watch
from crm.reviews.consumption import HALF, MONTH, QUARTER, YEAR, Period
from crm.timeutil import local_today

DEFAULT_PERIOD = {
    MONTH: lambda today: Period.containing(MONTH, today),
    QUARTER: lambda today: Period.last_complete(QUARTER, today),
    HALF: lambda today: Period.last_complete(HALF, today),
    YEAR: lambda today: Period.last_complete(YEAR, today),
}


def period_for(kind: str, text: str | None = None, today=None) -> Period:
    """The period a review runs for: `text` parsed (it must be of `kind`), or the default —
    this month for the watch list, the last complete one for the analyses."""
    if text:
        period = Period.parse(text)
        if period.kind != kind:
            raise ValueError(f"{text} is not a {kind} (e.g. {DEFAULT_PERIOD[kind](local_today())})")
        return period
    return DEFAULT_PERIOD[kind](today or local_today())


def monthly(session, period: Period | None = None, today=None) -> dict:
    """The month's watch list."""
    return watch.make_list(session, period or period_for(MONTH, today=today), today)


def quarterly_run(session, period: Period | None = None) -> dict:
    """The quarter's rollups refreshed, then its reclassification proposals."""
    period = period or period_for(QUARTER)
    consumption.rollup(session, period.months + period.previous().months)
    return quarterly.propose(session, period)


def analysis_run(session, kind: str, period: Period | None = None) -> dict:
    """The half-year's or year's rollups refreshed (late sales of old months included), and
    the analysis' headline figures."""
    period = period or period_for(kind)
    consumption.rollup(session, period.months + period.previous().months)
    result = analysis.analyse(session, period, limit=5)
    return {
        "period": str(period),
        "total": f"{result.total:,.2f}",
        "previous_total": f"{result.previous_total:,.2f}",
        "growth_percent": None if result.growth is None else str(result.growth),
        "customers": result.customers,
        **{k: v[0] for k, v in result.movement.items()},
    }
