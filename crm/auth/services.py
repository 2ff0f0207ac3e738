"""Users and sign-in rules: disabled users are refused; repeated failures lock the account."""

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.access import ACCOUNT_MANAGER, REGIONAL_MANAGER, ROLES
from crm.auth.models import Region, User
from crm.auth.passwords import burn_time, hash_password, verify_password
from crm.errors import DomainError
from crm.governance.audit import event_row
from crm.governance.models import AuditEvent
from crm.timeutil import utcnow

MIN_PASSWORD = 8
REGIONAL_ROLES = {ACCOUNT_MANAGER, REGIONAL_MANAGER}


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


def authenticate(session, username: str, password: str) -> User:
    """Return the user, or raise DomainError with a message safe to show."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    refused = DomainError(_l("Wrong user name or password."))
    now = utcnow()
    if user is None:
        burn_time(password)  # as long as a real check, so timing does not tell who exists
        _log(session, "login_failed", None, {"username": username})
        raise refused
    if user.locked_until and user.locked_until > now:
        _log(session, "login_locked", user)
        raise DomainError(_l("Too many failed sign-ins. Try again later."))
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            minutes = current_app.config["LOGIN_LOCK_MINUTES"]
            user.locked_until = now + timedelta(minutes=minutes)
            user.failed_logins = 0
        _log(session, "login_failed", user)
        raise refused
    if not user.active:
        _log(session, "login_disabled", user)
        raise DomainError(_l("This account is disabled."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    _log(session, "login", user)
    return user


def set_password(session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(_l("A password has at least %(n)d characters.", n=MIN_PASSWORD))
    user.password_hash = hash_password(password)
