"""Consumption, defined once (RULES R7; issue 15 point 1).

**What a customer consumed in a period** is the sum of

* its **sales records** (crm.commissions SalesRecord): the amount, by the sale's product kind,
  counted in the month of `sold_on` (a date the staff enter in the company's calendar); and
* its **accepted card uses** (crm.cards CardUse with `accepted` true): the amount *paid*
  (the list price less the card benefit), kind ``"card"``, counted in the month of `used_at`
  taken in the company's time zone (stored as UTC).

A credit charge (crm.credit) is how a sale was paid, not a second purchase: it is never
counted. A refused or invalid card use (an attempt) is not counted either. A customer who was
soft-deleted keeps its rows here but leaves every list and rollup, as everywhere else (R6).

Periods are months, quarters, half-years and years in the company's time zone: `Period`
(``2026-03``, ``2026Q1``, ``2026H1``, ``2026``).

**Where it is kept.** ``consumption_months`` holds one row per customer, month and kind. It is
maintained in the very transaction that writes a sale or a card use: a flush hook
(`install`) turns every new, changed or deleted SalesRecord / CardUse into increments through
the one function `add` (an upsert), so no path — admin, CLI, import, demo — can forget it and
the figures are never stale. `rebuild` recomputes it set-based (INSERT … SELECT … GROUP BY) for
a backfill or a repair, and for bulk loads that bypass the ORM (crm bench-data).

``consumption_rollups`` sums those rows per month, region, account manager, level, weight,
nature and kind. It is rebuilt per month, set-based, by `rollup` — from a beat task every hour
for the current and previous month, and after a rebuild — rather than in the write path: a
rollup row is shared by thousands of customers, so incrementing it on every sale would make
every write contend on the same few rows, and a customer's reclassification or hand-over would
have to move its whole history between rows. An hour's delay is fine for a dashboard; the
per-customer figures (the analyses' lists, the watch list, the reclassification) read
``consumption_months`` and are exact at once. Either way no page scans the sales or the uses.
``consumption_by_manager`` sums the rollup rows of the same months once more, over level,
weight and nature: the home pages' trends read its 20,000 rows a year (at a million customers)
instead of the rollup's 700,000.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    DateTime,
    cast,
    delete,
    event,
    func,
    inspect,
    literal,
    select,
    text,
    union_all,
)

from crm.kernel import dialect_insert
from crm.reviews.models import ConsumptionByManager, ConsumptionMonth, ConsumptionRollup
from crm.timeutil import company_zone, local_today, utcnow

CARD = "card"  # the kind of accepted card uses
ALL = "*"  # the rollup rows over every kind (their `customers` counts each customer once)
MONTH, QUARTER, HALF, YEAR = "month", "quarter", "half-year", "year"
KIND_MONTHS = {MONTH: 1, QUARTER: 3, HALF: 6, YEAR: 12}
_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{1,2})$"), MONTH),
    (re.compile(r"^(\d{4})[Qq]([1-4])$"), QUARTER),
    (re.compile(r"^(\d{4})[Hh]([12])$"), HALF),
    (re.compile(r"^(\d{4})$"), YEAR),
]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period in the company's time zone: `start` (first day) and `kind`."""

    start: date
    kind: str

    @classmethod
    def parse(cls, value: str) -> "Period":
        """ "2026-03", "2026Q1", "2026H1" or "2026"; ValueError otherwise."""
        value = (value or "").strip()
        for pattern, kind in _PATTERNS:
            match = pattern.match(value)
            if not match:
                continue
            year = int(match.group(1))
            number = int(match.group(2)) if kind != YEAR else 1
            if not 1900 <= year <= 2999:
                break
            if kind == MONTH and not 1 <= number <= 12:
                break
            return cls(date(year, (number - 1) * KIND_MONTHS[kind] + 1, 1), kind)
        raise ValueError(f"not a period: {value!r} (e.g. 2026-03, 2026Q1, 2026H1, 2026)")

    @classmethod
    def containing(cls, kind: str, day: date) -> "Period":
        size = KIND_MONTHS[kind]
        return cls(date(day.year, (day.month - 1) // size * size + 1, 1), kind)

    @classmethod
    def last_complete(cls, kind: str, today: date | None = None) -> "Period":
        """The latest period of `kind` that has ended (the one a review looks back at)."""
        return cls.containing(kind, today or local_today()).previous()

    @property
    def end(self) -> date:
        """The first day after the period."""
        return _add_months(self.start, KIND_MONTHS[self.kind])

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def months(self) -> list[date]:
        return [_add_months(self.start, i) for i in range(KIND_MONTHS[self.kind])]

    def previous(self) -> "Period":
        return Period(_add_months(self.start, -KIND_MONTHS[self.kind]), self.kind)

    def next(self) -> "Period":
        return Period(self.end, self.kind)

    def year_before(self) -> "Period":
        return Period(_add_months(self.start, -12), self.kind)

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end

    def __str__(self) -> str:
        y, m = self.start.year, self.start.month
        if self.kind == MONTH:
            return f"{y}-{m:02d}"
        if self.kind == QUARTER:
            return f"{y}Q{(m - 1) // 3 + 1}"
        if self.kind == HALF:
            return f"{y}H{(m - 1) // 6 + 1}"
        return str(y)


def month_of(at) -> date:
    """The month (its first day) an event counts in: a date is already the company's calendar
    day; a datetime is naive UTC, taken in the company's time zone."""
    if isinstance(at, datetime):
        at = at.replace(tzinfo=UTC).astimezone(company_zone()).date()
    return at.replace(day=1)


def add(session, client_id: int, at, kind: str, amount, uses: int = 1) -> None:
    """THE write of consumption: add `amount` and `uses` (negative to take back) to the
    customer's month and kind, in the caller's transaction (an upsert increment)."""
    amount = Decimal(amount or 0)
    if client_id is None or (amount == 0 and uses == 0):
        return
    table = ConsumptionMonth.__table__
    month = month_of(at)
    stmt = dialect_insert(session, table).values(
        client_id=client_id, month=month, kind=kind, amount=amount, uses=uses
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["client_id", "month", "kind"],
        set_={
            "amount": table.c.amount + stmt.excluded.amount,
            "uses": table.c.uses + stmt.excluded.uses,
        },
    )
    connection = session.connection()
    connection.execute(stmt)
    if amount < 0 or uses < 0:  # a taken-back month with nothing left has no row
        connection.execute(
            delete(table).where(
                table.c.client_id == client_id,
                table.c.month == month,
                table.c.kind == kind,
                table.c.amount == 0,
                table.c.uses <= 0,
            )
        )


# --- maintained at the flush ----------------------------------------------------------------
_STASH = "crm.consumption_before"


def _models():
    from crm.cards.models import CardUse
    from crm.commissions.models import SalesRecord

    return {
        SalesRecord: ("client_id", "sold_on", "product_kind", "amount"),
        CardUse: ("client_id", "used_at", "accepted", "paid"),
    }


def _contribution(model, values):
    """(client_id, at, kind, amount) one sale or card use adds to consumption, or None."""
    from crm.cards.models import CardUse

    if model is CardUse:
        client_id, used_at, accepted, paid = values
        return (client_id, used_at, CARD, paid) if accepted else None
    return tuple(values)  # client_id, sold_on, product_kind, amount


def _before_flush(session, flush_context, instances):
    """What the rows about to change or go contributed, read from the database before the
    flush (an attribute set on an expired object has no old value in memory)."""
    stash = {}
    connection = None
    for model, keys in _models().items():
        ids = [
            o.id
            for o in session.dirty
            if type(o) is model
            and o.id is not None
            and any(inspect(o).attrs[k].history.has_changes() for k in keys)
        ]
        ids += [o.id for o in session.deleted if type(o) is model and o.id is not None]
        if not ids:
            continue
        connection = connection or session.connection()
        table = model.__table__
        for row in connection.execute(
            select(table.c.id, *(table.c[k] for k in keys)).where(table.c.id.in_(ids))
        ):
            stash[(model, row[0])] = _contribution(model, row[1:])
    session.info[_STASH] = stash


def _after_flush(session, flush_context):
    stash = session.info.pop(_STASH, {})
    models = _models()
    moves = [(stash[key], -1) for key in stash]
    for obj in list(session.new) + list(session.dirty):
        keys = models.get(type(obj))
        if keys is None or (obj not in session.new and (type(obj), obj.id) not in stash):
            continue
        moves.append((_contribution(type(obj), [getattr(obj, k) for k in keys]), 1))
    for move, sign in moves:
        if move is None or move[0] is None or move[1] is None:
            continue
        client_id, at, kind, amount = move
        add(session, client_id, at, kind, sign * Decimal(amount or 0), sign)


def install(session_class) -> None:
    """Keep consumption_months in step with every flush of sales records and card uses."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)


# --- set-based rebuild and rollups ----------------------------------------------------------
def _zone_offset_minutes() -> int:
    """SQLite has no time zones: the company zone's current offset (China keeps no summer
    time; PostgreSQL converts exactly with AT TIME ZONE)."""
    return int(datetime.now(company_zone()).utcoffset().total_seconds() // 60)


def _month_of_date(session, column):
    if session.get_bind().dialect.name == "postgresql":  # a date as a timestamp, no zone
        return cast(func.date_trunc("month", cast(column, DateTime)), ConsumptionMonth.month.type)
    return func.date(column, "start of month")


def _month_of_utc(session, column):
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(str(company_zone()), func.timezone("UTC", column))
        return cast(func.date_trunc("month", local), ConsumptionMonth.month.type)
    return func.date(column, f"{_zone_offset_minutes():+d} minutes", "start of month")


def _since_utc(since: date) -> datetime:
    return (
        datetime.combine(since, datetime.min.time(), company_zone())
        .astimezone(UTC)
        .replace(tzinfo=None)
    )


def source_rows(session, since: date | None = None, until: date | None = None, client_ids=None):
    """The definition as one SELECT: (client_id, month, kind, amount, uses) per sale and per
    accepted card use, from `since` (a first day of a month) to before `until`."""
    from crm.cards.models import CardUse
    from crm.commissions.models import SalesRecord

    sales = select(
        SalesRecord.client_id.label("client_id"),
        _month_of_date(session, SalesRecord.sold_on).label("month"),
        SalesRecord.product_kind.label("kind"),
        SalesRecord.amount.label("amount"),
        literal(1).label("uses"),
    )
    uses = select(
        CardUse.client_id,
        _month_of_utc(session, CardUse.used_at),
        literal(CARD),
        CardUse.paid,
        literal(1),
    ).where(CardUse.accepted.is_(True))
    if since is not None:
        sales = sales.where(SalesRecord.sold_on >= since)
        uses = uses.where(CardUse.used_at >= _since_utc(since))
    if until is not None:
        sales = sales.where(SalesRecord.sold_on < until)
        uses = uses.where(CardUse.used_at < _since_utc(until))
    if client_ids is not None:
        sales = sales.where(SalesRecord.client_id.in_(client_ids))
        uses = uses.where(CardUse.client_id.in_(client_ids))
    return union_all(sales, uses).subquery("consumption_source")


def rebuild(session, since_month: date | None = None) -> int:
    """Recompute consumption_months from the sales and card uses (all, or from `since_month`),
    set-based, then the rollups of the months touched. Returns the rows written."""
    table = ConsumptionMonth.__table__
    since = since_month.replace(day=1) if since_month else None
    connection = session.connection()
    if since is None and connection.dialect.name == "postgresql":
        # A whole rebuild empties the table at once: re-inserting every key over its own
        # deleted rows made each unique check visit the dead row (25× slower at 30,000
        # customers). TRUNCATE locks the table until the commit; a repair may.
        connection.execute(text("TRUNCATE consumption_months"))
    else:
        wipe = delete(table)
        if since is not None:
            wipe = wipe.where(table.c.month >= since)
        connection.execute(wipe)
    src = source_rows(session, since)
    query = select(
        src.c.client_id, src.c.month, src.c.kind, func.sum(src.c.amount), func.sum(src.c.uses)
    ).group_by(src.c.client_id, src.c.month, src.c.kind)
    # PostgreSQL checks the customer key row by row (locking each customer row: 120 µs a row,
    # 80% of a rebuild); the key is dropped and added back, which checks it in one join.
    keys = (
        [fk.constraint.name for fk in table.foreign_keys]
        if connection.dialect.name == "postgresql"
        else []
    )
    for name in keys:
        connection.execute(text(f'ALTER TABLE consumption_months DROP CONSTRAINT "{name}"'))
    result = connection.execute(
        table.insert()
        .from_select(["client_id", "month", "kind", "amount", "uses"], query)
        .execution_options(preserve_rowcount=True)
    )
    written = result.rowcount
    for name in keys:
        connection.execute(
            text(
                f'ALTER TABLE consumption_months ADD CONSTRAINT "{name}" '
                "FOREIGN KEY (client_id) REFERENCES clients (id)"
            )
        )
    months = [
        row[0]
        for row in connection.execute(
            select(table.c.month).distinct().where(table.c.month >= since)
            if since is not None
            else select(table.c.month).distinct()
        )
    ]
    for rolled in (ConsumptionRollup.__table__, ConsumptionByManager.__table__):
        # months emptied by the rebuild lose their rollup rows too
        connection.execute(
            delete(rolled).where(rolled.c.month >= since) if since is not None else delete(rolled)
        )
    rollup(session, months)
    return written


def rollup(session, months) -> int:
    """Rebuild the rollup rows of `months` (first days) from consumption_months ⨝ clients,
    set-based, per region, account manager, level, weight, nature and kind, plus the "*"
    rows over every kind. Returns the rows written."""
    from crm.clients.models import Client

    months = sorted({m.replace(day=1) for m in months})
    if not months:
        return 0
    cm, clients = ConsumptionMonth.__table__, Client.__table__
    roll = ConsumptionRollup.__table__
    connection = session.connection()
    connection.execute(delete(roll).where(roll.c.month.in_(months)))
    now = utcnow()
    # A customer has one row per month and kind, so count(*) counts customers in a kind; the
    # "*" rows sum each customer's month first (no DISTINCT: it sorts).
    group = (
        clients.c.region_id,
        clients.c.owner_id,
        clients.c.level,
        clients.c.weight,
        clients.c.nature,
    )
    live = clients.c.deleted_at.is_(None)
    per_kind = (
        select(
            cm.c.month,
            *group,
            cm.c.kind,
            func.sum(cm.c.amount),
            func.sum(cm.c.uses),
            func.count(),
            literal(now),
        )
        .select_from(cm.join(clients, clients.c.id == cm.c.client_id))
        .where(cm.c.month.in_(months), live)
        .group_by(cm.c.month, *group, cm.c.kind)
    )
    month_sums = (
        select(
            cm.c.client_id,
            cm.c.month,
            func.sum(cm.c.amount).label("amount"),
            func.sum(cm.c.uses).label("uses"),
        )
        .where(cm.c.month.in_(months))
        .group_by(cm.c.client_id, cm.c.month)
        .subquery("month_sums")
    )
    every = (
        select(
            month_sums.c.month,
            *group,
            literal(ALL),
            func.sum(month_sums.c.amount),
            func.sum(month_sums.c.uses),
            func.count(),
            literal(now),
        )
        .select_from(month_sums.join(clients, clients.c.id == month_sums.c.client_id))
        .where(live)
        .group_by(month_sums.c.month, *group)
    )
    columns = [
        "month",
        "region_id",
        "account_manager_id",
        "level",
        "weight",
        "nature",
        "kind",
        "amount",
        "uses",
        "customers",
        "built_at",
    ]
    written = 0
    for query in (per_kind, every):
        written += connection.execute(
            roll.insert().from_select(columns, query).execution_options(preserve_rowcount=True)
        ).rowcount
    _by_manager(connection, months)
    return written


def _by_manager(connection, months) -> None:
    """The rollup rows of `months` summed over level, weight and nature (a customer has one
    class at the rollup, so the customers add up)."""
    roll, small = ConsumptionRollup.__table__, ConsumptionByManager.__table__
    connection.execute(delete(small).where(small.c.month.in_(months)))
    keys = (roll.c.month, roll.c.region_id, roll.c.account_manager_id, roll.c.kind)
    connection.execute(
        small.insert().from_select(
            ["month", "region_id", "account_manager_id", "kind", "amount", "uses", "customers"],
            select(
                *keys, func.sum(roll.c.amount), func.sum(roll.c.uses), func.sum(roll.c.customers)
            )
            .where(roll.c.month.in_(months))
            .group_by(*keys),
        )
    )


def rollup_recent(session, today: date | None = None) -> int:
    """The beat's hourly refresh: the current and the previous month."""
    current = Period.containing(MONTH, today or local_today())
    return rollup(session, [current.previous().start, current.start])


# --- reading --------------------------------------------------------------------------------
def per_customer(session, period: Period, client_ids=None):
    """{client_id: total amount} of `period` from consumption_months (unscoped: the caller
    narrows; the reviews run as the system)."""
    cm = ConsumptionMonth.__table__
    stmt = (
        select(cm.c.client_id, func.sum(cm.c.amount))
        .where(cm.c.month >= period.start, cm.c.month < period.end)
        .group_by(cm.c.client_id)
    )
    if client_ids is not None:
        stmt = stmt.where(cm.c.client_id.in_(client_ids))
    return {cid: Decimal(total or 0) for cid, total in session.connection().execute(stmt)}


def total_of(session, client_id: int, period: Period) -> Decimal:
    return per_customer(session, period, [client_id]).get(client_id, Decimal("0"))


__all__ = [
    "ALL",
    "CARD",
    "HALF",
    "MONTH",
    "QUARTER",
    "YEAR",
    "Period",
    "add",
    "install",
    "month_of",
    "per_customer",
    "rebuild",
    "rollup",
    "rollup_recent",
    "source_rows",
]
