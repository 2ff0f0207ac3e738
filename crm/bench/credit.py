"""`flask --app wsgi crm bench credit`: the credit check of all customers.

Times the set-based check of every customer's credit (crm.credit.checks.check_now) on the
data of `crm bench-data` against the same check written as a per-customer ORM loop, run on a
random sample of customers and scaled to all of them (the whole loop would take hours at a
million customers; the output says so).
"""

import random
import time
from decimal import Decimal

import click
from sqlalchemy import func, select

from crm.bench import bench, report, timed
from crm.credit import checks, exposure, rules
from crm.credit import ledger as credit_ledger
from crm.credit.models import (
    CreditBalance,
    CreditProfile,
    Crossing,
    LedgerEntry,
    OpenItem,
)
from crm.extensions import db
from crm.timeutil import local_today


def naive_check(client_ids, today) -> dict:
    """The same check, one customer at a time through the ORM: what set-based SQL replaces."""
    result = {"over_limit": 0, "overdue_customers": 0, "notified": 0}
    thresholds = checks.thresholds()
    for cid in client_ids:
        profile = db.session.scalars(
            select(CreditProfile).where(CreditProfile.client_id == cid)
        ).first()
        entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.client_id == cid)).all()
        owed = sum((e.amount if e.kind == "charge" else -e.amount for e in entries), Decimal("0"))
        limit = profile.credit_limit if profile else Decimal("0")
        util = rules.utilisation(owed, limit)
        above = {
            c.threshold: c.above
            for c in db.session.scalars(select(Crossing).where(Crossing.client_id == cid))
        }
        crossed, _rearmed = rules.crossing_moves(util, thresholds, above)
        result["notified"] += len(crossed)
        result["over_limit"] += owed > limit
        overdue = db.session.scalars(
            select(OpenItem).where(OpenItem.client_id == cid, OpenItem.due_date < today)
        ).all()
        result["overdue_customers"] += bool(overdue)
    db.session.rollback()
    return result


def run(sample: int, repeat: int, out: str | None) -> dict:
    rng = random.Random(4)
    customers = db.session.scalar(select(func.count()).select_from(CreditBalance))
    if not customers:
        raise click.ClickException("no credit data: load it with `crm bench-data` first")
    rows = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    today = local_today()

    start = time.perf_counter()
    first = checks.check_now(db.session, today=today)  # marks and notifies every new crossing
    first_ms = (time.perf_counter() - start) * 1000
    steady = timed(lambda: checks.check_now(db.session, today=today), repeat=repeat, warmup=0)
    ids = db.session.scalars(select(CreditBalance.client_id)).all()
    picked = rng.sample(ids, min(sample, len(ids)))
    loop = timed(lambda: naive_check(picked, today), repeat=1, warmup=1)
    per_customer = loop["median_ms"] / len(picked)
    scaled_ms = per_customer * customers
    rec = timed(lambda: credit_ledger.reconcile_balances(db.session), repeat=1, warmup=0)
    counted = timed(lambda: exposure.refresh(db.session), repeat=1, warmup=0)
    db.session.commit()
    figures = {
        "first check (marks + notifies crossings)": f"{first_ms:.0f} ms, "
        f"{first.get('notified', 0)} crossings notified",
        "set-based check of all, median": f"{steady['median_ms']:.0f} ms",
        "set-based check of all, p95": f"{steady['p95_ms']:.0f} ms",
        f"per-customer ORM loop, {len(picked)} customers sampled": (
            f"{per_customer:.3f} ms a customer"
        ),
        "per-customer ORM loop, scaled to all (not run whole)": f"{scaled_ms / 1000:.0f} s",
        "ratio (loop ÷ set-based)": f"{scaled_ms / max(steady['median_ms'], 0.01):.0f}×",
        "nightly reconciliation (GROUP BY over the ledger)": f"{rec['median_ms']:.0f} ms",
        "home pages' exposure summary, counted again (hourly)": f"{counted['median_ms']:.0f} ms",
        "result": {k: v for k, v in first.items() if k != "notified"},
    }
    report(
        f"credit check: {customers} customers, {rows} ledger rows "
        f"({db.session.get_bind().dialect.name})",
        figures,
        out,
    )
    return figures


@bench.command("credit")
@click.option(
    "--sample",
    default=2000,
    show_default=True,
    help="Customers run through the per-customer loop; its time is scaled up.",
)
@click.option("--repeat", default=3, show_default=True)
@click.option("--out", default=None, help="Append the figures to this JSON file.")
def credit_bench(sample, repeat, out):
    """Time the set-based credit check of all customers against a per-customer ORM loop."""
    run(sample, repeat, out)
