"""The rules of complaints (R14 首问负责制), discounts and withdrawals (R3 cat. 4).

Whoever records a complaint is its first responder and owns it until it is solved or handed
over; a hand-over is a row (from, to, when, note), and only the owner or a manager may change
or hand over the complaint. A discount counts only once a manager has approved it.
"""

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.access import SYSTEM, can, current_actor
from crm.audit import audit_reason
from crm.auth.models import User
from crm.clients.models import Client
from crm.complaints.models import (
    APPROVED,
    CATEGORIES,
    CHANNELS,
    HANDLING,
    OPEN,
    PENDING,
    REJECTED,
    SOLVED,
    Complaint,
    ComplaintHandover,
    Discount,
    Withdrawal,
)
from crm.errors import DomainError, NotAllowed
from crm.governance.services import add_record, change_record
from crm.kernel import parse_money
from crm.notifications.services import Target, notify
from crm.timeutil import local_today, utcnow

MOVES = {OPEN: {OPEN, HANDLING, SOLVED}, HANDLING: {HANDLING, SOLVED}, SOLVED: {SOLVED}}


# --- pure rules ---------------------------------------------------------------------------
def complaint_errors(complaint: Complaint, stored_status: str | None = None) -> dict:
    errors = {}
    if complaint.channel not in dict(CHANNELS):
        errors["channel"] = _l("Choose how the complaint came in.")
    if complaint.category not in dict(CATEGORIES):
        errors["category"] = _l("Choose a category.")
    if not (complaint.description or "").strip():
        errors["description"] = _l("Describe the complaint.")
    if stored_status and complaint.status not in MOVES.get(stored_status, set()):
        errors["status"] = _l("A solved complaint stays solved.")
    if complaint.status == SOLVED and not (complaint.resolution or "").strip():
        errors["resolution"] = _l("A solved complaint records its resolution.")
    return errors


def is_owner(actor, complaint: Complaint) -> bool:
    """R14: whoever takes a complaint owns it; the managers (and the system) handle any."""
    return can(actor, "handle_any", area="complaints") or complaint.responder_id == getattr(
        actor, "id", None
    )


def _require_owner(complaint: Complaint) -> None:
    actor = current_actor()
    if not can(actor, "edit", complaint):
        raise NotAllowed(_l("You may not change this customer's complaints."))
    if not is_owner(actor, complaint):
        raise NotAllowed(
            _l(
                "Only the complaint's responsible person (or a manager) may change "
                "it or hand it over."
            )
        )


# --- complaints ---------------------------------------------------------------------------
def record_complaint(session, complaint: Complaint) -> Complaint:
    """The person recording it becomes its first responder and its owner."""
    actor = current_actor()
    if actor is not SYSTEM:
        complaint.first_responder_id = complaint.responder_id = actor.id
    else:  # the demo and imports name the person who took it
        complaint.responder_id = complaint.responder_id or complaint.first_responder_id
    complaint.status = complaint.status or OPEN
    complaint.received_at = complaint.received_at or utcnow()
    with session.no_autoflush:
        errors = complaint_errors(complaint)
    if errors:
        raise DomainError(_l("The complaint has errors."), errors)
    if complaint.status == SOLVED:
        complaint.solved_at = utcnow()
    return add_record(session, complaint)


def update_complaint(
    session, complaint: Complaint, stored_status: str, reason: str | None = None
) -> Complaint:
    """Record progress, the liability finding, the resolution, the satisfaction."""
    # No autoflush until change_record: the governance hook must see the edit as unsaved
    # (R6: a liability finding by anyone but a manager waits for approval).
    with session.no_autoflush:
        _require_owner(complaint)
        errors = complaint_errors(complaint, stored_status)
        if errors:
            raise DomainError(_l("The complaint has errors."), errors)
        if complaint.status == SOLVED and stored_status != SOLVED:
            complaint.solved_at = utcnow()
        return change_record(session, complaint, reason)


def hand_over(session, complaint: Complaint, to_user: User, note: str) -> ComplaintHandover:
    """Pass ownership on, with a record; the receiver must be able to act on the complaint."""
    _require_owner(complaint)
    if complaint.status == SOLVED:
        raise DomainError(_l("A solved complaint is not handed over."))
    if not (note or "").strip():
        raise DomainError(_l("A hand-over records a note."), {"note": _l("Give a note.")})
    if to_user is None or not to_user.active or to_user.id == complaint.responder_id:
        raise DomainError(_l("Hand over to another active colleague."))
    if not can(to_user, "edit", complaint):
        raise DomainError(
            _l("%(name)s may not handle this customer's complaints.", name=str(to_user))
        )
    row = ComplaintHandover(
        complaint_id=complaint.id,
        client_id=complaint.client_id,
        from_user_id=complaint.responder_id,
        to_user_id=to_user.id,
        at=utcnow(),
        note=note.strip(),
    )
    session.add(row)
    complaint.responder_id = to_user.id
    if complaint.status == OPEN:
        complaint.status = HANDLING
    with audit_reason(session, note.strip()):
        session.flush()
    notify(
        session,
        [to_user],
        f"complaint:{complaint.id}:handover:{row.id}",
        "complaint",
        _("A complaint was handed over to you"),
        note.strip(),
        client_id=complaint.client_id,
        target=Target("complaint.details_view", complaint.id),
    )
    return row


# --- discounts ----------------------------------------------------------------------------
def request_discount(session, complaint: Complaint, amount, reason: str) -> Discount:
    if not can(current_actor(), "create", complaint):
        raise NotAllowed(_l("You may not ask for a discount for this customer."))
    if not (reason or "").strip():
        raise DomainError(_l("A discount records its reason."), {"reason": _l("Give a reason.")})
    discount = Discount(
        complaint_id=complaint.id,
        client_id=complaint.client_id,
        amount=parse_money(amount, positive=True),
        reason=reason.strip(),
        status=PENDING,
        requested_by_id=getattr(current_actor(), "id", None),
        requested_at=utcnow(),
    )
    session.add(discount)
    session.flush()
    return discount


def decide_discount(
    session, discount: Discount, approve: bool, note: str = "", on_behalf_of: User | None = None
) -> Discount:
    """The sales manager's (or general manager's) decision; kept with who and when. The system
    (demo, import) enters a manager's decision `on_behalf_of` them."""
    actor = current_actor()
    decider = on_behalf_of if actor is SYSTEM and on_behalf_of else actor
    if not (can(actor, "approve", discount) and can(decider, "approve", discount)):
        raise NotAllowed(_l("Only the sales manager may approve discounts."))
    if discount.status != PENDING:
        raise DomainError(_l("This discount has already been decided."))
    if not approve and not (note or "").strip():
        raise DomainError(_l("A rejection records its reason."))
    discount.status = APPROVED if approve else REJECTED
    discount.decided_by_id = getattr(decider, "id", None)
    discount.decided_at = utcnow()
    discount.comment = (note or "").strip() or None
    with audit_reason(session, discount.comment):
        session.flush()
    return discount


def counted_discounts(
    session, client_id: int | None = None, complaint_id: int | None = None
) -> Decimal:
    """The discounts that count: approved ones only."""
    stmt = select(func.coalesce(func.sum(Discount.amount), 0)).where(Discount.status == APPROVED)
    if client_id is not None:
        stmt = stmt.where(Discount.client_id == client_id)
    if complaint_id is not None:
        stmt = stmt.where(Discount.complaint_id == complaint_id)
    return Decimal(session.execute(stmt).scalar()).quantize(Decimal("0.01"))


# --- withdrawals --------------------------------------------------------------------------
def withdraw_member(session, client: Client, reason: str, withdrawn_on=None) -> Withdrawal:
    """退会: the reason is kept, the customer becomes former, nothing of the archive goes."""
    row = Withdrawal(
        client_id=client.id,
        withdrawn_on=withdrawn_on or local_today(),
        reason=(reason or "").strip(),
        previous_stage=client.stage,
        recorded_by_id=getattr(current_actor(), "id", None),
        recorded_at=utcnow(),
    )
    if not can(current_actor(), "create", row):
        raise NotAllowed(_l("You may not record this customer's withdrawal."))
    if not row.reason:
        raise DomainError(
            _l("A withdrawal records the member's reason."), {"reason": _l("Give a reason.")}
        )
    if client.stage == "former":
        raise DomainError(_l("This customer is already a former customer."))
    session.add(row)
    client.stage = "former"
    with audit_reason(session, row.reason):
        session.flush()
    return row


__all__ = [
    "counted_discounts",
    "decide_discount",
    "hand_over",
    "record_complaint",
    "request_discount",
    "update_complaint",
    "withdraw_member",
]
