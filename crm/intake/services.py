"""Registration discipline (R12) and the two divisions' invitations (R13), as operations."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.access import ACCOUNT_MANAGER, REGIONAL_MANAGER, can, current_actor
from crm.audit import audit_reason
from crm.auth.models import User
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.governance.services import change_record
from crm.intake import rules
from crm.intake.duplicates import existing_matches, match_keys
from crm.intake.models import FirstContact, InvitationClaim
from crm.kernel import unscoped
from crm.notifications.services import Target, notify
from crm.settings import get_setting
from crm.timeutil import local_today, to_local, utcnow
from crm.workdays import company_calendar


def _require(action: str, area: str = "intake") -> object:
    actor = current_actor()
    if not can(actor, action, area=area):
        raise NotAllowed(_l("You may not do this."))
    return actor


def _deadline(contact_date: date, calendar=None) -> date:
    return rules.registration_deadline(
        contact_date, int(get_setting("registration_days")), calendar or company_calendar()
    )


# --- first contact → registration within the working days (R12) ------------------------


def record_first_contact(session, contact: FirstContact) -> FirstContact:
    """An account manager's first contact is theirs; the card must follow in time."""
    actor = _require("create")
    if getattr(actor, "role", None) == ACCOUNT_MANAGER or not contact.owner_id:
        contact.owner_id = actor.id
    owner = session.get(User, contact.owner_id)
    if owner is None:
        raise DomainError(_l("Choose the account manager."), {"owner": _l("Required.")})
    contact.region_id = owner.region_id
    if actor.role == REGIONAL_MANAGER and contact.region_id != actor.region_id:
        raise NotAllowed(_l("You may not do this."))
    if not (contact.name or "").strip():
        raise DomainError(
            _l("The customer's full name is required."),
            {"name": _l("The customer's full name is required.")},
        )
    session.add(contact)
    session.flush()
    return contact


def deadline_of(contact: FirstContact) -> date:
    return _deadline(contact.contact_date)


def link_registration(session, contact: FirstContact, client: Client, on: date | None = None):
    """The card is registered: close the first contact and note whether it came late."""
    on = on or local_today()
    contact.client_id = client.id
    contact.registered_on = on
    contact.registered_late = on > _deadline(contact.contact_date)
    session.flush()


def link_registered_contacts(session) -> int:
    """Close open first contacts whose customer has since been registered (by the form or an
    import), matched by name, phone or mobile."""
    contacts = session.scalars(
        select(FirstContact)
        .where(FirstContact.client_id.is_(None))
        .execution_options(**unscoped("first-contact closing sweep"))
    ).all()
    keys = [match_keys({"name": c.name, "phone": c.phone, "mobile": c.mobile}) for c in contacts]
    found = existing_matches(session, keys)
    linked = 0
    for contact, contact_keys in zip(contacts, keys, strict=True):
        match = next((found[(f, k)] for f, k in contact_keys.items() if (f, k) in found), None)
        if match is not None:
            registered = session.execute(
                select(Client.created_at)
                .where(Client.id == match.client_id)
                .execution_options(**unscoped("first-contact closing sweep"))
            ).scalar()
            link_registration(
                session, contact, session.get(Client, match.client_id), to_local(registered).date()
            )
            linked += 1
    return linked


def regional_managers(session, region_id) -> list[User]:
    if region_id is None:
        return []
    return session.scalars(
        select(User).where(
            User.role == REGIONAL_MANAGER, User.region_id == region_id, User.active.is_(True)
        )
    ).all()


def check_registrations(session, today: date | None = None) -> dict:
    """Daily: remind the owner the working day before the deadline, alert the regional manager
    once it has passed; each once (the notification's event key)."""
    today = today or local_today()
    calendar = company_calendar(session)
    linked = link_registered_contacts(session)
    reminded = alerted = 0
    open_contacts = session.scalars(
        select(FirstContact)
        .where(FirstContact.client_id.is_(None))
        .execution_options(**unscoped("first-contact reminder sweep"))
    ).all()
    for contact in open_contacts:
        deadline = _deadline(contact.contact_date, calendar)
        if today > deadline:
            alerted += notify(
                session,
                regional_managers(session, contact.region_id),
                f"intake:late:{contact.id}",
                "registration_late",
                str(_l("Customer not registered in time: %(name)s", name=contact.name)),
                str(
                    _l(
                        "First contact %(first)s by %(owner)s; the card was due by %(due)s.",
                        first=contact.contact_date,
                        owner=contact.owner,
                        due=deadline,
                    )
                ),
                target=Target("first_contact.details_view", contact.id),
            )
        elif today >= rules.reminder_day(deadline, calendar):
            reminded += notify(
                session,
                [contact.owner],
                f"intake:remind:{contact.id}",
                "registration_due",
                str(
                    _l("Register the customer %(name)s by %(due)s", name=contact.name, due=deadline)
                ),
                str(_l("Costs for an unregistered customer are not reimbursed.")),
                target=Target("first_contact.details_view", contact.id),
            )
    return {"linked": linked, "reminded": reminded, "alerted": alerted}


# --- the assignment queue and the balanced suggestion (R12) -------------------------------


def assignment_queue(session):
    """Customers without an owner, oldest first; the query layer narrows them to the
    regional manager's region."""
    return session.scalars(
        select(Client).where(Client.owner_id.is_(None)).order_by(Client.created_at, Client.id)
    ).all()


def active_counts(session, region_id) -> list[tuple[User, int]]:
    """The region's active account managers with their number of active customers, fewest
    first (ties by name, so the suggestion is stable)."""
    count = (
        select(func.count(Client.id))
        .where(Client.owner_id == User.id, Client.stage != "former", Client.deleted_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    rows = session.execute(
        select(User, count)
        .where(User.role == ACCOUNT_MANAGER, User.active.is_(True), User.region_id == region_id)
        .order_by(count, User.full_name, User.id)
        .execution_options(**unscoped("assignment load of the region"))
    ).all()
    return [(user, n) for user, n in rows]


def suggest_owner(session, region_id) -> User | None:
    counts = active_counts(session, region_id)
    return counts[0][0] if counts else None


def assign_client(session, client: Client, owner: User) -> Client:
    actor = _require("assign")
    if owner.role != ACCOUNT_MANAGER or not owner.active:
        raise DomainError(_l("Customers are assigned to active account managers."))
    if client.region_id and owner.region_id != client.region_id:
        raise DomainError(_l("Choose an account manager of the customer's region."))
    client.owner_id = owner.id
    client.region_id = owner.region_id
    change_record(session, client, str(_l("Assigned by %(who)s", who=actor)))
    notify(
        session,
        [owner],
        f"intake:assigned:{client.id}:{owner.id}",
        "client_assigned",
        str(_l("A customer was assigned to you: %(name)s", name=client.name)),
        client_id=client.id,
        target=Target("client.details_view", client.id),
    )
    return client


# --- a leaver's customers handed over in one action (R12) ---------------------------------


def hand_over(session, leaving: User, successor: User, deactivate: bool = True) -> list[Client]:
    """Every customer (and first contact) of `leaving` goes to `successor` in one
    transaction, those in the recycle bin too (restored, they belong to the successor); the
    list returned is every customer moved, the live ones are who must be told."""
    _require("handover")
    if successor.id == leaving.id or successor.role != ACCOUNT_MANAGER or not successor.active:
        raise DomainError(_l("Hand over to another active account manager."))
    everything = unscoped("a leaver's hand-over moves all", deleted=True)
    clients = session.scalars(
        select(Client)
        .where(Client.owner_id == leaving.id)
        .order_by(Client.name)
        .execution_options(**everything)
    ).all()
    reason = str(_l("Hand-over: %(old)s left, %(new)s takes over", old=leaving, new=successor))
    with audit_reason(session, reason):
        for client in clients:
            client.owner_id, client.region_id = successor.id, successor.region_id
        for contact in session.scalars(
            select(FirstContact)
            .where(FirstContact.owner_id == leaving.id)
            .execution_options(**everything)
        ):
            contact.owner_id, contact.region_id = successor.id, successor.region_id
        if deactivate:
            leaving.active = False
        session.flush()
    lines = "\n".join(
        f"{c.code} {c.name} {c.phone or ''} {c.mobile or ''}".strip()
        for c in clients
        if c.deleted_at is None
    )
    binned = [c for c in clients if c.deleted_at is not None]
    if binned:
        lines += (
            "\n\n"
            + str(_l("In the recycle bin, moved too (yours if restored):"))
            + "\n"
            + "\n".join(f"{c.code} {c.name}" for c in binned)
        )
    notify(
        session,
        [successor, *regional_managers(session, successor.region_id)],
        f"intake:handover:{leaving.id}:{successor.id}:{len(clients)}",
        "handover",
        str(
            _l(
                "%(n)d customers of %(old)s are now yours; tell each of them",
                n=len(clients),
                old=leaving,
            )
        ),
        lines,
        target=Target("client.index_view"),
    )
    return clients


# --- the two divisions' invitations (R13) -------------------------------------------------


def divisions() -> dict:
    return get_setting("invitation_divisions")


def claim_invitation(
    session, client: Client, division: str, notes: str | None = None, at: datetime | None = None
):
    """A division's claim to invite a customer. Refused when the other division's
    confirmation already outranks any confirmation this one could still make (R13: a
    customer confirmed by one division cannot be invited by another)."""
    actor = _require("create", "invitations")
    if division not in divisions():
        raise DomainError(_l("Unknown division."), {"division": _l("Unknown division.")})
    at = at or utcnow()
    holder = current_inviter(session, client.id)
    if holder is not None and holder.division != division:
        best_now = rules.claim_rank(*_counting(at), at, float("inf"))
        if _rank(holder) < best_now:
            raise DomainError(
                _l(
                    "Already confirmed by %(division)s.",
                    division=divisions().get(holder.division, holder.division),
                )
            )
    if session.execute(
        select(InvitationClaim.id)
        .where(
            InvitationClaim.client_id == client.id,
            InvitationClaim.division == division,
            InvitationClaim.status.in_(("pending", "confirmed")),
        )
        .execution_options(**unscoped("one claim per customer and division"))
    ).first():
        raise DomainError(_l("Your division has already claimed this customer."))
    claim = InvitationClaim(
        client_id=client.id,
        division=division,
        notes=notes,
        claimed_at=at,
        claimed_by_id=getattr(actor, "id", None),
        status="pending",
    )
    session.add(claim)
    session.flush()
    return claim


def _counting(at: datetime) -> tuple:
    return rules.counting_day(to_local(at), int(get_setting("invitation_cutoff_hour")))


def _rank(claim: InvitationClaim) -> tuple:
    return rules.claim_rank(claim.count_day, claim.late, claim.confirmed_at, claim.id)


def current_inviter(session, client_id: int) -> InvitationClaim | None:
    """The confirmed claim the customer counts for (a sale counts for it, R13)."""
    return session.scalars(
        select(InvitationClaim)
        .where(InvitationClaim.client_id == client_id, InvitationClaim.status == "confirmed")
        .order_by(
            InvitationClaim.count_day,
            InvitationClaim.late,
            InvitationClaim.confirmed_at,
            InvitationClaim.id,
        )
        .execution_options(**unscoped("the invitation counted first"))
    ).first()


def confirm_invitation(session, claim: InvitationClaim, at: datetime | None = None):
    """Confirm a claim at `at` (UTC). After the cut-off it counts for the next day. The
    better-ranked confirmation of the two divisions stays confirmed; the other is marked
    lost (the returned claim's status says which)."""
    _require("confirm", "invitations")
    if claim.status != "pending":
        raise DomainError(_l("Only a pending claim can be confirmed."))
    # Two divisions confirming the same customer at once: the customer's row serialises them.
    session.execute(
        select(Client.id)
        .where(Client.id == claim.client_id)
        .with_for_update()
        .execution_options(**unscoped("lock the customer's row"))
    )
    claim.confirmed_at = at or utcnow()
    claim.count_day, claim.late = _counting(claim.confirmed_at)
    holder = current_inviter(session, claim.client_id)
    if holder is not None and holder.division == claim.division:
        raise DomainError(_l("Your division has already confirmed this customer."))
    claim.status = "confirmed"
    session.flush()
    if holder is not None:
        loser = holder if _rank(claim) < _rank(holder) else claim
        loser.status = "lost"
        session.flush()
    return claim
