"""Credit tasks: finance's check of all customers (queued from the screen, nightly from beat),
the nightly balance reconciliation and the quarterly re-evaluation. Each is idempotent."""

import logging

from celery import shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l
from kombu.exceptions import OperationalError

from crm.credit import services as cs
from crm.errors import DomainError
from crm.extensions import db
from crm.governance.services import mark_task_run

logger = logging.getLogger(__name__)


@shared_task(name="crm.tasks.credit.run_check")
def run_check(run_id: int) -> dict:
    return cs.run_check(db.session, run_id)


@shared_task(name="crm.tasks.credit.nightly_check")
def nightly_check() -> dict:
    run = cs.start_check(db.session)
    db.session.commit()
    result = cs.run_check(db.session, run.id)
    mismatches = cs.reconcile_balances(db.session)
    if mismatches:
        # Balances kept with each ledger row disagree with the ledger: finance must look.
        logger.warning("credit nightly: %s customers' balances differ from their ledgers "
                       "(first ids: %s)", len(mismatches), [m[0] for m in mismatches[:10]])
    mark_task_run(db.session, "credit-nightly", {**result, "balance_mismatches": [
        [cid, str(kept), str(owed)] for cid, kept, owed in mismatches[:100]]})
    db.session.commit()
    return result


@shared_task(name="crm.tasks.credit.quarterly_reevaluation")
def quarterly_reevaluation() -> int:
    made = cs.quarterly_reevaluation(db.session)
    mark_task_run(db.session, "credit-reevaluation", {"proposals": made})
    db.session.commit()
    return made


def enqueue_check(run_id: int) -> None:
    """Queue a check of all customers; CREDIT_CHECK_INLINE runs it in the request instead."""
    if current_app.config.get("CREDIT_CHECK_INLINE"):
        cs.run_check(db.session, run_id)
        return
    try:
        run_check.delay(run_id)
    except OperationalError as exc:
        logger.warning("credit check run %s not queued: the broker is not reachable (%s)",
                       run_id, type(exc).__name__)
        raise DomainError(_l("The task queue is not reachable; the check stays queued.")) from exc
