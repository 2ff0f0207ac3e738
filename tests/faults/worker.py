"""A real Celery worker for the fault suite (`python -m tests.faults.worker NAME`), configured by
the CRM_* variables its test gives it. FAULT_CHUNK_PAUSE slows each chunk of a credit check down
(seconds), so that a test can kill the worker or stop Redis while a check is under way; the code
that runs is the product's own."""

import os
import sys
import time

from crm.credit import checks

_pause = float(os.environ.get("FAULT_CHUNK_PAUSE", "0"))
_evaluate = checks.evaluate_thresholds


def _slow_evaluate(session, **kw):
    time.sleep(_pause)
    return _evaluate(session, **kw)


checks.evaluate_thresholds = _slow_evaluate

from crm.tasks.worker import celery_app  # noqa: E402

if __name__ == "__main__":
    # As production starts it (gossip, mingle and heartbeats on), one pool process.
    pool = os.environ.get("FAULT_POOL", "prefork")
    celery_app.worker_main(
        [
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--hostname={sys.argv[1]}@%h",
        ]
    )
