"""The business of the bench customers, for `crm bench-data`: contracts, credit profiles with
their receivables ledger, member cards, and archive documents awaiting indexing.

A customer in business (stage active or former) has one to three contracts, a credit profile
and a ledger of 6 to 18 rows (charges, and payments that settle the oldest charges exactly, so
the open items, allocations and balance agree with the ledger), a member card (one in five has
a second), and one in twenty has the scan of a contract filed for the archive with a small
file, waiting for the indexing task. Dates are placed around today, so that today's credit
check finds overdue charges and today's card sweep finds cards to remind and expire.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from crm.archives import rules as archive_rules
from crm.cards import rules as card_rules
from crm.cards import services as card_services
from crm.cards.models import CardType
from crm.contracts.models import ENDED, IN_FORCE
from crm.credit import rules as credit_rules
from crm.sequences import next_value
from crm.settings import get_setting

IN_BUSINESS = frozenset({"active", "former"})
TABLES = (
    "contracts",
    "credit_profiles",
    "credit_balances",
    "ledger_entries",
    "credit_open_items",
    "credit_allocations",
    "member_cards",
    "archive_documents",
)
CONTRACT_TITLES = [
    ("contract", "年度会员服务合同"),
    ("membership", "会员入会协议"),
    ("agreement", "场地租赁协议"),
    ("supplement", "补充协议"),
]
DOC_EVERY = 20  # one customer in business in twenty has a scan waiting for indexing


@dataclass
class Customer:
    id: int
    owner_id: int | None
    stage: str
    created: datetime


def _card_types(session) -> list[CardType]:
    types = session.scalars(select(CardType).order_by(CardType.id)).all()
    if types:
        return types
    from crm.cards.demo import TYPES

    for code, name, rate, privileges, issue, renewal, replacement, months in TYPES:
        types.append(
            card_services.save_card_type(
                session,
                CardType(
                    code=code,
                    name=name,
                    discount_rate=Decimal(rate),
                    privileges=privileges,
                    issue_fee=Decimal(issue),
                    renewal_fee=Decimal(renewal),
                    replacement_fee=Decimal(replacement),
                    validity_months=months,
                ),
            )
        )
    session.flush()
    return types


# --- contracts -------------------------------------------------------------------------------
CONTRACT_COLUMNS = [
    "client_id",
    "seq",
    "number",
    "kind",
    "title",
    "signed_on",
    "starts_on",
    "ends_on",
    "amount",
    "status",
    "created_by_id",
    "created_at",
]


def contract_rows(rng, customers, per_customer, first_number, today):
    number = first_number
    for c, count in zip(customers, per_customer, strict=True):
        day = c.created.date()
        for seq in range(1, 1 + count):
            kind, title = CONTRACT_TITLES[0] if seq == 1 else rng.choice(CONTRACT_TITLES)
            day = min(today, day + timedelta(days=rng.randrange(0, 200)))
            ends = day + timedelta(days=365)
            yield (
                c.id,
                seq,
                f"HT{number:07d}",
                kind,
                title,
                day,
                day,
                ends,
                Decimal(rng.randrange(20, 2000) * 100),
                ENDED if ends < today else IN_FORCE,
                c.owner_id,
                datetime.combine(day, datetime.min.time()),
            )
            number += 1


# --- credit ----------------------------------------------------------------------------------
LEDGER_COLUMNS = [
    "id",
    "client_id",
    "kind",
    "source",
    "entry_date",
    "due_date",
    "amount",
    "reference",
    "recorded_by_id",
    "recorded_at",
]
OPEN_COLUMNS = ["entry_id", "client_id", "kind", "entry_date", "due_date", "open_amount"]
ALLOC_COLUMNS = ["client_id", "payment_id", "charge_id", "amount", "alloc_date", "created_at"]
BALANCE_COLUMNS = ["client_id", "outstanding", "credit_limit", "updated_at"]
PROFILE_COLUMNS = [
    "client_id",
    "grade",
    "credit_limit",
    "period_days",
    "direct_export",
    "updated_at",
]


@dataclass
class Ledger:
    entries: list
    open_items: list
    allocations: list
    balance: tuple
    profile: tuple


def customer_ledger(rng, cid: int, first_id: int, today: date, now: datetime) -> Ledger:
    """A year of charges; every third row a payment of the oldest one or two unpaid charges;
    a limit that puts the customer between 20% and 110% of it."""
    entries, allocations, charges, paid = [], [], [], 0
    period = rng.choice((30, 30, 45, 60))
    day = today - timedelta(days=365)
    for k in range(rng.randrange(6, 19)):
        day += timedelta(days=rng.randrange(5, 40))
        eid = first_id + k
        if k % 3 == 2 and paid < len(charges):
            settled = charges[paid : paid + rng.choice((1, 2))]
            paid += len(settled)
            amount = sum(a for _i, a, _d in settled)
            entries.append((eid, cid, "payment", "bank", day, None, amount, f"R{eid}", None, now))
            allocations += [(cid, eid, charge, a, day, now) for charge, a, _d in settled]
        else:
            amount = Decimal(rng.randrange(100, 5000))
            charges.append((eid, amount, day))
            entries.append(
                (
                    eid,
                    cid,
                    "charge",
                    "bill",
                    day,
                    day + timedelta(days=period),
                    amount,
                    f"B{eid}",
                    None,
                    now,
                )
            )
    unpaid = charges[paid:]
    owed = sum((a for _i, a, _d in unpaid), Decimal(0))
    limit = credit_rules.money(max(owed, Decimal(1000)) / Decimal(rng.uniform(0.2, 1.1)))
    return Ledger(
        entries,
        [(eid, cid, "charge", d, d + timedelta(days=period), a) for eid, a, d in unpaid],
        allocations,
        (cid, owed, limit, now),
        (cid, rng.choice("AABBBC"), limit, period, False, now),
    )


# --- member cards ----------------------------------------------------------------------------
CARD_COLUMNS = [
    "number",
    "client_id",
    "card_type_id",
    "issue_date",
    "expiry_date",
    "status",
    "created_at",
]
OTHER_STATUSES = [
    card_rules.EXPIRED,
    card_rules.CANCELLED,
    card_rules.LOST,
    card_rules.REPLACED,
    card_rules.RENEWED,
]


def card_rows(rng, holders, types, first_number, today, now):
    """Live cards expire evenly over the coming year (a day's share is due each day); one card
    in ten is in one of the other statuses."""
    for k, cid in enumerate(holders):
        card_type = types[k % len(types)]
        expiry = today + timedelta(days=rng.randrange(-1, 365))
        status = card_rules.ACTIVE if k % 10 else OTHER_STATUSES[(k // 10) % len(OTHER_STATUSES)]
        if status == card_rules.EXPIRED:
            expiry = today - timedelta(days=rng.randrange(1, 365))
        yield (
            card_rules.make_number(first_number + k),
            cid,
            card_type.id,
            card_rules.add_months(expiry, -card_type.validity_months),
            expiry,
            status,
            now,
        )


# --- archive documents -----------------------------------------------------------------------
DOC_COLUMNS = [
    "client_id",
    "client_name",
    "manager_id",
    "category",
    "title",
    "doc_date",
    "pages",
    "retention",
    "form",
    "status",
    "customer_signed",
    "handler",
    "approved_by_id",
    "approved_at",
    "filed_at",
    "incoming_path",
    "original_name",
    "content_type",
    "created_at",
    "created_by_id",
]


def document_rows(rng, customers, names, approvers, retention, root: Path, now):
    """Signed-off contract scans, filed and waiting for the indexing task (R4), each with a
    small file under the archive root's incoming folder."""
    incoming = root / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for c in customers:
        relative = f"incoming/bench-{c.id}.pdf"
        (root / relative).write_bytes(rng.randbytes(rng.randrange(2048, 16384)))
        day = c.created.date()
        yield (
            c.id,
            names[c.id],
            c.owner_id,
            "contracts",
            "合同原件扫描件",
            day,
            rng.randrange(1, 9),
            retention,
            archive_rules.BOTH,
            archive_rules.FILED,
            True,
            "基准经办人",
            approvers.get(c.owner_id),
            now,
            now,
            relative,
            f"合同-{c.id}.pdf",
            "application/pdf",
            now,
            c.owner_id,
        )


# --- all of it -------------------------------------------------------------------------------
def generate(
    session,
    load,
    rng: random.Random,
    customers: list[Customer],
    names: dict,
    approvers: dict,
    today: date,
    now: datetime,
    first_entry_id: int,
) -> dict:
    """Load the business of `customers` through `load(table, columns, rows)`; `approvers`
    maps an account manager to the regional manager who approves their documents."""
    signing = [c for c in customers if c.stage in IN_BUSINESS]
    counts = {}
    per_customer = [1 if rng.random() < 0.7 else rng.choice((2, 2, 3)) for _c in signing]
    first = next_value(session, "contract_number", sum(per_customer))
    counts["contracts"] = load(
        "contracts", CONTRACT_COLUMNS, contract_rows(rng, signing, per_customer, first, today)
    )
    # The ledger streams into COPY; what hangs off it is kept for the tables after it.
    open_items, allocations, balances, profiles = [], [], [], []

    def ledger():
        entry_id = first_entry_id
        for c in signing:
            book = customer_ledger(rng, c.id, entry_id, today, now)
            entry_id += len(book.entries)
            open_items.extend(book.open_items)
            allocations.extend(book.allocations)
            balances.append(book.balance)
            profiles.append(book.profile)
            yield from book.entries

    counts["ledger_entries"] = load("ledger_entries", LEDGER_COLUMNS, ledger())
    counts["credit_open_items"] = load("credit_open_items", OPEN_COLUMNS, open_items)
    counts["credit_allocations"] = load("credit_allocations", ALLOC_COLUMNS, allocations)
    counts["credit_balances"] = load("credit_balances", BALANCE_COLUMNS, balances)
    counts["credit_profiles"] = load("credit_profiles", PROFILE_COLUMNS, profiles)
    holders = [c.id for c in signing for _ in range(1 + (rng.random() < 0.2))]
    first = next_value(session, "card_number", len(holders))
    counts["member_cards"] = load(
        "member_cards",
        CARD_COLUMNS,
        card_rows(rng, holders, _card_types(session), first, today, now),
    )
    scanned = [c for c in signing if c.owner_id and rng.random() < 1 / DOC_EVERY]
    root = Path(current_app.config["ARCHIVE_ROOT"])
    # read before the COPY starts: the connection serves nothing else while it runs
    retention = get_setting("archive_retention").get("contracts", "D30")
    counts["archive_documents"] = load(
        "archive_documents",
        DOC_COLUMNS,
        document_rows(rng, scanned, names, approvers, retention, root, now),
    )
    return counts
