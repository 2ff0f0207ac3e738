import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.extensions import db
from crm.timeutil import utcnow


class Region(db.Model):
    __tablename__ = "regions"
    __label__ = _l("Region")

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)

    def __str__(self) -> str:
        return self.name


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    # Who may do what is itself audited: a role, region or password change leaves a trace.
    __audited__ = True
    __sensitive__ = {"password_hash"}
    # Sign-in bookkeeping: the login / login_failed / logout events already record each one.
    __audit_skip__ = {"last_login_at", "session_token"}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of every session and remember-me cookie (get_id): a new one (crm.auth.services
    # end_sessions) ends every session signed in before it, on every device.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    region: Mapped[Region | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in and sessions of disabled users
        return self.active

    def get_id(self) -> str:
        """What the session cookie names: the user and their current session token."""
        return f"{self.id}:{self.session_token}"

    def __str__(self) -> str:
        return self.full_name or self.username


class LoginFailure(db.Model):
    """Failed sign-ins of one user name from one client address, and its lock.

    Counted per (name, address), so that a stranger's failures lock the stranger's address out,
    never the owner at her own; counted for names that do not exist too, so that neither the
    count nor the lock tells a real account from an unknown one."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
