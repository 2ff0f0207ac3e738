"""The half-year and yearly consumption analyses (RULES R7); the quarter's too, on screen.

Every figure is read through the ORM entities ConsumptionRollup (the sums per dimension) and
ConsumptionMonth (per customer), so the reader's scope (crm.access) narrows it as it narrows
the lists: an account manager's analysis is her customers', a regional manager's her region's.
Consumption is what crm.reviews.consumption defines; nothing here reads the sales or the uses.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from crm.kernel import unscoped
from crm.reviews.consumption import ALL, CARD, Period
from crm.reviews.models import ConsumptionMonth, ConsumptionRollup

ZERO = Decimal("0")
DIMENSIONS = {
    "region": _l("Region"),
    "account_manager": _l("Account manager"),
    "level": _l("Customer level"),
    "nature": _l("Nature"),
    "weight": _l("Weight"),
    "kind": _l("Product kind"),
}
_COLUMNS = {
    "region": "region_id",
    "account_manager": "account_manager_id",
    "level": "level",
    "nature": "nature",
    "weight": "weight",
    "kind": "kind",
}


def growth(now: Decimal, before: Decimal) -> Decimal | None:
    """Growth in per cent against `before`; None when there was nothing before."""
    if not before:
        return None
    return ((Decimal(now) - Decimal(before)) * 100 / Decimal(before)).quantize(Decimal("0.1"))


@dataclass
class Line:
    key: object
    label: str
    amount: Decimal = ZERO
    previous: Decimal = ZERO
    customers: int = 0

    @property
    def growth(self):
        return growth(self.amount, self.previous)


@dataclass
class Analysis:
    period: Period
    total: Decimal = ZERO
    previous_total: Decimal = ZERO
    customers: int = 0
    by: dict = field(default_factory=dict)  # dimension -> [Line]
    top: list = field(default_factory=list)  # [(client_id, name, amount)]
    bottom: list = field(default_factory=list)
    movement: dict = field(default_factory=dict)  # new / lost / returning -> (count, amount)

    @property
    def growth(self):
        return growth(self.total, self.previous_total)


# The names of the regions and people the reader's own figures are summed by.
_NAMES = unscoped("names of the rows a figure is summed by")


def _labels(session, dimension: str, keys) -> dict:
    from crm.auth.models import Region, User
    from crm.clients import choices
    from crm.commissions.rules import PRODUCT_KINDS

    keys = [k for k in keys if k is not None]
    if dimension == "region":
        return dict(
            session.execute(
                select(Region.id, Region.name)
                .where(Region.id.in_(keys))
                .execution_options(**_NAMES)
            ).all()
        )
    if dimension == "account_manager":
        users = session.scalars(select(User).where(User.id.in_(keys)).execution_options(**_NAMES))
        return {u.id: str(u) for u in users}
    if dimension == "nature":
        return {k: choices.label(choices.NATURE, k) for k in keys}
    if dimension == "weight":
        return {k: choices.label(choices.WEIGHT, k) for k in keys}
    if dimension == "kind":
        kinds = {k: str(v) for k, v in PRODUCT_KINDS}
        kinds[CARD] = str(_l("Member card"))
        return {k: kinds.get(k, k) for k in keys}
    return {k: k for k in keys}


def by_dimension(session, period: Period, dimension: str) -> list[Line]:
    """Consumption of `period` and of the period before, per value of `dimension`, from the
    rollups (in the reader's scope), largest first."""
    column = getattr(ConsumptionRollup, _COLUMNS[dimension])
    previous = period.previous()
    in_now = ConsumptionRollup.month.between(period.start, period.months[-1])
    in_before = ConsumptionRollup.month.between(previous.start, previous.months[-1])
    kinds = ConsumptionRollup.kind != ALL if dimension == "kind" else ConsumptionRollup.kind == ALL
    rows = session.execute(
        select(
            column,
            func.coalesce(func.sum(case((in_now, ConsumptionRollup.amount))), 0),
            func.coalesce(func.sum(case((in_before, ConsumptionRollup.amount))), 0),
        )
        .where(
            kinds, ConsumptionRollup.month >= previous.start, ConsumptionRollup.month < period.end
        )
        .group_by(column)
    ).all()
    labels = _labels(session, dimension, [r[0] for r in rows])
    lines = [
        Line(
            key,
            labels.get(key, "") if key is not None else str(_l("None")),
            Decimal(now),
            Decimal(before),
        )
        for key, now, before in rows
    ]
    counts = customers_by(session, period, dimension)
    for line in lines:
        line.customers = counts.get(line.key, 0)
    return sorted(lines, key=lambda x: (-x.amount, str(x.label)))


def customers_by(session, period: Period, dimension: str) -> dict:
    """Customers who consumed in `period` per value of `dimension` (each counted once)."""
    from crm.clients.models import Client

    cm = ConsumptionMonth
    in_period = (cm.month >= period.start) & (cm.month < period.end)
    if dimension == "kind":
        rows = session.execute(
            select(cm.kind, func.count(func.distinct(cm.client_id)))
            .where(in_period)
            .group_by(cm.kind)
        )
        return dict(rows.all())
    column = {
        "region": Client.region_id,
        "account_manager": Client.owner_id,
        "level": Client.level,
        "nature": Client.nature,
        "weight": Client.weight,
    }[dimension]
    rows = session.execute(
        select(column, func.count(func.distinct(cm.client_id)))
        .join(Client, Client.id == cm.client_id)
        .where(in_period)
        .group_by(column)
    )
    return dict(rows.all())


def customer_totals(session, period: Period, limit: int = 20, descending: bool = True):
    """[(client_id, name, amount)] of the customers who consumed most (or least) in `period`,
    in the reader's scope."""
    from crm.clients.models import Client

    total = func.sum(ConsumptionMonth.amount)
    stmt = (
        select(ConsumptionMonth.client_id, Client.name, total)
        .join(Client, Client.id == ConsumptionMonth.client_id)
        .where(ConsumptionMonth.month >= period.start, ConsumptionMonth.month < period.end)
        .group_by(ConsumptionMonth.client_id, Client.name)
        .having(total > 0)
        .order_by(total.desc() if descending else total.asc(), ConsumptionMonth.client_id)
        .limit(limit)
    )
    return [(cid, name, Decimal(amount)) for cid, name, amount in session.execute(stmt)]


def movement(session, period: Period) -> dict:
    """New customers (their first consumption is in `period`), lost ones (consumed in the
    period before, not in this one) and returning ones (consumed in this one, not in the
    period before, but earlier): {kind: (customers, amount of this period or the one before)}."""
    previous = period.previous()
    cm = ConsumptionMonth
    now = func.sum(case((cm.month >= period.start, cm.amount), else_=0))
    before = func.sum(
        case(((cm.month >= previous.start) & (cm.month < period.start), cm.amount), else_=0)
    )
    earlier = func.sum(case((cm.month < previous.start, cm.amount), else_=0))
    per_customer = (
        select(cm.client_id, now.label("now"), before.label("before"), earlier.label("earlier"))
        .where(cm.month < period.end)
        .group_by(cm.client_id)
        .subquery()
    )
    s = per_customer.c
    is_new = (s.now > 0) & (s.before <= 0) & (s.earlier <= 0)
    is_lost = (s.before > 0) & (s.now <= 0)
    is_back = (s.now > 0) & (s.before <= 0) & (s.earlier > 0)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((is_new, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_new, s.now), else_=0)), 0),
            func.coalesce(func.sum(case((is_lost, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_lost, s.before), else_=0)), 0),
            func.coalesce(func.sum(case((is_back, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_back, s.now), else_=0)), 0),
        )
    ).one()
    return {
        "new": (int(row[0]), Decimal(row[1])),
        "lost": (int(row[2]), Decimal(row[3])),
        "returning": (int(row[4]), Decimal(row[5])),
    }


MOVEMENTS = {
    "new": _l("New customers"),
    "lost": _l("Lost customers"),
    "returning": _l("Returning customers"),
}


def analyse(session, period: Period, limit: int = 20) -> Analysis:
    """The whole analysis of `period` in the reader's scope."""
    result = Analysis(period)
    for dimension in DIMENSIONS:
        result.by[dimension] = by_dimension(session, period, dimension)
    kinds = result.by["kind"]
    result.total = sum((line.amount for line in kinds), ZERO)
    result.previous_total = sum((line.previous for line in kinds), ZERO)
    result.customers = sum(customers_by(session, period, "level").values())
    result.top = customer_totals(session, period, limit, descending=True)
    result.bottom = customer_totals(session, period, limit, descending=False)
    result.movement = movement(session, period)
    return result
