"""The rules of the customer card, as functions the admin, the CLI, importers and tasks call."""

from decimal import Decimal, InvalidOperation

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
MONEY_LIMIT = Decimal(10) ** 10  # business_area is Numeric(12, 2), the narrowest of them
NUMBER_FIELDS = ("phone", "fax", "mobile", "postcode")


def _too_long(data: dict) -> dict:
    """The column widths, so that an importer's over-long value is a message, not a database
    error (PostgreSQL refuses it; SQLite would silently keep it)."""
    errors = {}
    for column in Client.__table__.columns:
        limit = getattr(column.type, "length", None)
        value = data.get(column.key)
        if limit and isinstance(value, str) and len(value) > limit:
            errors[column.key] = _l("At most %(n)d characters; this has %(m)d.",
                                    n=limit, m=len(value))
    return errors


def _amount_error(value):
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return _l("This is not a number.")
    if not amount.is_finite():  # a form takes "NaN" and "Infinity" as decimals
        return _l("This is not a number.")
    if amount < 0:
        return _l("This amount cannot be negative.")
    if amount >= MONEY_LIMIT:
        return _l("This amount is too large.")
    return None


def client_field_errors(data: dict) -> dict:
    """Field-level problems of a customer card's values (form, import and API share this)."""
    errors = _too_long(data)

    def check(field, fn):
        value = (data.get(field) or "").strip() if isinstance(data.get(field), str) else None
        if value and (message := fn(value)) is not None:
            errors[field] = message

    check("credit_code", ids.check_credit_code)
    check("id_number", ids.check_id_number)
    check("phone", ids.check_phone)
    check("fax", ids.check_phone)
    check("mobile", ids.check_mobile)
    check("postcode", ids.check_postcode)
    for field in MONEY_FIELDS:
        if data.get(field) is not None and (message := _amount_error(data[field])):
            errors[field] = message
    staff = data.get("staff_count")
    if staff is not None and staff < 0:
        errors["staff_count"] = _l("The staff count cannot be negative.")
    elif staff is not None and staff >= 2**31:  # PostgreSQL's integer
        errors["staff_count"] = _l("This number is too large.")
    if not (data.get("name") or "").strip():
        errors["name"] = _l("The customer's full name is required.")
    id_number = (data.get("id_number") or "").strip()
    if (id_number and "id_number" not in errors and data.get("birth_date")
            and ids.id_number_birth_date(id_number) != data["birth_date"]):
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
    """Store what the checks accepted: numbers in ASCII without blanks, the name trimmed."""
    if client.name:
        client.name = client.name.strip()
    if client.credit_code:
        client.credit_code = ids.normalise_credit_code(client.credit_code)
    for field in NUMBER_FIELDS:
        if getattr(client, field):
            setattr(client, field, ids.normalise_text(getattr(client, field)))
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


def _check(client: Client, id_number: str | None) -> None:
    _normalise(client)
    data = {c.key: getattr(client, c.key) for c in Client.__table__.columns}
    errors = client_field_errors({**data, "id_number": id_number})
    if errors:
        raise DomainError(_l("The customer card has errors."), errors)


def check_new_client(session, client: Client, id_number: str | None = None) -> None:
    """register_client's checks, writing nothing: an importer checks every row first."""
    actor = current_actor()
    with session.no_autoflush:
        _apply_ownership(client, actor)
        _check(client, id_number)
        if not can(actor, "create", client):
            raise NotAllowed(_l("You may not register this customer."))


def register_client(session, client: Client, id_number: str | None = None) -> Client:
    """Enter a new customer: ownership by role, checks, a customer code, the audit record."""
    check_new_client(session, client, id_number)
    set_id_number(client, id_number)
    client.code = f"{CODE_PREFIX}{next_value(session, 'client_code'):07d}"
    session.add(client)
    session.flush()
    return client


def register_clients(session, items) -> list[Client]:
    """register_client for many cards at once (an import): the same checks for each, the
    codes reserved in one step, one flush. Nothing is written if any card fails."""
    items = list(items)
    for client, id_number in items:
        check_new_client(session, client, id_number)
    first = next_value(session, "client_code", len(items)) if items else 0
    for n, (client, id_number) in enumerate(items):
        set_id_number(client, id_number)
        client.code = f"{CODE_PREFIX}{first + n:07d}"
    session.add_all([client for client, _ in items])
    session.flush()
    return [client for client, _ in items]


def update_client(session, client: Client, id_number: str | None = None, reason=None) -> Client:
    # No autoflush: the scope check must see the stored owner, not the edited one, and the
    # changes must reach the database in change_record's flush, which carries the reason.
    with session.no_autoflush:
        actor = current_actor()
        if getattr(actor, "role", None) in (ACCOUNT_MANAGER, REGIONAL_MANAGER):
            _apply_ownership(client, actor)  # an account manager cannot give a customer away
        _check(client, id_number)
        set_id_number(client, id_number)
        return change_record(session, client, reason)


def delete_client(session, client: Client, reason: str) -> None:
    """Soft-delete a customer with everything under it; the rows stay for the retention period."""
    # Rows deleted earlier keep their own deletion time and reason.
    under = [r for r in (*client.key_persons, *client.contact_logs) if r.deleted_at is None]
    soft_delete(session, [client, *under], reason)


def add_contact_log(session, log: ContactLog) -> ContactLog:
    """R16: a contact gets the next sequence number of its customer's log."""
    # A form sets the `client` relationship; client_id follows only at the flush.
    client_id = log.client.id if log.client is not None else log.client_id
    last = session.execute(
        select(func.max(ContactLog.seq))
        .where(ContactLog.client_id == client_id)
        .execution_options(crm_unscoped=True, crm_include_deleted=True)
    ).scalar()
    log.seq = (last or 0) + 1
    log.recorded_by_id = log.recorded_by_id or getattr(current_actor(), "id", None)
    return add_record(session, log)


def rotate_id_number_key(session, chunk_size: int = 500, echo=None) -> dict:
    """Re-encrypt every stored ID number with the newest field key (the first of
    CRM_FIELD_ENCRYPTION_KEY), so that the older keys can then be dropped.

    Walks the table by id in chunks, committing each chunk with an audit event that tells what
    it did; a value the newest key already reads is left alone, so that a second run (or a run
    resumed after a crash) changes nothing. Core statements on the table: every customer,
    soft-deleted ones included, no version bump, no change of "updated at". A value edited
    meanwhile is skipped (it was written with the newest key). A value no key reads is counted
    and left as it is."""
    from crm.governance.audit import event_row
    from crm.governance.models import AuditEvent

    table = Client.__table__
    totals = {"rotated": 0, "current": 0, "unreadable": 0}
    unreadable_ids: list[int] = []
    last_id = 0
    while True:
        rows = session.execute(
            select(table.c.id, table.c.id_number_enc)
            .where(table.c.id > last_id, table.c.id_number_enc.is_not(None))
            .order_by(table.c.id).limit(chunk_size)).all()
        if not rows:
            break
        rotated = 0
        for row_id, token in rows:
            if crypto.is_current(token):
                totals["current"] += 1
                continue
            new = crypto.rotate(token)
            if new is None:
                totals["unreadable"] += 1
                unreadable_ids.append(row_id)
                continue
            done = session.execute(
                table.update().where(table.c.id == row_id, table.c.id_number_enc == token)
                .values(id_number_enc=new, updated_at=table.c.updated_at)).rowcount
            rotated += done
        totals["rotated"] += rotated
        if rotated:
            session.execute(AuditEvent.__table__.insert(), [event_row(
                session, "rotate_field_key", table.name, None, None,
                {"id_number_enc": {"re-encrypted": rotated, "ids": [rows[0].id, rows[-1].id]}})])
        session.commit()
        last_id = rows[-1].id
        if echo:
            echo(f"ids {rows[0].id}–{last_id}: {rotated} re-encrypted with the newest key")
    totals["unreadable_ids"] = unreadable_ids
    return totals
