"""Credit exposure per region and account manager, for the home pages (issue 15 point 7).

The company-wide charts of credit use and of aging counted a million balances and every open
charge on each view (1.4–1.7 s at 1M customers), and an account manager's "customers at 80% or
overdue" counted her tens of thousands of customers one by one. So the figures are summed once,
set-based, into ``credit_exposure`` — a few hundred rows, one per region, account manager and
measure — and the pages read those rows through the rollup scope (an account manager her own,
a regional manager his region's, the managers and finance all).

When: after the nightly check of all customers (the new day's overdue debts) and every hour
(crm.tasks.credit.refresh_exposure), so the figures are at most an hour behind the ledger;
each chart says when they were counted. The lists a figure opens are live. Not inside the
check itself: the check of all stays within its 3 s, and a refresh is two GROUP BYs of its own.

The measures count what the credit check counts (crm.credit.checks): a customer is "at t%"
when it owes at least t% of its limit, "over" when it owes more than the limit, "overdue" when
one of its charges is open past its due date; the "age:" measures sum the open charges by
age past due, as the aging report does.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import case, delete, func, select

from crm.clients.models import Client
from crm.credit import rules
from crm.credit.checks import OVER_LIMIT, above, thresholds
from crm.credit.ledger import aging_columns
from crm.credit.models import BAL, CHARGE, OPEN, CreditExposure
from crm.kernel import dialect_insert
from crm.timeutil import local_today, utcnow

OVERDUE = "overdue"


def use_measure(level) -> str:
    """The measure of customers at `level`: a threshold in per cent, or OVER_LIMIT."""
    return f"use:{level}"


def age_measure(bucket: str) -> str:
    return f"age:{bucket}"


def _groups():
    clients = Client.__table__
    return (
        func.coalesce(clients.c.region_id, 0).label("region_id"),
        func.coalesce(clients.c.owner_id, 0).label("account_manager_id"),
    )


def _balances(connection) -> list[dict]:
    """Customers (and what they owe) at each threshold and over the limit, per group."""
    clients = Client.__table__
    levels = [(use_measure(t), above(t)) for t in thresholds()]
    levels.append(
        (use_measure(OVER_LIMIT), BAL.c.outstanding > func.coalesce(BAL.c.credit_limit, 0))
    )
    columns = []
    for _m, cond in levels:
        columns += [
            func.sum(case((cond, 1), else_=0)),
            func.sum(case((cond, BAL.c.outstanding), else_=0)),
        ]
    rows = connection.execute(
        select(*_groups(), *columns)
        .select_from(BAL.join(clients, clients.c.id == BAL.c.client_id))
        .where(BAL.c.outstanding != 0, clients.c.deleted_at.is_(None))
        .group_by(clients.c.region_id, clients.c.owner_id)
    ).all()
    return [
        _row(r[0], r[1], measure, r[2 + 2 * i], r[3 + 2 * i])
        for r in rows
        for i, (measure, _c) in enumerate(levels)
    ]


def _open_charges(connection, today: date) -> list[dict]:
    """Customers with overdue debts (and the overdue amount), and the open charges by age."""
    clients = Client.__table__
    overdue = OPEN.c.due_date < today
    rows = connection.execute(
        select(
            *_groups(),
            func.count(func.distinct(case((overdue, OPEN.c.client_id)))),
            func.sum(case((overdue, OPEN.c.open_amount), else_=0)),
            *aging_columns(today)[: len(rules.AGING_BUCKETS)],
        )
        .select_from(OPEN.join(clients, clients.c.id == OPEN.c.client_id))
        .where(OPEN.c.kind == CHARGE, clients.c.deleted_at.is_(None))
        .group_by(clients.c.region_id, clients.c.owner_id)
    ).all()
    out = []
    for r in rows:
        out.append(_row(r[0], r[1], OVERDUE, r[2], r[3]))
        out += [
            _row(r[0], r[1], age_measure(b), 0, r[4 + i]) for i, b in enumerate(rules.AGING_BUCKETS)
        ]
    return out


def _row(region_id, manager_id, measure, customers, amount) -> dict:
    return {
        "region_id": region_id,
        "account_manager_id": manager_id,
        "measure": measure,
        "customers": int(customers or 0),
        "amount": rules.money(amount or 0),
    }


def refresh(session, today: date | None = None) -> int:
    """Count every measure again for every region and account manager, set-based (two
    GROUP BY statements), and store them: upsert the groups found, delete the groups gone.
    Two refreshes at once leave one row per key (the second waits on the first's rows).
    Flushes through the session's connection; the caller commits. Returns the rows kept."""
    today = today or local_today()
    connection = session.connection()
    rows = _balances(connection) + _open_charges(connection, today)
    now = utcnow()
    table = CreditExposure.__table__
    if rows:
        stmt = dialect_insert(session, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["account_manager_id", "region_id", "measure"],
            set_={
                "customers": stmt.excluded.customers,
                "amount": stmt.excluded.amount,
                "as_of": stmt.excluded.as_of,
                "built_at": stmt.excluded.built_at,
            },
        )
        connection.execute(stmt, [{**r, "as_of": today, "built_at": now} for r in rows])
    connection.execute(delete(table).where(table.c.built_at < now))
    return len(rows)


# --- reading (ORM statements: the reader's rollup scope narrows them) -------------------------
def totals(session) -> dict[str, tuple[int, Decimal]]:
    """{measure: (customers, amount)} over the reader's regions and account managers."""
    rows = session.execute(
        select(
            CreditExposure.measure,
            func.sum(CreditExposure.customers),
            func.sum(CreditExposure.amount),
        ).group_by(CreditExposure.measure)
    ).all()
    return {m: (int(n or 0), rules.money(a or 0)) for m, n, a in rows}


def by_region(session, measures) -> dict[int, dict[str, Decimal]]:
    """{region id (0: none): {measure: amount}} of `measures`, over the reader's scope."""
    rows = session.execute(
        select(CreditExposure.region_id, CreditExposure.measure, func.sum(CreditExposure.amount))
        .where(CreditExposure.measure.in_(list(measures)))
        .group_by(CreditExposure.region_id, CreditExposure.measure)
    ).all()
    out: dict[int, dict[str, Decimal]] = {}
    for region_id, measure, amount in rows:
        out.setdefault(region_id, {})[measure] = rules.money(amount or 0)
    return out


def counted_at(session):
    """When the figures the reader sees were counted (None: never)."""
    return session.execute(select(func.max(CreditExposure.built_at))).scalar()
