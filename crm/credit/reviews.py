"""The R11 credit review chain: a proposal of grade, limit, period and terms, decided step by
step by the regional manager, the sales manager and the general manager; the last approval
applies it to the customer's credit profile and re-checks the thresholds.

Who commits: the caller. `propose_credit` and `decide_review` check the actor (the "propose"
action; the role whose step it is), write, flush, and leave the commit to the caller.
"""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    select,
    update,
)

from crm import access
from crm.access import can, current_actor
from crm.credit import onsite, rules
from crm.credit.checks import evaluate_thresholds
from crm.credit.ledger import UNSCOPED, lock_balance, profile_of, require
from crm.credit.models import (
    BAL,
    CreditProfile,
    CreditReview,
)
from crm.errors import DomainError, NotAllowed
from crm.settings import get_setting
from crm.timeutil import utcnow

STEP_ROLE = {
    "region": access.REGIONAL_MANAGER,
    "sales": access.SALES_MANAGER,
    "gm": access.GENERAL_MANAGER,
}
NEXT_STEP = {"region": "sales", "sales": "gm", "gm": "approved"}
OPEN_STATUSES = tuple(STEP_ROLE)
PROFILE_FIELDS = (
    "grade",
    "credit_limit",
    "period_days",
    "payment_terms",
    "payment_method",
    "direct_export",
    "collateral",
)


def propose_credit(
    session,
    client_id: int,
    values: dict,
    situation: str = "",
    origin: str = "proposal",
    period: str | None = None,
) -> CreditReview:
    """The salesperson's proposal of grade, limit, period and terms; it waits for the chain."""
    actor = current_actor()
    require(actor, "propose", client_id, _l("You may not propose credit for this customer."))
    errors = {}
    if values.get("grade") not in get_setting("credit_grades"):
        errors["grade"] = _l("Choose a grade from the scale.")
    try:
        limit = rules.money(values.get("credit_limit"))
        if limit < 0:
            raise ArithmeticError
    except (ArithmeticError, TypeError):
        errors["credit_limit"] = _l("A limit is an amount of zero or more.")
    if not isinstance(values.get("period_days"), int) or values["period_days"] <= 0:
        errors["period_days"] = _l("A credit period is a number of days.")
    if errors:
        raise DomainError(_l("The proposal is incomplete."), errors)
    if session.execute(
        select(CreditReview.id)
        .where(CreditReview.client_id == client_id, CreditReview.status.in_(OPEN_STATUSES))
        .execution_options(**UNSCOPED)
    ).first():
        raise DomainError(_l("This customer already has a credit proposal under review."))
    current = profile_of(session, client_id)
    previous = {f: rules_plain(getattr(current, f)) for f in PROFILE_FIELDS} if current else None
    review = CreditReview(
        client_id=client_id,
        origin=origin,
        period=period,
        status="region",
        previous=previous,
        situation=situation or "",
        proposed_by_id=getattr(actor, "id", None),
        **{f: values.get(f) for f in PROFILE_FIELDS if f != "credit_limit"},
        credit_limit=limit,
    )
    review.direct_export = bool(values.get("direct_export"))
    session.add(review)
    session.flush()
    return review


def rules_plain(value):
    return str(value) if isinstance(value, Decimal) else value


def decide_review(session, review_id: int, approve: bool, opinion: str, actor=None):
    """One step of the chain by the role whose turn it is; the general manager's approval
    applies the proposal to the profile (and re-checks thresholds against the new limit)."""
    actor = actor or current_actor()
    review = session.execute(
        select(CreditReview).where(CreditReview.id == review_id).execution_options(**UNSCOPED)
    ).scalar_one_or_none()
    if review is None or review.status not in OPEN_STATUSES:
        raise DomainError(_l("This proposal is not waiting for a decision."))
    step = review.status
    if getattr(actor, "role", None) != STEP_ROLE[step] or not can(actor, "view", review):
        raise NotAllowed(
            _l("This step belongs to the %(role)s.", role=access.ROLES[STEP_ROLE[step]])
        )
    if not (opinion or "").strip():
        raise DomainError(_l("Write your opinion."), {"opinion": _l("Required.")})
    onsite.before_decision(session, review, NEXT_STEP[step] if approve else "rejected")
    setattr(review, f"{step}_opinion", opinion.strip())
    setattr(review, f"{step}_by_id", actor.id)
    setattr(review, f"{step}_at", utcnow())
    review.status = NEXT_STEP[step] if approve else "rejected"
    if review.status == "approved":
        lock_balance(session, review.client_id)
        profile = profile_of(session, review.client_id) or CreditProfile(client_id=review.client_id)
        for f in PROFILE_FIELDS:
            setattr(profile, f, getattr(review, f))
        profile.review_id = review.id
        session.add(profile)
        session.execute(
            update(BAL)
            .where(BAL.c.client_id == review.client_id)
            .values(credit_limit=review.credit_limit)
        )
        session.flush()
        evaluate_thresholds(session, client_ids=[review.client_id])
    session.flush()
    return review
