"""Users and sign-in rules: disabled users are refused; repeated failures of one user name from
one address lock that name at that address; sign-out, a new password and disabling end every
session of the user."""

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from crm.access import FIELD_SALES, ROLES, can, current_actor
from crm.audit import AuditEvent, event_row
from crm.auth.models import LoginFailure, Region, User, new_session_token
from crm.auth.passwords import hash_password, verify_dummy, verify_password
from crm.errors import DomainError, NotAllowed
from crm.timeutil import utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD = 8
REFUSED = _l("Wrong user name or password.")
LOCKED = _l("Too many failed sign-ins. Try again later.")


class PasswordRefused(DomainError):
    """The name and password did not match (an unknown name included)."""


LANGUAGES = ("zh_Hans_CN", "en")
_UNCHANGED = object()


def _require_admin(user: User | None = None) -> None:
    """Users are managed by the system administrator (and the CLI, acting as the system);
    a user may also set their own password."""
    actor = current_actor()
    if can(actor, "edit", area="users"):
        return
    if user is not None and actor is not None and getattr(actor, "id", None) == user.id:
        return
    raise NotAllowed(_l("Only the system administrator manages users."))


def _check_password(password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD:
        message = _l("A password has at least %(n)d characters.", n=MIN_PASSWORD)
        raise DomainError(message, {"password": message})


def _check_role(session, role: str, region) -> Region | None:
    """The role exists; account and regional managers have a region (given as a Region, or
    its code or name). Returns the region."""
    if role not in ROLES:
        message = _l("Unknown role: %(role)s", role=role)
        raise DomainError(message, {"role": message})
    region_obj = region if isinstance(region, Region) or region is None else None
    if isinstance(region, str) and region:
        region_obj = session.execute(
            select(Region).where((Region.code == region) | (Region.name == region))
        ).scalar_one_or_none()
        if region_obj is None:
            message = _l("Unknown region: %(region)s", region=region)
            raise DomainError(message, {"region": message})
    if role in FIELD_SALES and region_obj is None:
        # Their scope is their region: without one they would see nothing, or file customers
        # no regional manager ever sees.
        message = _l("The role %(role)s needs a region.", role=ROLES[role])
        raise DomainError(message, {"region": message})
    return region_obj


def create_user(
    session, username, password, role, region=None, full_name="", email=None, locale=None
):
    _require_admin()
    username = (username or "").strip()
    if not username or len(username) > 64:
        message = _l("A user name has 1 to 64 characters.")
        raise DomainError(message, {"username": message})
    region_obj = _check_role(session, role, region)
    _check_password(password)
    if session.execute(select(User.id).where(User.username == username)).first():
        message = _l("The user name %(name)s is taken.", name=username)
        raise DomainError(message, {"username": message})
    if locale not in (None, *LANGUAGES):
        raise DomainError(_l("Unknown language."), {"locale": _l("Unknown language.")})
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        region=region_obj,
        full_name=full_name or username,
        email=email,
        locale=locale,
    )
    session.add(user)
    session.flush()  # audited by the flush (User.__audited__), the hash masked
    logger.info("user %s created, role %s", user.id, role)
    return user


def update_user(
    session,
    user: User,
    *,
    full_name=_UNCHANGED,
    role=_UNCHANGED,
    region=_UNCHANGED,
    email=_UNCHANGED,
    locale=_UNCHANGED,
    active=_UNCHANGED,
) -> User:
    """Change a user's name, role, region, e-mail, language or whether they may sign in
    (disabling goes through deactivate_user). The user name and password do not change here."""
    _require_admin()
    new_role = user.role if role is _UNCHANGED else role
    region_obj = _check_role(session, new_role, user.region if region is _UNCHANGED else region)
    actor = current_actor()
    if getattr(actor, "id", None) == user.id and new_role != user.role:
        message = _l("You cannot change your own role.")
        raise DomainError(message, {"role": message})
    if locale is not _UNCHANGED and locale not in (None, *LANGUAGES):
        raise DomainError(_l("Unknown language."), {"locale": _l("Unknown language.")})
    user.role, user.region = new_role, region_obj
    if full_name is not _UNCHANGED:
        user.full_name = (full_name or "").strip() or user.username
    if email is not _UNCHANGED:
        user.email = email or None
    if locale is not _UNCHANGED:
        user.locale = locale or None
    if active is not _UNCHANGED and bool(active) != user.active:
        (activate_user if active else deactivate_user)(session, user)
    session.flush()
    logger.info("user %s updated, role %s", user.id, user.role)
    return user


def deactivate_user(session, user: User) -> None:
    """The user can no longer sign in; their name stays on what they did."""
    _require_admin()
    if getattr(current_actor(), "id", None) == user.id:
        message = _l("You cannot disable your own account.")
        raise DomainError(message, {"active": message})
    user.active = False
    end_sessions(session, user)  # every session of theirs ends at once
    logger.info("user %s disabled", user.id)


def activate_user(session, user: User) -> None:
    _require_admin()
    user.active = True
    # Enabling again also lifts the sign-in locks on the name (the sessions stay ended).
    session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    session.flush()
    logger.info("user %s enabled", user.id)


def _log(session, action, user, detail=None):
    # The user's id only: a mistyped user name may be a password typed in the wrong field.
    logger.log(
        logging.INFO if action == "login" else logging.WARNING,
        "sign-in %s: user %s",
        action,
        user.id if user else "unknown",
    )
    row = event_row(session, action, "users", user.id if user else None, None, detail)
    row["actor_id"] = user.id if user else None
    row["actor_label"] = user.username if user else (detail or {}).get("username", "?")
    session.execute(AuditEvent.__table__.insert(), [row])


def authenticate(session, username: str, password: str, address: str | None = None) -> User:
    """Return the user, or raise DomainError with a message safe to show.

    Every failure that does not prove the password says the same and costs the same: an unknown
    name is checked against a dummy hash, and failures are counted (and locked) per name and
    client address whether the name exists or not. Only the right password of a disabled
    account learns that it is disabled."""
    address = (address or "-")[:64]
    key = username[:64]
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    now = utcnow()
    failure = session.get(LoginFailure, (key, address))
    if failure is not None and failure.locked_until and failure.locked_until > now:
        _log(session, "login_locked", user, {"username": username, "address": address})
        raise DomainError(LOCKED)
    if user is None:
        verify_dummy(password)  # as long as a real check, so timing does not tell who exists
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok:
        _count_failure(session, failure, key, address, now)
        _log(session, "login_failed", user, {"username": username, "address": address})
        raise PasswordRefused(REFUSED)
    if failure is not None:
        session.delete(failure)
    if not user.active:
        _log(session, "login_disabled", user)
        raise DomainError(_l("This account is disabled."))
    user.last_login_at = now
    _log(session, "login", user)
    return user


def _count_failure(session, failure, key, address, now) -> None:
    minutes = current_app.config["LOGIN_LOCK_MINUTES"]
    if failure is None:
        # Rows of names tried long ago are of no use any more: keep the table small.
        session.execute(
            delete(LoginFailure).where(LoginFailure.last_failure_at < now - timedelta(days=1))
        )
        try:
            with session.begin_nested():  # a concurrent first failure may have made the row
                failure = LoginFailure(
                    username=key, address=address, failures=0, last_failure_at=now
                )
                session.add(failure)
        except IntegrityError:
            failure = session.get(LoginFailure, (key, address), populate_existing=True)
    elif failure.last_failure_at < now - timedelta(minutes=minutes):
        failure.failures = 0  # failures further apart than a lock's length start afresh
    failure.failures += 1
    failure.last_failure_at = now
    if failure.failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        failure.locked_until = now + timedelta(minutes=minutes)
        failure.failures = 0
    session.flush()


def end_sessions(session, user: User) -> None:
    """End every session and remember-me cookie of `user`, on every device: their cookies name
    the session token, which changes here."""
    user.session_token = new_session_token()
    session.flush()


def sign_out(session, user: User) -> None:
    end_sessions(session, user)
    _log(session, "logout", user)


def set_password(session, user: User, password: str) -> None:
    """A new password (never shown again; the audit trail records the change, masked); every
    session signed in with the old one ends."""
    _require_admin(user)
    _check_password(password)
    user.password_hash = hash_password(password)
    end_sessions(session, user)
    logger.info("user %s: password set", user.id)


def set_active(session, user: User, active: bool) -> None:
    """Enable or disable a user (the CLI's word for the two below)."""
    (activate_user if active else deactivate_user)(session, user)
