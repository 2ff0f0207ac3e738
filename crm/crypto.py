"""Protection of sensitive values: encryption at rest and a keyed hash for exact look-up."""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _derived(label: bytes) -> bytes:
    # Without dedicated keys (development only), derive distinct keys from SECRET_KEY.
    return hashlib.sha256(label + current_app.config["SECRET_KEY"].encode()).digest()


def _fernet() -> Fernet:
    key = current_app.config.get("FIELD_ENCRYPTION_KEY")
    if not key:
        key = base64.urlsafe_b64encode(_derived(b"crm-field-encryption:"))
    return Fernet(key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def lookup_hash(value: str) -> str:
    key = current_app.config.get("LOOKUP_HASH_KEY")
    key = key.encode() if key else _derived(b"crm-lookup-hash:")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
