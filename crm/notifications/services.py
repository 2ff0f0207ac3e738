"""Notify people once per event: an inbox row per recipient, a mail in the outbox for those who
want mail (per-person preferences) and an item for each group robot that takes the event's kind
— all inserted with ON CONFLICT DO NOTHING on the event key, in the caller's transaction.
Sending is crm.notifications.delivery's job (the outbox sweep)."""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, literal, select, true, update

from crm.kernel import insert_or_ignore
from crm.notifications.models import (
    NoticePreference,
    NoticeRobot,
    Notification,
    OutboxMail,
    RobotItem,
)
from crm.timeutil import utcnow

# What a person may choose per kind of notice. Every notice reaches the inbox (the bell).
INBOX, MAIL, DIGEST = "inbox", "mail", "digest"
MODES = {INBOX: _l("Inbox only"), MAIL: _l("Inbox and mail"), DIGEST: _l("Inbox and daily digest")}

# The kinds of notice the code raises today (credit_<t> for each threshold of the setting).
KIND_LABELS = {
    "card_attempt": _l("Use of a blocked (lost) member card"),
    "archive_flag": _l("Archive integrity flags"),
    "change_request": _l("Change requests"),
    "deletion_request": _l("Deletion requests"),
    "view_grant": _l("View grant requests"),
    "complaint": _l("Complaints handed over"),
    "registration_late": _l("Customers not registered in time"),
    "registration_due": _l("Customer registrations due"),
    "client_assigned": _l("Customers assigned"),
    "revisit_due": _l("Revisits due"),
    "greeting": _l("Greetings"),
    "card_expiry": _l("Member cards expiring"),
    "card_benefits": _l("Member card benefits changed"),
}


def kind_label(kind: str) -> str:
    match = re.fullmatch(r"credit_(\d+)", kind or "")
    if match:
        return str(_l("Credit use passed %(t)s%%", t=match.group(1)))
    return str(KIND_LABELS.get(kind, kind))


def notice_kinds() -> list[str]:
    from crm.settings import get_setting

    credit = [f"credit_{int(t)}" for t in sorted(get_setting("credit_thresholds") or ())]
    return credit + list(KIND_LABELS)


def _insert_ignore(session, model, rows, conflict_cols) -> int:
    """Insert the rows that are not there yet; how many were new. One executemany on the
    Core table: SQLAlchemy sends it as multi-row INSERTs compiled once (insertmanyvalues),
    and RETURNING counts only the rows the conflict clause let in."""
    if not rows:
        return 0
    table = model.__table__
    stmt = insert_or_ignore(session, table, conflict_cols).returning(table.c.id)
    return len(session.execute(stmt, rows).all())


def notify(
    session,
    recipients,
    event_key: str,
    kind: str,
    title: str,
    body: str = "",
    client_id=None,
    target=None,
    addresses=(),
) -> int:
    """Notify users (inbox + mail to their address) and plain addresses (mail only) once for
    `event_key`. Returns how many inbox rows were new."""
    return notify_many(
        session, [Event(recipients, event_key, kind, title, body, client_id, target, addresses)]
    )


@dataclass(frozen=True)
class Target:
    """Where a notice leads: a screen's endpoint (e.g. "change_request.details_view") and the
    record's id. The screens and the mail turn it into a URL (crm.urls.target_path); the
    domain never writes one."""

    endpoint: str
    id: int | None = None


def _target_columns(target) -> dict:
    return {
        "link_endpoint": target.endpoint if target else None,
        "link_id": target.id if target else None,
    }


@dataclass
class Event:
    recipients: list
    event_key: str
    kind: str
    title: str
    body: str = ""
    client_id: int | None = None
    target: Target | None = None
    addresses: tuple = ()


def notify_many(session, events: list[Event]) -> int:
    """`notify` for many events in a few multi-row statements (a sweep may raise thousands).
    A user gets a mail only when their preference for the kind is mail (the default); plain
    addresses (departments) always get one; each robot that takes the kind gets an item."""
    now = utcnow()
    inbox, mails, items = [], [], []
    user_ids = {u.id for e in events for u in e.recipients if u is not None}
    modes = preference_modes(session, user_ids, {e.kind for e in events})
    robots = robots_by_kind(session)
    for e in events:
        users = {u.id: u for u in e.recipients if u is not None}
        inbox += [
            {
                "recipient_id": uid,
                "event_key": e.event_key,
                "kind": e.kind,
                "title": e.title,
                "body": e.body,
                **_target_columns(e.target),
                "client_id": e.client_id,
                "created_at": now,
            }
            for uid in users
        ]
        addresses = {
            u.email for u in users.values() if u.email and modes.get((u.id, e.kind), MAIL) == MAIL
        }
        addresses |= {a for a in e.addresses if a}
        mails += [
            {
                "event_key": e.event_key,
                "to_address": a,
                "subject": e.title,
                "body": e.body,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "kind": e.kind,
                **_target_columns(e.target),
            }
            for a in sorted(addresses)
        ]
        items += [
            {
                "robot_id": rid,
                "event_key": e.event_key,
                "kind": e.kind,
                "title": e.title[:200],
                **_target_columns(e.target),
                "client_id": e.client_id,
                "created_at": now,
            }
            for rid in robots.get(e.kind, ())
        ]
    created = _insert_ignore(session, Notification, inbox, ["recipient_id", "event_key"])
    _insert_ignore(session, OutboxMail, mails, ["event_key", "to_address"])
    _insert_ignore(session, RobotItem, items, ["robot_id", "event_key"])
    return created


def robots_by_kind(session) -> dict[str, list[int]]:
    """The active group robots per notice kind they take (a manager's choice in the admin)."""
    out: dict[str, list[int]] = {}
    for rid, kinds in session.execute(
        select(NoticeRobot.id, NoticeRobot.kinds).where(NoticeRobot.active.is_(True))
    ):
        for kind in kinds or ():
            out.setdefault(kind, []).append(rid)
    return out


def preference_modes(session, user_ids, kinds) -> dict[tuple[int, str], str]:
    if not user_ids or not kinds:
        return {}
    rows = session.execute(
        select(NoticePreference.user_id, NoticePreference.kind, NoticePreference.mode).where(
            NoticePreference.user_id.in_(sorted(user_ids)), NoticePreference.kind.in_(sorted(kinds))
        )
    )
    return {(uid, kind): mode for uid, kind, mode in rows}


def wants_mail(user_id_column, kind: str):
    """SQL condition: the user of `user_id_column` takes `kind` by mail (no other choice made),
    for the set-based notices written with INSERT … SELECT (crm.cards)."""
    return ~exists().where(
        and_(
            NoticePreference.user_id == user_id_column,
            NoticePreference.kind == kind,
            NoticePreference.mode != MAIL,
        )
    )


def my_preferences(session, user) -> dict[str, str]:
    """Every kind with the user's choice (mail where they made none)."""
    chosen = dict(
        session.execute(
            select(NoticePreference.kind, NoticePreference.mode).where(
                NoticePreference.user_id == user.id
            )
        ).all()
    )
    return {kind: chosen.get(kind, MAIL) for kind in notice_kinds()}


def set_preferences(session, user, choices: dict[str, str]) -> int:
    """Save the user's choice per kind; unknown kinds or modes are refused. Changes are audited
    (NoticePreference is an audited model). Returns how many choices changed."""
    from crm.errors import DomainError

    kinds = set(notice_kinds())
    bad = {k: m for k, m in choices.items() if k not in kinds or m not in MODES}
    if bad:
        raise DomainError(_l("Unknown notice kind or choice."))
    rows = {
        p.kind: p
        for p in session.scalars(
            select(NoticePreference).where(NoticePreference.user_id == user.id)
        )
    }
    changed = 0
    for kind, mode in choices.items():
        row = rows.get(kind)
        if row is None:
            if mode == MAIL:
                continue  # the default needs no row
            session.add(NoticePreference(user_id=user.id, kind=kind, mode=mode))
        elif row.mode == mode:
            continue
        else:
            row.mode = mode
        changed += 1
    session.flush()
    return changed


def unread_count(session, user, cap: int | None = None) -> int:
    """Unread notifications of `user`; with `cap`, counted no further than cap + 1 (the bell
    says "99+": someone who never reads them may have tens of thousands)."""
    unread = select(Notification.id).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None)
    )
    if cap is not None:
        unread = unread.limit(cap + 1)
    return session.execute(select(func.count()).select_from(unread.subquery())).scalar()


def bell_label(session, user, cap: int = 99) -> str:
    count = unread_count(session, user, cap)
    return f"{cap}+" if count > cap else str(count)


def mark_read(session, user, ids) -> None:
    session.execute(
        update(Notification)
        .where(
            Notification.recipient_id == user.id,
            Notification.id.in_(ids),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def send_outbox(session, limit: int = 200) -> int:
    """Send what is due in the outbox, every channel (crm.notifications.delivery)."""
    from crm.notifications.delivery import send_outbox as send

    return send(session, limit)


# --- set-based: notices for a whole set of events in INSERT … SELECT statements --------------
_FIELD = re.compile(r"\x00(\w+)\x00")


def field(name: str) -> str:
    """A placeholder for a column in a message translated in Python, e.g.
    `_("Credit use of %(name)s passed …", name=field("name"))`: `sql_text` puts the column
    in its place, so one translated message serves every row of an INSERT … SELECT."""
    return f"\x00{name}\x00"


def sql_text(message: str, **columns):
    """The SQL expression of a translated message whose `field()` placeholders become the given
    columns (concatenated with ||, on SQLite and PostgreSQL alike)."""
    parts = _FIELD.split(str(message))
    pieces = [columns[p] if i % 2 else literal(p) for i, p in enumerate(parts) if i % 2 or p]
    expr = pieces[0]
    for piece in pieces[1:]:
        expr = expr.concat(piece)
    return expr


def notify_select(
    session, kind: str, events, deliveries, addresses=(), execution_options=None, unsent=False
) -> int:
    """`notify_many` for a set of events given as SQL, written with INSERT … SELECT (no Python
    loop per event): a backlog of hundreds of thousands of notices in a few statements.

    `events` is a SELECT with the labelled columns event_key, title, body, client_id,
    link_endpoint and link_id, one row per event, and optionally to_address: that event's own
    address (a card's holder), which gets its mail when there is one; `deliveries` the same
    columns plus recipient_id, one row per event and recipient (duplicates allowed). Each
    recipient gets an inbox row, and a mail when their preference for `kind` is mail (the
    default) and they have an address; each plain address in `addresses` gets a mail for every
    event; each active robot that takes `kind` an item. Exactly once per event key, as
    `notify_many`: the unique constraints and ON CONFLICT DO NOTHING, so running it twice, or
    concurrently, adds nothing. Returns how many inbox rows were new.

    `unsent=True` is for a sweep that meets the same events again day after day (a card is in
    its reminder window for weeks): each statement then leaves out, through the unique index
    it would conflict on, what was written before, instead of trying to insert it again."""
    from crm.auth.models import User

    opts = {"preserve_rowcount": True, **(execution_options or {})}
    now = utcnow()
    ev, to = events.subquery("crm_events"), deliveries.subquery("crm_deliveries")

    def new(model, **key) -> list:
        """Rows not written before (with `unsent`): the unique index of `key` answers."""
        if not unsent:
            return []
        return [~exists().where(*[model.__table__.c[k] == v for k, v in key.items()])]

    def run(model, columns, query, conflict):
        rows = query.subquery()
        # SQLite reads "… FROM t ON CONFLICT" as a join's ON without a WHERE before it
        query = select(*rows.c).where(true())
        stmt = insert_or_ignore(session, model.__table__, conflict).from_select(columns, query)
        return session.execute(stmt.execution_options(**opts)).rowcount

    inbox = select(
        to.c.recipient_id,
        to.c.event_key,
        literal(kind),
        to.c.title,
        to.c.body,
        to.c.link_endpoint,
        to.c.link_id,
        to.c.client_id,
        literal(now),
    )
    inbox = inbox.where(
        *new(Notification, recipient_id=to.c.recipient_id, event_key=to.c.event_key)
    ).distinct()
    created = run(
        Notification,
        [
            "recipient_id",
            "event_key",
            "kind",
            "title",
            "body",
            "link_endpoint",
            "link_id",
            "client_id",
            "created_at",
        ],
        inbox,
        ["recipient_id", "event_key"],
    )

    def mail(rows, address):
        return select(
            rows.c.event_key,
            address,
            rows.c.title,
            rows.c.body,
            literal("pending"),
            literal(0),
            literal(now),
            literal(kind),
            rows.c.link_endpoint,
            rows.c.link_id,
        ).where(*new(OutboxMail, event_key=rows.c.event_key, to_address=address))

    # The people's mails follow the inbox rows this call wrote (their recipient, kind and
    # time, on the inbox index), not a second evaluation of `deliveries`: a go-live backlog's
    # deliveries join every crossing to its customer and its people again. A notice someone
    # had already received brings no mail either.
    written = Notification.__table__.alias("crm_written")
    users = (
        mail(written, User.email)
        .join_from(User, written, written.c.recipient_id == User.id)
        .where(
            written.c.read_at.is_(None),
            written.c.created_at == now,
            written.c.kind == kind,
            User.email.is_not(None),
            User.email != "",
            wants_mail(User.id, kind),
        )
    )
    others = [mail(ev, literal(a)) for a in sorted({a for a in addresses if a})]
    if "to_address" in ev.c:
        own = ev.c.to_address
        others.append(mail(ev, own).where(own.is_not(None), own != ""))
    run(
        OutboxMail,
        [
            "event_key",
            "to_address",
            "subject",
            "body",
            "status",
            "attempts",
            "created_at",
            "kind",
            "link_endpoint",
            "link_id",
        ],
        users.union(*others) if others else users.distinct(),
        ["event_key", "to_address"],
    )
    for robot_id in robots_by_kind(session).get(kind, ()):
        items = select(
            literal(robot_id),
            ev.c.event_key,
            literal(kind),
            func.substr(ev.c.title, 1, 200),
            ev.c.link_endpoint,
            ev.c.link_id,
            ev.c.client_id,
            literal(now),
        ).where(*new(RobotItem, robot_id=robot_id, event_key=ev.c.event_key))
        run(
            RobotItem,
            [
                "robot_id",
                "event_key",
                "kind",
                "title",
                "link_endpoint",
                "link_id",
                "client_id",
                "created_at",
            ],
            items,
            ["robot_id", "event_key"],
        )
    return created
