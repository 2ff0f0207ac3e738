"""Argon2id password hashing (memory-hard), with the library's tuned defaults in production."""

import secrets

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


_dummy_hashes: dict[int, str] = {}


def dummy_hash() -> str:
    """A hash of a random secret, made with the current hasher's parameters (once a process)."""
    hasher = _hasher()
    if id(hasher) not in _dummy_hashes:
        _dummy_hashes[id(hasher)] = hasher.hash(secrets.token_urlsafe(32))
    return _dummy_hashes[id(hasher)]


def verify_dummy(password: str) -> bool:
    """Spend what a verification costs, for a user name that does not exist: the same verify,
    against a hash nobody knows the password of. Always False."""
    verify_password(dummy_hash(), password)
    return False
