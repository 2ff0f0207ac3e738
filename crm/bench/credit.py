"""`flask --app wsgi crm bench credit --clients N --ledger-rows M`.

Generates customers with credit profiles and a ledger (bulk inserts: COPY on PostgreSQL), then
times the set-based check of all customers against the same check written as a per-customer
ORM loop (run on a sample and scaled). Use a database of its own: the data stays for re-runs.
"""

import random
import time
from datetime import timedelta
from decimal import Decimal

import click
from sqlalchemy import func, select, text

from crm.bench import bench, report, timed
from crm.clients.models import Client
from crm.credit import rules
from crm.credit import services as cs
from crm.credit.models import (
    CreditBalance,
    CreditProfile,
    Crossing,
    LedgerEntry,
    OpenItem,
)
from crm.extensions import db
from crm.timeutil import local_today, utcnow

PREFIX = "BC"


def _bulk(table, columns, rows) -> None:
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    batch = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == 10000:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _generate(n_clients: int, n_rows: int, rng: random.Random) -> dict:
    """Each customer: charges over the last year; payments that settle the oldest charges
    exactly (so the open items are the unpaid charges); a limit that puts utilisation between
    20% and 110%."""
    now, today = utcnow(), local_today()
    _bulk(Client.__table__, ["code", "name", "kind", "level", "stage", "nature", "weight",
                             "created_at", "updated_at", "version"],
          ((f"{PREFIX}{i:07d}", f"基准客户{i}", "organisation", "B", "active", "ordinary",
            "general", now, now, 1) for i in range(n_clients)))
    ids = db.session.scalars(select(Client.id).where(Client.code.like(f"{PREFIX}%"))
                             .order_by(Client.id)).all()
    per = max(1, n_rows // len(ids))
    ledger, open_items, balances, profiles = [], [], [], []
    entry_id = (db.session.scalar(select(func.max(LedgerEntry.id))) or 0)
    for cid in ids:
        charges, unpaid_from, owed = [], 0, Decimal("0")
        day = today - timedelta(days=360)
        for k in range(per):
            day += timedelta(days=rng.randrange(1, max(2, 2 * 360 // per)))
            entry_id += 1
            if k % 3 == 2 and unpaid_from < len(charges):  # pay the oldest one or two charges
                take = charges[unpaid_from:unpaid_from + rng.choice((1, 2))]
                unpaid_from += len(take)
                amount = sum(a for _i, a, _d in take)
                ledger.append((entry_id, cid, "payment", None, day, None, amount, f"R{entry_id}",
                               now))
            else:
                amount = Decimal(rng.randrange(100, 5000))
                charges.append((entry_id, amount, day))
                ledger.append((entry_id, cid, "charge", "bill", day, day + timedelta(days=30),
                               amount, f"B{entry_id}", now))
        for eid, amount, cday in charges[unpaid_from:]:
            open_items.append((eid, cid, "charge", cday, cday + timedelta(days=30), amount))
            owed += amount
        limit = rules.money(max(owed, Decimal(1000)) / Decimal(rng.uniform(0.2, 1.1)))
        balances.append((cid, owed, limit, now))
        profiles.append((cid, rng.choice("ABC"), limit, 30, False, now))
    _bulk(LedgerEntry.__table__, ["id", "client_id", "kind", "source", "entry_date", "due_date",
                                  "amount", "reference", "recorded_at"], ledger)
    _bulk(OpenItem.__table__, ["entry_id", "client_id", "kind", "entry_date", "due_date",
                               "open_amount"], open_items)
    _bulk(CreditBalance.__table__, ["client_id", "outstanding", "credit_limit", "updated_at"],
          balances)
    _bulk(CreditProfile.__table__, ["client_id", "grade", "credit_limit", "period_days",
                                    "direct_export", "updated_at"], profiles)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'), "
                                "(SELECT max(id) FROM ledger_entries))"))
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("clients", "ledger_entries", "credit_open_items", "credit_balances",
                      "credit_profiles"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    return {"customers": len(ids), "ledger_rows": len(ledger), "open_items": len(open_items)}


def naive_check(client_ids, today) -> dict:
    """The same check, one customer at a time through the ORM: what set-based SQL replaces."""
    result = {"over_limit": 0, "overdue_customers": 0, "notified": 0}
    thresholds = cs.thresholds()
    for cid in client_ids:
        profile = db.session.scalars(select(CreditProfile).where(CreditProfile.client_id == cid)
                                     ).first()
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.client_id == cid)
                                     ).all()
        owed = sum((e.amount if e.kind == "charge" else -e.amount for e in entries),
                   Decimal("0"))
        limit = profile.credit_limit if profile else Decimal("0")
        util = rules.utilisation(owed, limit)
        above = {c.threshold: c.above for c in db.session.scalars(
            select(Crossing).where(Crossing.client_id == cid))}
        crossed, _rearmed = rules.crossing_moves(util, thresholds, above)
        result["notified"] += len(crossed)
        result["over_limit"] += owed > limit
        overdue = db.session.scalars(select(OpenItem).where(
            OpenItem.client_id == cid, OpenItem.due_date < today)).all()
        result["overdue_customers"] += bool(overdue)
    db.session.rollback()
    return result


@bench.command("credit")
@click.option("--clients", "n_clients", default=10000, show_default=True)
@click.option("--ledger-rows", "n_rows", default=100000, show_default=True)
@click.option("--sample", default=2000, show_default=True,
              help="Customers run through the per-customer loop; its time is scaled up.")
@click.option("--repeat", default=3, show_default=True)
@click.option("--out", default=None, help="Append the figures to this JSON file.")
def credit_bench(n_clients, n_rows, sample, repeat, out):
    """Time the set-based credit check of all customers against a per-customer ORM loop."""
    rng = random.Random(4)
    present = db.session.scalar(select(func.count()).select_from(Client)
                                .where(Client.code.like(f"{PREFIX}%")))
    if present < n_clients:
        start = time.perf_counter()
        made = _generate(n_clients - present, n_rows, rng)
        click.echo(f"generated {made} in {time.perf_counter() - start:.1f} s")
    customers = db.session.scalar(select(func.count()).select_from(CreditBalance))
    rows = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    today = local_today()

    start = time.perf_counter()
    first = cs.check_now(db.session, today=today)  # marks and notifies every first crossing
    first_ms = (time.perf_counter() - start) * 1000
    steady = timed(lambda: cs.check_now(db.session, today=today), repeat=repeat, warmup=0)
    ids = db.session.scalars(select(CreditBalance.client_id)).all()
    picked = rng.sample(ids, min(sample, len(ids)))
    loop = timed(lambda: naive_check(picked, today), repeat=1, warmup=1)
    per_customer = loop["median_ms"] / len(picked)
    scaled_ms = per_customer * customers
    rec = timed(lambda: cs.reconcile_balances(db.session), repeat=1, warmup=0)
    report(f"credit check: {customers} customers, {rows} ledger rows "
           f"({db.session.get_bind().dialect.name})", {
               "first check (marks + notifies crossings)": f"{first_ms:.0f} ms, "
               f"{first.get('notified', 0)} crossings notified",
               "set-based check of all, steady (median)": f"{steady['median_ms']:.0f} ms",
               "set-based check of all, p95": f"{steady['p95_ms']:.0f} ms",
               f"per-customer ORM loop ({len(picked)} sampled)": f"{per_customer:.3f} ms/customer",
               "per-customer ORM loop, scaled to all": f"{scaled_ms / 1000:.1f} s",
               "ratio (loop ÷ set-based)": f"{scaled_ms / max(steady['median_ms'], 0.01):.0f}×",
               "nightly reconciliation (GROUP BY over the ledger)": f"{rec['median_ms']:.0f} ms",
               "result": {k: v for k, v in first.items() if k != "notified"},
           }, out)
