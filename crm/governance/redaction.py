"""What a customer's destruction leaves behind holds none of its personal values.

The events of the audit trail stay (who, when, what kind of change to which record), and so do
notifications, mails and deletion requests; in them the customer's name, credit code, phones,
ID number, address and its key persons' names and phones are replaced by a mark saying they
were destroyed. Values of fields that are personal by name are replaced whatever they hold.
"""

from sqlalchemy import bindparam, func, or_, select, update

from crm.audit import AuditEvent
from crm.crypto import decrypt
from crm.governance.models import DeletionRequest
from crm.kernel import unscoped

# Fields whose value is personal whatever it is (the card's identity and contact, a key
# person's particulars, a first contact's).
PERSONAL_FIELDS = {
    "name",
    "short_name",
    "credit_code",
    "tax_number",
    "licence_number",
    "bank_name",
    "bank_account",
    "id_number",
    "id_number_mask",
    "id_number_enc",
    "id_number_hash",
    "phone",
    "mobile",
    "fax",
    "email",
    "website",
    "street",
    "postcode",
    "birth_date",
    "client_name",
    "native_place",
    "hobbies",
    "character",
    "family_notes",
    "religion",
    "notes",
    "address",
}
MIN_LENGTH = 2  # shorter strings are no identifying value (and would mark everything)
UNSCOPED = unscoped("redaction of a destroyed customer's trail", deleted=True)


def personal_values(session, client_id: int) -> list[str]:
    """The customer's identifying values, longest first (so a name goes before its short
    name inside it)."""
    from crm.clients.models import Client, KeyPerson
    from crm.intake.models import FirstContact

    values = set()
    client = session.execute(
        select(Client).where(Client.id == client_id).execution_options(**UNSCOPED)
    ).scalar_one_or_none()
    if client is not None:
        values |= {
            client.name,
            client.short_name,
            client.credit_code,
            client.tax_number,
            client.licence_number,
            client.bank_account,
            client.phone,
            client.mobile,
            client.fax,
            client.email,
            client.street,
            client.id_number_mask,
        }
        if client.id_number_enc:
            values.add(decrypt(client.id_number_enc))
    for model in (KeyPerson, FirstContact):
        for row in session.execute(
            select(model.name, model.phone, model.mobile)
            .where(model.client_id == client_id)
            .execution_options(**UNSCOPED)
        ):
            values |= set(row)
    return sorted(
        {v.strip() for v in values if v and len(v.strip()) >= MIN_LENGTH},
        key=lambda v: (-len(v), v),
    )


def redact_text(text, values, mark: str):
    if not isinstance(text, str):
        return text
    for value in values:
        text = text.replace(value, mark)
    return text


def redact(changes, values, mark: str, key=None):
    """A copy of an event's changes with personal values replaced by `mark`."""
    if isinstance(changes, dict):
        return {k: redact(v, values, mark, k) for k, v in changes.items()}
    if isinstance(changes, list):
        return [redact(v, values, mark, key) for v in changes]
    if changes is not None and key in PERSONAL_FIELDS:
        return mark
    return redact_text(changes, values, mark)


def redact_audit(session, client_id: int, values, mark: str, rows=()) -> int:
    """Mark the personal values in the customer's events and in those of `rows`
    ((table, ids) pairs of records that may not carry the customer, e.g. a first contact made
    before the card). Core statements: the trail is append-only for the ORM."""
    table = AuditEvent.__table__
    where = [table.c.client_id == client_id]
    where += [(table.c.entity == name) & table.c.entity_id.in_(ids) for name, ids in rows if ids]
    changed = []
    for event_id, changes, reason in session.execute(
        select(table.c.id, table.c.changes, table.c.reason).where(or_(*where))
    ):
        new_changes, new_reason = redact(changes, values, mark), redact_text(reason, values, mark)
        if new_changes != changes or new_reason != reason:
            changed.append(
                {"event_id": event_id, "new_changes": new_changes, "new_reason": new_reason}
            )
    if changed:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("event_id"))
            .values(changes=bindparam("new_changes"), reason=bindparam("new_reason")),
            changed,
        )
    return len(changed)


def _replace_each(column, values, mark: str):
    expr = column
    for value in values:
        expr = func.replace(expr, value, mark)
    return expr


def redact_messages(session, client_id: int, values, mark: str) -> dict:
    """Notifications about the customer, the mails sent for them and the deletion requests:
    set-based, one statement a table."""
    from crm.notifications.models import Notification, OutboxMail, RobotItem, RobotMessage

    if not values:
        return {}
    keys = select(Notification.event_key).where(Notification.client_id == client_id)
    counts = {
        "outbox_mails": session.execute(
            update(OutboxMail)
            .where(OutboxMail.event_key.in_(keys))
            .values(
                subject=_replace_each(OutboxMail.subject, values, mark),
                body=_replace_each(OutboxMail.body, values, mark),
            )
            .execution_options(synchronize_session=False)
        ).rowcount,
        # The group robots' messages list customers by name: a burst names many in one text.
        "robot_messages": session.execute(
            update(RobotMessage)
            .where(
                RobotMessage.id.in_(
                    select(RobotItem.message_id).where(RobotItem.client_id == client_id)
                )
            )
            .values(
                title=_replace_each(RobotMessage.title, values, mark),
                content=_replace_each(RobotMessage.content, values, mark),
            )
            .execution_options(synchronize_session=False)
        ).rowcount,
        "robot_items": session.execute(
            update(RobotItem)
            .where(RobotItem.client_id == client_id)
            .values(title=_replace_each(RobotItem.title, values, mark))
            .execution_options(synchronize_session=False)
        ).rowcount,
        "notifications": session.execute(
            update(Notification)
            .where(Notification.client_id == client_id)
            .values(
                title=_replace_each(Notification.title, values, mark),
                body=_replace_each(Notification.body, values, mark),
            )
            .execution_options(synchronize_session=False)
        ).rowcount,
        "deletion_requests": session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.client_id == client_id)
            .values(
                label=_replace_each(DeletionRequest.label, values, mark),
                reason=_replace_each(DeletionRequest.reason, values, mark),
                comment=_replace_each(DeletionRequest.comment, values, mark),
            )
            .execution_options(synchronize_session=False)
        ).rowcount,
    }
    return counts
