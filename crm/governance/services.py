"""Generic record operations shared by every domain: add, change, soft-delete — each checked
against crm.access and audited (the audit hook records the columns; these add the reason)."""

from flask_babel import lazy_gettext as _l

from crm.access import can, current_actor
from crm.audit import audit_reason
from crm.errors import DomainError, NotAllowed
from crm.governance.models import TaskRun
from crm.timeutil import utcnow


def add_record(session, row):
    if not can(current_actor(), "create", row):
        raise NotAllowed(_l("You may not add to this customer's archive."))
    session.add(row)
    session.flush()
    return row


def change_record(session, row, reason: str | None = None):
    """Write a change; a governed record's change by an account manager waits for approval
    instead (R6), and is then found in session.info["crm_pending_changes"]."""
    from crm.governance.changes import hold_for_approval

    # No autoflush: the scope check's query must not write the change before it is judged.
    with session.no_autoflush:
        if not can(current_actor(), "edit", row):
            raise NotAllowed(_l("You may not change this record."))
        pending = hold_for_approval(session, row, reason)
    if pending is not None:
        session.info.setdefault("crm_pending_changes", []).append(pending.id)
    with audit_reason(session, reason):
        session.flush()
    return row


def soft_delete(session, rows, reason: str) -> None:
    """Delete rows (the first is the one asked for; the rest go with it) with a reason: at once
    into the recycle bin when the sales manager (or the system) does it, otherwise as a request
    awaiting the sales manager's approval (R6; crm.governance.retention)."""
    from crm.governance.retention import ask_deletion

    actor = current_actor()
    if not can(actor, "delete", rows[0]):
        raise NotAllowed(_l("Only the sales manager may delete archive material."))
    if not (reason or "").strip():
        raise DomainError(_l("A deletion needs a reason."), {"reason": _l("Give a reason.")})
    request = ask_deletion(session, rows, reason.strip())
    if request.deleted_at is None:
        session.info.setdefault("crm_pending_deletions", []).append(request.id)


def hide_rows(session, rows, reason: str, now) -> None:
    """Mark rows deleted; crm.access hides them (and everything under a deleted customer)."""
    actor = current_actor()
    with audit_reason(session, reason):
        for row in rows:
            row.deleted_at = now
            row.deleted_by_id = getattr(actor, "id", None)
        session.flush()


def mark_task_run(session, name: str, result: dict | None = None, started_at=None) -> TaskRun:
    """Record a run of a background job: when it started (this run's start when given) and
    ended, how many runs so far, and its result."""
    run = session.get(TaskRun, name) or TaskRun(name=name, runs=0)
    now = utcnow()
    run.started_at = started_at or run.started_at or now
    run.finished_at = now
    run.runs += 1
    run.result = result
    session.add(run)
    session.flush()
    return run
