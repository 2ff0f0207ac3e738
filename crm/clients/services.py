"""The rules of the customer card, as functions the admin, the CLI, importers and tasks call."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, distinct, exists, func, select
from sqlalchemy.orm import aliased

from crm import crypto
from crm.access import ACCOUNT_MANAGER, ADMIN, FIELD_SALES, REGIONAL_MANAGER, can, current_actor
from crm.audit import AuditEvent, audit_reason, event_row
from crm.auth.models import User
from crm.clients import identifiers as ids
from crm.clients.models import (
    Client,
    ClientStaff,
    ContactLog,
    KeyPerson,
    SituationChange,
    StaffShortfall,
)
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.changes import column_changes
from crm.governance.services import add_record, change_record, soft_delete
from crm.kernel import insert_or_ignore, unscoped
from crm.notifications.services import Event, Target, notify_many
from crm.sequences import next_value
from crm.settings import get_setting
from crm.timeutil import local_today
from crm.workdays import company_calendar

CODE_PREFIX = "KH"
MONEY_FIELDS = ("registered_capital", "fixed_assets", "working_capital", "business_area")
MONEY_LIMIT = Decimal(10) ** 10  # business_area is Numeric(12, 2), the narrowest of them
NUMBER_FIELDS = ("phone", "fax", "mobile", "postcode")

# Which fields of the card apply to which kind of customer (issue 14): an organisation has no
# gender, date of birth or ID number; a person has no credit code, licence or capital.
KIND_FIELDS = {
    "organisation": (
        "credit_code",
        "tax_number",
        "licence_number",
        "bank_name",
        "bank_account",
        "company_type",
        "registered_capital",
        "fixed_assets",
        "working_capital",
        "staff_count",
        "business_area",
        "opening_date",
        "business_scope",
        "main_products",
        "market",
        "trade_mode",
    ),
    "individual": ("gender", "birth_date", "occupation", "id_number", "id_number_mask"),
}
# Stored alongside the ID number: cleared with it.
_ID_NUMBER_COLUMNS = ("id_number_enc", "id_number_hash", "id_number_mask")
# The nature a customer takes by default when its kind is chosen (客户性质 follows 客户类型).
DEFAULT_NATURE = {"organisation": "ordinary", "individual": "individual"}


def fields_not_applying(kind: str | None) -> tuple:
    """The card fields that belong to the other kind of customer."""
    return tuple(
        f for k, fields in KIND_FIELDS.items() if k != (kind or "organisation") for f in fields
    )


def applicable_data(data: dict) -> dict:
    """A card's values without those of the other kind (what a form's checks look at)."""
    skip = set(fields_not_applying(data.get("kind")))
    return {k: v for k, v in data.items() if k not in skip}


def clear_other_kind(client: Client, id_number: str | None) -> str | None:
    """Empty the fields of the other kind on a card entered on screen (the form hides them, a
    crafted request may still send them) and ignore an ID number for an organisation; an
    organisation never keeps the individual nature. Returns the ID number to store."""
    for field in fields_not_applying(client.kind):
        if field == "id_number_mask" or field == "id_number":
            for column in _ID_NUMBER_COLUMNS:
                setattr(client, column, None)
        else:
            setattr(client, field, None)
    if client.kind != "individual":
        if client.nature == "individual":
            client.nature = DEFAULT_NATURE["organisation"]
        return None
    return id_number


def _too_long(data: dict) -> dict:
    """The column widths, so that an importer's over-long value is a message, not a database
    error (PostgreSQL refuses it; SQLite would silently keep it)."""
    errors = {}
    for column in Client.__table__.columns:
        limit = getattr(column.type, "length", None)
        value = data.get(column.key)
        if limit and isinstance(value, str) and len(value) > limit:
            errors[column.key] = _l(
                "At most %(n)d characters; this has %(m)d.", n=limit, m=len(value)
            )
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
    if (
        id_number
        and "id_number" not in errors
        and data.get("birth_date")
        and ids.id_number_birth_date(id_number) != data["birth_date"]
    ):
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


def assignable_owners(session, actor) -> list[User]:
    """R12: the account managers `actor` may make a customer's owner (on the card, a first
    contact, the assignment queue): active ones; a regional manager's of their own region; an
    account manager only herself (her new customers are hers); the managers and the system
    any. The one answer the customer form and the first-contact form both offer."""
    stmt = select(User).where(User.role == ACCOUNT_MANAGER, User.active.is_(True))
    role = getattr(actor, "role", None)
    if role == ACCOUNT_MANAGER:
        stmt = stmt.where(User.id == actor.id)
    elif role == REGIONAL_MANAGER:
        stmt = stmt.where(User.region_id == actor.region_id)
    return session.scalars(stmt.order_by(User.full_name, User.id)).all()


def _apply_ownership(client: Client, actor) -> None:
    """R12: an account manager's new customer is their own; a regional manager's stays in region."""
    role = getattr(actor, "role", None)
    if role == ACCOUNT_MANAGER:
        client.owner_id = actor.id
        client.region_id = actor.region_id
    elif role == REGIONAL_MANAGER:
        client.region_id = actor.region_id
    if client.owner_id and not client.region_id:
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


def update_client(
    session,
    client: Client,
    id_number: str | None = None,
    reason=None,
    happened_on: date | None = None,
) -> Client:
    """A change of the card; one of its situation (contact, address, status) is registered
    against the day it happened (R12), whether it applies now or waits for approval (R6)."""
    # No autoflush: the scope check must see the stored owner, not the edited one, and the
    # changes must reach the database in change_record's flush, which carries the reason.
    with session.no_autoflush:
        actor = current_actor()
        if getattr(actor, "role", None) in FIELD_SALES:
            _apply_ownership(client, actor)  # an account manager cannot give a customer away
        _check(client, id_number)
        set_id_number(client, id_number)
        kinds = situation_kinds(session, client)
        if kinds:
            check_happened_on(happened_on)
        change_record(session, client, reason)
        if kinds:
            register_situation_change(session, client, kinds, happened_on)
        return client


def delete_client(session, client: Client, reason: str) -> None:
    """Soft-delete a customer with everything under it; the rows stay for the retention period."""
    # Rows deleted earlier keep their own deletion time and reason.
    under = [r for r in (*client.key_persons, *client.contact_logs) if r.deleted_at is None]
    soft_delete(session, [client, *under], reason)


def add_contact_log(session, log: ContactLog) -> ContactLog:
    """R16: a contact gets the next sequence number of its customer's log."""
    # A form sets the `client` relationship; client_id follows only at the flush.
    client_id = log.client.id if log.client is not None else log.client_id
    # Two contacts of one customer at once would read the same last number: the customer's
    # row is locked until commit (FOR NO KEY UPDATE: its edits wait, foreign keys don't).
    session.execute(
        select(Client.id)
        .where(Client.id == client_id)
        .with_for_update(key_share=True)
        .execution_options(**unscoped("the customer's log is numbered", deleted=True))
    )
    last = session.execute(
        select(func.max(ContactLog.seq))
        .where(ContactLog.client_id == client_id)
        .execution_options(**unscoped("sequence numbers count deleted rows", deleted=True))
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
    table = Client.__table__
    totals = {"rotated": 0, "current": 0, "unreadable": 0}
    unreadable_ids: list[int] = []
    last_id = 0
    while True:
        rows = session.execute(
            select(table.c.id, table.c.id_number_enc)
            .where(table.c.id > last_id, table.c.id_number_enc.is_not(None))
            .order_by(table.c.id)
            .limit(chunk_size)
        ).all()
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
                table.update()
                .where(table.c.id == row_id, table.c.id_number_enc == token)
                .values(id_number_enc=new, updated_at=table.c.updated_at)
            ).rowcount
            rotated += done
        totals["rotated"] += rotated
        if rotated:
            session.execute(
                AuditEvent.__table__.insert(),
                [
                    event_row(
                        session,
                        "rotate_field_key",
                        table.name,
                        None,
                        None,
                        {
                            "id_number_enc": {
                                "re-encrypted": rotated,
                                "ids": [rows[0].id, rows[-1].id],
                            }
                        },
                    )
                ],
            )
        session.commit()
        last_id = rows[-1].id
        if echo:
            echo(f"ids {rows[0].id}–{last_id}: {rotated} re-encrypted with the newest key")
    totals["unreadable_ids"] = unreadable_ids
    return totals


# --- R12: a change in the customer's situation is registered within the working days ------

SITUATION_FIELDS = {
    "contact": ("phone", "fax", "mobile", "email", "website"),
    "address": ("province", "city", "street", "postcode"),
    "status": ("stage", "level", "nature", "weight"),
}
SITUATION_KINDS = {
    "contact": _l("Contact"),
    "key_person": _l("Key person"),
    "address": _l("Address"),
    "status": _l("Status"),
}
MAX_BACKDATE_DAYS = 366  # a change is registered late, not a year after


def situation_kinds(session, client: Client) -> list[str]:
    """Which parts of the customer's situation this (unflushed) edit changes."""
    if client.id is None:
        return []
    changed = column_changes(session, client, None)
    return [
        kind
        for kind, fields in SITUATION_FIELDS.items()
        if any(field in changed for field in fields)
    ]


def check_happened_on(happened_on: date | None, today: date | None = None) -> date:
    today = today or local_today()
    happened_on = happened_on or today
    if happened_on > today:
        raise DomainError(
            _l("A change cannot have happened in the future."),
            {"happened_on": _l("Not after today.")},
        )
    if happened_on < today - timedelta(days=MAX_BACKDATE_DAYS):
        raise DomainError(
            _l("A change is registered within a year of when it happened."),
            {"happened_on": _l("At most a year ago.")},
        )
    return happened_on


def register_situation_change(
    session, client: Client, kinds, happened_on: date | None = None, today: date | None = None
) -> SituationChange:
    """Record that the change was registered today; late when past the working-day limit
    (setting `change_registration_days`), counted against the customer's account manager."""
    today = today or local_today()
    happened_on = check_happened_on(happened_on, today)
    due = company_calendar(session).add(happened_on, int(get_setting("change_registration_days")))
    actor = current_actor()
    owner_id = client.owner_id
    if owner_id is None and getattr(actor, "role", None) == ACCOUNT_MANAGER:
        owner_id = actor.id
    row = SituationChange(
        client_id=client.id,
        kinds=",".join(kinds),
        happened_on=happened_on,
        registered_on=today,
        due_on=due,
        late=today > due,
        owner_id=owner_id,
        recorded_by_id=getattr(actor, "id", None),
    )
    session.add(row)
    session.flush()
    return row


def add_key_person(session, person: KeyPerson, happened_on: date | None = None) -> KeyPerson:
    """A new key person is a change of the customer's situation (R12) as well as material."""
    check_happened_on(happened_on)
    add_record(session, person)
    register_situation_change(
        session, person.client or session.get(Client, person.client_id), ["key_person"], happened_on
    )
    return person


def update_key_person(
    session, person: KeyPerson, reason=None, happened_on: date | None = None
) -> KeyPerson:
    with session.no_autoflush:
        changed = bool(column_changes(session, person, None))
        if changed:
            check_happened_on(happened_on)
        change_record(session, person, reason)
        if changed:
            register_situation_change(session, person.client, ["key_person"], happened_on)
    return person


def late_changes_per_manager(session) -> list[tuple[int, str, int]]:
    """Late registrations per account manager: (user id, name, count), most first. Narrowed
    to the reader's customers by the query layer (a regional manager: their region)."""
    rows = session.execute(
        select(User.id, User.full_name, func.count(SituationChange.id))
        .join(User, User.id == SituationChange.owner_id)
        .where(SituationChange.late.is_(True))
        .group_by(User.id, User.full_name)
        .order_by(func.count(SituationChange.id).desc(), User.full_name)
    ).all()
    return [tuple(row) for row in rows]


# --- R12: an important customer has at least two staff in contact --------------------------

IMPORTANT_LEVELS = ("K", "A")
MIN_CONTACT_STAFF = 2


def contact_staff(session, client_id: int) -> list[ClientStaff]:
    return session.scalars(
        select(ClientStaff).where(ClientStaff.client_id == client_id).order_by(ClientStaff.id)
    ).all()


def staff_in_contact(client: Client, staff) -> int:
    """The owner and the other staff, active ones only."""
    people = {s.user_id for s in staff if s.user is not None and s.user.active}
    if client.owner is not None and client.owner.active:
        people.add(client.owner_id)
    return len(people)


def short_of_staff(client: Client, staff) -> bool:
    return client.level in IMPORTANT_LEVELS and staff_in_contact(client, staff) < MIN_CONTACT_STAFF


def add_contact_staff(session, row: ClientStaff) -> ClientStaff:
    """The owner and the managers over the customer name its contact staff (audited)."""
    client = row.client or session.get(Client, row.client_id)
    user = row.user or session.get(User, row.user_id)
    if client is None or not can(current_actor(), "edit", client):
        raise NotAllowed(_l("You may not change this customer's contact staff."))
    if user is None or not user.active or user.role == ADMIN:
        raise DomainError(_l("Choose an active member of staff."), {"user": _l("Required.")})
    if user.id == client.owner_id:
        raise DomainError(
            _l("The account manager is in contact already."),
            {"user": _l("Choose someone besides the account manager.")},
        )
    if session.execute(
        select(ClientStaff.id)
        .where(ClientStaff.client_id == client.id, ClientStaff.user_id == user.id)
        .execution_options(**unscoped("one staff row per person"))
    ).first():
        raise DomainError(_l("Already one of the contact staff."), {"user": _l("Already listed.")})
    row.client, row.user = client, user
    session.add(row)
    session.flush()
    return row


def remove_contact_staff(session, row: ClientStaff, reason: str | None = None) -> None:
    if not can(current_actor(), "edit", row.client):
        raise NotAllowed(_l("You may not change this customer's contact staff."))
    with audit_reason(session, reason):
        session.delete(row)
        session.flush()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def check_contact_staff(session, today: date | None = None) -> dict:
    """Weekly: K and A customers with fewer than two active staff in contact are listed to
    their regional manager, once per customer per week (staff_shortfalls' unique key)."""
    week = week_start(today or local_today())
    owner, member = aliased(User), aliased(User)
    count = func.count(distinct(owner.id)) + func.count(distinct(member.id))
    found = (
        select(Client.id, count.label("staff"))
        .outerjoin(owner, and_(owner.id == Client.owner_id, owner.active.is_(True)))
        .outerjoin(
            ClientStaff,
            and_(
                ClientStaff.client_id == Client.id,
                ClientStaff.user_id != func.coalesce(Client.owner_id, 0),
            ),
        )
        .outerjoin(member, and_(member.id == ClientStaff.user_id, member.active.is_(True)))
        .where(
            Client.level.in_(IMPORTANT_LEVELS),
            Client.stage != "former",
            ~exists().where(
                StaffShortfall.client_id == Client.id, StaffShortfall.week_start == week
            ),
        )
        .group_by(Client.id)
        .having(count < MIN_CONTACT_STAFF)
    )
    rows = [
        {"client_id": cid, "week_start": week, "staff_count": n}
        for cid, n in session.execute(
            found.execution_options(**unscoped("weekly contact-staff sweep"))
        )
    ]
    new_ids = _insert_new_shortfalls(session, rows)
    if not new_ids:
        return {"listed": 0}
    clients = session.execute(
        select(Client.id, Client.name, Client.code, Client.region_id)
        .where(Client.id.in_(new_ids))
        .execution_options(**unscoped("weekly contact-staff sweep"))
    ).all()
    managers = session.scalars(
        select(User).where(
            User.role == REGIONAL_MANAGER,
            User.active.is_(True),
            User.region_id.in_({c.region_id for c in clients} - {None}),
        )
    ).all()
    staff = {r["client_id"]: r["staff_count"] for r in rows}
    events = [
        Event(
            [m for m in managers if m.region_id == c.region_id],
            f"staff_shortfall:{c.id}:{week.isoformat()}",
            "staff_shortfall",
            str(_l("%(name)s has fewer than two staff in contact", name=c.name)),
            str(
                _l(
                    "%(code)s %(name)s: %(n)d staff in contact; an important customer "
                    "has at least two (R12).",
                    code=c.code or "",
                    name=c.name,
                    n=staff[c.id],
                )
            ),
            client_id=c.id,
            target=Target("client.details_view", c.id),
        )
        for c in clients
    ]
    notify_many(session, events)
    return {"listed": len(clients)}


def _insert_new_shortfalls(session, rows) -> list[int]:
    if not rows:
        return []
    table = StaffShortfall.__table__
    stmt = insert_or_ignore(session, table, ["client_id", "week_start"]).returning(
        table.c.client_id
    )
    return [r[0] for r in session.execute(stmt, rows).all()]
