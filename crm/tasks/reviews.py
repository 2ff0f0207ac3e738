"""The regular reviews' beat tasks (R7). Each calls crm.reviews and commits; the CLI
`crm review …` runs the same functions."""

from datetime import date

from celery import shared_task

from crm.extensions import db
from crm.reviews import consumption, runs
from crm.reviews.consumption import QUARTER
from crm.tasks.locks import locked_task


@shared_task(name="crm.tasks.reviews.rollup_recent")
@locked_task("reviews_rollup")
def rollup_recent(today: str | None = None) -> dict:
    """The consumption rollups of the current and the previous month, rebuilt."""
    rows = consumption.rollup_recent(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    return {"rollup_rows": rows}


@shared_task(name="crm.tasks.reviews.monthly")
@locked_task("reviews_monthly")
def monthly(today: str | None = None) -> dict:
    """On the 1st: the month's watch list (a second run adds nobody twice)."""
    result = runs.monthly(db.session, today=date.fromisoformat(today) if today else None)
    db.session.commit()
    return result


@shared_task(name="crm.tasks.reviews.quarterly")
@locked_task("reviews_quarterly")
def quarterly(period: str | None = None) -> dict:
    """After a quarter: its reclassification proposals for the sales manager."""
    result = runs.quarterly_run(db.session, runs.period_for(QUARTER, period))
    db.session.commit()
    return result


@shared_task(name="crm.tasks.reviews.analysis")
@locked_task("reviews_analysis")
def analysis(kind: str, period: str | None = None) -> dict:
    """After a half-year or a year: its rollups refreshed and its headline figures."""
    result = runs.analysis_run(db.session, kind, runs.period_for(kind, period))
    db.session.commit()
    return result
