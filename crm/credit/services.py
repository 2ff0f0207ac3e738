"""Credit operations (RULES R11): the ledger, limits, thresholds, checks, aging, the review
chain and the quarterly re-evaluation. Each takes a session and plain values, checks its rule,
writes, and leaves the commit to the caller — so a notification and the state change that
raised it are committed, or rolled back, together.

Every ledger row is written with the customer's balance row locked (SELECT … FOR UPDATE), so
two clerks recording against one customer at once are serialised and the limit check sees
what the other wrote.
"""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
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
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from crm import access
from crm.access import can, current_actor
from crm.auth.models import User
from crm.clients.models import Client
from crm.credit import onsite, rules
from crm.credit.models import (
    CHARGE,
    PAYMENT,
    REVERSAL,
    Allocation,
    CheckRun,
    CreditBalance,
    CreditProfile,
    CreditReview,
    Crossing,
    Deferral,
    LedgerEntry,
    OpenItem,
    RepaymentPlan,
)
from crm.errors import DomainError, NotAllowed
from crm.notifications.services import field, notify_select, sql_text
from crm.settings import get_setting
from crm.timeutil import local_today, utcnow

BAL, PROF, CROSS, OPEN = (CreditBalance.__table__, CreditProfile.__table__, Crossing.__table__,
              OpenItem.__table__)
LEDGER, ALLOC = LedgerEntry.__table__, Allocation.__table__
UNSCOPED = {"crm_unscoped": True}  # scope is asked once, explicitly, before writing


# --- helpers ---------------------------------------------------------------------------------
def _require(actor, action: str, client_id: int, message) -> None:
    if not can(actor, action, CreditBalance(client_id=client_id), area="credit"):
        raise NotAllowed(message)


def _insert_ignore(session, table, rows, conflict_cols):
    return session.execute(_dialect_insert(session)(table).values(rows).on_conflict_do_nothing(
        index_elements=conflict_cols))


def _amount(value) -> Decimal:
    try:
        amount = rules.money(value)
        if not amount.is_finite():
            raise InvalidOperation
    except ArithmeticError as exc:
        raise DomainError(_l("This is not an amount."), {"amount": _l("Not a number.")}) from exc
    if amount <= 0:
        raise DomainError(_l("An amount must be more than zero."),
                          {"amount": _l("More than zero.")})
    if amount >= Decimal(10) ** 12:
        raise DomainError(_l("This amount is too large."), {"amount": _l("Too large.")})
    return amount


def thresholds() -> list[int]:
    return sorted(int(t) for t in get_setting("credit_thresholds"))


def lock_balance(session, client_id: int) -> Decimal:
    """Lock the customer's balance row (creating it on first use) and return what is owed."""
    stmt = (select(CreditBalance.outstanding).where(CreditBalance.client_id == client_id)
            .with_for_update().execution_options(**UNSCOPED))
    row = session.execute(stmt).first()
    if row is None:
        limit = select(PROF.c.credit_limit).where(PROF.c.client_id == client_id)
        _insert_ignore(session, BAL, [{"client_id": client_id, "outstanding": Decimal("0"),
                                       "credit_limit": limit.scalar_subquery(),
                                       "updated_at": utcnow()}], ["client_id"])
        row = session.execute(stmt).first()
    return row[0]


def _move_balance(session, client_id: int, delta: Decimal) -> None:
    session.execute(update(BAL).where(BAL.c.client_id == client_id)
                    .values(outstanding=BAL.c.outstanding + delta, updated_at=utcnow()))


def profile_of(session, client_id: int) -> CreditProfile | None:
    return session.execute(select(CreditProfile).where(CreditProfile.client_id == client_id)
                           .execution_options(**UNSCOPED)).scalar_one_or_none()


def _entry(session, **values) -> LedgerEntry:
    actor = current_actor()
    entry = LedgerEntry(recorded_by_id=getattr(actor, "id", None), **values)
    session.add(entry)
    session.flush()
    return entry


def _open(session, entry: LedgerEntry, amount: Decimal, due=None) -> None:
    """Add `amount` to the entry's open item, creating it if it was closed."""
    current = session.execute(select(OPEN.c.open_amount).where(OPEN.c.entry_id == entry.id)).first()
    if current is None:
        session.execute(insert(OPEN).values(entry_id=entry.id, client_id=entry.client_id,
                                         kind=entry.kind, entry_date=entry.entry_date,
                                         due_date=due, open_amount=amount))
    else:
        session.execute(update(OPEN).where(OPEN.c.entry_id == entry.id)
                        .values(open_amount=OPEN.c.open_amount + amount))


def _match(session, client_id: int) -> list[tuple[int, int, Decimal]]:
    """Apply the customer's open payments to its open charges, oldest charge first."""
    def items(kind):
        return session.execute(
            select(OPEN.c.entry_id, OPEN.c.open_amount, OPEN.c.entry_date)
            .where(OPEN.c.client_id == client_id, OPEN.c.kind == kind, OPEN.c.open_amount > 0)
            .order_by(OPEN.c.entry_date, OPEN.c.entry_id)).all()

    charges, payments = items(CHARGE), items(PAYMENT)
    triples = rules.allocate_fifo([(r[0], r[1]) for r in charges],
                                  [(r[0], r[1]) for r in payments])
    if not triples:
        return []
    dates = {r[0]: r[2] for r in (*charges, *payments)}
    now = utcnow()
    session.execute(insert(ALLOC), [
        {"client_id": client_id, "payment_id": p, "charge_id": c, "amount": amt,
         "alloc_date": max(dates[p], dates[c]), "created_at": now} for p, c, amt in triples])
    for p, c, amt in triples:
        for entry_id in (p, c):
            session.execute(update(OPEN).where(OPEN.c.entry_id == entry_id)
                            .values(open_amount=OPEN.c.open_amount - amt))
    session.execute(delete(OPEN).where(OPEN.c.client_id == client_id, OPEN.c.open_amount <= 0))
    return triples


# --- the ledger ------------------------------------------------------------------------------
def record_charge(session, client_id: int, amount, entry_date: date, reference: str,
                  source: str = "bill", note: str | None = None,
                  override_reason: str | None = None, override_by=None,
                  due_date: date | None = None) -> LedgerEntry:
    """Record a charge (a signed bill, an invoice, an instalment). Refused when it would take
    the customer over the limit, unless a manager's override is given with a reason."""
    actor = current_actor()
    _require(actor, "charge", client_id, _l("You may not record charges for this customer."))
    amount = _amount(amount)
    outstanding = lock_balance(session, client_id)
    profile = profile_of(session, client_id)
    limit = profile.credit_limit if profile else None
    override_reason = (override_reason or "").strip() or None
    if rules.would_exceed(outstanding, amount, limit):
        if not override_reason:
            raise DomainError(
                _l("Refused: this charge of %(amount)s would bring %(owed)s owed over the credit "
                   "limit of %(limit)s. A manager may override it with a reason.",
                   amount=amount, owed=outstanding + amount, limit=limit or 0),
                {"amount": _l("Over the credit limit.")})
        approver = override_by or actor
        if not can(approver, "override", CreditBalance(client_id=client_id), area="credit"):
            raise NotAllowed(_l("Only a regional, sales or general manager may override the "
                                "credit limit."))
        override_by = approver
    else:
        override_reason, override_by = None, None
    period = profile.period_days if profile else int(get_setting("credit_default_period_days"))
    due = due_date or rules.due_date(entry_date, period)
    entry = _entry(session, client_id=client_id, kind=CHARGE, source=source,
                   entry_date=entry_date, due_date=due, amount=amount, reference=reference or "",
                   note=note, override_reason=override_reason,
                   override_by_id=getattr(override_by, "id", None))
    _open(session, entry, amount, due)
    _move_balance(session, client_id, amount)
    _match(session, client_id)
    evaluate_thresholds(session, client_ids=[client_id])
    return entry


def record_payment(session, client_id: int, amount, entry_date: date, reference: str,
                   note: str | None = None) -> LedgerEntry:
    actor = current_actor()
    _require(actor, "payment", client_id, _l("Only finance records payments."))
    amount = _amount(amount)
    lock_balance(session, client_id)
    entry = _entry(session, client_id=client_id, kind=PAYMENT, entry_date=entry_date,
                   amount=amount, reference=reference or "", note=note)
    _open(session, entry, amount)
    _move_balance(session, client_id, -amount)
    _match(session, client_id)
    evaluate_thresholds(session, client_ids=[client_id])
    return entry


def _current_due(session, charge: LedgerEntry) -> date | None:
    moved = session.execute(select(Deferral.new_due_date).where(Deferral.charge_id == charge.id)
                            .order_by(Deferral.id.desc()).limit(1)
                            .execution_options(**UNSCOPED)).scalar()
    return moved or charge.due_date


def reverse_entry(session, entry_id: int, reason: str, entry_date: date | None = None):
    """Cancel a charge or a payment by a reversing entry; what was allocated to or from it is
    released and re-allocated, oldest charge first."""
    actor = current_actor()
    original = session.execute(select(LedgerEntry).where(LedgerEntry.id == entry_id)
                               .execution_options(**UNSCOPED)).scalar_one_or_none()
    if original is None:
        raise DomainError(_l("No such ledger entry."))
    _require(actor, "reverse", original.client_id, _l("Only finance reverses ledger entries."))
    if not (reason or "").strip():
        raise DomainError(_l("A reversal needs a reason."), {"note": _l("Give a reason.")})
    if original.kind == REVERSAL:
        raise DomainError(_l("A reversal cannot itself be reversed; record the entry again."))
    lock_balance(session, original.client_id)
    if session.execute(select(LEDGER.c.id).where(LEDGER.c.reverses_id == entry_id)).first():
        raise DomainError(_l("This entry has already been reversed."))
    entry = _entry(session, client_id=original.client_id, kind=REVERSAL,
                   entry_date=entry_date or local_today(), amount=original.amount,
                   reference=original.reference, note=reason.strip(), reverses_id=original.id)
    own, other = ((ALLOC.c.charge_id, ALLOC.c.payment_id) if original.kind == CHARGE
                  else (ALLOC.c.payment_id, ALLOC.c.charge_id))
    released = session.execute(select(other, func.sum(ALLOC.c.amount)).where(own == original.id)
                               .group_by(other)).all()
    now = utcnow()
    for counterpart_id, amount in released:
        if amount <= 0:
            continue
        pair = ({"payment_id": counterpart_id, "charge_id": original.id}
                if original.kind == CHARGE else
                {"payment_id": original.id, "charge_id": counterpart_id})
        session.execute(insert(ALLOC).values(client_id=original.client_id, amount=-amount,
                                          alloc_date=entry.entry_date, created_at=now, **pair))
        counterpart = session.get(LedgerEntry, counterpart_id)
        due = _current_due(session, counterpart) if counterpart.kind == CHARGE else None
        _open(session, counterpart, amount, due)
    session.execute(delete(OPEN).where(OPEN.c.entry_id == original.id))
    _move_balance(session, original.client_id,
                  -original.amount if original.kind == CHARGE else original.amount)
    _match(session, original.client_id)
    evaluate_thresholds(session, client_ids=[original.client_id])
    return entry


def defer_charge(session, charge_id: int, new_due_date: date, reason: str) -> Deferral:
    """A deferred-payment approval: the charge's due date moves; the ledger row stays."""
    actor = current_actor()
    charge = session.execute(select(LedgerEntry).where(LedgerEntry.id == charge_id)
                             .execution_options(**UNSCOPED)).scalar_one_or_none()
    if charge is None or charge.kind != CHARGE:
        raise DomainError(_l("Only a charge has a due date to defer."))
    _require(actor, "defer", charge.client_id,
             _l("Only a regional, sales or general manager approves a deferred payment."))
    if not (reason or "").strip():
        raise DomainError(_l("A deferral needs a reason."), {"reason": _l("Give a reason.")})
    lock_balance(session, charge.client_id)
    deferral = Deferral(client_id=charge.client_id, charge_id=charge.id,
                        old_due_date=_current_due(session, charge), new_due_date=new_due_date,
                        reason=reason.strip(), approved_by_id=getattr(actor, "id", None))
    session.add(deferral)
    session.execute(update(OPEN).where(OPEN.c.entry_id == charge.id).values(due_date=new_due_date))
    session.flush()
    return deferral


def add_repayment_plan(session, client_id: int, kind: str, signed_on: date, amount,
                       schedule: str) -> RepaymentPlan:
    actor = current_actor()
    _require(actor, "plan", client_id, _l("You may not file plans for this customer."))
    plan = RepaymentPlan(client_id=client_id, kind=kind, signed_on=signed_on,
                         amount=_amount(amount), schedule=schedule or "",
                         recorded_by_id=getattr(actor, "id", None))
    session.add(plan)
    session.flush()
    return plan


# --- derived figures -------------------------------------------------------------------------
def client_credit(session, client_id: int, today: date | None = None) -> dict:
    """Outstanding, limit, utilisation, overdue and aging of one customer."""
    today = today or local_today()
    outstanding = session.execute(select(BAL.c.outstanding).where(BAL.c.client_id == client_id)
                                  ).scalar() or Decimal("0.00")
    profile = profile_of(session, client_id)
    limit = profile.credit_limit if profile else None
    buckets = dict.fromkeys(rules.AGING_BUCKETS, Decimal("0.00"))
    for due, amount in session.execute(select(OPEN.c.due_date, OPEN.c.open_amount).where(
            OPEN.c.client_id == client_id, OPEN.c.kind == CHARGE)):
        bucket = rules.aging_bucket((today - due).days if due else 0)
        buckets[bucket] += amount
    overdue = sum((v for k, v in buckets.items() if k != "not_due"), Decimal("0.00"))
    return {"outstanding": rules.money(outstanding), "limit": limit, "profile": profile,
            "utilisation": rules.utilisation(outstanding, limit), "overdue": overdue,
            "aging": buckets, "available": (limit - outstanding) if limit is not None else None}


def _aging_columns(today: date):
    from datetime import timedelta

    due = OPEN.c.due_date
    amt = OPEN.c.open_amount

    def older(days):
        return today - timedelta(days=days)

    return [
        func.sum(case((or_(due.is_(None), due >= today), amt), else_=0)).label("not_due"),
        func.sum(case((and_(due < today, due >= older(30)), amt), else_=0)).label("d1_30"),
        func.sum(case((and_(due < older(30), due >= older(60)), amt), else_=0)).label("d31_60"),
        func.sum(case((and_(due < older(60), due >= older(90)), amt), else_=0)).label("d61_90"),
        func.sum(case((due < older(90), amt), else_=0)).label("d90_plus"),
        func.sum(amt).label("total"),
    ]


def aging_report(session, group: str = "client", today: date | None = None) -> list[dict]:
    """Open charges by age past due (not due, 1–30, 31–60, 61–90, >90 days) per customer,
    account manager or region. An ORM query: the signed-in user's scope narrows it."""
    from crm.auth.models import Region

    today = today or local_today()
    cols = _aging_columns(today)
    keys = {"client": (Client.id, Client.code, Client.name),
            "owner": (User.id, User.full_name), "region": (Region.id, Region.name)}[group]
    stmt = (select(*keys, *cols).select_from(OpenItem).join(Client, Client.id == OpenItem.client_id)
            .where(OpenItem.kind == CHARGE))
    if group == "owner":
        stmt = stmt.outerjoin(User, User.id == Client.owner_id)
    elif group == "region":
        stmt = stmt.outerjoin(Region, Region.id == Client.region_id)
    rows = session.execute(stmt.group_by(*keys).order_by(func.sum(OpenItem.open_amount).desc()))
    out = []
    for row in rows:
        m = row._mapping
        label = (f"{m['name']} ({m['code']})" if group == "client"
                 else (m.get("full_name") or m.get("name") or "—"))
        out.append({"key": row[0], "label": label,
                    **{k: rules.money(m[k] or 0) for k in (*rules.AGING_BUCKETS, "total")}})
    return out


def aging_totals(session, today: date | None = None) -> dict:
    """The totals row of the aging report: every bucket summed over the reader's customers in
    one statement (the same rows the report groups; the scope narrows it alike)."""
    today = today or local_today()
    row = session.execute(
        select(*_aging_columns(today)).select_from(OpenItem)
        .join(Client, Client.id == OpenItem.client_id).where(OpenItem.kind == CHARGE)
    ).one()._mapping
    return {k: rules.money(row[k] or 0) for k in (*rules.AGING_BUCKETS, "total")}


# --- thresholds ------------------------------------------------------------------------------
def _above(t: int):
    return and_(BAL.c.outstanding > 0,
                BAL.c.outstanding * 100 >= t * func.coalesce(BAL.c.credit_limit, 0))


OVER_LIMIT = "over"  # the check's "over the limit" (owes more than the limit)


def customers_over(level):
    """SELECT of the ids of the customers the credit check counts at `level`: a threshold in
    per cent (80 → owes at least 80% of the limit) or OVER_LIMIT (owes more than the limit),
    from the balances table, as `check_summary` counts them. None for an unknown level (or a
    percentage no one owes: over 10000%)."""
    owing = BAL.c.outstanding != 0
    if level == OVER_LIMIT:
        return select(BAL.c.client_id).where(
            owing, BAL.c.outstanding > func.coalesce(BAL.c.credit_limit, 0))
    try:
        t = int(level)
    except (TypeError, ValueError):
        return None
    return select(BAL.c.client_id).where(owing, _above(t)) if 0 < t <= 10000 else None


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
        marked = exists().where(CROSS.c.client_id == BAL.c.client_id, CROSS.c.threshold == t,
                                CROSS.c.above == true())
        above = (select(BAL.c.client_id, literal(t), literal(True, Boolean), literal(1),
                        literal(now)).where(_above(t), where, ~marked))
        ins = _dialect_insert(session)(CROSS).from_select(
            ["client_id", "threshold", "above", "crossing_no", "crossed_at"], above)
        rows = session.execute(ins.on_conflict_do_update(
            index_elements=["client_id", "threshold"],
            set_={"above": True, "crossing_no": CROSS.c.crossing_no + 1, "crossed_at": now},
            where=CROSS.c.above == false(),
        ).returning(CROSS.c.client_id, CROSS.c.crossing_no)).all()
        crossed += [(cid, t, n) for cid, n in rows]
        if rows:
            _notify_crossings(session, t, now, client_ids, id_range)
        below = select(BAL.c.client_id).where(~_above(t), where)
        session.execute(update(CROSS).where(CROSS.c.threshold == t, CROSS.c.above == true(),
                                            _within(CROSS.c.client_id, client_ids, id_range),
                                            CROSS.c.client_id.in_(below))
                        .values(above=False, rearmed_at=now))
    return crossed


def _dialect_insert(session):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql"
            else sqlite.insert)


def _notify_crossings(session, t: int, now, client_ids=None, id_range=None) -> None:
    """Notify the crossings of threshold `t` this run marked (crossed_at = now), set-based
    (crm.notifications.services.notify_select: INSERT … SELECT, no Python loop per crossing).
    Recipients (R11): at 80% the regional manager and the commerce department; at 90% the
    regional manager, the sales department and the product centre — plus the account manager,
    who carries the customer's credit risk (R10). Departments are settings."""
    crossed = select().select_from(CROSS).join(Client, Client.id == CROSS.c.client_id).where(
        CROSS.c.threshold == t, CROSS.c.above == true(), CROSS.c.crossed_at == now,
        _within(CROSS.c.client_id, client_ids, id_range))
    key = (literal(f"credit:{t}:client:").concat(cast(CROSS.c.client_id, String))
           .concat(literal(":crossing:")).concat(cast(CROSS.c.crossing_no, String)))
    title = sql_text(_("Credit use of %(name)s passed %(t)s%%", name=field("name"), t=t),
                     name=Client.name)
    body = sql_text(_("%(name)s (%(code)s) owes at least %(t)s%% of its credit limit.",
                      name=field("name"), code=field("code"), t=t),
                    name=Client.name, code=func.coalesce(Client.code, ""))
    columns = (key.label("event_key"), title.label("title"), body.label("body"),
               Client.id.label("client_id"),
               case((PROF.c.id.is_not(None), "credit_profile.details_view"),
                    else_="client.details_view").label("link_endpoint"),
               func.coalesce(PROF.c.id, Client.id).label("link_id"))
    crossed = crossed.outerjoin(PROF, PROF.c.client_id == Client.id)
    departments = get_setting("credit_departments")
    routed = [departments.get(dept, {}) for dept in get_setting(
        "credit_threshold_departments").get(str(t), [])]
    names = [u for cfg in routed for u in cfg.get("users", [])]
    active = User.active.is_(True)
    people = [and_(User.role == access.REGIONAL_MANAGER, User.region_id == Client.region_id),
              User.id == Client.owner_id]
    if names:
        people.append(User.username.in_(names))
    deliveries = union_all(*[crossed.join(User, and_(who, active))
                             .add_columns(User.id.label("recipient_id"), *columns)
                             for who in people])
    notify_select(session, f"credit_{t}", crossed.add_columns(*columns), deliveries,
                  [a for cfg in routed for a in cfg.get("addresses", [])],
                  execution_options=UNSCOPED)


# --- checks ----------------------------------------------------------------------------------
def check_summary(session, today: date | None = None, client_ids=None, id_range=None) -> dict:
    """Customers over each threshold, over the limit and overdue — one statement each."""
    today = today or local_today()
    limit = func.coalesce(BAL.c.credit_limit, 0)
    cols = [func.count().label("customers"),
            func.coalesce(func.sum(BAL.c.outstanding), 0).label("outstanding"),
            func.coalesce(func.sum(case((BAL.c.outstanding > limit, 1), else_=0)), 0)
            .label("over_limit")]
    cols += [func.coalesce(func.sum(case((_above(t), 1), else_=0)), 0).label(f"over_{t}")
             for t in thresholds()]
    row = session.execute(select(*cols).where(
        BAL.c.outstanding != 0, _within(BAL.c.client_id, client_ids, id_range))).one()._mapping
    overdue = session.execute(
        select(func.count(func.distinct(OPEN.c.client_id)),
               func.coalesce(func.sum(OPEN.c.open_amount), 0))
        .where(OPEN.c.kind == CHARGE, OPEN.c.due_date < today,
               _within(OPEN.c.client_id, client_ids, id_range))).one()
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
        raise DomainError(_l("A check of all customers is already under way (run %(id)s); "
                             "wait for it or resume it.", id=live.id))
    run.live_lock = ALL_LOCK
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DomainError(_l("A check of all customers is already under way; wait for it "
                             "or resume it.")) from exc


def start_check(session, client_ids=None, started_by=None) -> CheckRun:
    run = CheckRun(scope="all" if client_ids is None else "selected",
                   client_ids=None if client_ids is None else sorted(int(i) for i in client_ids),
                   started_by_id=getattr(started_by, "id", None))
    session.add(run)
    if client_ids is None:
        _take_lock(session, run)
    session.flush()
    return run


def resume_check(session, run_id: int) -> CheckRun:
    """Queue a stalled or failed run again; it goes on from its last committed chunk."""
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


def run_check(session, run_id: int, today: date | None = None, chunk: int | None = None,
              on_chunk=None) -> dict:
    """Run a check in client-id chunks, committing each chunk (its threshold marks, their
    notifications, the next id to check, the summary so far and the count of notices) together,
    so a screen can follow it and a run whose worker died goes on from its last chunk without
    notifying anyone twice. `on_chunk(done, total)` (the command line's progress bar) hears
    of each committed chunk, in customer ids.

    A task first claims the run: a queued run, or a live one that is stalled. A second delivery
    of the same task while the run is alive (or after it is done) does nothing. A worker whose
    run was taken over finds its claim gone at its next commit and stops there."""
    chunk = chunk or (current_app.config.get("CREDIT_CHECK_CHUNK", 20000)
                      if has_app_context() else 20000)
    token = uuid4().hex
    claimed = session.execute(
        update(CheckRun).where(CheckRun.id == run_id, or_(
            CheckRun.status == "queued",
            and_(CheckRun.status == "running", or_(CheckRun.heartbeat_at.is_(None),
                                                   CheckRun.heartbeat_at < _stale_before()))))
        .values(status="running", claim=token, heartbeat_at=utcnow(), error=None,
                attempts=CheckRun.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    session.commit()
    run = session.get(CheckRun, run_id)
    if not claimed:
        return {**(run.result or {}), "skipped": run.status} if run else {"skipped": "missing"}
    mine = and_(CheckRun.id == run_id, CheckRun.claim == token)

    def commit_chunk(**values) -> bool:
        owned = session.execute(update(CheckRun).where(mine).values(
            heartbeat_at=utcnow(), **values).execution_options(synchronize_session=False)
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
                select(func.min(BAL.c.client_id), func.max(BAL.c.client_id))).one()
            first, hi = first or 0, hi or 0
            lo = max(first, run.next_client_id or first)
            result = dict(run.partial or {})
            for start in range(lo, hi + 1, chunk):
                window = (start, start + chunk)
                n = len(evaluate_thresholds(session, id_range=window))
                _merge(result, check_summary(session, today, id_range=window))
                if not commit_chunk(
                        next_client_id=start + chunk, partial=dict(result),
                        notified=CheckRun.notified + n,
                        progress=min(99, int((start + chunk - first) * 100 / (hi - first + 1)))):
                    return {"skipped": "taken over"}
                if on_chunk:
                    on_chunk(min(start + chunk, hi + 1) - first, hi - first + 1)
    except Exception as exc:
        session.rollback()
        session.execute(update(CheckRun).where(mine).values(
            status="failed", error=str(exc)[:1000], live_lock=None)
            .execution_options(synchronize_session=False))
        session.commit()
        raise
    notified = session.scalar(select(CheckRun.notified).where(CheckRun.id == run_id))
    result = {**result, "notified": notified}
    commit_chunk(status="done", progress=100, result=result, finished_at=utcnow(),
                 live_lock=None)
    return result


def check_now(session, client_ids=None, started_by=None, today=None, on_chunk=None) -> dict:
    run = start_check(session, client_ids, started_by)
    session.commit()
    return run_check(session, run.id, today, on_chunk=on_chunk)


def reconcile_balances(session) -> list[tuple[int, Decimal, Decimal]]:
    """Recompute every balance from the ledger (one GROUP BY) and list the differences."""
    orig = LEDGER.alias("orig")
    amount = LEDGER.c.amount
    signed = case((LEDGER.c.kind == CHARGE, amount), (LEDGER.c.kind == PAYMENT, -amount),
                  (orig.c.kind == CHARGE, -amount), else_=amount)
    ledger = (select(LEDGER.c.client_id, func.sum(signed).label("owed"))
              .select_from(LEDGER.outerjoin(orig, orig.c.id == LEDGER.c.reverses_id))
              .group_by(LEDGER.c.client_id).subquery())
    rows = session.execute(
        select(ledger.c.client_id, func.coalesce(BAL.c.outstanding, 0), ledger.c.owed)
        .select_from(ledger.outerjoin(BAL, BAL.c.client_id == ledger.c.client_id))
        .where(func.coalesce(BAL.c.outstanding, 0) != ledger.c.owed)).all()
    return [(cid, rules.money(kept), rules.money(owed)) for cid, kept, owed in rows]


# --- the R11 review chain --------------------------------------------------------------------
STEP_ROLE = {"region": access.REGIONAL_MANAGER, "sales": access.SALES_MANAGER,
             "gm": access.GENERAL_MANAGER}
NEXT_STEP = {"region": "sales", "sales": "gm", "gm": "approved"}
OPEN_STATUSES = tuple(STEP_ROLE)
PROFILE_FIELDS = ("grade", "credit_limit", "period_days", "payment_terms", "payment_method",
                  "direct_export", "collateral")


def propose_credit(session, client_id: int, values: dict, situation: str = "",
                   origin: str = "proposal", period: str | None = None) -> CreditReview:
    """The salesperson's proposal of grade, limit, period and terms; it waits for the chain."""
    actor = current_actor()
    _require(actor, "propose", client_id, _l("You may not propose credit for this customer."))
    errors = {}
    if values.get("grade") not in get_setting("credit_grades"):
        errors["grade"] = _l("Choose a grade from the scale.")
    try:
        limit = rules.money(values.get("credit_limit"))
        if limit < 0:
            raise ArithmeticError
    except (ArithmeticError, TypeError):
        errors["credit_limit"] = _l("A limit is an amount of zero or more.")
    if not isinstance(values.get("period_days"), int) or values["period_days"] <= 0:
        errors["period_days"] = _l("A credit period is a number of days.")
    if errors:
        raise DomainError(_l("The proposal is incomplete."), errors)
    if session.execute(select(CreditReview.id).where(
            CreditReview.client_id == client_id, CreditReview.status.in_(OPEN_STATUSES))
            .execution_options(**UNSCOPED)).first():
        raise DomainError(_l("This customer already has a credit proposal under review."))
    current = profile_of(session, client_id)
    previous = ({f: rules_plain(getattr(current, f)) for f in PROFILE_FIELDS}
                if current else None)
    review = CreditReview(client_id=client_id, origin=origin, period=period, status="region",
                          previous=previous, situation=situation or "",
                          proposed_by_id=getattr(actor, "id", None),
                          **{f: values.get(f) for f in PROFILE_FIELDS if f != "credit_limit"},
                          credit_limit=limit)
    review.direct_export = bool(values.get("direct_export"))
    session.add(review)
    session.flush()
    return review


def rules_plain(value):
    return str(value) if isinstance(value, Decimal) else value


def decide_review(session, review_id: int, approve: bool, opinion: str, actor=None):
    """One step of the chain by the role whose turn it is; the general manager's approval
    applies the proposal to the profile (and re-checks thresholds against the new limit)."""
    actor = actor or current_actor()
    review = session.execute(select(CreditReview).where(CreditReview.id == review_id)
                             .execution_options(**UNSCOPED)).scalar_one_or_none()
    if review is None or review.status not in OPEN_STATUSES:
        raise DomainError(_l("This proposal is not waiting for a decision."))
    step = review.status
    if getattr(actor, "role", None) != STEP_ROLE[step] or not can(actor, "view", review):
        raise NotAllowed(_l("This step belongs to the %(role)s.",
                            role=access.ROLES[STEP_ROLE[step]]))
    if not (opinion or "").strip():
        raise DomainError(_l("Write your opinion."), {"opinion": _l("Required.")})
    onsite.before_decision(session, review, NEXT_STEP[step] if approve else "rejected")
    setattr(review, f"{step}_opinion", opinion.strip())
    setattr(review, f"{step}_by_id", actor.id)
    setattr(review, f"{step}_at", utcnow())
    review.status = NEXT_STEP[step] if approve else "rejected"
    if review.status == "approved":
        lock_balance(session, review.client_id)
        profile = profile_of(session, review.client_id) or CreditProfile(
            client_id=review.client_id)
        for f in PROFILE_FIELDS:
            setattr(profile, f, getattr(review, f))
        profile.review_id = review.id
        session.add(profile)
        session.execute(update(BAL).where(BAL.c.client_id == review.client_id)
                        .values(credit_limit=review.credit_limit))
        session.flush()
        evaluate_thresholds(session, client_ids=[review.client_id])
    session.flush()
    return review


# --- quarterly re-evaluation -----------------------------------------------------------------
def month_facts(session, month_ends: list[date]) -> dict[int, list[rules.Month]]:
    """Per customer with a profile and per month: was a debt due and unpaid since the month
    began, what was collected, was anything overdue at its end — three statements a month."""
    from datetime import timedelta

    DEFER = Deferral.__table__
    rev = LEDGER.alias("rev")
    not_reversed = ~exists().where(rev.c.reverses_id == LEDGER.c.id)
    due = func.coalesce(select(DEFER.c.new_due_date).where(DEFER.c.charge_id == LEDGER.c.id)
                        .order_by(DEFER.c.id.desc()).limit(1).scalar_subquery(), LEDGER.c.due_date)
    facts: dict[int, list] = {}
    profiled = [cid for (cid,) in session.execute(select(PROF.c.client_id))]
    for end in month_ends:
        start = end.replace(day=1)
        paid = (select(ALLOC.c.charge_id, func.sum(ALLOC.c.amount).label("paid"))
                .where(ALLOC.c.alloc_date < start).group_by(ALLOC.c.charge_id).subquery())
        due_ids = {cid for (cid,) in session.execute(
            select(LEDGER.c.client_id).distinct()
            .select_from(LEDGER.outerjoin(paid, paid.c.charge_id == LEDGER.c.id))
            .where(LEDGER.c.kind == CHARGE, not_reversed, due <= end,
                   LEDGER.c.amount - func.coalesce(paid.c.paid, 0) > 0))}
        settled = (select(ALLOC.c.charge_id, func.sum(ALLOC.c.amount).label("paid"))
                   .where(ALLOC.c.alloc_date <= end).group_by(ALLOC.c.charge_id).subquery())
        late_ids = {cid for (cid,) in session.execute(
            select(LEDGER.c.client_id).distinct()
            .select_from(LEDGER.outerjoin(settled, settled.c.charge_id == LEDGER.c.id))
            .where(LEDGER.c.kind == CHARGE, not_reversed, due < end,
                   LEDGER.c.amount - func.coalesce(settled.c.paid, 0) > 0))}
        collected = dict(session.execute(
            select(LEDGER.c.client_id, func.sum(LEDGER.c.amount))
            .where(LEDGER.c.kind == PAYMENT, not_reversed, LEDGER.c.entry_date >= start,
                   LEDGER.c.entry_date < end + timedelta(days=1))
            .group_by(LEDGER.c.client_id)).all())
        for cid in profiled:
            facts.setdefault(cid, []).append(
                rules.Month(cid in due_ids, Decimal(collected.get(cid) or 0), cid in late_ids))
    return facts


def quarterly_reevaluation(session, today: date | None = None) -> int:
    """Propose a grade (or limit) step for every customer whose last three months earn one.
    Once per quarter per customer (a unique period key); proposals wait for the R11 chain."""
    today = today or local_today()
    period = rules.quarter_of(today)
    facts = month_facts(session, rules.month_ends_before(today, 3))
    overdue = dict(session.execute(
        select(OPEN.c.client_id, func.sum(OPEN.c.open_amount))
        .where(OPEN.c.kind == CHARGE, OPEN.c.due_date < today).group_by(OPEN.c.client_id)).all())
    busy = {cid for (cid,) in session.execute(
        select(CreditReview.client_id).where(or_(CreditReview.status.in_(OPEN_STATUSES),
                                                 CreditReview.period == period))
        .execution_options(**UNSCOPED))}
    made = 0
    for profile in session.scalars(select(CreditProfile).execution_options(**UNSCOPED)):
        if profile.client_id in busy:
            continue
        proposal = rules.reevaluate(profile.grade, profile.credit_limit,
                                    get_setting("credit_grades"),
                                    get_setting("credit_raise_step_percent"),
                                    facts.get(profile.client_id, []),
                                    Decimal(overdue.get(profile.client_id) or 0))
        if proposal is None:
            continue
        values = {f: getattr(profile, f) for f in PROFILE_FIELDS}
        values.update(grade=proposal.grade, credit_limit=proposal.limit)
        propose_credit(session, profile.client_id, values,
                       situation=f"{period}: {proposal.reason} ({proposal.direction})",
                       origin="reevaluation", period=period)
        made += 1
    return made
