"""Credit tasks: finance's check of all customers (queued from the screen, nightly from beat),
the nightly balance reconciliation and the quarterly re-evaluation. Each is idempotent."""

import logging

from celery import shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l

from crm.credit import checks, exposure
from crm.credit import ledger as credit_ledger
from crm.credit import reevaluation as credit_reevaluation
from crm.errors import DomainError
from crm.extensions import db
from crm.tasks.locks import locked_task

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="crm.tasks.credit.run_check", max_retries=100)
def run_check(self, run_id: int) -> dict:
    """A second delivery while another worker's claim is fresh (a redelivery after a worker
    died comes back before the dead claim is stale) looks again once it would be stale; a
    delivery of a finished run does nothing."""
    result = checks.run_check(db.session, run_id)
    logger.info("credit check %s: %s", run_id, result)
    if result.get("skipped") == "running":
        raise self.retry(countdown=max(1, int(current_app.config["TASK_STALE_MINUTES"] * 60)))
    return result


@shared_task(name="crm.tasks.credit.nightly_check")
@locked_task("credit-nightly")
def nightly_check() -> dict:
    """A new check of all customers; when one is live already, the night's check is that one
    (taken up again when it stalled, left to its worker otherwise)."""
    live = checks.live_check(db.session)
    if live is None:
        live = checks.start_check(db.session)
        db.session.commit()
    result = checks.run_check(db.session, live.id)
    mismatches = credit_ledger.reconcile_balances(db.session)
    if mismatches:
        # Balances kept with each ledger row disagree with the ledger: finance must look.
        logger.warning(
            "credit nightly: %s customers' balances differ from their ledgers (first ids: %s)",
            len(mismatches),
            [m[0] for m in mismatches[:10]],
        )
    exposure.refresh(db.session)  # the home pages' figures, the new day's overdue debts in
    db.session.commit()
    return {
        **result,
        "balance_mismatches": [[cid, str(kept), str(owed)] for cid, kept, owed in mismatches[:100]],
    }


@shared_task(name="crm.tasks.credit.refresh_exposure")
@locked_task("credit-exposure")
def refresh_exposure() -> dict:
    """The home pages' credit exposure, counted again (the check of all customers counts it
    too): what the day's charges and payments moved, within the hour."""
    rows = exposure.refresh(db.session)
    db.session.commit()
    return {"exposure_rows": rows}


@shared_task(name="crm.tasks.credit.quarterly_reevaluation")
@locked_task("credit-reevaluation")
def quarterly_reevaluation() -> int:
    made = credit_reevaluation.quarterly_reevaluation(db.session)
    db.session.commit()
    logger.info("credit re-evaluation: %s proposals made", made)
    return {"proposals": made}


def enqueue_check(run_id: int, resumed: bool = False) -> None:
    """Queue a check of all customers; CREDIT_CHECK_INLINE runs it in the request instead.

    Any failure to queue (the broker or the result backend unreachable: kombu's
    OperationalError, redis' ConnectionError, the backend's RuntimeError...) leaves no run
    waiting for a task that does not exist, and is a message for the screen."""
    if current_app.config.get("CREDIT_CHECK_INLINE"):
        checks.run_check(db.session, run_id)
        return
    try:
        run_check.delay(run_id)
    except Exception as exc:
        logger.warning("credit check %s could not be queued: %s", run_id, type(exc).__name__)
        checks.abandon_enqueue(db.session, run_id, resumed)
        raise DomainError(
            _l(
                "The task queue is not reachable, so the check was not started. "
                "Try again in a few minutes or tell the system administrator."
            ),
        ) from exc
