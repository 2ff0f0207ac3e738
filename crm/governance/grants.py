"""R5 view grants: another account manager or a department manager reads a customer's archive
only with the sales or general manager's approval, until an end date. The grant is read-only
and ends by itself: crm.access compares its end with the current time on every query, so no
task has to close it. Every read of a card that only a grant opens is audited.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm import access
from crm.access import SYSTEM, current_actor
from crm.errors import DomainError, NotAllowed
from crm.governance.models import APPROVED, PENDING, REJECTED, ViewGrant
from crm.kernel import unscoped
from crm.timeutil import utcnow

REQUESTERS = {access.ACCOUNT_MANAGER, access.REGIONAL_MANAGER}
APPROVERS = access.MANAGERS


def live_client_ids(user) -> list[int]:
    """The customers `user` reads under a live grant now (asked once per request)."""
    from crm.extensions import db

    cache = access.request_cache().setdefault("crm.grant_ids", {})
    if user.id not in cache:
        t = ViewGrant.__table__
        stmt = select(t.c.client_id).where(t.c.author_id == user.id, t.c.status == APPROVED,
                                           t.c.ends_at > utcnow())
        cache[user.id] = list(db.session.execute(
            stmt.execution_options(**unscoped("the user's own live view grants"))).scalars())
    return cache[user.id]


def _forget() -> None:
    access.request_cache().pop("crm.grant_ids", None)


def request_grant(session, client_code: str, reason: str) -> ViewGrant:
    from crm.clients.models import Client

    actor = current_actor()
    if getattr(actor, "role", None) not in REQUESTERS:
        raise NotAllowed(_l("Only account managers and department managers ask to read."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("A request to read needs a reason."),
                          {"reason": _l("Give a reason.")})
    client = session.execute(select(Client).where(Client.code == (client_code or "").strip())
                             .execution_options(**unscoped("a customer asked for by code"))
                             ).scalar_one_or_none()
    if client is None:
        raise DomainError(_l("No customer has that code."), {"client_code": _l("Unknown code.")})
    if access.in_scope(actor, client, grants=False):
        raise DomainError(_l("You already read this customer's archive."))
    grant = ViewGrant(client_id=client.id, author_id=actor.id, reason=reason, status=PENDING)
    session.add(grant)
    session.flush()
    from crm.auth.models import User
    from crm.notifications.services import Target, notify

    approvers = session.scalars(select(User).where(User.role.in_(APPROVERS),
                                                   User.active.is_(True))).all()
    notify(session, approvers, f"view_grant:{grant.id}", "view_grant",
           str(_l("A request to read a customer's archive awaits you")), reason,
           target=Target("view_grant.details_view", grant.id))
    return grant


def _load(session, grant_id) -> ViewGrant:
    actor = current_actor()
    if actor is not SYSTEM and getattr(actor, "role", None) not in APPROVERS:
        raise NotAllowed(_l("Only the sales manager or the general manager decides."))
    grant = session.execute(select(ViewGrant).where(ViewGrant.id == grant_id)
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if grant is None or grant.status != PENDING:
        raise DomainError(_l("This request has already been decided."))
    return grant


def approve_grant(session, grant_id: int, ends_at: datetime | None = None,
                  comment: str | None = None) -> ViewGrant:
    from crm.settings import get_setting

    grant = _load(session, grant_id)
    now = utcnow()
    ends_at = ends_at or now + timedelta(days=int(get_setting("view_grant_days")))
    if ends_at <= now:
        raise DomainError(_l("The end must lie in the future."),
                          {"ends_at": _l("A later end, please.")})
    grant.status, grant.ends_at = APPROVED, ends_at
    _decided(grant, comment)
    session.flush()
    _forget()
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
    if user is SYSTEM or getattr(user, "role", None) not in REQUESTERS:
        return False
    return client_id in live_client_ids(user) and not _owns(user, client_id)


def _owns(user, client_id) -> bool:
    from crm.clients.models import Client
    from crm.extensions import db

    client = db.session.execute(select(Client).where(Client.id == client_id)
                                .execution_options(**unscoped("the customer a grant names"))
                                ).scalar_one_or_none()
    return client is not None and access.in_scope(user, client, grants=False)


def audit_read(session, user, row) -> None:
    """R5: record a read that only a grant allows (the card, or any row under it)."""
    from crm.governance.audit import _client_id, record

    client_id = _client_id(row)
    if client_id is not None and only_by_grant(user, client_id):
        record(session, "read_under_grant", row)
        session.commit()
