"""Revisits and greetings (R14): the plan, the daily inbox of what is due, the visit record."""

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, or_, select

from crm.access import can, current_actor
from crm.audit import audit_reason
from crm.auth.models import User
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.clients.services import add_contact_log
from crm.errors import DomainError, NotAllowed
from crm.governance.services import change_record
from crm.intake.services import regional_managers
from crm.kernel import insert_or_ignore, unscoped
from crm.notifications.services import Target, notify
from crm.revisits.models import Revisit
from crm.revisits.rules import greeting_on, plan_dates
from crm.settings import get_setting
from crm.timeutil import local_today, utcnow

# The plan is kept a month ahead; a week back covers days the beat missed.
PLAN_AHEAD = timedelta(days=31)
CATCH_UP = timedelta(days=7)
CHUNK = 500


def cadence() -> tuple[int, int]:
    value = get_setting("revisit_cadence") or {}
    return int(value.get("first_year_months", 1)), int(value.get("later_months", 3))


def _insert_new(session, rows) -> int:
    """Insert planned revisits; one already planned for that customer and day is kept."""
    created = 0
    for i in range(0, len(rows), CHUNK):
        stmt = insert_or_ignore(session, Revisit, ["client_id", "due_date"]).values(
            rows[i : i + CHUNK]
        )
        created += session.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
    return created


def plan_revisits(session, today: date | None = None) -> int:
    """Plan every customer's revisits from its delivery/joining date (first_deal_date) for
    the coming month. Re-running plans nothing twice."""
    today = today or local_today()
    first, later = cadence()
    customers = session.execute(
        select(Client.id, Client.first_deal_date, Client.owner_id)
        .where(Client.first_deal_date.is_not(None), Client.stage != "former")
        .execution_options(**unscoped("revisit planning sweep"))
    ).all()
    now = utcnow()
    rows = [
        {
            "client_id": cid,
            "due_date": day,
            "assignee_id": owner,
            "status": "open",
            "created_at": now,
        }
        for cid, anchor, owner in customers
        for day in plan_dates(anchor, today - CATCH_UP, today + PLAN_AHEAD, first, later)
    ]
    return _insert_new(session, rows)


def _recipients(session, owner_id, region_id) -> list[User]:
    owner = session.get(User, owner_id) if owner_id else None
    if owner is not None and owner.active:
        return [owner]
    return regional_managers(session, region_id)


def notify_due_revisits(session, today: date | None = None) -> int:
    """Each open revisit due today (or in the catch-up days) reaches its assignee once."""
    today = today or local_today()
    due = session.execute(
        select(
            Revisit.id,
            Revisit.due_date,
            Revisit.assignee_id,
            Client.id,
            Client.name,
            Client.region_id,
        )
        .join(Client, Client.id == Revisit.client_id)
        .where(
            Revisit.status == "open",
            Revisit.due_date <= today,
            Revisit.due_date >= today - CATCH_UP,
        )
        .execution_options(**unscoped("revisit reminder sweep"))
    ).all()
    sent = 0
    for rid, day, assignee_id, cid, name, region_id in due:
        sent += notify(
            session,
            _recipients(session, assignee_id, region_id),
            f"revisit:{rid}",
            "revisit_due",
            str(_l("Revisit due: %(name)s", name=name)),
            str(_l("Planned for %(day)s.", day=day)),
            client_id=cid,
            target=Target("revisit.details_view", rid),
        )
    return sent


def _same_day(column, today: date):
    months = {today.month}
    days = {today.day} | ({29} if (today.month, today.day) == (2, 28) else set())
    return (extract("month", column).in_(months)) & (extract("day", column).in_(days))


def send_greetings(session, today: date | None = None) -> int:
    """Birthdays of individual customers and key persons, anniversaries of the first deal:
    a greeting reminder to the account manager, once a year each."""
    today = today or local_today()
    sent = 0
    clients = session.execute(
        select(
            Client.id,
            Client.name,
            Client.owner_id,
            Client.region_id,
            Client.birth_date,
            Client.first_deal_date,
        )
        .where(or_(_same_day(Client.birth_date, today), _same_day(Client.first_deal_date, today)))
        .execution_options(**unscoped("anniversary sweep"))
    ).all()
    for cid, name, owner_id, region_id, birth, first_deal in clients:
        to = _recipients(session, owner_id, region_id)
        if birth and greeting_on(birth, today):
            sent += notify(
                session,
                to,
                f"greeting:birthday:client:{cid}:{today.year}",
                "greeting",
                str(_l("Birthday greeting: %(name)s", name=name)),
                client_id=cid,
                target=Target("client.details_view", cid),
            )
        if first_deal and first_deal < today and greeting_on(first_deal, today):
            sent += notify(
                session,
                to,
                f"greeting:anniversary:{cid}:{today.year}",
                "greeting",
                str(_l("%(n)d years with us: %(name)s", n=today.year - first_deal.year, name=name)),
                client_id=cid,
                target=Target("client.details_view", cid),
            )
    people = session.execute(
        select(
            KeyPerson.id,
            KeyPerson.name,
            KeyPerson.birth_date,
            Client.id,
            Client.name,
            Client.owner_id,
            Client.region_id,
        )
        .join(Client, Client.id == KeyPerson.client_id)
        .where(_same_day(KeyPerson.birth_date, today))
        .execution_options(**unscoped("key persons' birthday sweep"))
    ).all()
    for pid, person, birth, cid, name, owner_id, region_id in people:
        if greeting_on(birth, today):
            sent += notify(
                session,
                _recipients(session, owner_id, region_id),
                f"greeting:birthday:person:{pid}:{today.year}",
                "greeting",
                str(_l("Birthday greeting: %(person)s of %(name)s", person=person, name=name)),
                client_id=cid,
                target=Target("keyperson.details_view", pid),
            )
    return sent


def run_daily(session, today: date | None = None) -> dict:
    today = today or local_today()
    return {
        "planned": plan_revisits(session, today),
        "revisits": notify_due_revisits(session, today),
        "greetings": send_greetings(session, today),
    }


def record_revisit(
    session,
    revisit: Revisit,
    done_on: date,
    way: str,
    person_met: str,
    satisfaction: str | None = None,
    notes: str | None = None,
) -> Revisit:
    """The visit is recorded on the revisit and on the card: the customer's satisfaction,
    and the communication log (R16) when the visitor keeps it."""
    actor = current_actor()
    if not can(actor, "edit", revisit):
        raise NotAllowed(_l("You may not record this revisit."))
    if not person_met or not done_on:
        raise DomainError(
            _l("Say when the revisit was made and whom it met."), {"person_met": _l("Required.")}
        )
    revisit.status, revisit.done_on, revisit.way = "done", done_on, way
    revisit.person_met, revisit.satisfaction, revisit.notes = person_met, satisfaction, notes
    revisit.recorded_by_id = getattr(actor, "id", None)
    reason = str(_l("Revisit of %(day)s", day=revisit.due_date))
    change_record(session, revisit, reason)
    client = session.get(Client, revisit.client_id)
    if satisfaction and client.satisfaction != satisfaction:
        with audit_reason(session, reason):
            client.satisfaction = satisfaction
            session.flush()
    log = ContactLog(
        client_id=client.id,
        contact_date=done_on,
        way=way or "other",
        person_met=person_met,
        record=notes or reason,
    )
    if can(actor, "create", log):
        add_contact_log(session, log)
    return revisit
