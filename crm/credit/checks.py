"""Credit checks (RULES R11): the thresholds (80%, 90%, over the limit), the set-based check
of one, some or all customers, and the runs that carry a check of all customers in chunks.

Permission: `start_check`, `resume_check`, `run_check` and `check_now` ask crm.access for the
"check" action of the "credit" area themselves (SYSTEM — the CLI, the tasks — may); a refused
actor gets NotAllowed before anything is written.

Who commits:
- `evaluate_thresholds`, `start_check`, `resume_check`: the caller (they only flush), so a
  crossing's notification commits with the ledger row that caused it;
- `run_check` commits itself, chunk by chunk: it is the body of the check task, and each chunk's
  marks, notifications and progress are committed together so a screen can follow the run and a
  run whose worker died goes on from its last chunk; it also commits whatever the session held
  when it was called (its claim is the first commit);
- `check_now` = `start_check` + `run_check`: it commits, as `run_check` does;
- `abandon_enqueue` rolls the caller's session back and commits the run's removal.
"""

from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from crm import access
from crm.access import can, current_actor
from crm.auth.models import User
from crm.clients.models import Client
from crm.credit import rules
from crm.credit.models import (
    BAL,
    CHARGE,
    CROSS,
    OPEN,
    PROF,
    CheckRun,
    CreditBalance,
)
from crm.errors import DomainError, NotAllowed
from crm.kernel import dialect_insert, unscoped
from crm.notifications.services import field, notify_select, sql_text
from crm.settings import get_setting
from crm.timeutil import local_today, utcnow

UNSCOPED = unscoped("a check reads every customer it checks")


def thresholds() -> list[int]:
    return sorted(int(t) for t in get_setting("credit_thresholds"))


# --- thresholds ------------------------------------------------------------------------------
def above(t: int):
    """The balances that owe at least `t` per cent of their limit (and something)."""
    return and_(
        BAL.c.outstanding > 0, BAL.c.outstanding * 100 >= t * func.coalesce(BAL.c.credit_limit, 0)
    )


OVER_LIMIT = "over"  # the check's "over the limit" (owes more than the limit)


def customers_overdue(today: date | None = None):
    """SELECT of the ids of the customers with a charge past its due date (the check's
    "overdue"), from the open items by their (kind, due_date) index."""
    return select(OPEN.c.client_id).where(
        OPEN.c.kind == CHARGE, OPEN.c.due_date < (today or local_today())
    )


def customers_over(level):
    """SELECT of the ids of the customers the credit check counts at `level`: a threshold in
    per cent (80 → owes at least 80% of the limit) or OVER_LIMIT (owes more than the limit),
    from the balances table, as `check_summary` counts them. None for an unknown level (or a
    percentage no one owes: over 10000%)."""
    owing = BAL.c.outstanding != 0
    if level == OVER_LIMIT:
        return select(BAL.c.client_id).where(
            owing, BAL.c.outstanding > func.coalesce(BAL.c.credit_limit, 0)
        )
    try:
        t = int(level)
    except (TypeError, ValueError):
        return None
    return select(BAL.c.client_id).where(owing, above(t)) if 0 < t <= 10000 else None


def _within(col, client_ids=None, id_range=None):
    conds = []
    if client_ids is not None:
        conds.append(col.in_(client_ids))
    if id_range is not None:
        conds.append(and_(col >= id_range[0], col < id_range[1]))
    return and_(true(), *conds)


def evaluate_thresholds(session, client_ids=None, id_range=None) -> list[tuple[int, int, int]]:
    """Set-based: mark every customer in range that crossed a threshold since it was last
    counted below it, notify each such crossing once, and re-arm those that fell below.

    The mark is one upsert per threshold over the customers above it and not yet marked:
    insert the (customer, threshold) row, or mark the existing one and count the crossing. The
    upsert locks the row and re-checks "not marked" on conflict, so a concurrent run waits,
    re-reads it after the first commits, finds it marked and returns nothing. A run that dies
    before commit rolls back its marks and its notifications together."""
    now = utcnow()
    where = _within(BAL.c.client_id, client_ids, id_range)
    crossed = []
    for t in thresholds():
        marked = exists().where(
            CROSS.c.client_id == BAL.c.client_id, CROSS.c.threshold == t, CROSS.c.above == true()
        )
        newly = select(
            BAL.c.client_id, literal(t), literal(True, Boolean), literal(1), literal(now)
        ).where(above(t), where, ~marked)
        ins = dialect_insert(session, CROSS).from_select(
            ["client_id", "threshold", "above", "crossing_no", "crossed_at"], newly
        )
        rows = session.execute(
            ins.on_conflict_do_update(
                index_elements=["client_id", "threshold"],
                set_={"above": True, "crossing_no": CROSS.c.crossing_no + 1, "crossed_at": now},
                where=CROSS.c.above == false(),
            ).returning(CROSS.c.client_id, CROSS.c.crossing_no)
        ).all()
        crossed += [(cid, t, n) for cid, n in rows]
        if rows:
            _notify_crossings(session, t, now, client_ids, id_range)
        below = select(BAL.c.client_id).where(~above(t), where)
        session.execute(
            update(CROSS)
            .where(
                CROSS.c.threshold == t,
                CROSS.c.above == true(),
                _within(CROSS.c.client_id, client_ids, id_range),
                CROSS.c.client_id.in_(below),
            )
            .values(above=False, rearmed_at=now)
        )
    return crossed


def _notify_crossings(session, t: int, now, client_ids=None, id_range=None) -> None:
    """Notify the crossings of threshold `t` this run marked (crossed_at = now), set-based
    (crm.notifications.services.notify_select: INSERT … SELECT, no Python loop per crossing).
    Recipients (R11): at 80% the regional manager and the commerce department; at 90% the
    regional manager, the sales department and the product centre — plus the account manager,
    who carries the customer's credit risk (R10). Departments are settings."""
    crossed = (
        select()
        .select_from(CROSS)
        .join(Client, Client.id == CROSS.c.client_id)
        .where(
            CROSS.c.threshold == t,
            CROSS.c.above == true(),
            CROSS.c.crossed_at == now,
            _within(CROSS.c.client_id, client_ids, id_range),
        )
    )
    key = (
        literal(f"credit:{t}:client:")
        .concat(cast(CROSS.c.client_id, String))
        .concat(literal(":crossing:"))
        .concat(cast(CROSS.c.crossing_no, String))
    )
    title = sql_text(
        _("Credit use of %(name)s passed %(t)s%%", name=field("name"), t=t), name=Client.name
    )
    body = sql_text(
        _(
            "%(name)s (%(code)s) owes at least %(t)s%% of its credit limit.",
            name=field("name"),
            code=field("code"),
            t=t,
        ),
        name=Client.name,
        code=func.coalesce(Client.code, ""),
    )
    columns = (
        key.label("event_key"),
        title.label("title"),
        body.label("body"),
        Client.id.label("client_id"),
        case(
            (PROF.c.id.is_not(None), "credit_profile.details_view"), else_="client.details_view"
        ).label("link_endpoint"),
        func.coalesce(PROF.c.id, Client.id).label("link_id"),
    )
    crossed = crossed.outerjoin(PROF, PROF.c.client_id == Client.id)
    departments = get_setting("credit_departments")
    routed = [
        departments.get(dept, {})
        for dept in get_setting("credit_threshold_departments").get(str(t), [])
    ]
    names = [u for cfg in routed for u in cfg.get("users", [])]
    active = User.active.is_(True)
    people = [
        and_(User.role == access.REGIONAL_MANAGER, User.region_id == Client.region_id),
        User.id == Client.owner_id,
    ]
    if names:
        people.append(User.username.in_(names))
    deliveries = union_all(
        *[
            crossed.join(User, and_(who, active)).add_columns(
                User.id.label("recipient_id"), *columns
            )
            for who in people
        ]
    )
    notify_select(
        session,
        f"credit_{t}",
        crossed.add_columns(*columns),
        deliveries,
        [a for cfg in routed for a in cfg.get("addresses", [])],
        execution_options=UNSCOPED,
    )


# --- checks ----------------------------------------------------------------------------------
def check_summary(session, today: date | None = None, client_ids=None, id_range=None) -> dict:
    """Customers over each threshold, over the limit and overdue — one statement each."""
    today = today or local_today()
    limit = func.coalesce(BAL.c.credit_limit, 0)
    cols = [
        func.count().label("customers"),
        func.coalesce(func.sum(BAL.c.outstanding), 0).label("outstanding"),
        func.coalesce(func.sum(case((BAL.c.outstanding > limit, 1), else_=0)), 0).label(
            "over_limit"
        ),
    ]
    cols += [
        func.coalesce(func.sum(case((above(t), 1), else_=0)), 0).label(f"over_{t}")
        for t in thresholds()
    ]
    row = (
        session.execute(
            select(*cols).where(
                BAL.c.outstanding != 0, _within(BAL.c.client_id, client_ids, id_range)
            )
        )
        .one()
        ._mapping
    )
    overdue = session.execute(
        select(
            func.count(func.distinct(OPEN.c.client_id)),
            func.coalesce(func.sum(OPEN.c.open_amount), 0),
        ).where(
            OPEN.c.kind == CHARGE,
            OPEN.c.due_date < today,
            _within(OPEN.c.client_id, client_ids, id_range),
        )
    ).one()
    out = {k: (str(rules.money(v)) if k == "outstanding" else int(v)) for k, v in row.items()}
    out.update(overdue_customers=int(overdue[0]), overdue_amount=str(rules.money(overdue[1])))
    return out


def _merge(total: dict, part: dict) -> dict:
    for k, v in part.items():
        if isinstance(v, str):
            total[k] = str(rules.money(Decimal(total.get(k, "0")) + Decimal(v)))
        else:
            total[k] = total.get(k, 0) + v
    return total


LIVE = ("queued", "running")
ALL_LOCK = "all"  # CheckRun.live_lock of the one live run of all customers


def _stale_before():
    minutes = current_app.config.get("TASK_STALE_MINUTES", 10) if has_app_context() else 10
    return utcnow() - timedelta(minutes=minutes)


def is_stalled(run: CheckRun) -> bool:
    """Live, but no chunk committed (nor claim) for TASK_STALE_MINUTES: its worker died, or
    the task never reached one. Resume takes it up from its last committed chunk."""
    beat = run.heartbeat_at or run.created_at
    return run.status in LIVE and beat < _stale_before()


def live_check(session) -> CheckRun | None:
    return session.scalar(select(CheckRun).where(CheckRun.live_lock == ALL_LOCK))


def _take_lock(session, run: CheckRun) -> None:
    """The unique live_lock refuses a second live run of all customers, on every database
    (a concurrent start fails at the insert and is answered as the first one would be)."""
    with session.no_autoflush:
        live = live_check(session)
    if live is not None and live is not run:
        if run in session.new:
            session.expunge(run)
        raise DomainError(
            _l(
                "A check of all customers is already under way (run %(id)s); "
                "wait for it or resume it.",
                id=live.id,
            )
        )
    run.live_lock = ALL_LOCK
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(
            _l("A check of all customers is already under way; wait for it or resume it.")
        ) from exc


def require_check(client_ids=None) -> None:
    """The current actor may run credit checks (the "check" action of the "credit" area in
    crm.access; SYSTEM may), of every customer named in `client_ids` (its credit scope).
    NotAllowed otherwise, before anything is written."""
    actor = current_actor()
    if not can(actor, "check", area="credit"):
        raise NotAllowed(_l("You may not run credit checks."))
    for client_id in sorted(set(client_ids or ())):
        if not can(actor, "check", CreditBalance(client_id=int(client_id)), area="credit"):
            raise NotAllowed(_l("You may not check this customer's credit."))


def start_check(session, client_ids=None, started_by=None) -> CheckRun:
    """A new check run of `client_ids` (None: all customers, one live run at a time), queued
    for `run_check`. Flushes; the caller commits (and then queues the task)."""
    require_check(client_ids)
    run = CheckRun(
        scope="all" if client_ids is None else "selected",
        client_ids=None if client_ids is None else sorted(int(i) for i in client_ids),
        started_by_id=getattr(started_by, "id", None),
    )
    session.add(run)
    if client_ids is None:
        _take_lock(session, run)
    session.flush()
    return run


def resume_check(session, run_id: int) -> CheckRun:
    """Queue a stalled or failed run again; it goes on from its last committed chunk.
    Flushes; the caller commits (and then queues the task)."""
    require_check()
    run = session.get(CheckRun, run_id)
    if run is None or not (run.status == "failed" or is_stalled(run)):
        raise DomainError(_l("Only a stalled or failed check can be resumed."))
    if run.scope == "all":
        _take_lock(session, run)
    run.status, run.claim, run.heartbeat_at, run.error = "queued", None, utcnow(), None
    session.flush()
    return run


def abandon_enqueue(session, run_id: int, resumed: bool) -> None:
    """The broker refused the task: a new run is removed, a resumed one is failed again (with
    its lock released), so that no run waits for a task that was never queued."""
    session.rollback()
    run = session.get(CheckRun, run_id)
    if run is None:
        return
    if resumed:
        run.status, run.live_lock, run.error = "failed", None, "not queued"
    else:
        session.delete(run)
    session.commit()


def run_check(
    session, run_id: int, today: date | None = None, chunk: int | None = None, on_chunk=None
) -> dict:
    """Run a check in client-id chunks, committing each chunk (its threshold marks, their
    notifications, the next id to check, the summary so far and the count of notices) together,
    so a screen can follow it and a run whose worker died goes on from its last chunk without
    notifying anyone twice. `on_chunk(done, total)` (the command line's progress bar) hears
    of each committed chunk, in customer ids.

    A task first claims the run: a queued run, or a live one that is stalled. A second delivery
    of the same task while the run is alive (or after it is done) does nothing. A worker whose
    run was taken over finds its claim gone at its next commit and stops there.

    Commits itself (see the module's docstring), after asking the actor's permission: a
    refused actor leaves the run as it was."""
    require_check()
    chunk = chunk or (
        current_app.config.get("CREDIT_CHECK_CHUNK", 20000) if has_app_context() else 20000
    )
    token = uuid4().hex
    claimed = session.execute(
        update(CheckRun)
        .where(
            CheckRun.id == run_id,
            or_(
                CheckRun.status == "queued",
                and_(
                    CheckRun.status == "running",
                    or_(CheckRun.heartbeat_at.is_(None), CheckRun.heartbeat_at < _stale_before()),
                ),
            ),
        )
        .values(
            status="running",
            claim=token,
            heartbeat_at=utcnow(),
            error=None,
            attempts=CheckRun.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    run = session.get(CheckRun, run_id)
    if not claimed:
        return {**(run.result or {}), "skipped": run.status} if run else {"skipped": "missing"}
    mine = and_(CheckRun.id == run_id, CheckRun.claim == token)

    def commit_chunk(**values) -> bool:
        owned = session.execute(
            update(CheckRun)
            .where(mine)
            .values(heartbeat_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if owned:
            session.commit()
        else:
            session.rollback()  # taken over: the new owner does this chunk
        return bool(owned)

    try:
        if run.client_ids is not None:
            n = len(evaluate_thresholds(session, client_ids=run.client_ids))
            result = check_summary(session, today, client_ids=run.client_ids)
            if not commit_chunk(notified=CheckRun.notified + n):
                return {"skipped": "taken over"}
            if on_chunk:
                on_chunk(len(run.client_ids), len(run.client_ids))
        else:
            first, hi = session.execute(
                select(func.min(BAL.c.client_id), func.max(BAL.c.client_id))
            ).one()
            first, hi = first or 0, hi or 0
            lo = max(first, run.next_client_id or first)
            result = dict(run.partial or {})
            for start in range(lo, hi + 1, chunk):
                window = (start, start + chunk)
                n = len(evaluate_thresholds(session, id_range=window))
                _merge(result, check_summary(session, today, id_range=window))
                if not commit_chunk(
                    next_client_id=start + chunk,
                    partial=dict(result),
                    notified=CheckRun.notified + n,
                    progress=min(99, int((start + chunk - first) * 100 / (hi - first + 1))),
                ):
                    return {"skipped": "taken over"}
                if on_chunk:
                    on_chunk(min(start + chunk, hi + 1) - first, hi - first + 1)
    except Exception as exc:
        session.rollback()
        session.execute(
            update(CheckRun)
            .where(mine)
            .values(status="failed", error=str(exc)[:1000], live_lock=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        raise
    notified = session.scalar(select(CheckRun.notified).where(CheckRun.id == run_id))
    result = {**result, "notified": notified}
    commit_chunk(status="done", progress=100, result=result, finished_at=utcnow(), live_lock=None)
    return result


def check_now(session, client_ids=None, started_by=None, today=None, on_chunk=None) -> dict:
    """Check `client_ids` (None: all customers) here and now, in this process: `start_check`
    and `run_check`, whose first commit commits the new run. Commits, as `run_check` does."""
    run = start_check(session, client_ids, started_by)
    return run_check(session, run.id, today, on_chunk=on_chunk)
