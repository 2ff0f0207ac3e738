"""The receivables ledger (RULES R11): charges, payments, reversals, deferrals and repayment
plans, the figures derived from them (balance, open items, allocations, aging) and the nightly
reconciliation of balances against the ledger.

Who commits: the caller. Every function here takes a session, checks the actor's permission
(`require`: the `ACTIONS["credit"]` table of crm.access, SYSTEM allowed) and the rule, writes,
and leaves the commit to the caller, so a notification and the ledger row that raised it are
committed, or rolled back, together.

Every ledger row is written with the customer's balance row locked (SELECT … FOR UPDATE), so
two clerks recording against one customer at once are serialised and the limit check sees
what the other wrote; the thresholds are checked in the same transaction (crm.credit.checks).
"""

from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from crm.access import can, current_actor
from crm.auth.models import User
from crm.clients.models import Client
from crm.credit import rules
from crm.credit.checks import evaluate_thresholds
from crm.credit.models import (
    ALLOC,
    BAL,
    CHARGE,
    LEDGER,
    OPEN,
    PAYMENT,
    PROF,
    REVERSAL,
    CreditBalance,
    CreditProfile,
    Deferral,
    LedgerEntry,
    OpenItem,
    RepaymentPlan,
)
from crm.errors import DomainError, NotAllowed
from crm.kernel import insert_or_ignore, parse_money, unscoped
from crm.settings import get_setting
from crm.timeutil import local_today, utcnow

UNSCOPED = unscoped("the scope is asked once, explicitly, before writing")


# --- helpers ---------------------------------------------------------------------------------
def require(actor, action: str, client_id: int, message) -> None:
    if not can(actor, action, CreditBalance(client_id=client_id), area="credit"):
        raise NotAllowed(message)


def lock_balance(session, client_id: int) -> Decimal:
    """Lock the customer's balance row (creating it on first use) and return what is owed."""
    stmt = (
        select(CreditBalance.outstanding)
        .where(CreditBalance.client_id == client_id)
        .with_for_update()
        .execution_options(**UNSCOPED)
    )
    row = session.execute(stmt).first()
    if row is None:
        limit = select(PROF.c.credit_limit).where(PROF.c.client_id == client_id)
        session.execute(
            insert_or_ignore(session, BAL, ["client_id"]).values(
                client_id=client_id,
                outstanding=Decimal("0"),
                credit_limit=limit.scalar_subquery(),
                updated_at=utcnow(),
            )
        )
        row = session.execute(stmt).first()
    return row[0]


def _move_balance(session, client_id: int, delta: Decimal) -> None:
    session.execute(
        update(BAL)
        .where(BAL.c.client_id == client_id)
        .values(outstanding=BAL.c.outstanding + delta, updated_at=utcnow())
    )


def profile_of(session, client_id: int) -> CreditProfile | None:
    return session.execute(
        select(CreditProfile)
        .where(CreditProfile.client_id == client_id)
        .execution_options(**UNSCOPED)
    ).scalar_one_or_none()


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
        session.execute(
            insert(OPEN).values(
                entry_id=entry.id,
                client_id=entry.client_id,
                kind=entry.kind,
                entry_date=entry.entry_date,
                due_date=due,
                open_amount=amount,
            )
        )
    else:
        session.execute(
            update(OPEN)
            .where(OPEN.c.entry_id == entry.id)
            .values(open_amount=OPEN.c.open_amount + amount)
        )


def _match(session, client_id: int) -> list[tuple[int, int, Decimal]]:
    """Apply the customer's open payments to its open charges, oldest charge first."""

    def items(kind):
        return session.execute(
            select(OPEN.c.entry_id, OPEN.c.open_amount, OPEN.c.entry_date)
            .where(OPEN.c.client_id == client_id, OPEN.c.kind == kind, OPEN.c.open_amount > 0)
            .order_by(OPEN.c.entry_date, OPEN.c.entry_id)
        ).all()

    charges, payments = items(CHARGE), items(PAYMENT)
    triples = rules.allocate_fifo([(r[0], r[1]) for r in charges], [(r[0], r[1]) for r in payments])
    if not triples:
        return []
    dates = {r[0]: r[2] for r in (*charges, *payments)}
    now = utcnow()
    session.execute(
        insert(ALLOC),
        [
            {
                "client_id": client_id,
                "payment_id": p,
                "charge_id": c,
                "amount": amt,
                "alloc_date": max(dates[p], dates[c]),
                "created_at": now,
            }
            for p, c, amt in triples
        ],
    )
    for p, c, amt in triples:
        for entry_id in (p, c):
            session.execute(
                update(OPEN)
                .where(OPEN.c.entry_id == entry_id)
                .values(open_amount=OPEN.c.open_amount - amt)
            )
    session.execute(delete(OPEN).where(OPEN.c.client_id == client_id, OPEN.c.open_amount <= 0))
    return triples


# --- the ledger ------------------------------------------------------------------------------
def record_charge(
    session,
    client_id: int,
    amount,
    entry_date: date,
    reference: str,
    source: str = "bill",
    note: str | None = None,
    override_reason: str | None = None,
    override_by=None,
    due_date: date | None = None,
) -> LedgerEntry:
    """Record a charge (a signed bill, an invoice, an instalment). Refused when it would take
    the customer over the limit, unless a manager's override is given with a reason."""
    actor = current_actor()
    require(actor, "charge", client_id, _l("You may not record charges for this customer."))
    amount = parse_money(amount, positive=True, round_cents=True)
    outstanding = lock_balance(session, client_id)
    profile = profile_of(session, client_id)
    limit = profile.credit_limit if profile else None
    override_reason = (override_reason or "").strip() or None
    if rules.would_exceed(outstanding, amount, limit):
        if not override_reason:
            raise DomainError(
                _l(
                    "Refused: this charge of %(amount)s would bring %(owed)s owed over the credit "
                    "limit of %(limit)s. A manager may override it with a reason.",
                    amount=amount,
                    owed=outstanding + amount,
                    limit=limit or 0,
                ),
                {"amount": _l("Over the credit limit.")},
            )
        approver = override_by or actor
        if not can(approver, "override", CreditBalance(client_id=client_id), area="credit"):
            raise NotAllowed(
                _l("Only a regional, sales or general manager may override the credit limit.")
            )
        override_by = approver
    else:
        override_reason, override_by = None, None
    period = profile.period_days if profile else int(get_setting("credit_default_period_days"))
    due = due_date or rules.due_date(entry_date, period)
    entry = _entry(
        session,
        client_id=client_id,
        kind=CHARGE,
        source=source,
        entry_date=entry_date,
        due_date=due,
        amount=amount,
        reference=reference or "",
        note=note,
        override_reason=override_reason,
        override_by_id=getattr(override_by, "id", None),
    )
    _open(session, entry, amount, due)
    _move_balance(session, client_id, amount)
    _match(session, client_id)
    evaluate_thresholds(session, client_ids=[client_id])
    return entry


def record_payment(
    session, client_id: int, amount, entry_date: date, reference: str, note: str | None = None
) -> LedgerEntry:
    actor = current_actor()
    require(actor, "payment", client_id, _l("Only finance records payments."))
    amount = parse_money(amount, positive=True, round_cents=True)
    lock_balance(session, client_id)
    entry = _entry(
        session,
        client_id=client_id,
        kind=PAYMENT,
        entry_date=entry_date,
        amount=amount,
        reference=reference or "",
        note=note,
    )
    _open(session, entry, amount)
    _move_balance(session, client_id, -amount)
    _match(session, client_id)
    evaluate_thresholds(session, client_ids=[client_id])
    return entry


def _current_due(session, charge: LedgerEntry) -> date | None:
    moved = session.execute(
        select(Deferral.new_due_date)
        .where(Deferral.charge_id == charge.id)
        .order_by(Deferral.id.desc())
        .limit(1)
        .execution_options(**UNSCOPED)
    ).scalar()
    return moved or charge.due_date


def reverse_entry(session, entry_id: int, reason: str, entry_date: date | None = None):
    """Cancel a charge or a payment by a reversing entry; what was allocated to or from it is
    released and re-allocated, oldest charge first."""
    actor = current_actor()
    original = session.execute(
        select(LedgerEntry).where(LedgerEntry.id == entry_id).execution_options(**UNSCOPED)
    ).scalar_one_or_none()
    if original is None:
        raise DomainError(_l("No such ledger entry."))
    require(actor, "reverse", original.client_id, _l("Only finance reverses ledger entries."))
    if not (reason or "").strip():
        raise DomainError(_l("A reversal needs a reason."), {"note": _l("Give a reason.")})
    if original.kind == REVERSAL:
        raise DomainError(_l("A reversal cannot itself be reversed; record the entry again."))
    lock_balance(session, original.client_id)
    if session.execute(select(LEDGER.c.id).where(LEDGER.c.reverses_id == entry_id)).first():
        raise DomainError(_l("This entry has already been reversed."))
    entry = _entry(
        session,
        client_id=original.client_id,
        kind=REVERSAL,
        entry_date=entry_date or local_today(),
        amount=original.amount,
        reference=original.reference,
        note=reason.strip(),
        reverses_id=original.id,
    )
    own, other = (
        (ALLOC.c.charge_id, ALLOC.c.payment_id)
        if original.kind == CHARGE
        else (ALLOC.c.payment_id, ALLOC.c.charge_id)
    )
    released = session.execute(
        select(other, func.sum(ALLOC.c.amount)).where(own == original.id).group_by(other)
    ).all()
    now = utcnow()
    for counterpart_id, amount in released:
        if amount <= 0:
            continue
        pair = (
            {"payment_id": counterpart_id, "charge_id": original.id}
            if original.kind == CHARGE
            else {"payment_id": original.id, "charge_id": counterpart_id}
        )
        session.execute(
            insert(ALLOC).values(
                client_id=original.client_id,
                amount=-amount,
                alloc_date=entry.entry_date,
                created_at=now,
                **pair,
            )
        )
        counterpart = session.get(LedgerEntry, counterpart_id)
        due = _current_due(session, counterpart) if counterpart.kind == CHARGE else None
        _open(session, counterpart, amount, due)
    session.execute(delete(OPEN).where(OPEN.c.entry_id == original.id))
    _move_balance(
        session,
        original.client_id,
        -original.amount if original.kind == CHARGE else original.amount,
    )
    _match(session, original.client_id)
    evaluate_thresholds(session, client_ids=[original.client_id])
    return entry


def defer_charge(session, charge_id: int, new_due_date: date, reason: str) -> Deferral:
    """A deferred-payment approval: the charge's due date moves; the ledger row stays."""
    actor = current_actor()
    charge = session.execute(
        select(LedgerEntry).where(LedgerEntry.id == charge_id).execution_options(**UNSCOPED)
    ).scalar_one_or_none()
    if charge is None or charge.kind != CHARGE:
        raise DomainError(_l("Only a charge has a due date to defer."))
    require(
        actor,
        "defer",
        charge.client_id,
        _l("Only a regional, sales or general manager approves a deferred payment."),
    )
    if not (reason or "").strip():
        raise DomainError(_l("A deferral needs a reason."), {"reason": _l("Give a reason.")})
    lock_balance(session, charge.client_id)
    deferral = Deferral(
        client_id=charge.client_id,
        charge_id=charge.id,
        old_due_date=_current_due(session, charge),
        new_due_date=new_due_date,
        reason=reason.strip(),
        approved_by_id=getattr(actor, "id", None),
    )
    session.add(deferral)
    session.execute(update(OPEN).where(OPEN.c.entry_id == charge.id).values(due_date=new_due_date))
    session.flush()
    return deferral


def add_repayment_plan(
    session, client_id: int, kind: str, signed_on: date, amount, schedule: str
) -> RepaymentPlan:
    actor = current_actor()
    require(actor, "plan", client_id, _l("You may not file plans for this customer."))
    plan = RepaymentPlan(
        client_id=client_id,
        kind=kind,
        signed_on=signed_on,
        amount=parse_money(amount, positive=True, round_cents=True),
        schedule=schedule or "",
        recorded_by_id=getattr(actor, "id", None),
    )
    session.add(plan)
    session.flush()
    return plan


# --- derived figures -------------------------------------------------------------------------
def client_credit(session, client_id: int, today: date | None = None) -> dict:
    """Outstanding, limit, utilisation, overdue and aging of one customer."""
    today = today or local_today()
    outstanding = session.execute(
        select(BAL.c.outstanding).where(BAL.c.client_id == client_id)
    ).scalar() or Decimal("0.00")
    profile = profile_of(session, client_id)
    limit = profile.credit_limit if profile else None
    buckets = dict.fromkeys(rules.AGING_BUCKETS, Decimal("0.00"))
    for due, amount in session.execute(
        select(OPEN.c.due_date, OPEN.c.open_amount).where(
            OPEN.c.client_id == client_id, OPEN.c.kind == CHARGE
        )
    ):
        bucket = rules.aging_bucket((today - due).days if due else 0)
        buckets[bucket] += amount
    overdue = sum((v for k, v in buckets.items() if k != "not_due"), Decimal("0.00"))
    return {
        "outstanding": rules.money(outstanding),
        "limit": limit,
        "profile": profile,
        "utilisation": rules.utilisation(outstanding, limit),
        "overdue": overdue,
        "aging": buckets,
        "available": (limit - outstanding) if limit is not None else None,
    }


def aging_columns(today: date):
    """The aging buckets' sums over the open items (and their total), as of `today`."""
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
    cols = aging_columns(today)
    keys = {
        "client": (Client.id, Client.code, Client.name),
        "owner": (User.id, User.full_name),
        "region": (Region.id, Region.name),
    }[group]
    stmt = (
        select(*keys, *cols)
        .select_from(OpenItem)
        .join(Client, Client.id == OpenItem.client_id)
        .where(OpenItem.kind == CHARGE)
    )
    if group == "owner":
        stmt = stmt.outerjoin(User, User.id == Client.owner_id)
    elif group == "region":
        stmt = stmt.outerjoin(Region, Region.id == Client.region_id)
    rows = session.execute(stmt.group_by(*keys).order_by(func.sum(OpenItem.open_amount).desc()))
    out = []
    for row in rows:
        m = row._mapping
        label = (
            f"{m['name']} ({m['code']})"
            if group == "client"
            else (m.get("full_name") or m.get("name") or "—")
        )
        out.append(
            {
                "key": row[0],
                "label": label,
                **{k: rules.money(m[k] or 0) for k in (*rules.AGING_BUCKETS, "total")},
            }
        )
    return out


def aging_totals(session, today: date | None = None) -> dict:
    """The totals row of the aging report: every bucket summed over the reader's customers in
    one statement (the same rows the report groups; the scope narrows it alike)."""
    today = today or local_today()
    row = (
        session.execute(
            select(*aging_columns(today))
            .select_from(OpenItem)
            .join(Client, Client.id == OpenItem.client_id)
            .where(OpenItem.kind == CHARGE)
        )
        .one()
        ._mapping
    )
    return {k: rules.money(row[k] or 0) for k in (*rules.AGING_BUCKETS, "total")}


def reconcile_balances(session) -> list[tuple[int, Decimal, Decimal]]:
    """Recompute every balance from the ledger (one GROUP BY) and list the differences."""
    orig = LEDGER.alias("orig")
    amount = LEDGER.c.amount
    signed = case(
        (LEDGER.c.kind == CHARGE, amount),
        (LEDGER.c.kind == PAYMENT, -amount),
        (orig.c.kind == CHARGE, -amount),
        else_=amount,
    )
    ledger = (
        select(LEDGER.c.client_id, func.sum(signed).label("owed"))
        .select_from(LEDGER.outerjoin(orig, orig.c.id == LEDGER.c.reverses_id))
        .group_by(LEDGER.c.client_id)
        .subquery()
    )
    rows = session.execute(
        select(ledger.c.client_id, func.coalesce(BAL.c.outstanding, 0), ledger.c.owed)
        .select_from(ledger.outerjoin(BAL, BAL.c.client_id == ledger.c.client_id))
        .where(func.coalesce(BAL.c.outstanding, 0) != ledger.c.owed)
    ).all()
    return [(cid, rules.money(kept), rules.money(owed)) for cid, kept, owed in rows]
