"""A lock per periodic task against overlapping runs (issue 13 point 2; Indico's `locked_task`).

Two beat processes, a redelivered message or a run started by hand while beat's is still going
would otherwise run the same sweep twice at once. ``locked_task(name)`` takes the task's row in
``task_locks`` before the task runs and gives it back afterwards, whatever the outcome; a run
that finds the lock held by a live run logs that it was skipped and does nothing.

The lock is a database row, so it works on the embedded SQLite default (no Redis there) and on
PostgreSQL alike. It is written through its own connection and committed at once, outside the
task's transaction: other workers see it at once, and the task's own commits and rollbacks
never touch it. Taking it is one conditional UPDATE (free, or stale) or, for a name never seen,
one INSERT that the primary key lets only one run win, so two runs cannot both get it.

While the task runs, a thread refreshes the lock's ``heartbeat_at``. A lock whose heartbeat is
older than ``stale_after`` minutes (default: the ``TASK_STALE_MINUTES`` setting) belongs to a
worker that died without giving it back; the next run takes it over, and logs so.

A run that went through is recorded in ``task_runs`` (crm.governance.services.mark_task_run)
under the lock's name, with what the task returned."""

import logging
import os
import socket
import threading
from datetime import timedelta
from functools import wraps
from uuid import uuid4

from flask import current_app
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from crm.extensions import db
from crm.governance.models import TaskLock
from crm.governance.services import mark_task_run
from crm.timeutil import utcnow

logger = logging.getLogger(__name__)

LOCKS = TaskLock.__table__


def _new_holder() -> str:
    """Names the process that holds a lock (for the logs), and is unique to this run."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid4().hex[:16]}"


def acquire(engine, name: str, stale_minutes: float) -> str | None:
    """Take the lock called ``name``: the holder's token, or None when a live run holds it."""
    token, now = _new_holder(), utcnow()
    stale_before = now - timedelta(minutes=stale_minutes)
    with engine.begin() as conn:
        before = conn.execute(
            select(LOCKS.c.holder, LOCKS.c.heartbeat_at).where(LOCKS.c.name == name)
        ).first()
        if before is not None:
            taken = conn.execute(
                update(LOCKS)
                .where(
                    LOCKS.c.name == name,
                    or_(
                        LOCKS.c.holder.is_(None),
                        LOCKS.c.heartbeat_at.is_(None),
                        LOCKS.c.heartbeat_at < stale_before,
                    ),
                )
                .values(holder=token, acquired_at=now, heartbeat_at=now)
            ).rowcount
            if not taken:
                return None
            if before.holder is not None:
                logger.warning(
                    "task lock %s taken over: its holder %s gave no sign of life "
                    "since %s (stale after %s minutes)",
                    name,
                    before.holder,
                    before.heartbeat_at,
                    stale_minutes,
                )
            return token
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(LOCKS).values(name=name, holder=token, acquired_at=now, heartbeat_at=now)
            )
    except IntegrityError:  # another run inserted it first, and holds it
        return None
    return token


def release(engine, name: str, token: str) -> bool:
    """Give the lock back; False when it is no longer ours (it was taken over as stale)."""
    with engine.begin() as conn:
        mine = conn.execute(
            update(LOCKS)
            .where(LOCKS.c.name == name, LOCKS.c.holder == token)
            .values(holder=None, heartbeat_at=utcnow())
        ).rowcount
    if not mine:
        logger.warning(
            "task lock %s was no longer held by %s when it ended: another run took "
            "it over as stale",
            name,
            token,
        )
    return bool(mine)


def holder_of(engine, name: str):
    """The lock's row (holder, acquired_at, heartbeat_at), or None."""
    with engine.connect() as conn:
        return conn.execute(
            select(LOCKS.c.holder, LOCKS.c.acquired_at, LOCKS.c.heartbeat_at).where(
                LOCKS.c.name == name
            )
        ).first()


class _Heartbeat(threading.Thread):
    """Refreshes the lock's heartbeat while its task runs, so that only a dead run's lock
    grows stale, however long a live one takes."""

    def __init__(self, engine, name: str, token: str, interval: float):
        super().__init__(name=f"task-lock-{name}", daemon=True)
        self.engine, self.lock_name, self.token, self.interval = engine, name, token, interval
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                with self.engine.begin() as conn:
                    mine = conn.execute(
                        update(LOCKS)
                        .where(LOCKS.c.name == self.lock_name, LOCKS.c.holder == self.token)
                        .values(heartbeat_at=utcnow())
                    ).rowcount
            except Exception as exc:  # the database busy or away for a moment: try again
                logger.warning(
                    "task lock %s: heartbeat not written (%s)", self.lock_name, type(exc).__name__
                )
                continue
            if not mine:
                logger.warning("task lock %s: taken over by another run", self.lock_name)
                return

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=30)


def locked_task(name: str, stale_after: float | None = None, record: bool = True):
    """Decorate a periodic task's function (below ``@shared_task``): it runs only while holding
    the lock ``name``; a run that finds the lock held returns None and does nothing. With
    ``record`` the run is written to ``task_runs`` under ``name``, with the returned value
    (a dict as it is, anything else as {"result": value}). ``stale_after`` (minutes) defaults
    to the TASK_STALE_MINUTES setting."""

    def decorate(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            minutes = (
                stale_after
                if stale_after is not None
                else float(current_app.config["TASK_STALE_MINUTES"])
            )
            engine = db.engine
            token = acquire(engine, name, minutes)
            if token is None:
                held = holder_of(engine, name)
                logger.warning(
                    "task %s skipped: another run holds its lock (%s, since %s)",
                    name,
                    held.holder if held else "?",
                    held.acquired_at if held else "?",
                )
                return None
            started = utcnow()
            beat = _Heartbeat(engine, name, token, interval=max(1.0, minutes * 60 / 4))
            beat.start()
            try:
                result = func(*args, **kwargs)
                if record:
                    kept = (
                        result if result is None or isinstance(result, dict) else {"result": result}
                    )
                    mark_task_run(db.session, name, kept, started_at=started)
                    db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise
            finally:
                beat.stop()
                release(engine, name, token)

        wrapper.lock_name = name
        return wrapper

    return decorate
