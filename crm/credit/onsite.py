"""R11 on-site check (实地考察): a customer's own request for a higher credit limit needs one.

A proposal whose origin is the customer's own request (`CUSTOMER_REQUEST`) and whose limit is
above the customer's current one cannot reach approval until an on-site check is recorded on
it: who went, on which day, what they found. The R11 chain calls `before_decision` at each
step (crm.credit.reviews.decide_review); the check is asked at the step that would approve.
A manager's proposal and the quarterly re-evaluation (whose raise is capped by a setting) need
none. Checks are audited (``__audited__``) and scoped like the rest of the customer's credit.
"""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.access import can, current_actor
from crm.auth.models import User
from crm.credit.models import CreditReview, CreditScoped
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.kernel import unscoped
from crm.timeutil import local_today, utcnow

CUSTOMER_REQUEST = "customer_request"  # CreditReview.origin of the customer's own request
APPROVED = "approved"
OPEN = ("region", "sales", "gm")


class OnsiteCheck(CreditScoped, db.Model):
    """One on-site check of a customer, made for a credit proposal."""

    __tablename__ = "credit_onsite_checks"
    __scope_area__ = "credit_review"
    __audited__ = True
    __label__ = _l("On-site check")

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("credit_reviews.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    checked_by: Mapped[str] = mapped_column(String(200))  # who went (names, as on the report)
    checked_on: Mapped[date]
    findings: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    review: Mapped[CreditReview] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    def __str__(self) -> str:
        return f"{self.checked_on} {self.checked_by}"


def previous_limit(review: CreditReview) -> Decimal:
    """The limit in force when the proposal was made (none yet: zero)."""
    value = (review.previous or {}).get("credit_limit")
    return Decimal(str(value)) if value is not None else Decimal("0")


def needs_check(review: CreditReview) -> bool:
    """The customer itself asked, and for more than it has."""
    return review.origin == CUSTOMER_REQUEST and review.credit_limit > previous_limit(review)


def checks_of(session, review_id: int) -> list[OnsiteCheck]:
    return session.scalars(
        select(OnsiteCheck)
        .where(OnsiteCheck.review_id == review_id)
        .order_by(OnsiteCheck.checked_on, OnsiteCheck.id)
    ).all()


def missing_check(session, review: CreditReview) -> bool:
    return needs_check(review) and not session.scalar(
        select(OnsiteCheck.id)
        .where(OnsiteCheck.review_id == review.id)
        .execution_options(**unscoped("has the review its on-site check"))
        .limit(1)
    )


def before_decision(session, review: CreditReview, target: str) -> None:
    """Called by the chain before a step moves `review` to `target`: a self-requested increase
    does not reach approval without an on-site check. Raises before anything changes."""
    if target == APPROVED and missing_check(session, review):
        raise DomainError(
            _l(
                "The customer asked for this higher limit itself: it can be approved only after "
                "an on-site check is recorded on the proposal (who went, when, what they found)."
            )
        )


def record_check(
    session, review: CreditReview, checked_by: str, checked_on: date, findings: str
) -> OnsiteCheck:
    """Record an on-site check on an open proposal; the customer's people and the reviewers
    in scope may. The caller commits; the audit trail records the row."""
    actor = current_actor()
    if not can(actor, "create", review):
        raise NotAllowed(_l("You may not record an on-site check for this customer."))
    if review.status not in OPEN:
        raise DomainError(_l("This proposal is no longer under review."))
    errors = {}
    if not (checked_by or "").strip():
        errors["checked_by"] = _l("Say who made the check.")
    if not isinstance(checked_on, date):
        errors["checked_on"] = _l("Give the day of the check.")
    elif checked_on > local_today():
        errors["checked_on"] = _l("A check cannot be recorded before it is made.")
    if not (findings or "").strip():
        errors["findings"] = _l("Write what the check found.")
    if errors:
        raise DomainError(_l("The on-site check is incomplete."), errors)
    check = OnsiteCheck(
        review_id=review.id,
        client_id=review.client_id,
        checked_by=checked_by.strip()[:200],
        checked_on=checked_on,
        findings=findings.strip(),
        recorded_by_id=getattr(actor, "id", None),
    )
    session.add(check)
    session.flush()
    return check
