"""The quarterly credit re-evaluation (RULES R11): from each customer's last three months
(debts due and unpaid, collections, overdue at month end), a proposed grade or limit step that
goes through the review chain (crm.credit.reviews) like any proposal.

Who commits: the caller (the quarterly task). Once per quarter per customer (a unique period
key), so a second run proposes nothing twice.
"""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import (
    exists,
    func,
    or_,
    select,
)

from crm.credit import rules
from crm.credit.ledger import UNSCOPED
from crm.credit.models import (
    ALLOC,
    CHARGE,
    LEDGER,
    OPEN,
    PAYMENT,
    PROF,
    CreditProfile,
    CreditReview,
    Deferral,
)
from crm.credit.reviews import OPEN_STATUSES, PROFILE_FIELDS, propose_credit
from crm.settings import get_setting
from crm.timeutil import local_today


def month_facts(session, month_ends: list[date]) -> dict[int, list[rules.Month]]:
    """Per customer with a profile and per month: was a debt due and unpaid since the month
    began, what was collected, was anything overdue at its end — three statements a month."""

    DEFER = Deferral.__table__
    rev = LEDGER.alias("rev")
    not_reversed = ~exists().where(rev.c.reverses_id == LEDGER.c.id)
    due = func.coalesce(
        select(DEFER.c.new_due_date)
        .where(DEFER.c.charge_id == LEDGER.c.id)
        .order_by(DEFER.c.id.desc())
        .limit(1)
        .scalar_subquery(),
        LEDGER.c.due_date,
    )
    facts: dict[int, list] = {}
    profiled = [cid for (cid,) in session.execute(select(PROF.c.client_id))]
    for end in month_ends:
        start = end.replace(day=1)
        paid = (
            select(ALLOC.c.charge_id, func.sum(ALLOC.c.amount).label("paid"))
            .where(ALLOC.c.alloc_date < start)
            .group_by(ALLOC.c.charge_id)
            .subquery()
        )
        due_ids = {
            cid
            for (cid,) in session.execute(
                select(LEDGER.c.client_id)
                .distinct()
                .select_from(LEDGER.outerjoin(paid, paid.c.charge_id == LEDGER.c.id))
                .where(
                    LEDGER.c.kind == CHARGE,
                    not_reversed,
                    due <= end,
                    LEDGER.c.amount - func.coalesce(paid.c.paid, 0) > 0,
                )
            )
        }
        settled = (
            select(ALLOC.c.charge_id, func.sum(ALLOC.c.amount).label("paid"))
            .where(ALLOC.c.alloc_date <= end)
            .group_by(ALLOC.c.charge_id)
            .subquery()
        )
        late_ids = {
            cid
            for (cid,) in session.execute(
                select(LEDGER.c.client_id)
                .distinct()
                .select_from(LEDGER.outerjoin(settled, settled.c.charge_id == LEDGER.c.id))
                .where(
                    LEDGER.c.kind == CHARGE,
                    not_reversed,
                    due < end,
                    LEDGER.c.amount - func.coalesce(settled.c.paid, 0) > 0,
                )
            )
        }
        collected = dict(
            session.execute(
                select(LEDGER.c.client_id, func.sum(LEDGER.c.amount))
                .where(
                    LEDGER.c.kind == PAYMENT,
                    not_reversed,
                    LEDGER.c.entry_date >= start,
                    LEDGER.c.entry_date < end + timedelta(days=1),
                )
                .group_by(LEDGER.c.client_id)
            ).all()
        )
        for cid in profiled:
            facts.setdefault(cid, []).append(
                rules.Month(cid in due_ids, Decimal(collected.get(cid) or 0), cid in late_ids)
            )
    return facts


def quarterly_reevaluation(session, today: date | None = None) -> int:
    """Propose a grade (or limit) step for every customer whose last three months earn one.
    Once per quarter per customer (a unique period key); proposals wait for the R11 chain."""
    today = today or local_today()
    period = rules.quarter_of(today)
    facts = month_facts(session, rules.month_ends_before(today, 3))
    overdue = dict(
        session.execute(
            select(OPEN.c.client_id, func.sum(OPEN.c.open_amount))
            .where(OPEN.c.kind == CHARGE, OPEN.c.due_date < today)
            .group_by(OPEN.c.client_id)
        ).all()
    )
    busy = {
        cid
        for (cid,) in session.execute(
            select(CreditReview.client_id)
            .where(or_(CreditReview.status.in_(OPEN_STATUSES), CreditReview.period == period))
            .execution_options(**UNSCOPED)
        )
    }
    made = 0
    for profile in session.scalars(select(CreditProfile).execution_options(**UNSCOPED)):
        if profile.client_id in busy:
            continue
        proposal = rules.reevaluate(
            profile.grade,
            profile.credit_limit,
            get_setting("credit_grades"),
            get_setting("credit_raise_step_percent"),
            facts.get(profile.client_id, []),
            Decimal(overdue.get(profile.client_id) or 0),
        )
        if proposal is None:
            continue
        values = {f: getattr(profile, f) for f in PROFILE_FIELDS}
        values.update(grade=proposal.grade, credit_limit=proposal.limit)
        propose_credit(
            session,
            profile.client_id,
            values,
            situation=f"{period}: {proposal.reason} ({proposal.direction})",
            origin="reevaluation",
            period=period,
        )
        made += 1
    return made
