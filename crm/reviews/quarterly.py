"""The quarterly consumption analysis and reclassification (RULES R7, R2).

Per customer: the quarter's consumption, the previous quarter's and the same quarter's a year
before, from consumption_months in ONE set-based statement (`analysis_query`). From it a
proposed level, weight and stage by thresholds that are settings:

* level: the highest of ``reclass_level_thresholds`` (K, A, B, C: least consumption in the
  quarter) the quarter reaches; a quarter without consumption proposes no level (D is the
  prospect being developed: nobody falls to it by consumption alone);
* weight: key / general by ``reclass_weight_thresholds``, scattered below, when it consumed;
* stage: no consumption for ``reclass_former_quarters`` quarters in a row (this one included)
  makes an active customer former (曾经交易); consumption makes a prospect or former customer
  active.

A customer whose proposed classes differ from its card gets one proposal for the quarter,
inserted set-based (INSERT … SELECT, unique per quarter and customer: a second run proposes
nothing new). Nothing changes a class until the sales manager approves, one by one or as a
batch, with a reason; the approval applies through crm.clients.services.update_client, the
path of every card edit, so the history and the audit show it. A rejection changes nothing.
"""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, or_, select

from crm.access import current_actor
from crm.errors import DomainError, NotAllowed
from crm.kernel import insert_or_ignore
from crm.reviews.consumption import QUARTER, Period
from crm.reviews.models import APPROVED, PENDING, REJECTED, ConsumptionMonth, ReclassProposal
from crm.settings import get_setting
from crm.timeutil import utcnow

LEVEL_ORDER = ["K", "A", "B", "C"]


def _quarter_sum(cm, period: Period):
    return func.coalesce(
        func.sum(
            case((cm.c.month.between(period.start, period.months[-1]), cm.c.amount), else_=None)
        ),
        0,
    )


def analysis_query(quarter: Period, client_filter=None):
    """SELECT per live customer: id, level, weight, stage, amount, previous_amount,
    year_ago_amount, empty_quarters (how many of the last `reclass_former_quarters` quarters
    had no consumption) and the proposed level, weight and stage."""
    from crm.clients.models import Client

    cm, c = ConsumptionMonth.__table__, Client.__table__
    former_after = max(1, int(get_setting("reclass_former_quarters") or 2))
    back = [quarter]
    for _ in range(former_after - 1):
        back.append(back[-1].previous())
    previous, year_ago = quarter.previous(), quarter.year_before()
    earliest = min(back[-1].start, year_ago.start)
    sums = (
        select(
            cm.c.client_id,
            _quarter_sum(cm, quarter).label("amount"),
            _quarter_sum(cm, previous).label("previous_amount"),
            _quarter_sum(cm, year_ago).label("year_ago_amount"),
            *[_quarter_sum(cm, q).label(f"q{i}") for i, q in enumerate(back)],
        )
        .where(cm.c.month >= earliest, cm.c.month < quarter.end)
        .group_by(cm.c.client_id)
        .subquery("sums")
    )
    amount = func.coalesce(sums.c.amount, 0)
    levels = get_setting("reclass_level_thresholds") or {}
    level_cases = [
        (amount >= Decimal(str(levels[k])), literal(k))
        for k in LEVEL_ORDER
        if levels.get(k) not in (None, "")
    ]
    level_to = case(*level_cases, else_=c.c.level) if level_cases else c.c.level
    weights = get_setting("reclass_weight_thresholds") or {}
    weight_cases = [
        (amount >= Decimal(str(weights[k])), literal(k))
        for k in ("key", "general")
        if weights.get(k) not in (None, "")
    ]
    weight_to = case((amount <= 0, c.c.weight), *weight_cases, else_=literal("scattered"))
    none_for_long = literal(True)
    for i in range(len(back)):
        none_for_long = none_for_long & (func.coalesce(getattr(sums.c, f"q{i}"), 0) <= 0)
    stage_to = case(
        (none_for_long & (c.c.stage == "active"), literal("former")),
        ((amount > 0) & c.c.stage.in_(["prospect", "former"]), literal("active")),
        else_=c.c.stage,
    )
    stmt = (
        select(
            c.c.id.label("client_id"),
            c.c.level,
            c.c.weight,
            c.c.stage,
            amount.label("amount"),
            func.coalesce(sums.c.previous_amount, 0).label("previous_amount"),
            func.coalesce(sums.c.year_ago_amount, 0).label("year_ago_amount"),
            level_to.label("level_to"),
            weight_to.label("weight_to"),
            stage_to.label("stage_to"),
        )
        .select_from(c.outerjoin(sums, sums.c.client_id == c.c.id))
        .where(c.c.deleted_at.is_(None))
    )
    if client_filter is not None:
        stmt = stmt.where(client_filter)
    return stmt


def propose(session, quarter: Period) -> dict:
    """The quarter's proposals, set-based; a customer with a proposal for the quarter gets
    no second one. Returns {"quarter", "new", "pending"}."""
    if quarter.kind != QUARTER:
        raise DomainError(_l("The reclassification is made for a quarter."))
    table = ReclassProposal.__table__
    sub = analysis_query(quarter).subquery("analysis")
    moved = or_(
        sub.c.level_to != sub.c.level,
        sub.c.weight_to != sub.c.weight,
        sub.c.stage_to != sub.c.stage,
    )
    query = select(
        literal(str(quarter)),
        sub.c.client_id,
        sub.c.amount,
        sub.c.previous_amount,
        sub.c.year_ago_amount,
        sub.c.level,
        sub.c.level_to,
        sub.c.weight,
        sub.c.weight_to,
        sub.c.stage,
        sub.c.stage_to,
        literal(PENDING),
        literal(utcnow()),
    ).where(moved)
    columns = [
        "quarter",
        "client_id",
        "amount",
        "previous_amount",
        "year_ago_amount",
        "level_from",
        "level_to",
        "weight_from",
        "weight_to",
        "stage_from",
        "stage_to",
        "status",
        "created_at",
    ]
    stmt = insert_or_ignore(session, table, ["quarter", "client_id"]).from_select(columns, query)
    new = session.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
    pending = session.execute(
        select(func.count())
        .select_from(table)
        .where(table.c.quarter == str(quarter), table.c.status == PENDING)
    ).scalar()
    return {"quarter": str(quarter), "new": new, "pending": pending}


def naive_propose_count(session, quarter: Period, client_ids=None) -> int:
    """The same analysis as a per-customer loop (the bench's naive form): three queries per
    customer and the thresholds in Python. Writes nothing; returns how many would move (of
    `client_ids`, or of every customer)."""
    from crm.clients.models import Client

    c = Client.__table__
    levels = get_setting("reclass_level_thresholds") or {}
    weights = get_setting("reclass_weight_thresholds") or {}
    former_after = max(1, int(get_setting("reclass_former_quarters") or 2))
    cm = ConsumptionMonth.__table__

    def total(cid, period):
        return Decimal(
            session.execute(
                select(func.coalesce(func.sum(cm.c.amount), 0)).where(
                    cm.c.client_id == cid, cm.c.month >= period.start, cm.c.month < period.end
                )
            ).scalar()
        )

    moves = 0
    customers = select(c.c.id, c.c.level, c.c.weight, c.c.stage).where(c.c.deleted_at.is_(None))
    if client_ids is not None:
        customers = customers.where(c.c.id.in_(list(client_ids)))
    for cid, level, weight, stage in session.execute(customers).all():
        amount = total(cid, quarter)
        total(cid, quarter.previous())
        total(cid, quarter.year_before())
        back, empty = quarter, amount <= 0
        for _ in range(former_after - 1):
            back = back.previous()
            empty = empty and total(cid, back) <= 0
        level_to = next(
            (
                k
                for k in LEVEL_ORDER
                if levels.get(k) not in (None, "") and amount >= Decimal(str(levels[k]))
            ),
            level,
        )
        weight_to = (
            weight
            if amount <= 0
            else next(
                (
                    k
                    for k in ("key", "general")
                    if weights.get(k) not in (None, "") and amount >= Decimal(str(weights[k]))
                ),
                "scattered",
            )
        )
        stage_to = (
            "former"
            if empty and stage == "active"
            else "active"
            if amount > 0 and stage in ("prospect", "former")
            else stage
        )
        moves += (level_to, weight_to, stage_to) != (level, weight, stage)
    return moves


def _require_approver():
    from crm.access import can

    if not can(current_actor(), "approve", area="reclass"):
        raise NotAllowed(_l("Only the sales manager approves reclassifications."))


def _decision_reason(proposal: ReclassProposal, reason: str) -> str:
    _require_approver()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Give the reason for the decision."), {"reason": _l("Required.")})
    if proposal.status != PENDING:
        raise DomainError(_l("This proposal has already been decided."))
    return reason


def _decide(session, proposal: ReclassProposal, status: str, reason: str, audit: str):
    from crm.audit import audit_reason

    proposal.status, proposal.reason = status, reason
    proposal.decided_by_id = getattr(current_actor(), "id", None)
    proposal.decided_at = utcnow()
    with audit_reason(session, audit):
        session.flush()
    return proposal


def approve(session, proposal: ReclassProposal, reason: str) -> ReclassProposal:
    """Apply one proposal through the card's change path (history and audit), with a reason."""
    from crm.clients.models import Client
    from crm.clients.services import update_client

    reason = _decision_reason(proposal, reason)
    client = session.get(Client, proposal.client_id)
    if client is None:
        raise DomainError(_l("The customer is no longer in the archive."))
    client.level, client.weight, client.stage = (
        proposal.level_to,
        proposal.weight_to,
        proposal.stage_to,
    )
    full = str(
        _l(
            "Quarterly reclassification %(quarter)s: %(reason)s",
            quarter=proposal.quarter,
            reason=reason,
        )
    )
    update_client(session, client, reason=full)
    return _decide(session, proposal, APPROVED, reason, full)


def approve_many(session, proposals, reason: str) -> int:
    """A batch approval with one reason; the pending ones among `proposals`."""
    done = 0
    for proposal in proposals:
        if proposal.status == PENDING:
            approve(session, proposal, reason)
            done += 1
    return done


def reject(session, proposal: ReclassProposal, reason: str) -> ReclassProposal:
    """Turn a proposal down: the customer's classes stay as they are."""
    reason = _decision_reason(proposal, reason)
    return _decide(session, proposal, REJECTED, reason, reason)
