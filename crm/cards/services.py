"""The rules of member cards (R15) as functions the admin, the CLI and tasks call.

Each move checks the state machine in crm.cards.rules, writes the card and a CardEvent in the
caller's transaction, and leaves the commit to the caller. The daily sweep is set-based: one
UPDATE for the day's expiries and one INSERT … SELECT per kind of reminder, each safe to re-run.
"""

from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    case,
    cast,
    exists,
    literal,
    select,
    update,
)
from sqlalchemy.orm import attributes

from crm import crypto
from crm.access import can, current_actor
from crm.audit import actor_label
from crm.auth.models import User
from crm.cards import rules
from crm.cards.models import CardEvent, CardType, CardUse, MemberCard
from crm.clients import identifiers as ids
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.kernel import parse_money, unscoped, without_jit
from crm.notifications.models import Notification
from crm.notifications.services import Target, field, notify, notify_select, sql_text
from crm.sequences import next_value
from crm.settings import get_setting
from crm.timeutil import local_today, utcnow

BENEFIT_FIELDS = ("discount_rate", "privileges")


# --- helpers ------------------------------------------------------------------------------
def _actor_fields() -> dict:
    actor = current_actor()
    return {"actor_id": getattr(actor, "id", None), "actor_label": actor_label(actor)}


def _event(
    session, card, kind, from_status, to_status, fee=Decimal("0"), reason=None, related=None
) -> CardEvent:
    event = CardEvent(
        card_id=card.id,
        client_id=card.client_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        at=utcnow(),
        fee=fee,
        reason=reason,
        related_card_id=related.id if related else None,
        **_actor_fields(),
    )
    session.add(event)
    session.flush()
    return event


def _require(action: str, card) -> None:
    if not can(current_actor(), action, card, area="cards"):
        raise NotAllowed(_l("You may not do this to this customer's cards."))


def _move(card: MemberCard, target: str) -> str:
    """Check the state machine and move; returns the status the card had."""
    message = rules.transition_error(card.status, target)
    if message:
        raise DomainError(message)
    previous, card.status = card.status, target
    return previous


def _verify_identity(client: Client, presented: str | None) -> None:
    """R15: a card is issued on real identity and contact details."""
    if client.kind == "individual":
        if not client.id_number_hash:
            raise DomainError(_l("The holder's ID number must be on their customer card first."))
        if (
            not presented
            or crypto.lookup_hash(ids.normalise_id_number(presented)) != client.id_number_hash
        ):
            raise DomainError(
                _l("The ID number presented is not the holder's."),
                {"id_number": _l("Not the holder's ID number.")},
            )
    elif not client.credit_code:
        raise DomainError(
            _l("The holder's unified social credit code must be on their customer card first.")
        )
    if not (client.phone or client.mobile or client.email):
        raise DomainError(_l("The holder's contact details must be on their customer card first."))


def _new_card(session, client, card_type, issue_date, expiry_date, previous=None):
    seq = next_value(session, "card_number")
    card = MemberCard(
        number=rules.make_number(seq),
        client_id=client.id,
        card_type_id=card_type.id,
        issue_date=issue_date,
        expiry_date=expiry_date,
        status=rules.ACTIVE,
        previous_id=previous.id if previous else None,
    )
    _require("create", card)
    session.add(card)
    session.flush()
    return card


# --- card types -----------------------------------------------------------------------------
def card_type_errors(card_type: CardType) -> dict:
    errors = {}
    rate = card_type.discount_rate
    if rate is None or not Decimal("0") < Decimal(rate) <= Decimal("1"):
        errors["discount_rate"] = _l(
            "A discount rate is above 0 and at most 1 (0.90 = 10 percent off)."
        )
    for name in ("issue_fee", "renewal_fee", "replacement_fee"):
        if getattr(card_type, name) is None or getattr(card_type, name) < 0:
            errors[name] = _l("A fee cannot be negative.")
    if not card_type.validity_months or card_type.validity_months < 1:
        errors["validity_months"] = _l("Validity is at least one month.")
    return errors


def _changed(row, field: str) -> bool:
    history = attributes.get_history(row, field)
    return bool(history.added) and (not history.deleted or history.deleted[0] != history.added[0])


def save_card_type(session, card_type: CardType) -> CardType:
    """Add or change a card type. A change of benefits tells every holder of a live card of
    the type, once per change (R15: holders are told and may keep or cancel)."""
    if not can(current_actor(), "edit", area="card_types"):
        raise NotAllowed(_l("Only the sales manager may set card types."))
    errors = card_type_errors(card_type)
    if errors:
        raise DomainError(_l("The card type has errors."), errors)
    changed = card_type.id is not None and any(_changed(card_type, f) for f in BENEFIT_FIELDS)
    if changed:
        card_type.benefits_version = (card_type.benefits_version or 1) + 1
    session.add(card_type)
    session.flush()
    if changed:
        _notify_cards(
            session,
            (MemberCard.card_type_id == card_type.id, MemberCard.status.in_(rules.LIVE)),
            literal(f"cardtype:{card_type.id}:benefits:{card_type.benefits_version}:card:")
            + cast(MemberCard.id, String),
            "card_benefits",
            _("The benefits of %(type)s cards have changed", type=card_type.name),
            _(
                "New benefits: %(rate)s of the price; %(privileges)s. The holder may keep or "
                "cancel the card.",
                rate=card_type.discount_rate,
                privileges=card_type.privileges,
            ),
        )
    return card_type


def record_benefit_decision(session, card: MemberCard, keep: bool, reason: str = ""):
    """The holder's answer to a change of benefits, recorded by their manager."""
    _require("edit", card)
    if keep:
        if card.status not in rules.LIVE:
            raise DomainError(_l("Only a live card can be kept."))
        return _event(session, card, "benefits_kept", card.status, card.status, reason=reason)
    return cancel_card(session, card, reason or _("Holder declined the new benefits"))


# --- moves ----------------------------------------------------------------------------------
def issue_card(
    session, client: Client, card_type: CardType, id_number: str | None = None, today=None
) -> MemberCard:
    """A new card on real identity, for the issue fee; also how a cancelled holder re-applies."""
    today = today or local_today()
    if not card_type.active:
        raise DomainError(_l("This card type is no longer issued."))
    _verify_identity(client, id_number)
    live = session.execute(
        select(MemberCard.number)
        .where(
            MemberCard.client_id == client.id,
            MemberCard.card_type_id == card_type.id,
            MemberCard.status.in_(rules.LIVE),
        )
        .execution_options(**unscoped("one live card of a type per customer"))
    ).scalar()
    if live:
        raise DomainError(
            _l("The holder already has a live card of this type (%(number)s).", number=live)
        )
    card = _new_card(
        session, client, card_type, today, rules.add_months(today, card_type.validity_months)
    )
    _event(session, card, "issue", None, rules.ACTIVE, card_type.issue_fee)
    return card


def report_lost(session, card: MemberCard, reason: str = "") -> MemberCard:
    """Blocks the card at once, in this transaction; the report time divides the losses."""
    _require("edit", card)
    previous = _move(card, rules.LOST)
    card.lost_reported_at = utcnow()
    _event(session, card, "report_lost", previous, rules.LOST, reason=reason)
    return card


def replace_card(session, card: MemberCard, reason: str = "", today=None) -> MemberCard:
    """A lost card's replacement: a new number, the remaining validity, the replacement fee."""
    today = today or local_today()
    _require("edit", card)
    if rules.is_past_expiry(card.expiry_date, today):
        raise DomainError(
            _l(
                "The lost card's validity ended on %(date)s: there is none left to carry over.",
                date=card.expiry_date,
            )
        )
    previous = _move(card, rules.REPLACED)
    new = _new_card(session, card.client, card.card_type, today, card.expiry_date, card)
    fee = card.card_type.replacement_fee
    _event(session, card, "replace", previous, rules.REPLACED, fee, reason, new)
    _event(
        session,
        new,
        "issue",
        None,
        rules.ACTIVE,
        reason=_("Replaces %(number)s", number=card.number),
        related=card,
    )
    return new


def cancel_card(session, card: MemberCard, reason: str) -> MemberCard:
    _require("edit", card)
    if not (reason or "").strip():
        raise DomainError(_l("A cancellation needs a reason."), {"reason": _l("Give a reason.")})
    previous = _move(card, rules.CANCELLED)
    _event(session, card, "cancel", previous, rules.CANCELLED, reason=reason.strip())
    return card


def extend_card(session, card: MemberCard, today=None) -> MemberCard:
    """Renewal before expiry: validity runs on from the old expiry date, for the renewal fee."""
    today = today or local_today()
    _require("edit", card)
    if card.status != rules.ACTIVE:
        raise DomainError(_l("Only an active card can be renewed before expiry."))
    if rules.is_past_expiry(card.expiry_date, today):
        raise DomainError(
            _l(
                "This card expired on %(date)s; a new card is issued on the "
                "holder's ID and the old card.",
                date=card.expiry_date,
            )
        )
    old = card.expiry_date
    card.expiry_date = rules.extended_expiry(old, card.card_type.validity_months, today)
    _event(
        session,
        card,
        "extend",
        rules.ACTIVE,
        rules.ACTIVE,
        card.card_type.renewal_fee,
        _("Expiry %(old)s → %(new)s", old=old, new=card.expiry_date),
    )
    return card


def renew_expired_card(
    session, card: MemberCard, id_number: str | None, presented_number: str, today=None
) -> MemberCard:
    """After expiry a new card is issued on the holder's ID and the old card (R15)."""
    today = today or local_today()
    _require("edit", card)
    if rules.normalise_number(presented_number) != card.number:
        raise DomainError(
            _l("The old card must be presented: its number does not match."),
            {"old_number": _l("Not this card's number.")},
        )
    _verify_identity(card.client, id_number)
    if card.status == rules.ACTIVE and rules.is_past_expiry(card.expiry_date, today):
        _expire_one(session, card)  # the daily task has not reached it yet
    previous = _move(card, rules.RENEWED)
    months = card.card_type.validity_months
    new = _new_card(
        session, card.client, card.card_type, today, rules.add_months(today, months), card
    )
    _event(session, card, "renew", previous, rules.RENEWED, card.card_type.renewal_fee, related=new)
    _event(
        session,
        new,
        "issue",
        None,
        rules.ACTIVE,
        reason=_("Renews %(number)s", number=card.number),
        related=card,
    )
    return new


def _expire_one(session, card) -> None:
    previous = _move(card, rules.EXPIRED)
    _event(session, card, "expire", previous, rules.EXPIRED, reason=_("Validity ended"))


def expire_card(session, card: MemberCard, today=None) -> MemberCard:
    """Expire one card by date (the daily task does all of the day's at once)."""
    today = today or local_today()
    if not rules.is_past_expiry(card.expiry_date, today):
        raise DomainError(_l("This card is valid until %(date)s.", date=card.expiry_date))
    _require("edit", card)
    _expire_one(session, card)
    return card


# --- use ------------------------------------------------------------------------------------
def find_card(session, number: str) -> MemberCard:
    message = rules.check_number(number)
    if message:
        raise DomainError(message, {"number": message})
    card = session.scalars(
        select(MemberCard).where(MemberCard.number == rules.normalise_number(number))
    ).one_or_none()
    if card is None:
        raise DomainError(_l("No card with this number."), {"number": _l("Unknown card.")})
    return card


def _holder_present(client: Client, presented: str) -> bool:
    """Cards are not transferable: the use names the holder. An individual shows their ID
    number; an organisation is named by its full name or credit code."""
    value = ids.normalise_text(presented or "")
    if not value:
        return False
    if client.kind == "individual":
        return (
            bool(client.id_number_hash)
            and crypto.lookup_hash(ids.normalise_id_number(value)) == client.id_number_hash
        )
    return value == client.name or ids.normalise_credit_code(value) == client.credit_code


def _use_refusal(card: MemberCard, presented: str, today):
    if card.status in rules.BLOCKED:
        return _l(
            "Card %(number)s is blocked (%(status)s): it cannot be used.",
            number=card.number,
            status=rules.STATUSES[card.status],
        )
    if card.status != rules.ACTIVE or rules.is_past_expiry(card.expiry_date, today):
        return _l("Card %(number)s expired on %(date)s.", number=card.number, date=card.expiry_date)
    if not _holder_present(card.client, presented):
        return _l("The person presenting is not the card's holder; cards are not transferable.")
    return None


def record_use(
    session, number: str, presented_holder: str, place: str, list_price, today=None
) -> CardUse:
    """Check and log a use, applying the card type's benefit to the list price (R15). A
    refused use is logged too, as an attempt with its reason and no benefit; an attempt with
    a blocked card alerts the holder's account manager. The caller commits."""
    today = today or local_today()
    list_price = parse_money(list_price or 0, "list_price")
    if list_price < 0:
        raise DomainError(_l("An amount cannot be negative."), {"list_price": _l("Not negative.")})
    if not (place or "").strip():
        raise DomainError(_l("Say where the card is used."), {"place": _l("Required.")})
    card = find_card(session, number)
    _require("use", card)
    refusal = _use_refusal(card, presented_holder, today)
    # Only an accepted use (an active card within its validity) carries the benefit.
    rate = card.card_type.discount_rate if refusal is None else None
    price, benefit, paid = rules.apply_benefit(list_price, rate)
    use = CardUse(
        card_id=card.id,
        client_id=card.client_id,
        used_at=utcnow(),
        place=place.strip(),
        list_price=price,
        discount_rate=rate,
        benefit=benefit,
        paid=paid,
        accepted=refusal is None,
        refusal=str(refusal)[:300] if refusal else None,
        recorded_by_id=getattr(current_actor(), "id", None),
    )
    session.add(use)
    session.flush()
    if card.status in rules.BLOCKED and card.client.owner_id:
        owner = session.get(User, card.client.owner_id)
        notify(
            session,
            [owner],
            f"card:{card.id}:attempt:{use.id}",
            "card_attempt",
            _("Attempted use of blocked card %(number)s", number=card.number),
            _(
                "At %(place)s, holder %(holder)s: %(why)s",
                place=use.place,
                holder=card.client.name,
                why=use.refusal,
            ),
            client_id=card.client_id,
            target=Target("card.details_view", card.id),
        )
    return use


# --- the daily task -------------------------------------------------------------------------
# The cards to notify of a run, put aside once with what their notices need of the card: the
# statements that write the notices then read each customer by its key, whatever the planner
# thinks of the number of cards (a temporary table, dropped at the end of the run).
_DUE = Table(
    "crm_cards_due",
    MetaData(),
    Column("card_id", Integer, primary_key=True),
    Column("client_id", Integer),
    Column("number", String(20)),
    Column("expiry_date", Date),
    Column("event_key", String(200)),
    Column("title", String(200)),
    prefixes=["TEMPORARY"],
)


def _notify_cards(session, where, key, kind: str, title, body_lead: str) -> int:
    """Notify, for every card matching `where`, its holder's account manager (inbox, and mail
    unless they chose otherwise for the kind), the holder's own address (mail) and the group
    robots that take the kind, each once per card for this key — in INSERT … SELECT
    statements whatever the number of cards (crm.notifications.services.notify_select).

    A card stays in its reminder window for weeks, so nearly every card a day's run meets was
    notified on an earlier day (75,000 of the 80,000 a day at a million customers). The event
    is raised once, when its inbox row is written: first, on the cards' own columns and
    notifications' index on (client_id, event_key), the cards whose event has none are put
    aside, and only those are read with their customer and notified (through notify_select's
    `unsent` checks on each table's unique index: a card of a customer without a manager has
    no inbox row and comes back each day, for nothing). The customer's manager when the event
    is raised is the one told."""
    raised = exists().where(
        Notification.client_id == MemberCard.client_id, Notification.event_key == key
    )
    # Asked card by card on the index, whatever the planner believes of the number of
    # notifications: inside a CASE the sub-select stays one (PostgreSQL makes a bare NOT EXISTS
    # a join, and with stale statistics hashed all the notifications, 2.7 s at 1M customers).
    not_raised = case((raised, 0), else_=1) == 1
    due = _DUE.c
    without_jit(session)
    conn = session.connection()
    _DUE.drop(conn, checkfirst=True)  # left by a failed run whose caller went on
    _DUE.create(conn)
    cards = select(
        MemberCard.id,
        MemberCard.client_id,
        MemberCard.number,
        MemberCard.expiry_date,
        key,
        literal(title) if isinstance(title, str) else title,
    ).where(*where, not_raised)
    session.execute(_DUE.insert().from_select(list(due.keys()), cards))
    body = sql_text(
        f"{body_lead} {_('Card')} {field('number')}, {field('name')}, "
        f"{_('expiry date')} {field('date')}",
        number=due.number,
        name=Client.name,
        date=cast(due.expiry_date, String),
    )
    events = (
        select(
            due.event_key,
            due.title,
            body.label("body"),
            Client.id.label("client_id"),
            literal("card.details_view").label("link_endpoint"),  # where the notice leads
            due.card_id.label("link_id"),
            Client.email.label("to_address"),  # the holder is told too
        )
        .select_from(_DUE)
        .join(Client, Client.id == due.client_id)
        .where(Client.deleted_at.is_(None))
    )
    deliveries = events.add_columns(Client.owner_id.label("recipient_id")).where(
        Client.owner_id.is_not(None)
    )
    created = notify_select(session, kind, events, deliveries, unsent=True)
    _DUE.drop(conn)  # a failed run leaves it to the rollback (or to the next run)
    return created


def reminder_days() -> list[int]:
    return sorted({int(d) for d in get_setting("card_reminder_days") or ()})


def _reminder_key(days):
    """card:<id>:expiry:<expiry date>:<days>: once per card, reminder and validity period — a
    card renewed before expiry is reminded again before its new expiry date."""
    return (
        literal("card:")
        + cast(MemberCard.id, String)
        + literal(":expiry:")
        + cast(MemberCard.expiry_date, String)
        + literal(":")
        + cast(days, String)
    )


def send_expiry_reminders(session, today) -> int:
    """N days before expiry, once per card per N. Each reminder covers the days down to the
    next one, so a day the task did not run is caught up the next day and a card issued
    inside a window gets that reminder only. Every window in one pass: the reminder a card
    is due is the first N whose window holds its expiry date."""
    days = reminder_days()
    if not days:
        return 0
    windows = [(MemberCard.expiry_date <= today + timedelta(days=n), n) for n in days]
    return _notify_cards(
        session,
        (
            MemberCard.status == rules.ACTIVE,
            MemberCard.expiry_date >= today,
            MemberCard.expiry_date <= today + timedelta(days=days[-1]),
        ),
        _reminder_key(case(*windows)),
        "card_expiry",
        case(
            *[
                (within, _("Member card expires within %(days)d days", days=n))
                for within, n in windows
            ]
        ),
        _("Please arrange the renewal."),
    )


def expire_due_cards(session, today) -> int:
    """Set every card past its expiry date expired: one UPDATE; its RETURNING rows become the
    CardEvents in one INSERT. A second run, or a concurrent one, finds nothing left."""
    rows = session.execute(
        update(MemberCard)
        .where(MemberCard.status == rules.ACTIVE, MemberCard.expiry_date < today)
        .values(status=rules.EXPIRED)
        .returning(MemberCard.id, MemberCard.client_id)
        .execution_options(synchronize_session=False)
    ).all()
    if rows:
        now, reason = utcnow(), _("Validity ended")
        session.execute(
            CardEvent.__table__.insert(),
            [
                {
                    "card_id": card_id,
                    "client_id": client_id,
                    "kind": "expire",
                    "from_status": rules.ACTIVE,
                    "to_status": rules.EXPIRED,
                    "at": now,
                    "actor_id": None,
                    "actor_label": "system",
                    "fee": Decimal("0"),
                    "reason": reason,
                    "related_card_id": None,
                }
                for card_id, client_id in rows
            ],
        )
    return len(rows)


def run_daily(session, today=None) -> dict:
    """The day's reminders, then the day's expiries; the caller commits."""
    today = today or local_today()
    reminded = send_expiry_reminders(session, today)
    expired = expire_due_cards(session, today)
    return {"reminded": reminded, "expired": expired}
