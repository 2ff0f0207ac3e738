"""Demo history for the regular reviews (R7): a year and a half of sales and card uses with
real shapes — a seasonal company trend, customers growing, falling and stopping — then the
consumption tables, this month's watch list and the last quarter's reclassification proposals.

The months before this one are entered as history under its own scheme ("往年销售（导入）", imported
sales from before the commission system): its sales carry their computed commission but no
statement lines, so the commission months of the other demo stay as they are. Rows are
inserted set-based and consumption is rebuilt from them, as `crm bench-data` does."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from crm.cards.models import CardUse, MemberCard
from crm.clients.models import Client
from crm.commissions import rules as crules
from crm.commissions.models import Promoter, PromotionScheme, SalesRecord
from crm.reviews import consumption, quarterly, watch
from crm.reviews.consumption import MONTH, QUARTER, Period
from crm.timeutil import company_zone, local_today

SEASON = [0.8, 0.6, 0.9, 1.0, 1.0, 1.1, 1.2, 1.1, 1.0, 1.1, 1.2, 1.5]  # Jan … Dec
HISTORY_RATE = Decimal("0.03")
MONTHS = 18


def _utc(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), company_zone()).astimezone(UTC).replace(tzinfo=None)


def history_rows(rng, clients, cards, today: date, promoter_id: int, scheme_id: int):
    """(sales rows, card use rows) of the eighteen months before this one."""
    kinds = [k for k, _ in crules.PRODUCT_KINDS]
    first = Period.containing(MONTH, today)
    months = []
    month = first
    for _ in range(MONTHS):
        month = month.previous()
        months.append(month)
    months.reverse()
    sales, uses = [], []
    for i, (cid, level) in enumerate(clients):
        # a month's consumption that keeps the customer in its level (crm.settings thresholds)
        size = {"K": 200000, "A": 50000, "B": 13000, "C": 3000}.get(level, 600)
        shape = i % 6  # 0 steady, 1 growing, 2 falling, 3 stopped half a year ago, 4 new, 5 rare
        for m, period in enumerate(months):
            if (
                shape == 3
                and m >= MONTHS - 6
                or shape == 4
                and m < MONTHS - 4
                or shape == 5
                and m % 4
            ):
                continue
            trend = 1 + (m / MONTHS if shape == 1 else -m / MONTHS / 1.3 if shape == 2 else 0)
            n = 1 + rng.randrange(3)
            for _ in range(n):
                day = period.start + timedelta(days=rng.randrange(28))
                amount = Decimal(
                    int(size * SEASON[period.start.month - 1] * trend * rng.uniform(0.7, 1.3) / n)
                )
                sales.append(
                    {
                        "client_id": cid,
                        "promoter_id": promoter_id,
                        "scheme_id": scheme_id,
                        "product_kind": kinds[rng.randrange(len(kinds))],
                        "amount": amount,
                        "sold_on": day,
                        "commission": (amount * HISTORY_RATE).quantize(Decimal("0.01")),
                        "created_at": _utc(day, 10),
                    }
                )
    for card_id, cid in cards:
        for period in months[-rng.randrange(3, MONTHS) :]:
            for _ in range(rng.randrange(1, 4)):
                day = period.start + timedelta(days=rng.randrange(28))
                price = Decimal(rng.randrange(100, 3000))
                refused = rng.random() < 0.08
                paid = price if refused else (price * Decimal("0.9")).quantize(Decimal("0.01"))
                uses.append(
                    {
                        "card_id": card_id,
                        "client_id": cid,
                        "used_at": _utc(day, rng.randrange(8, 23)),
                        "place": "餐厅",
                        "list_price": price,
                        "discount_rate": None if refused else Decimal("0.9"),
                        "benefit": Decimal("0") if refused else price - paid,
                        "paid": paid,
                        "accepted": not refused,
                        "refusal": "演示：卡已过期" if refused else None,
                    }
                )
    return sales, uses


def seed_reviews(session, rng, today: date | None = None) -> dict:
    today = today or local_today()
    promoter = session.scalars(select(Promoter).order_by(Promoter.id)).first()
    if promoter is None:
        promoter = Promoter(name="外联 历史", kind="external")
        session.add(promoter)
    start = Period.containing(MONTH, today).start
    scheme = PromotionScheme(
        name="往年销售（导入）",
        starts_on=date(start.year - 2, 1, 1),
        ends_on=start - timedelta(days=1),
        rule_kind=crules.BY_PRODUCT,
        target="导入的往年销售",
        rates=[["*", str(HISTORY_RATE)]],
    )
    session.add(scheme)
    session.flush()
    clients = session.execute(
        select(Client.id, Client.level).where(Client.owner_id.is_not(None)).order_by(Client.id)
    ).all()
    clients = [c for k, c in enumerate(clients) if k % 5 != 4]  # a fifth never bought
    cards = session.execute(
        select(MemberCard.id, MemberCard.client_id).order_by(MemberCard.id)
    ).all()
    sales, uses = history_rows(rng, clients, cards, today, promoter.id, scheme.id)
    if sales:
        session.execute(insert(SalesRecord), sales)
    if uses:
        session.execute(insert(CardUse), uses)
    consumption.rebuild(session)
    made = watch.make_list(session, Period.containing(MONTH, today), today)
    proposed = quarterly.propose(session, Period.last_complete(QUARTER, today))
    session.flush()
    return {
        "sales": len(sales),
        "card_uses": len(uses),
        "watch": made["new"],
        "proposals": proposed["new"],
    }
