"""The regular reviews' beat tasks (R7). Each calls crm.reviews and commits; the CLI
`crm review …` runs the same functions."""

from datetime import date

from celery import shared_task

from crm.extensions import db
from crm.reviews import consumption
from crm.tasks.locks import locked_task


@shared_task(name="crm.tasks.reviews.rollup_recent")
@locked_task("reviews_rollup")
def rollup_recent(today: str | None = None) -> dict:
    """The consumption rollups of the current and the previous month, rebuilt."""
    rows = consumption.rollup_recent(db.session, date.fromisoformat(today) if today else None)
    db.session.commit()
    return {"rollup_rows": rows}
