"""Delivery of notices through the outbox: mail over SMTP (SSL or STARTTLS, with login) and
markdown messages to WeCom (企业微信) and DingTalk (钉钉) group robots; retries with backoff; the
daily digest.

At most once, and nothing lost in silence
-----------------------------------------
Every row (a mail, a robot message) is *claimed* before it is sent: one UPDATE moves it from
`pending` to `sending`, stamps `claimed_at` and counts the attempt, and is committed at once, so
no second worker can take it. After the send, the row is marked `sent` and committed right
away. Between those two commits the far end may have the message while the database still says
`sending`: a worker killed there (OOM, deploy, power) leaves the row `sending`.

Such a row is never sent again by the machine. When its claim is older than LEASE, the sweep
moves it to `unknown` ("sent or not, nobody knows") and it waits in the administrator's list
with the failed ones; a person who checks the mailbox or the group chooses "retry" (or leaves
it). The trade-off: a crash in that window costs a manual decision instead of a duplicate —
for a credit notice in a group chat, a silent duplicate is cheaper than a lost notice only if
we knew which it was, and we do not. WeCom and DingTalk robots take no idempotency key, and
mail servers do not de-duplicate on Message-ID, so "resend when unsure" would really send
twice. (The window is short: one SMTP DATA or one HTTP POST.)

A try that fails with an error (connection refused, TLS or login refused, an SMTP or HTTP
error status, a robot's errcode, a timeout) is taken as not delivered: the row returns to
`pending` with `next_attempt_at` = now + BACKOFF × 2^(attempts-1), until MAX_ATTEMPTS, after
which it is `failed` and shown to the administrator with its last error and a retry action.
(A timeout after the request reached the far end could in rare cases have delivered: we accept
that rare duplicate over dropping a notice that most likely was not delivered.)

Robots and their rate limit
---------------------------
Both robots accept about 20 messages a minute (WeCom: 20/min per robot, errcode 45009 beyond;
DingTalk: 20/min, then throttled for 10 minutes). So notices are not sent one by one: each
notice becomes a RobotItem (unique per robot and event), and the sweep gathers the items not
yet sent into a few RobotMessages, each under the robots' size limit (WeCom: 4096 bytes of
markdown). A few items are listed one per line with their links; a burst is listed compactly,
grouped by kind with one link per kind. The sweep sends at most `robot_messages_per_minute`
(setting) messages per robot per minute; the rest wait for the next sweep.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import func, or_, select, update

from crm.audit import record
from crm.crypto import decrypt
from crm.kernel import unscoped
from crm.notifications.models import (
    NoticePreference,
    NoticeRobot,
    Notification,
    OutboxMail,
    RobotItem,
    RobotMessage,
)
from crm.notifications.services import DIGEST, kind_label
from crm.timeutil import utcnow
from crm.urls import target_path

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED, UNKNOWN = "pending", "sending", "sent", "failed", "unknown"
MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=1)  # 1, 2, 4, 8 minutes between the five tries
BACKOFF_CAP = timedelta(hours=2)
LEASE = timedelta(minutes=10)  # a claim older than this belongs to a dead worker
MESSAGE_BYTES = 4000  # WeCom: markdown content at most 4096 bytes (UTF-8)
DETAIL_ITEMS = 10  # up to this many items a message lists each one with its link
ITEMS_PER_SWEEP = 3000  # per robot; more wait for the next sweep
UNKNOWN_NOTE = "worker stopped while sending: delivered or not is unknown — check, then retry"

# Where a burst's items of one kind can be read in the CRM (the inbox otherwise).
KIND_LISTS = {
    "credit_": "credit_profile.index_view",
    "archive_flag": "archive_flag.index_view",
    "card_": "card.index_view",
    "change_request": "change_request.index_view",
    "deletion_request": "deletion_request.index_view",
    "view_grant": "view_grant.index_view",
}
INBOX_ENDPOINT = "inbox.index_view"


class DeliveryError(Exception):
    """The far end answered and refused the message."""


def absolute(
    link: str | None = None, endpoint: str | None = None, record_id: int | None = None
) -> str | None:
    """The absolute URL (BASE_URL) of a notice's target: its endpoint and record id, or the
    path stored by rows written before targets (`link`)."""
    if not endpoint and link and re.match(r"https?://", link):
        return link
    path = target_path(endpoint, record_id, link)
    if not path:
        return None
    return current_app.config["BASE_URL"].rstrip("/") + "/" + path.lstrip("/")


def absolute_for(row) -> str | None:
    """`absolute` of a notice, mail or robot item row."""
    return absolute(
        getattr(row, "link", None),
        getattr(row, "link_endpoint", None),
        getattr(row, "link_id", None),
    )


# --- the outbox machinery, the same for every channel -----------------------------------------
def _expire_claims(session, model, now) -> None:
    session.execute(
        update(model)
        .where(model.status == SENDING, model.claimed_at < now - LEASE)
        .values(status=UNKNOWN, last_error=UNKNOWN_NOTE)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _due(model, now):
    return (model.status == PENDING) & (
        model.next_attempt_at.is_(None) | (model.next_attempt_at <= now)
    )


def _claim(session, model, row_id) -> bool:
    """Take one row for sending, committed at once; a second worker's UPDATE finds nothing."""
    taken = session.execute(
        update(model)
        .where(model.id == row_id, model.status == PENDING)
        .values(status=SENDING, claimed_at=utcnow(), attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return taken == 1


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def _settle(session, row, error: Exception | None) -> None:
    """Mark the row after its try, in its own commit right after the send."""
    now = utcnow()
    if error is None:
        row.status, row.sent_at, row.last_error, row.next_attempt_at = SENT, now, None, None
    else:
        row.last_error = f"{type(error).__name__}: {error}"[:1000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.next_attempt_at = FAILED, None
        else:
            row.status, row.next_attempt_at = PENDING, now + backoff(row.attempts)
        # The row's id, not its address or webhook: the error text is kept on the row.
        logger.warning(
            "%s %s not sent (attempt %s, %s): %s",
            row.__tablename__,
            row.id,
            row.attempts,
            row.status,
            type(error).__name__,
        )
    session.commit()


def retry(session, model, ids) -> int:
    """The administrator's decision: send these failed or unknown rows again, from scratch."""
    rows = session.scalars(
        select(model).where(model.id.in_(ids), model.status.in_((FAILED, UNKNOWN)))
    ).all()
    for row in rows:
        record(
            session,
            "retry",
            row,
            {"status": [row.status, PENDING], "last_error": [row.last_error, None]},
        )
        row.status, row.attempts, row.next_attempt_at, row.claimed_at = PENDING, 0, None, None
    session.flush()
    return len(rows)


def undelivered_count(session) -> int:
    return sum(
        session.scalar(select(func.count()).select_from(m).where(m.status.in_((FAILED, UNKNOWN))))
        for m in (OutboxMail, RobotMessage)
    )


def send_outbox(session, limit: int = 200) -> int:
    """One sweep: dead claims to `unknown`, robot items into messages, then send what is due.
    Returns how many mails and robot messages went out."""
    now = utcnow()
    for model in (OutboxMail, RobotMessage):
        _expire_claims(session, model, now)
    make_robot_messages(session)
    return _send_mails(session, now, limit) + _send_robot_messages(session, now, limit)


# --- mail ----------------------------------------------------------------------------------
class Mailer:
    """One SMTP connection for a sweep, opened when the first mail goes, closed on an error."""

    def __init__(self):
        self.smtp = None
        cfg = current_app.config
        self.host = cfg.get("SMTP_HOST")

    def _connect(self):
        cfg = current_app.config
        port, timeout = int(cfg["SMTP_PORT"]), float(cfg["SMTP_TIMEOUT"])
        security = (cfg.get("SMTP_SECURITY") or "starttls").lower()
        context = ssl.create_default_context(cafile=cfg.get("SMTP_CA_FILE") or None)
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, port, timeout=timeout)
            if security == "starttls":
                smtp.starttls(context=context)
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD") or "")
        return smtp

    def send(self, mail: OutboxMail) -> None:
        msg = build_mail(mail)
        if not self.host:  # embedded default: one file per mail, named by its id
            folder = Path(current_app.config["MAIL_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{mail.id:08d}.eml").write_bytes(bytes(msg))
            return
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.send_message(msg)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


_URL = re.compile(r"https?://[^\s<>\"]+")


def _html(subject: str, body: str, url: str | None, footer: str) -> str:
    def paragraph(text: str) -> str:
        out, last = [], 0
        for m in _URL.finditer(text):
            out += [
                str(escape(text[last : m.start()])),
                f'<a href="{escape(m.group())}">{escape(m.group())}</a>',
            ]
            last = m.end()
        out.append(str(escape(text[last:])))
        return "".join(out).replace("\n", "<br>\n")

    parts = [f"<h3>{escape(subject)}</h3>"]
    if body:
        parts.append(f"<p>{paragraph(body)}</p>")
    if url:
        parts.append(f'<p><a href="{escape(url)}">{escape(_("Open the record"))}</a></p>')
    parts.append(f"<hr><p><small>{paragraph(footer)}</small></p>")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"></head><body>\n'
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def build_mail(mail: OutboxMail) -> EmailMessage:
    """A mail in the company's language with a plain-text and an HTML part and an absolute
    link to the record."""
    cfg = current_app.config
    with force_locale(cfg.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
        url = absolute_for(mail)
        footer = _(
            "Sent by the customer archive system. Choose mail, inbox only or a daily "
            "digest in your notice settings: %(url)s",
            url=absolute(endpoint="notice_preferences.index"),
        )
        text = mail.body or ""
        if url:
            text += ("\n\n" if text else "") + _("Open the record: %(url)s", url=url)
        text += "\n\n-- \n" + footer + "\n"
        html = _html(mail.subject, mail.body or "", url, footer)
    msg = EmailMessage()
    msg["From"] = cfg.get("MAIL_FROM") or "crm@localhost"
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    domain = (cfg.get("MAIL_FROM") or "crm@localhost").rsplit("@", 1)[-1].strip("> ")
    msg["Message-ID"] = f"<outbox-{mail.id}@{domain}>"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _send_mails(session, now, limit) -> int:
    ids = session.scalars(
        select(OutboxMail.id).where(_due(OutboxMail, now)).order_by(OutboxMail.id).limit(limit)
    ).all()
    mailer, sent = Mailer(), 0
    try:
        for mail_id in ids:
            if not _claim(session, OutboxMail, mail_id):
                continue
            mail = session.get(OutboxMail, mail_id)
            try:
                mailer.send(mail)
            # ValueError: a password or address smtplib cannot encode — a failure to show,
            # not a crash of the sweep
            except (OSError, ValueError, smtplib.SMTPException) as exc:
                _settle(session, mail, exc)
            else:
                _settle(session, mail, None)
                sent += 1
    finally:
        mailer.close()
    if ids:
        logger.info("outbox: %s of %s mails sent", sent, len(ids))
    return sent


# --- group robots ---------------------------------------------------------------------------
def robot_webhook(robot: NoticeRobot) -> str:
    return decrypt(robot.webhook_token) or ""


def robot_secret(robot: NoticeRobot) -> str | None:
    return decrypt(robot.secret_token) if robot.secret_token else None


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature ("加签"): base64 of HMAC-SHA256 over "timestamp\\nsecret", keyed
    with the secret; sent URL-encoded with the timestamp (milliseconds) in the query."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def post_to_robot(robot: NoticeRobot, title: str, content: str) -> None:
    url = robot_webhook(robot)
    if robot.platform == "dingtalk":
        # DingTalk's markdown breaks a line only at "  \n" (or a blank line).
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": content.replace("\n", "  \n")},
        }
        secret = robot_secret(robot)
        if secret:
            ts = int(time.time() * 1000)
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(
                {"timestamp": ts, "sign": dingtalk_sign(secret, ts)}
            )
    else:  # WeCom
        payload = {"msgtype": "markdown", "markdown": {"content": content}}
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=current_app.config["ROBOT_TIMEOUT"]) as resp:
        answer = json.loads(resp.read() or b"{}")
    if answer.get("errcode", 0) != 0:
        raise DeliveryError(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")


def _kind_list(kind: str) -> str:
    for prefix, path in KIND_LISTS.items():
        if kind.startswith(prefix):
            return path
    return INBOX_ENDPOINT


def _lines(items) -> list[tuple[str, str, list[int]]]:
    """(group header, markdown line, item ids) in order. Few items: one line each with its
    link; a burst: per kind, names joined compactly, under a header linking to the kind's list."""
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    out = []
    detailed = len(items) <= DETAIL_ITEMS
    for kind, members in groups.items():
        if detailed:
            header = f"**{kind_label(kind)}**"
            for it in members:
                url = absolute_for(it)
                text = f"- [{_md(it.title)}]({url})" if url else f"- {_md(it.title)}"
                out.append((header, text, [it.id]))
            continue
        open_list = _("open the list")
        header = (
            f"**{kind_label(kind)}**（{len(members)}）"
            f"[{open_list}]({absolute(endpoint=_kind_list(kind))})"
        )
        chunk, ids = [], []
        for it in members:
            chunk.append(_md(it.label or it.title))
            ids.append(it.id)
            if len("、".join(chunk).encode()) > MESSAGE_BYTES // 6:
                out.append((header, "、".join(chunk), ids))
                chunk, ids = [], []
        if chunk:
            out.append((header, "、".join(chunk), ids))
    return out


def _md(text: str) -> str:
    return re.sub(r"([\[\]()*_`#>])", r"\\\1", (text or "").replace("\n", " "))


def pack_messages(items) -> list[tuple[str, str, list[int]]]:
    """(title, markdown content, item ids) for each message, each under MESSAGE_BYTES; a group
    cut by a message's end goes on in the next under its header marked continued."""
    title = _("Customer archive notices")
    messages, lines, ids, size, header = [], [], [], 0, None

    def close():
        if ids:
            head = f"### {title}（{len(ids)}）"
            messages.append((f"{title}（{len(ids)}）", "\n".join([head, *lines]), list(ids)))

    for group, text, item_ids in _lines(items):
        add = ([group] if group != header else []) + [text]
        cost = len("\n".join(add).encode()) + 1
        if ids and size + cost > MESSAGE_BYTES - 80:
            close()
            lines, ids, size = [], [], 0
            add = [group + " " + _("(continued)"), text]
            cost = len("\n".join(add).encode()) + 1
        lines += add
        ids += item_ids
        size += cost
        header = group
    close()
    return messages


def make_robot_messages(session) -> int:
    """Gather each robot's unsent items into messages. The items are tied to their message by
    an UPDATE that takes only untied items: two sweeps at once cannot tie an item twice."""
    from crm.clients.models import Client

    made = 0
    robot_ids = session.scalars(
        select(RobotItem.robot_id).where(RobotItem.message_id.is_(None)).distinct()
    ).all()
    for robot_id in robot_ids:
        rows = session.execute(
            select(
                RobotItem.id,
                RobotItem.kind,
                RobotItem.title,
                RobotItem.link,
                RobotItem.link_endpoint,
                RobotItem.link_id,
                Client.name.label("label"),
            )
            .outerjoin(Client, Client.id == RobotItem.client_id)
            .where(RobotItem.robot_id == robot_id, RobotItem.message_id.is_(None))
            .order_by(RobotItem.id)
            .limit(ITEMS_PER_SWEEP)
            .execution_options(**unscoped("robot delivery sweep"))
        ).all()
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
            packed = pack_messages(rows)
        ok = True
        for title, content, ids in packed:
            message = RobotMessage(
                robot_id=robot_id,
                title=title[:200],
                content=content,
                items=len(ids),
                status=PENDING,
                attempts=0,
                created_at=utcnow(),
            )
            session.add(message)
            session.flush()
            tied = session.execute(
                update(RobotItem)
                .where(RobotItem.id.in_(ids), RobotItem.message_id.is_(None))
                .values(message_id=message.id)
                .execution_options(synchronize_session=False)
            ).rowcount
            if tied != len(ids):
                ok = False
                break
            made += 1
        if ok:
            session.commit()
        else:  # another sweep took them: leave those to it
            session.rollback()
    return made


def _send_robot_messages(session, now, limit) -> int:
    from crm.settings import get_setting

    per_minute = int(get_setting("robot_messages_per_minute"))
    rows = session.execute(
        select(RobotMessage.id, RobotMessage.robot_id)
        .where(_due(RobotMessage, now))
        .order_by(RobotMessage.id)
        .limit(limit)
    ).all()
    sent = 0
    for message_id, robot_id in rows:
        minute_ago = utcnow() - timedelta(minutes=1)
        recent = session.scalar(
            select(func.count())
            .select_from(RobotMessage)
            .where(
                RobotMessage.robot_id == robot_id,
                or_(
                    RobotMessage.sent_at >= minute_ago,
                    (RobotMessage.status == SENDING) & (RobotMessage.claimed_at >= minute_ago),
                ),
            )
        )
        if recent >= per_minute:
            continue  # this robot's minute is full: the next sweep goes on
        if not _claim(session, RobotMessage, message_id):
            continue
        message = session.get(RobotMessage, message_id)
        robot = session.get(NoticeRobot, robot_id)
        try:
            if robot is None or not robot.active:
                raise DeliveryError("the robot is switched off or gone")
            post_to_robot(robot, message.title, message.content)
        except (OSError, ValueError, DeliveryError) as exc:
            _settle(session, message, exc)
        else:
            _settle(session, message, None)
            sent += 1
    return sent


# --- the daily digest --------------------------------------------------------------------------
def digest_window(now_local: datetime, hour: int) -> tuple:
    """The digest due at `now_local`: (its day, window start, window end) in the company's
    zone — the 24 hours up to that day's digest hour."""
    day = now_local.date() if now_local.hour >= hour else now_local.date() - timedelta(days=1)
    end = datetime.combine(day, datetime.min.time(), now_local.tzinfo).replace(hour=hour)
    return day, end - timedelta(days=1), end


def send_digests(session, now: datetime | None = None) -> int:
    """Queue in the outbox ONE mail per person who chose the digest for some kind, listing what
    arrived in those kinds in the 24 hours up to the digest hour (setting). Its event key names
    the person and the day, so however often beat runs this, a day has one digest at most."""
    from zoneinfo import ZoneInfo

    from crm.auth.models import User
    from crm.notifications.services import _insert_ignore
    from crm.settings import get_setting

    zone = ZoneInfo(current_app.config["TIMEZONE"])
    now = now or utcnow()
    now_local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    day, start, end = digest_window(now_local, int(get_setting("notice_digest_hour")))
    start_utc = start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    end_utc = end.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    wanted: dict[int, set[str]] = {}
    for uid, kind in session.execute(
        select(NoticePreference.user_id, NoticePreference.kind).where(
            NoticePreference.mode == DIGEST
        )
    ):
        wanted.setdefault(uid, set()).add(kind)
    queued = 0
    for user in session.scalars(
        select(User).where(
            User.id.in_(sorted(wanted)), User.active.is_(True), User.email.is_not(None)
        )
    ):
        key = f"digest:{user.id}:{day.isoformat()}"
        if session.scalar(
            select(func.count()).select_from(OutboxMail).where(OutboxMail.event_key == key)
        ):
            continue
        notes = session.scalars(
            select(Notification)
            .where(
                Notification.recipient_id == user.id,
                Notification.kind.in_(sorted(wanted[user.id])),
                Notification.created_at >= start_utc,
                Notification.created_at < end_utc,
            )
            .order_by(Notification.created_at, Notification.id)
            .execution_options(**unscoped("daily digest sweep"))
        ).all()
        if not notes:
            continue
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
            subject = _("Daily digest of %(day)s: %(n)d notices", day=day.isoformat(), n=len(notes))
            lines = []
            for n in notes:
                lines.append(f"· {n.title}")
                if n.body:
                    lines.append(f"  {n.body}")
                if url := absolute_for(n):
                    lines.append(f"  {url}")
        queued += _insert_ignore(
            session,
            OutboxMail,
            [
                {
                    "event_key": key,
                    "to_address": user.email,
                    "subject": subject[:200],
                    "body": "\n".join(lines),
                    "status": PENDING,
                    "attempts": 0,
                    "created_at": utcnow(),
                    "kind": "digest",
                    "link_endpoint": INBOX_ENDPOINT,
                }
            ],
            ["event_key", "to_address"],
        )
    session.commit()
    return queued
