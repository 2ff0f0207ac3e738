"""Duplicate detection on entry (R12): one customer, one card.

A customer matches when it has the same credit code, ID number (its keyed hash), phone or mobile,
or a near-identical name (crm.intake.rules.name_key). The look-up is explicitly unscoped, because
a duplicate is a duplicate whoever owns it, and it returns only what may be told to anyone:
the existing card's name and its owner.
"""

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from crm import crypto
from crm.auth.models import User
from crm.clients import identifiers as ids
from crm.clients.models import Client
from crm.intake.rules import name_key
from crm.kernel import unscoped

KEY_FIELDS = ("credit_code", "id_number", "phone", "mobile", "name")
CHUNK = 500


@dataclass(frozen=True)
class Match:
    client_id: int
    name: str
    owner: str | None
    field: str  # which of KEY_FIELDS matched


def _clean(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def match_keys(data: dict) -> dict:
    """The comparable form of each key a card has: {field: key}."""
    keys = {}
    if code := _clean(data.get("credit_code")):
        keys["credit_code"] = ids.normalise_credit_code(code)
    if number := _clean(data.get("id_number")):
        keys["id_number"] = crypto.lookup_hash(ids.normalise_id_number(number))
    for field in ("phone", "mobile"):
        if digits := phone_digits(_clean(data.get(field))):
            keys[field] = digits
    if key := name_key(data.get("name")):
        keys["name"] = key
    return keys


def phone_digits(value: str | None) -> str:
    """A number as its digits: 010-12345678, 010 12345678 and 01012345678 are one number."""
    return re.sub(r"\D", "", ids.normalise_text(value or ""))


def _stored_forms(digits: str) -> set:
    """How a number may have been stored (typed with or without a blank or dash after the
    area code), so that the look-up can use the column's index."""
    forms = {digits}
    if digits.startswith("0"):
        for cut in (3, 4):
            forms |= {digits[:cut] + sep + digits[cut:] for sep in "- "}
    return forms


_COLUMNS = {
    "credit_code": Client.credit_code,
    "id_number": Client.id_number_hash,
    "phone": Client.phone,
    "mobile": Client.mobile,
}


def _rows(session, stmt):
    owner = func.coalesce(func.nullif(User.full_name, ""), User.username)
    stmt = stmt.add_columns(Client.id, Client.name, owner).outerjoin(
        User, User.id == Client.owner_id
    )
    return session.execute(stmt.execution_options(**unscoped("duplicate check"))).all()


def existing_matches(session, key_sets: list[dict]) -> dict:
    """For many cards at once: {(field, key): Match} of customers already registered. A few
    queries per 500 distinct keys, whatever the number of cards."""
    found = {}
    for field, column in _COLUMNS.items():
        values = {k[field] for k in key_sets if field in k}
        if field in ("phone", "mobile"):
            values = {form for digits in values for form in _stored_forms(digits)}
        values = sorted(values)
        for i in range(0, len(values), CHUNK):
            for value, cid, name, owner in _rows(
                session, select(column).where(column.in_(values[i : i + CHUNK]))
            ):
                key = phone_digits(value) if field in ("phone", "mobile") else value
                found.setdefault((field, key), Match(cid, name, owner, field))
    # Names: fetch the customers sharing the first two characters, compare keys in Python.
    prefixes = sorted({k["name"][:2] for k in key_sets if "name" in k})
    wanted = {k["name"] for k in key_sets if "name" in k}
    for i in range(0, len(prefixes), CHUNK):
        chunk = prefixes[i : i + CHUNK]
        stmt = select(Client.name.label("stored")).where(
            or_(
                func.substr(Client.name, 1, 2).in_(chunk),
                func.lower(func.substr(Client.name, 1, 2)).in_(chunk),
            )
        )
        for stored, cid, name, owner in _rows(session, stmt):
            key = name_key(stored)
            if key in wanted:
                found.setdefault(("name", key), Match(cid, name, owner, "name"))
    return found


def find_duplicates(session, data: dict, exclude_id: int | None = None) -> list[Match]:
    """The customers already registered that this card's values match, one per customer."""
    keys = match_keys(data)
    found = existing_matches(session, [keys])
    matches, seen = [], {exclude_id}
    for field in KEY_FIELDS:
        match = found.get((field, keys.get(field)))
        if match and match.client_id not in seen:
            seen.add(match.client_id)
            matches.append(match)
    return matches


def readable_ids(session, client_ids) -> set:
    """Which of these customers the signed-in user may open (the query layer decides)."""
    if not client_ids:
        return set()
    return set(session.scalars(select(Client.id).where(Client.id.in_(list(client_ids)))))
