"""Protection of sensitive values: encryption at rest and a keyed hash for exact look-up.

CRM_FIELD_ENCRYPTION_KEY may list several Fernet keys, newest first: the newest encrypts, every
one still decrypts (MultiFernet), and `crm rotate-field-key` re-encrypts the stored values with
the newest so that the old keys can be dropped. There is no fallback key: create_app refuses to
start without the keys (crm/keys.py)."""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from crm.keys import field_keys


@lru_cache(maxsize=8)
def _multi(value: str) -> tuple[MultiFernet, Fernet]:
    fernets = [Fernet(k) for k in field_keys(value)]
    return MultiFernet(fernets), fernets[0]


def _fernets() -> tuple[MultiFernet, Fernet]:
    return _multi(current_app.config["FIELD_ENCRYPTION_KEY"])


def encrypt(value: str) -> str:
    return _fernets()[0].encrypt(value.encode()).decode()


def decrypt(token: str) -> str | None:
    try:
        return _fernets()[0].decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def is_current(token: str) -> bool:
    """Whether the newest key alone reads the token (nothing left to re-encrypt)."""
    try:
        _fernets()[1].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str | None:
    """The token encrypted again with the newest key; None if no key reads it."""
    try:
        return _fernets()[0].rotate(token.encode()).decode()
    except InvalidToken:
        return None


def lookup_hash(value: str) -> str:
    key = current_app.config["LOOKUP_HASH_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
