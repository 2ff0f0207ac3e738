"""R17: a customer's information is used or disclosed only with their consent, for that use;
sensitive fields are shown only to the roles that need them, and each full view is recorded.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.access import can, current_actor
from crm.audit import record
from crm.clients.models import Client
from crm.errors import DomainError
from crm.governance.grants import audit_read
from crm.governance.models import Consent
from crm.governance.services import add_record, change_record
from crm.timeutil import utcnow

PURPOSES = [
    ("marketing", _l("Marketing")),
    ("disclosure", _l("Disclosure to partners")),
    ("greetings", _l("Greetings and surveys")),
]
WAYS = [
    ("written", _l("Signed in writing")),
    ("electronic", _l("Electronically")),
    ("verbal", _l("Verbally, on record")),
]
# Fields shown in full only to the roles of each area's "see_sensitive" action.
SENSITIVE = {"key_persons": ("religion", "character", "family_notes", "birth_date", "native_place")}


def consenting(purpose: str):
    """Condition on Client: the customer has a consent for `purpose` that is not withdrawn."""
    t = Consent.__table__
    return Client.id.in_(
        select(t.c.client_id).where(t.c.purpose == purpose, t.c.withdrawn_at.is_(None))
    )


def record_consent(session, consent: Consent) -> Consent:
    if consent.purpose not in dict(PURPOSES):
        raise DomainError(_l("Unknown purpose."), {"purpose": _l("Choose a purpose.")})
    consent.given_at = consent.given_at or utcnow()
    consent.recorded_by_id = getattr(current_actor(), "id", None)
    return add_record(session, consent)


def withdraw_consent(session, consent: Consent, reason: str | None = None) -> Consent:
    if consent.withdrawn_at is not None:
        raise DomainError(_l("This consent is already withdrawn."))
    # No autoflush: the scope check's query must not write the change before its reason.
    with session.no_autoflush:
        consent.withdrawn_at = utcnow()
        return change_record(session, consent, reason or str(_l("Consent withdrawn")))


def sensitive_fields(model) -> tuple:
    return SENSITIVE.get(getattr(model, "__tablename__", None), ())


def screen_details(session, actor, row, columns):
    """The details columns `actor` may see of `row`: sensitive ones only for the roles that
    need them, each full view recorded; a read that only a view grant allows is recorded.
    The records are written in the session's transaction: the details screen commits them
    once the page is rendered (crm.admin.base), so nothing is kept of a page that failed."""
    if getattr(row, "__scope__", None) is None:
        return columns
    audit_read(session, actor, row)
    hidden = sensitive_fields(type(row))
    if not hidden:
        return columns
    if can(actor, "see_sensitive", row):
        shown = [f for f in hidden if getattr(row, f, None)]
        if shown:
            record(session, "view_sensitive", row, {"fields": shown})
        return columns
    return [c for c in columns if c[0] not in hidden]
