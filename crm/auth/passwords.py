"""Argon2id password hashing (memory-hard), with the library's tuned defaults in production."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_production = PasswordHasher()
_fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only


def _hasher() -> PasswordHasher:
    return _fast if current_app.config.get("PASSWORD_HASH_FAST") else _production


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend what a verification costs, for a user name that does not exist."""
    _hasher().hash(password)
