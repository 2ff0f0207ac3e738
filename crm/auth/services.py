"""Users and sign-in rules: disabled users are refused; repeated failures lock the account."""

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.access import ACCOUNT_MANAGER, ADMIN, REGIONAL_MANAGER, ROLES, SYSTEM, current_actor
from crm.auth.models import Region, User
from crm.auth.passwords import burn_time, hash_password, verify_password
from crm.errors import DomainError, NotAllowed
from crm.governance.audit import event_row
from crm.governance.models import AuditEvent
from crm.timeutil import utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD = 8
REGIONAL_ROLES = {ACCOUNT_MANAGER, REGIONAL_MANAGER}


LANGUAGES = ("zh_Hans_CN", "en")
_UNCHANGED = object()


def _require_admin(user: User | None = None) -> None:
    """Users are managed by the system administrator (and the CLI, acting as the system);
    a user may also set their own password."""
    actor = current_actor()
    if actor is SYSTEM or getattr(actor, "role", None) == ADMIN:
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
    if role in REGIONAL_ROLES and region_obj is None:
        # Their scope is their region: without one they would see nothing, or file customers
        # no regional manager ever sees.
        message = _l("The role %(role)s needs a region.", role=ROLES[role])
        raise DomainError(message, {"region": message})
    return region_obj


def create_user(session, username, password, role, region=None, full_name="", email=None,
                locale=None):
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


def update_user(session, user: User, *, full_name=_UNCHANGED, role=_UNCHANGED,
                region=_UNCHANGED, email=_UNCHANGED, locale=_UNCHANGED,
                active=_UNCHANGED) -> User:
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
    session.flush()
    logger.info("user %s disabled", user.id)


def activate_user(session, user: User) -> None:
    _require_admin()
    user.active = True
    user.failed_logins, user.locked_until = 0, None
    session.flush()
    logger.info("user %s enabled", user.id)


def _log(session, action, user, detail=None):
    # The user's id only: a mistyped user name may be a password typed in the wrong field.
    logger.log(logging.INFO if action == "login" else logging.WARNING, "sign-in %s: user %s",
               action, user.id if user else "unknown")
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
    """A new password (never shown again; the audit trail records the change, masked)."""
    _require_admin(user)
    _check_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    logger.info("user %s: password set", user.id)
