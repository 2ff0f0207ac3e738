"""The rules of the customer card, as functions the admin, the CLI, importers and tasks call."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm import crypto
from crm.access import ACCOUNT_MANAGER, REGIONAL_MANAGER, can, current_actor
from crm.clients import identifiers as ids
from crm.clients.models import Client, ContactLog
from crm.errors import DomainError, NotAllowed
from crm.governance.services import add_record, change_record, soft_delete
from crm.sequences import next_value

CODE_PREFIX = "KH"
MONEY_FIELDS = ("registered_capital", "fixed_assets", "working_capital", "business_area")


def client_field_errors(data: dict) -> dict:
    """Field-level problems of a customer card's values (form, import and API share this)."""
    errors = {}

    def check(field, fn):
        value = (data.get(field) or "").strip() if isinstance(data.get(field), str) else None
        if value:
            message = fn(value)
            if message:
                errors[field] = message

    check("credit_code", ids.check_credit_code)
    check("id_number", ids.check_id_number)
    check("phone", ids.check_phone)
    check("fax", ids.check_phone)
    check("mobile", ids.check_mobile)
    check("postcode", ids.check_postcode)
    for field in MONEY_FIELDS:
        value = data.get(field)
        if value is not None and Decimal(value) < 0:
            errors[field] = _l("This amount cannot be negative.")
    if data.get("staff_count") is not None and data["staff_count"] < 0:
        errors["staff_count"] = _l("The staff count cannot be negative.")
    if not (data.get("name") or "").strip():
        errors["name"] = _l("The customer's full name is required.")
    id_number = (data.get("id_number") or "").strip()
    if id_number and "id_number" not in errors and data.get("birth_date"):
        if ids.id_number_birth_date(id_number) != data["birth_date"]:
            errors["birth_date"] = _l("The date of birth differs from the one in the ID number.")
    return errors


def set_id_number(client: Client, raw: str | None) -> None:
    """Store an ID number protected: encrypted, a keyed hash for look-up, a mask for display."""
    if not raw or not raw.strip():
        return
    value = ids.normalise_id_number(raw)
    client.id_number_enc = crypto.encrypt(value)
    client.id_number_hash = crypto.lookup_hash(value)
    client.id_number_mask = ids.mask_id_number(value)
    client.birth_date = client.birth_date or ids.id_number_birth_date(value)
    client.gender = client.gender or ids.id_number_gender(value)


def reveal_id_number(client: Client) -> str | None:
    return crypto.decrypt(client.id_number_enc) if client.id_number_enc else None


def _normalise(client: Client) -> None:
    if client.credit_code:
        client.credit_code = ids.normalise_credit_code(client.credit_code)
    if client.kind == "individual":
        client.nature = "individual"


def _apply_ownership(client: Client, actor) -> None:
    """R12: an account manager's new customer is their own; a regional manager's stays in region."""
    role = getattr(actor, "role", None)
    if role == ACCOUNT_MANAGER:
        client.owner_id = actor.id
        client.region_id = actor.region_id
    elif role == REGIONAL_MANAGER:
        client.region_id = actor.region_id
    if client.owner_id and not client.region_id:
        from crm.auth.models import User
        from crm.extensions import db

        client.region_id = db.session.get(User, client.owner_id).region_id


def register_client(session, client: Client, id_number: str | None = None) -> Client:
    """Enter a new customer: ownership by role, checks, a customer code, the audit record."""
    actor = current_actor()
    _apply_ownership(client, actor)
    data = {c.key: getattr(client, c.key) for c in Client.__table__.columns}
    errors = client_field_errors({**data, "id_number": id_number})
    if errors:
        raise DomainError(_l("The customer card has errors."), errors)
    if not can(actor, "create", client):
        raise NotAllowed(_l("You may not register this customer."))
    _normalise(client)
    set_id_number(client, id_number)
    client.code = f"{CODE_PREFIX}{next_value(session, 'client_code'):07d}"
    session.add(client)
    session.flush()
    return client


def update_client(session, client: Client, id_number: str | None = None, reason=None) -> Client:
    actor = current_actor()
    if getattr(actor, "role", None) in (ACCOUNT_MANAGER, REGIONAL_MANAGER):
        _apply_ownership(client, actor)  # an account manager cannot give a customer away
    data = {c.key: getattr(client, c.key) for c in Client.__table__.columns}
    errors = client_field_errors({**data, "id_number": id_number})
    if errors:
        raise DomainError(_l("The customer card has errors."), errors)
    _normalise(client)
    set_id_number(client, id_number)
    return change_record(session, client, reason)


def delete_client(session, client: Client, reason: str) -> None:
    """Soft-delete a customer with everything under it; the rows stay for the retention period."""
    soft_delete(session, [client, *client.key_persons, *client.contact_logs], reason)


def add_contact_log(session, log: ContactLog) -> ContactLog:
    """R16: a contact gets the next sequence number of its customer's log."""
    last = session.execute(
        select(func.max(ContactLog.seq))
        .where(ContactLog.client_id == log.client_id)
        .execution_options(crm_unscoped=True, crm_include_deleted=True)
    ).scalar()
    log.seq = (last or 0) + 1
    log.recorded_by_id = log.recorded_by_id or getattr(current_actor(), "id", None)
    return add_record(session, log)
