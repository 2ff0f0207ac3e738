"""R5 view grants: another account manager or a department manager reads a customer's archive
only with the sales or general manager's approval, until an end date. The grant is read-only
and ends by itself: crm.access.scope compares its end with the current time on every query,
so no task has to close it. Every read of a card that only a grant opens is audited
(`audit_read`, recorded in the caller's transaction).
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.access import (
    SYSTEM,
    can,
    current_actor,
    forget_grants,
    in_scope,
    live_client_ids,
    roles_for,
)
from crm.audit import client_id_of, record
from crm.auth.models import User
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.models import APPROVED, PENDING, REJECTED, ViewGrant
from crm.kernel import unscoped
from crm.notifications.services import Target, notify
from crm.settings import get_setting
from crm.timeutil import utcnow

__all__ = [
    "approve_grant",
    "audit_read",
    "live_client_ids",
    "only_by_grant",
    "reject_grant",
    "request_grant",
    "state",
]


def request_grant(session, client_code: str, reason: str) -> ViewGrant:
    actor = current_actor()
    if actor is SYSTEM or not can(actor, "ask", area="view_grants"):
        raise NotAllowed(_l("Only account managers and department managers ask to read."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("A request to read needs a reason."), {"reason": _l("Give a reason.")})
    client = session.execute(
        select(Client)
        .where(Client.code == (client_code or "").strip())
        .execution_options(**unscoped("a customer asked for by code"))
    ).scalar_one_or_none()
    if client is None:
        raise DomainError(_l("No customer has that code."), {"client_code": _l("Unknown code.")})
    if in_scope(actor, client, grants=False):
        raise DomainError(_l("You already read this customer's archive."))
    grant = ViewGrant(client_id=client.id, author_id=actor.id, reason=reason, status=PENDING)
    session.add(grant)
    session.flush()
    deciders = roles_for("view_grants", "decide")
    approvers = session.scalars(
        select(User).where(User.role.in_(deciders), User.active.is_(True))
    ).all()
    notify(
        session,
        approvers,
        f"view_grant:{grant.id}",
        "view_grant",
        str(_l("A request to read a customer's archive awaits you")),
        reason,
        target=Target("view_grant.details_view", grant.id),
    )
    return grant


def _load(session, grant_id) -> ViewGrant:
    actor = current_actor()
    if not can(actor, "decide", area="view_grants"):
        raise NotAllowed(_l("Only the sales manager or the general manager decides."))
    grant = session.execute(
        select(ViewGrant).where(ViewGrant.id == grant_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if grant is None or grant.status != PENDING:
        raise DomainError(_l("This request has already been decided."))
    return grant


def approve_grant(
    session, grant_id: int, ends_at: datetime | None = None, comment: str | None = None
) -> ViewGrant:
    grant = _load(session, grant_id)
    now = utcnow()
    ends_at = ends_at or now + timedelta(days=int(get_setting("view_grant_days")))
    if ends_at <= now:
        raise DomainError(
            _l("The end must lie in the future."), {"ends_at": _l("A later end, please.")}
        )
    grant.status, grant.ends_at = APPROVED, ends_at
    _decided(grant, comment)
    session.flush()
    forget_grants()
    return grant


def reject_grant(session, grant_id: int, comment: str | None = None) -> ViewGrant:
    grant = _load(session, grant_id)
    grant.status = REJECTED
    _decided(grant, comment)
    session.flush()
    return grant


def _decided(grant, comment) -> None:
    grant.decided_by_id = getattr(current_actor(), "id", None)
    grant.decided_at = utcnow()
    grant.comment = (comment or "").strip() or None


def state(grant: ViewGrant) -> str:
    if grant.status == APPROVED:
        return "live" if grant.ends_at and grant.ends_at > utcnow() else "expired"
    return grant.status


def only_by_grant(user, client_id: int) -> bool:
    """Does `user` read this customer only because of a grant?"""
    if user is SYSTEM or not can(user, "ask", area="view_grants"):
        return False  # only the field sales read under a grant
    return client_id in live_client_ids(user) and not _owns(user, client_id)


def _owns(user, client_id) -> bool:
    client = db.session.execute(
        select(Client)
        .where(Client.id == client_id)
        .execution_options(**unscoped("the customer a grant names"))
    ).scalar_one_or_none()
    return client is not None and in_scope(user, client, grants=False)


def audit_read(session, user, row) -> bool:
    """R5: record a read that only a grant allows (the card, or any row under it), in the
    session's transaction: the caller's request commits it. True when one was recorded."""
    client_id = client_id_of(row)
    if client_id is not None and only_by_grant(user, client_id):
        record(session, "read_under_grant", row)
        return True
    return False
