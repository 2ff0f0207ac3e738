"""The rules of commissions (R3 cat. 6, R13) as functions the admin and the demo call.

A sale counts for the customer's current inviter and earns what its scheme says (computed, never
typed). Each sale puts a line on its promoter's statement for the sale's month; a manager
confirms a month and it is frozen: a late sale or a correction for a confirmed month goes in
as an adjustment line on the first open month after it. The freeze is also enforced at the
flush, so no path (admin, script, task) can change a confirmed statement.
"""

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, inspect, select

from crm.access import SYSTEM, can, current_actor
from crm.audit import audit_reason
from crm.auth.models import User
from crm.commissions import rules
from crm.commissions.models import (
    ADJUSTMENT,
    CONFIRMED,
    EXTERNAL,
    INTERNAL,
    OPEN,
    SALE,
    ClientInviter,
    CommissionLine,
    CommissionStatement,
    Promoter,
    PromotionScheme,
    SalesRecord,
)
from crm.errors import DomainError, NotAllowed
from crm.kernel import parse_money, unscoped
from crm.timeutil import local_today, utcnow


def _require_setup() -> None:
    if not can(current_actor(), "edit", area="commission_setup"):
        raise NotAllowed(_l("Only the sales manager may set promotion schemes and promoters."))


# --- schemes and promoters ----------------------------------------------------------------
def save_scheme(session, scheme: PromotionScheme, rates_text: str | None = None):
    _require_setup()
    errors = {}
    if not (scheme.name or "").strip():
        errors["name"] = _l("Give the scheme a name.")
    if scheme.rule_kind not in dict(rules.RULE_KINDS):
        errors["rule_kind"] = _l("Choose how the scheme pays.")
    if scheme.starts_on and scheme.ends_on and scheme.ends_on < scheme.starts_on:
        errors["ends_on"] = _l("The period ends before it starts.")
    if errors:
        raise DomainError(_l("The scheme has errors."), errors)
    if rates_text is not None:
        scheme.rates = rules.parse_rates(rates_text, scheme.rule_kind)
    elif scheme.rates:  # re-checked when the rule kind changes under stored rates
        scheme.rates = rules.parse_rates(rules.format_rates(scheme.rates), scheme.rule_kind)
    session.add(scheme)
    session.flush()
    return scheme


def save_promoter(session, promoter: Promoter) -> Promoter:
    _require_setup()
    if promoter.kind == INTERNAL and promoter.user_id is None and promoter.user is None:
        raise DomainError(
            _l("An internal promoter is a member of staff."),
            {"user": _l("Choose the member of staff.")},
        )
    if promoter.kind == EXTERNAL:
        promoter.user = None
        promoter.user_id = None
    if not (promoter.name or "").strip():
        user = promoter.user or (session.get(User, promoter.user_id) if promoter.user_id else None)
        promoter.name = str(user) if user else ""
    if not promoter.name:
        raise DomainError(_l("Give the promoter a name."), {"name": _l("Give a name.")})
    session.add(promoter)
    session.flush()
    return promoter


# --- the current inviter (R13) ------------------------------------------------------------
def set_inviter(session, client_id: int, promoter: Promoter, since: date | None = None):
    """Record who the customer's sales count for from now on (the invitation moved)."""
    row = ClientInviter(client_id=client_id, promoter_id=promoter.id, since=since or local_today())
    if not can(current_actor(), "create", row):
        raise NotAllowed(_l("You may not change this customer's inviter."))
    existing = session.scalars(
        select(ClientInviter)
        .where(ClientInviter.client_id == client_id)
        .execution_options(**unscoped("one inviter per customer"))
    ).first()
    if existing:
        existing.promoter_id, existing.since = promoter.id, row.since
        row = existing
    session.add(row)
    session.flush()
    return row


def current_inviter(session, client_id: int) -> Promoter | None:
    """Whom the customer's sales count for: the later of the inviter recorded here and the
    staff member whose division's invitation is confirmed (crm.intake, R13) when that member
    is a promoter."""
    recorded = session.execute(
        select(Promoter, ClientInviter.since)
        .join(ClientInviter, ClientInviter.promoter_id == Promoter.id)
        .where(ClientInviter.client_id == client_id)
        .execution_options(**unscoped("the customer's inviter, checked in scope before"))
    ).first()
    candidates = [(recorded.since, recorded.Promoter)] if recorded else []
    try:
        from crm.intake.services import current_inviter as confirmed_claim
    except ImportError:  # the invitation module is optional here
        confirmed_claim = None
    claim = confirmed_claim(session, client_id) if confirmed_claim else None
    if claim is not None and claim.claimed_by_id is not None:
        promoter = session.scalars(
            select(Promoter).where(
                Promoter.user_id == claim.claimed_by_id, Promoter.active.is_(True)
            )
        ).first()
        day = claim.count_day or (claim.confirmed_at.date() if claim.confirmed_at else None)
        if promoter is not None and day is not None:
            candidates.append((day, promoter))
    if not candidates:
        return None
    # The later wins; on the same day the confirmed invitation (listed last) does.
    return max(enumerate(candidates), key=lambda pair: (pair[1][0], pair[0]))[1][1]


# --- sales --------------------------------------------------------------------------------
def _open_statement(session, promoter_id: int, month: str) -> CommissionStatement:
    """The statement for `month`, or for the first month after it that is still open.
    Unscoped: a sale entered by anyone counts on its promoter's statement, which the person
    entering it need not be able to read."""
    while True:
        statement = session.scalars(
            select(CommissionStatement)
            .where(
                CommissionStatement.promoter_id == promoter_id, CommissionStatement.month == month
            )
            .execution_options(**unscoped("a sale counts on its promoter's statement"))
        ).first()
        if statement is None:
            statement = CommissionStatement(
                promoter_id=promoter_id, month=month, status=OPEN, total=Decimal("0")
            )
            session.add(statement)
            session.flush()
            return statement
        if statement.status == OPEN:
            return statement
        month = rules.next_month(month)


def _add_line(session, sale: SalesRecord, amount: Decimal, note: str | None = None):
    month = rules.month_of(sale.sold_on)
    statement = _open_statement(session, sale.promoter_id, month)
    late = statement.month != month
    line = CommissionLine(
        statement_id=statement.id,
        sale_id=sale.id,
        amount=amount,
        kind=ADJUSTMENT if late or note else SALE,
        created_at=utcnow(),
        note=note or (_("Sale of %(month)s, a confirmed month", month=month) if late else None),
    )
    session.add(line)
    statement.total = (statement.total or Decimal("0")) + amount  # the running total
    session.flush()
    return line


def _commission(session, sale: SalesRecord) -> Decimal:
    scheme = sale.scheme or session.get(PromotionScheme, sale.scheme_id)
    if scheme is None:
        raise DomainError(_l("Choose a promotion scheme."), {"scheme": _l("Required.")})
    if not scheme.starts_on <= sale.sold_on <= scheme.ends_on:
        raise DomainError(
            _l(
                "The sale date is outside the scheme's period (%(a)s – %(b)s).",
                a=scheme.starts_on,
                b=scheme.ends_on,
            ),
            {"sold_on": _l("Outside.")},
        )
    due = rules.commission_for(scheme.rule_kind, scheme.rates, sale.product_kind, sale.amount)
    if due is None:
        raise DomainError(
            _l("The scheme pays nothing for this product kind."),
            {"product_kind": _l("Not in the scheme.")},
        )
    return due


def record_sale(session, sale: SalesRecord) -> SalesRecord:
    """Enter a sale: it counts for the customer's current inviter; its commission is computed."""
    actor = current_actor()
    with session.no_autoflush:
        client_id = sale.client.id if sale.client is not None else sale.client_id
        sale.client_id = client_id
        if not can(actor, "create", sale):
            raise NotAllowed(_l("You may not record sales for this customer."))
        if sale.sold_on is None:
            raise DomainError(_l("Give the sale date."), {"sold_on": _l("Required.")})
        sale.amount = parse_money(sale.amount, positive=True)
        inviter = current_inviter(session, client_id)
        if inviter is None:
            raise DomainError(
                _l("This customer has no inviter yet: record who invited them first.")
            )
        sale.promoter, sale.promoter_id = inviter, inviter.id
        sale.commission = _commission(session, sale)
    sale.recorded_by_id = getattr(actor, "id", None)
    session.add(sale)
    session.flush()
    _add_line(session, sale, sale.commission)
    return sale


def correct_sale(
    session, sale: SalesRecord, reason: str, amount=None, product_kind: str | None = None
) -> CommissionLine | None:
    """Change a sale's amount or kind; the commission difference is an adjustment line."""
    if not can(current_actor(), "edit", sale):
        raise NotAllowed(_l("You may not change this customer's sales."))
    if not (reason or "").strip():
        raise DomainError(_l("A correction records its reason."), {"reason": _l("Required.")})
    before = sale.commission
    if amount is not None:
        sale.amount = parse_money(amount, positive=True)
    if product_kind:
        sale.product_kind = product_kind
    sale.commission = _commission(session, sale)
    with audit_reason(session, reason.strip()):
        session.flush()
        delta = sale.commission - before
        if delta == 0:
            return None
        return _add_line(session, sale, delta, _("Correction: %(reason)s", reason=reason.strip()))


# --- statements ---------------------------------------------------------------------------
def statement_total(session, statement: CommissionStatement) -> Decimal:
    total = session.execute(
        select(func.coalesce(func.sum(CommissionLine.amount), 0)).where(
            CommissionLine.statement_id == statement.id
        )
    ).scalar()
    return Decimal(total).quantize(rules.CENT)


def confirm_statement(
    session, statement: CommissionStatement, on_behalf_of: User | None = None
) -> CommissionStatement:
    """A manager confirms a month that is over; the system (demo, import) confirms
    `on_behalf_of` a manager."""
    actor = current_actor()
    if actor is SYSTEM and on_behalf_of is not None:
        actor = on_behalf_of
    if not can(actor, "confirm", area="commissions"):
        raise NotAllowed(_l("Only the sales manager may confirm commission statements."))
    if statement.status != OPEN:
        raise DomainError(_l("This month is already confirmed."))
    if statement.month >= rules.month_of(local_today()):
        raise DomainError(_l("A month is confirmed once it is over."))
    statement.total = statement_total(session, statement)  # the lines are the record
    statement.status = CONFIRMED
    statement.confirmed_by_id = getattr(actor, "id", None)
    statement.confirmed_at = utcnow()
    session.flush()
    return statement


def ensure_month(session, month: str) -> int:
    """A statement for every active promoter for `month`, so that nobody is missed at
    confirmation; returns how many were created."""
    have = set(
        session.scalars(
            select(CommissionStatement.promoter_id)
            .where(CommissionStatement.month == month)
            .execution_options(**unscoped("every promoter gets a statement"))
        )
    )
    new = [
        CommissionStatement(promoter_id=pid, month=month, status=OPEN, total=Decimal("0"))
        for pid in session.scalars(select(Promoter.id).where(Promoter.active.is_(True)))
        if pid not in have
    ]
    session.add_all(new)
    session.flush()
    return len(new)


# --- the freeze, at the flush -------------------------------------------------------------
def _statement_status(connection, statement_id) -> str | None:
    table = CommissionStatement.__table__
    return connection.execute(select(table.c.status).where(table.c.id == statement_id)).scalar()


@event.listens_for(CommissionLine, "before_insert")
@event.listens_for(CommissionLine, "before_update")
@event.listens_for(CommissionLine, "before_delete")
def _line_frozen(mapper, connection, line):
    statement_ids = {line.statement_id}
    history = inspect(line).attrs.statement_id.history
    statement_ids.update(history.deleted or ())
    for sid in statement_ids - {None}:
        if _statement_status(connection, sid) == CONFIRMED:
            raise DomainError(_l("A confirmed commission month cannot change."))


@event.listens_for(CommissionStatement, "before_update")
@event.listens_for(CommissionStatement, "before_delete")
def _statement_frozen(mapper, connection, statement):
    if _statement_status(connection, statement.id) == CONFIRMED:
        raise DomainError(_l("A confirmed commission month cannot change."))
