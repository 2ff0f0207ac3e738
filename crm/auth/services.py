"""Users and sign-in rules: disabled users are refused; repeated failures of one user name from
one address lock that name at that address; sign-out, a new password and disabling end every
session of the user."""

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from crm.access import ACCOUNT_MANAGER, REGIONAL_MANAGER, ROLES
from crm.auth.models import LoginFailure, Region, User, new_session_token
from crm.auth.passwords import hash_password, verify_dummy, verify_password
from crm.errors import DomainError
from crm.governance.audit import event_row
from crm.governance.models import AuditEvent
from crm.timeutil import utcnow

MIN_PASSWORD = 8
REGIONAL_ROLES = {ACCOUNT_MANAGER, REGIONAL_MANAGER}
REFUSED = _l("Wrong user name or password.")
LOCKED = _l("Too many failed sign-ins. Try again later.")


class PasswordRefused(DomainError):
    """The name and password did not match (an unknown name included)."""


def create_user(session, username, password, role, region=None, full_name="", email=None):
    if role not in ROLES:
        raise DomainError(_l("Unknown role: %(role)s", role=role))
    if role in REGIONAL_ROLES and not region:
        # Their scope is their region: without one they would see nothing, or file customers
        # no regional manager ever sees.
        raise DomainError(_l("The role %(role)s needs a region.", role=ROLES[role]))
    if len(password) < MIN_PASSWORD:
        raise DomainError(_l("A password has at least %(n)d characters.", n=MIN_PASSWORD))
    if session.execute(select(User.id).where(User.username == username)).first():
        raise DomainError(_l("The user name %(name)s is taken.", name=username))
    region_obj = None
    if region:
        region_obj = session.execute(
            select(Region).where((Region.code == region) | (Region.name == region))
        ).scalar_one_or_none()
        if region_obj is None:
            raise DomainError(_l("Unknown region: %(region)s", region=region))
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        region=region_obj,
        full_name=full_name or username,
        email=email,
    )
    session.add(user)
    session.flush()
    return user


def _log(session, action, user, detail=None):
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
        session.execute(delete(LoginFailure).where(
            LoginFailure.last_failure_at < now - timedelta(days=1)))
        try:
            with session.begin_nested():  # a concurrent first failure may have made the row
                failure = LoginFailure(username=key, address=address, failures=0,
                                       last_failure_at=now)
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
    """A new password; every session signed in with the old one ends."""
    if len(password) < MIN_PASSWORD:
        raise DomainError(_l("A password has at least %(n)d characters.", n=MIN_PASSWORD))
    user.password_hash = hash_password(password)
    end_sessions(session, user)


def set_active(session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends every session of theirs at once."""
    user.active = active
    if not active:
        end_sessions(session, user)
    session.flush()
