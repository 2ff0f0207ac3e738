"""The monthly watch list (RULES R7): the customers each account manager and region watch this
month, each with why, made by beat on the 1st and on demand (`crm review monthly`).

The rules are settings (crm.settings, ``watch_*``); each is one set-based query over live
customers, and a customer is listed once a month with every rule it meets:

* ``level``     — its level is one of ``watch_levels`` (K, A): the key customers;
* ``drop``      — last month's consumption fell by more than ``watch_drop_percent`` against
                  the month before (crm.reviews.consumption);
* ``credit``    — it owes at least ``watch_credit_percent`` of its credit limit;
* ``overdue``   — it has an overdue debt;
* ``contract``  — a signed or in-force contract ends within ``watch_contract_days``;
* ``complaint`` — it has an open complaint (``watch_open_complaints``);
* ``card``      — a key customer's (level in ``watch_levels`` or weight key) member card expires
                  within ``watch_card_days``.

The list is unique per month and customer: a second run of the same month adds nobody twice
and changes no entry. The owner records what was done (`record_action`, audited); what is still
untouched is ``handled_at`` empty.
"""

from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select

from crm.access import can, current_actor
from crm.errors import DomainError, NotAllowed
from crm.kernel import insert_or_ignore
from crm.reviews.consumption import MONTH, Period
from crm.reviews.models import ConsumptionMonth, WatchEntry
from crm.settings import get_setting
from crm.timeutil import local_today, utcnow

RULES = {
    "level": _l("Key customer (level %(detail)s)"),
    "drop": _l("Consumption fell %(detail)s%% against the month before"),
    "credit": _l("Credit use %(detail)s%% of the limit"),
    "overdue": _l("Overdue debt %(detail)s"),
    "contract": _l("Contract ends on %(detail)s"),
    "complaint": _l("Open complaint (%(detail)s)"),
    "card": _l("Member card expires on %(detail)s"),
}


def reason_text(code: str, detail) -> str:
    """One reason in the reader's language (the list stores codes and values)."""
    label = RULES.get(code)
    return str(label % {"detail": detail}) if label is not None else str(code)


def reasons_text(reasons) -> str:
    return "；".join(reason_text(code, detail) for code, detail in reasons or ())


def _live():
    from crm.clients.models import Client

    return Client.__table__.c.deleted_at.is_(None)


def _level_rule(session, today, levels):
    from crm.clients.models import Client

    c = Client.__table__
    if not levels:
        return {}
    rows = session.execute(select(c.c.id, c.c.level).where(_live(), c.c.level.in_(levels)))
    return {cid: level for cid, level in rows}


def _drop_rule(session, month: Period, percent):
    if percent in (None, "", 0):
        return {}
    last, before = month.previous(), month.previous().previous()
    cm = ConsumptionMonth.__table__
    last_sum = func.coalesce(func.sum(_when(cm.c.month == last.start, cm.c.amount)), 0)
    before_sum = func.coalesce(func.sum(_when(cm.c.month == before.start, cm.c.amount)), 0)
    stmt = (
        select(cm.c.client_id, last_sum, before_sum)
        .where(cm.c.month.in_([last.start, before.start]))
        .group_by(cm.c.client_id)
        .having(
            and_(before_sum > 0, (before_sum - last_sum) * 100 > before_sum * Decimal(str(percent)))
        )
    )
    out = {}
    for cid, now_amount, then in session.execute(stmt):
        fall = (Decimal(then) - Decimal(now_amount)) * 100 / Decimal(then)
        out[cid] = int(fall.quantize(Decimal("1")))
    return out


def _when(cond, value):
    return case((cond, value), else_=None)


def _credit_rules(session, today, percent):
    from crm.credit.models import CHARGE, CreditBalance, OpenItem

    bal, items = CreditBalance.__table__, OpenItem.__table__
    credit, overdue = {}, {}
    if percent not in (None, "", 0):
        limit = func.coalesce(bal.c.credit_limit, 0)
        rows = session.execute(
            select(bal.c.client_id, bal.c.outstanding, limit).where(
                bal.c.outstanding > 0, bal.c.outstanding * 100 >= limit * int(percent)
            )
        )
        for cid, owed, lim in rows:
            share = (Decimal(owed) * 100 / Decimal(lim)) if lim else Decimal("100")
            credit[cid] = int(share.quantize(Decimal("1")))
        rows = session.execute(
            select(items.c.client_id, func.sum(items.c.open_amount))
            .where(items.c.kind == CHARGE, items.c.due_date < today, items.c.open_amount > 0)
            .group_by(items.c.client_id)
        )
        overdue = {cid: f"{Decimal(amount):,.2f}" for cid, amount in rows}
    return credit, overdue


def _contract_rule(session, today, days):
    from crm.contracts.models import IN_FORCE, SIGNED, Contract

    if days in (None, "", 0):
        return {}
    t = Contract.__table__
    rows = session.execute(
        select(t.c.client_id, func.min(t.c.ends_on))
        .where(
            t.c.deleted_at.is_(None),
            t.c.status.in_([SIGNED, IN_FORCE]),
            t.c.ends_on >= today,
            t.c.ends_on <= today + timedelta(days=int(days)),
        )
        .group_by(t.c.client_id)
    )
    return {cid: ends.isoformat() for cid, ends in rows}


def _complaint_rule(session, enabled):
    from crm.complaints.models import HANDLING, OPEN, Complaint

    if not enabled:
        return {}
    t = Complaint.__table__
    rows = session.execute(
        select(t.c.client_id, func.count())
        .where(
            t.c.deleted_at.is_(None), t.c.status.in_([OPEN, HANDLING]), t.c.client_id.is_not(None)
        )
        .group_by(t.c.client_id)
    )
    return {cid: n for cid, n in rows}


def _card_rule(session, today, days, levels):
    from crm.cards.models import MemberCard
    from crm.clients.models import Client

    if days in (None, "", 0):
        return {}
    cards, c = MemberCard.__table__, Client.__table__
    key = or_(c.c.level.in_(levels or []), c.c.weight == "key")
    rows = session.execute(
        select(cards.c.client_id, func.min(cards.c.expiry_date))
        .select_from(cards.join(c, c.c.id == cards.c.client_id))
        .where(
            _live(),
            key,
            cards.c.status == "active",
            cards.c.expiry_date >= today,
            cards.c.expiry_date <= today + timedelta(days=int(days)),
        )
        .group_by(cards.c.client_id)
    )
    return {cid: expiry.isoformat() for cid, expiry in rows}


def candidates(session, month: Period, today: date) -> dict[int, list]:
    """{client_id: [[rule, detail], …]} by the rules in force, for `month`."""
    levels = get_setting("watch_levels") or []
    credit, overdue = _credit_rules(session, today, get_setting("watch_credit_percent"))
    found = {
        "level": _level_rule(session, today, levels),
        "drop": _drop_rule(session, month, get_setting("watch_drop_percent")),
        "credit": credit,
        "overdue": overdue,
        "contract": _contract_rule(session, today, get_setting("watch_contract_days")),
        "complaint": _complaint_rule(session, get_setting("watch_open_complaints")),
        "card": _card_rule(session, today, get_setting("watch_card_days"), levels),
    }
    out: dict[int, list] = {}
    for code in RULES:
        for cid, detail in found[code].items():
            out.setdefault(cid, []).append([code, detail])
    return out


def make_list(session, month: Period | None = None, today: date | None = None) -> dict:
    """Make `month`'s watch list (default: this month); entries already there stay as they
    are. Returns {"month", "new", "total"}."""
    from crm.clients.models import Client

    today = today or local_today()
    month = month or Period.containing(MONTH, today)
    if month.kind != MONTH:
        raise DomainError(_l("A watch list is made for a month."))
    found = candidates(session, month, today)
    table, c = WatchEntry.__table__, Client.__table__
    have = set(
        session.execute(select(table.c.client_id).where(table.c.month == month.start)).scalars()
    )
    todo = [cid for cid in found if cid not in have]
    owners = {}
    for start in range(0, len(todo), 5000):
        chunk = todo[start : start + 5000]
        owners.update(
            {
                cid: (owner, region)
                for cid, owner, region in session.execute(
                    select(c.c.id, c.c.owner_id, c.c.region_id).where(c.c.id.in_(chunk), _live())
                )
            }
        )
    now = utcnow()
    rows = [
        {
            "month": month.start,
            "client_id": cid,
            "owner_id": owners[cid][0],
            "region_id": owners[cid][1],
            "reasons": found[cid],
            "created_at": now,
        }
        for cid in todo
        if cid in owners
    ]
    new = 0
    for start in range(0, len(rows), 2000):
        stmt = insert_or_ignore(session, table, ["month", "client_id"])
        new += session.execute(
            stmt.execution_options(preserve_rowcount=True), rows[start : start + 2000]
        ).rowcount
    total = session.execute(
        select(func.count()).select_from(table).where(table.c.month == month.start)
    ).scalar()
    return {"month": str(month), "new": new, "total": total}


def record_action(session, entry: WatchEntry, text: str) -> WatchEntry:
    """The owner (or a leader over the customer) records what was done; audited."""
    if not can(current_actor(), "edit", entry):
        raise NotAllowed(_l("You may not record what was done for this customer."))
    text = (text or "").strip()
    if not text:
        raise DomainError(_l("Say what was done."), {"action_taken": _l("Required.")})
    entry.action_taken = text
    entry.handled_at = utcnow()
    entry.handled_by_id = getattr(current_actor(), "id", None)
    session.flush()
    return entry
