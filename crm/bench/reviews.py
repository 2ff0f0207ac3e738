"""The regular reviews (R7) at scale: a year of consumption for `crm bench-data`, and
`flask --app wsgi crm bench reviews`, the quarterly analysis of all customers.

`history` adds, for the customers just loaded, the twelve months before this one of sales
records (a customer in business buys in about half the months; a former one stopped some months
ago) and card uses (a card holder uses the card in a quarter of the months; one use in twelve is
refused), through the same COPY as the rest of the data set, then rebuilds consumption_months
and the rollups set-based (crm.reviews.consumption.rebuild).

`crm bench reviews` times the set-based quarterly analysis and proposals
(crm.reviews.quarterly.propose, rolled back after each run so every run proposes the same)
against the same analysis as a per-customer loop (quarterly.naive_propose_count, three to four
queries a customer), run on a sample and scaled to all customers, with the ratio.
"""

import random
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal

import click
from sqlalchemy import func, select

from crm.bench import bench, report, timed
from crm.clients.models import Client
from crm.commissions import rules as crules
from crm.commissions.models import Promoter, PromotionScheme
from crm.extensions import db
from crm.reviews import consumption, quarterly
from crm.reviews.consumption import MONTH, QUARTER, Period
from crm.timeutil import company_zone

TABLES = ("sales_records", "card_uses")
SALE_COLUMNS = [
    "client_id",
    "promoter_id",
    "scheme_id",
    "product_kind",
    "amount",
    "sold_on",
    "commission",
    "created_at",
]
USE_COLUMNS = [
    "card_id",
    "client_id",
    "used_at",
    "place",
    "list_price",
    "discount_rate",
    "benefit",
    "paid",
    "accepted",
    "refusal",
]
RATE = Decimal("0.03")
# A sale's mean amount per level: a customer buys in about half the months, so a quarter comes
# to some 1.5 sales, inside its level's band of the reclassification thresholds (crm.settings);
# D (being developed) customers do not buy yet.
SIZE = {"K": 600000, "A": 150000, "B": 30000, "C": 6000}
KINDS = [k for k, _ in crules.PRODUCT_KINDS]


def _months(today: date) -> list[Period]:
    month, out = Period.containing(MONTH, today), []
    for _ in range(12):
        month = month.previous()
        out.append(month)
    return out[::-1]


def _bench_scheme(session, months) -> tuple[int, int]:
    promoter = Promoter(name="外联 基准", kind="external")
    scheme = session.scalars(
        select(PromotionScheme).where(PromotionScheme.name == "基准往年销售")
    ).first()
    if scheme is None:
        scheme = PromotionScheme(
            name="基准往年销售",
            starts_on=months[0].start,
            ends_on=months[-1].last_day,
            rule_kind=crules.BY_PRODUCT,
            rates=[["*", str(RATE)]],
        )
    session.add_all([promoter, scheme])
    session.flush()
    return promoter.id, scheme.id


def sale_rows(rng, customers, months, promoter_id, scheme_id):
    """customers: (id, level, stage)."""
    offset = datetime.now(company_zone()).utcoffset()
    for cid, level, stage in customers:
        if stage == "prospect" or level not in SIZE:
            continue
        size = SIZE[level]
        stop = rng.randrange(3, 9) if stage == "former" else 12
        for m, period in enumerate(months[:stop]):
            if rng.random() < 0.5:
                continue
            day = period.start + timedelta(days=rng.randrange(28))
            amount = Decimal(int(size * rng.uniform(0.4, 1.6)))
            yield (
                cid,
                promoter_id,
                scheme_id,
                KINDS[(cid + m) % len(KINDS)],
                amount,
                day,
                (amount * RATE).quantize(Decimal("0.01")),
                datetime.combine(day, dtime(10)) - offset,
            )


def use_rows(rng, cards, months):
    """cards: (card id, client id)."""
    zone = company_zone()
    for card_id, cid in cards:
        for period in months:
            if rng.random() >= 0.25:
                continue
            day = period.start + timedelta(days=rng.randrange(28))
            at = datetime.combine(day, dtime(rng.randrange(8, 23)), zone).astimezone(UTC)
            price = Decimal(rng.randrange(100, 3000))
            refused = rng.random() < 1 / 12
            paid = price if refused else (price * Decimal("0.9")).quantize(Decimal("0.01"))
            yield (
                card_id,
                cid,
                at.replace(tzinfo=None),
                "餐厅",
                price,
                None if refused else Decimal("0.9"),
                Decimal("0") if refused else price - paid,
                paid,
                not refused,
                "基准：卡已过期" if refused else None,
            )


def history(session, load, rng, first_client_id: int, today: date) -> dict:
    """A year of sales and card uses for the customers from `first_client_id`, through
    `load(table, columns, rows)`; consumption is rebuilt by the caller after the commit of
    the indexes (rebuild_consumption)."""
    months = _months(today)
    promoter_id, scheme_id = _bench_scheme(session, months)
    customers = session.execute(
        select(Client.id, Client.level, Client.stage)
        .where(Client.id >= first_client_id)
        .order_by(Client.id)
    ).all()
    from crm.cards.models import MemberCard

    cards = session.execute(
        select(MemberCard.id, MemberCard.client_id)
        .where(MemberCard.client_id >= first_client_id)
        .order_by(MemberCard.id)
    ).all()
    return {
        "sales_records": load(
            "sales_records", SALE_COLUMNS, sale_rows(rng, customers, months, promoter_id, scheme_id)
        ),
        "card_uses": load("card_uses", USE_COLUMNS, use_rows(rng, cards, months)),
    }


def rebuild_consumption(session, echo=lambda *_: None) -> dict:
    start = time.perf_counter()
    rows = consumption.rebuild(session)
    session.commit()
    seconds = time.perf_counter() - start
    echo(f"  consumption_months: {rows} rows and their rollups in {seconds:.0f} s")
    return {"consumption_months": rows, "rebuild_s": round(seconds, 1)}


def run(sample: int, repeat: int, out: str | None, quarter: str | None = None) -> dict:
    period = Period.parse(quarter) if quarter else Period.last_complete(QUARTER)
    if period.kind != QUARTER:
        raise click.ClickException(f"{quarter} is not a quarter (e.g. 2026Q1)")
    customers = db.session.scalar(
        select(func.count()).select_from(Client).where(Client.deleted_at.is_(None))
    )
    rows = db.session.scalar(select(func.count()).select_from(consumption.ConsumptionMonth))
    if not rows:
        raise click.ClickException("no consumption: load it with `crm bench-data` first")
    made = {}

    def set_based():
        made.update(quarterly.propose(db.session, period))
        db.session.rollback()  # every run proposes the same

    steady = timed(set_based, repeat=repeat, warmup=1)
    ids = db.session.scalars(select(Client.id).where(Client.deleted_at.is_(None))).all()
    picked = random.Random(7).sample(ids, min(sample, len(ids)))
    moved = {}

    def naive():
        moved["n"] = naive_sample(picked, period)
        db.session.rollback()

    loop = timed(naive, repeat=1, warmup=0)
    per_customer = loop["median_ms"] / max(len(picked), 1)
    scaled_ms = per_customer * customers
    figures = {
        "set-based analysis + proposals of all, median": f"{steady['median_ms']:.0f} ms",
        "set-based analysis + proposals of all, p95": f"{steady['p95_ms']:.0f} ms",
        "proposals it makes": made.get("new"),
        f"per-customer loop, {len(picked)} customers sampled": (
            f"{per_customer:.3f} ms a customer ({moved.get('n')} would move)"
        ),
        "per-customer loop, scaled to all (not run whole)": f"{scaled_ms / 1000:.0f} s",
        "ratio (loop ÷ set-based)": f"{scaled_ms / max(steady['median_ms'], 0.01):.0f}×",
    }
    report(
        f"quarterly analysis {period}: {customers} customers, {rows} customer-month rows "
        f"({db.session.get_bind().dialect.name})",
        figures,
        out,
    )
    return figures


def naive_sample(client_ids, period: Period) -> int:
    """quarterly.naive_propose_count over `client_ids` only (the bench's sample)."""
    return quarterly.naive_propose_count(db.session, period, client_ids=client_ids)


@bench.command("reviews")
@click.option(
    "--sample",
    default=2000,
    show_default=True,
    help="Customers run through the per-customer loop; its time is scaled up.",
)
@click.option("--repeat", default=3, show_default=True)
@click.option("--quarter", default=None, help="Quarter to analyse (default the last one).")
@click.option("--out", default=None, help="Append the figures to this JSON file.")
def reviews_bench(sample, repeat, quarter, out):
    """Time the set-based quarterly analysis of all customers against a per-customer loop."""
    run(sample, repeat, out, quarter)
