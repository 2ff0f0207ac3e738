"""Notify people once per event: an inbox row per recipient and a mail in the outbox, both
inserted with ON CONFLICT DO NOTHING on the event key, in the caller's transaction."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crm.notifications.models import Notification, OutboxMail
from crm.timeutil import utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_TIMEOUT = timedelta(minutes=10)  # a claim older than this belongs to a dead worker


def _insert_ignore(session, model, rows, conflict_cols) -> int:
    """Insert the rows that are not there yet; how many were new. One executemany on the
    Core table: SQLAlchemy sends it as multi-row INSERTs compiled once (insertmanyvalues),
    and RETURNING counts only the rows the conflict clause let in."""
    if not rows:
        return 0
    table = model.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else \
        sqlite.insert
    stmt = (insert(table).on_conflict_do_nothing(index_elements=conflict_cols)
            .returning(table.c.id))
    return len(session.execute(stmt, rows).all())


def notify(session, recipients, event_key: str, kind: str, title: str, body: str = "",
           client_id=None, link=None, addresses=()) -> int:
    """Notify users (inbox + mail to their address) and plain addresses (mail only) once for
    `event_key`. Returns how many inbox rows were new."""
    return notify_many(session, [Event(recipients, event_key, kind, title, body, client_id,
                                       link, addresses)])


@dataclass
class Event:
    recipients: list
    event_key: str
    kind: str
    title: str
    body: str = ""
    client_id: int | None = None
    link: str | None = None
    addresses: tuple = ()


def notify_many(session, events: list[Event]) -> int:
    """`notify` for many events in a few multi-row statements (a sweep may raise thousands)."""
    now = utcnow()
    inbox, mails = [], []
    for e in events:
        users = {u.id: u for u in e.recipients if u is not None}
        inbox += [{"recipient_id": uid, "event_key": e.event_key, "kind": e.kind,
                   "title": e.title, "body": e.body, "link": e.link, "client_id": e.client_id,
                   "created_at": now} for uid in users]
        addresses = {u.email for u in users.values() if u.email} | {a for a in e.addresses if a}
        mails += [{"event_key": e.event_key, "to_address": a, "subject": e.title,
                   "body": e.body, "status": "pending", "attempts": 0, "created_at": now}
                  for a in sorted(addresses)]
    created = _insert_ignore(session, Notification, inbox, ["recipient_id", "event_key"])
    _insert_ignore(session, OutboxMail, mails, ["event_key", "to_address"])
    return created


def unread_count(session, user, cap: int | None = None) -> int:
    """Unread notifications of `user`; with `cap`, counted no further than cap + 1 (the bell
    says "99+": someone who never reads them may have tens of thousands)."""
    unread = select(Notification.id).where(Notification.recipient_id == user.id,
                                           Notification.read_at.is_(None))
    if cap is not None:
        unread = unread.limit(cap + 1)
    return session.execute(select(func.count()).select_from(unread.subquery())).scalar()


def bell_label(session, user, cap: int = 99) -> str:
    count = unread_count(session, user, cap)
    return f"{cap}+" if count > cap else str(count)


def mark_read(session, user, ids) -> None:
    session.execute(
        update(Notification)
        .where(Notification.recipient_id == user.id, Notification.id.in_(ids),
               Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _claim(session, mail_id) -> bool:
    """Take one mail for sending; a second worker's UPDATE finds nothing to take."""
    now = utcnow()
    taken = session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id,
               (OutboxMail.status == "pending")
               | ((OutboxMail.status == "sending") & (OutboxMail.claimed_at < now - CLAIM_TIMEOUT)))
        .values(status="sending", claimed_at=now, attempts=OutboxMail.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return taken == 1


def _deliver(mail: OutboxMail) -> None:
    host = current_app.config.get("SMTP_HOST")
    msg = EmailMessage()
    msg["From"] = current_app.config.get("MAIL_FROM", "crm@localhost")
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Message-ID"] = f"<outbox-{mail.id}@crm>"  # receivers drop a re-sent duplicate
    msg.set_content(mail.body)
    if host:
        with smtplib.SMTP(host, int(current_app.config.get("SMTP_PORT", 25))) as smtp:
            smtp.send_message(msg)
    else:  # embedded default: one file per mail, named by its id, so a re-run overwrites
        folder = Path(current_app.config["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{mail.id:08d}.eml").write_bytes(bytes(msg))


def send_outbox(session, limit: int = 200) -> int:
    """Send pending mails. Each is claimed in its own transaction and marked sent after."""
    ids = session.scalars(
        select(OutboxMail.id)
        .where(OutboxMail.status.in_(("pending", "sending")), OutboxMail.attempts < MAX_ATTEMPTS)
        .order_by(OutboxMail.id).limit(limit)
    ).all()
    sent = 0
    for mail_id in ids:
        if not _claim(session, mail_id):
            continue
        mail = session.get(OutboxMail, mail_id)
        try:
            _deliver(mail)
        except (OSError, smtplib.SMTPException) as exc:
            mail.status = "pending" if mail.attempts < MAX_ATTEMPTS else "failed"
            mail.last_error = str(exc)[:1000]
            # The mail's id, not its address: the error text is kept on the row.
            logger.warning("mail %s not sent (attempt %s, %s): %s", mail_id, mail.attempts,
                           mail.status, type(exc).__name__)
        else:
            mail.status, mail.sent_at = "sent", utcnow()
            sent += 1
        session.commit()
    if ids:
        logger.info("outbox: %s of %s mails sent", sent, len(ids))
    return sent
