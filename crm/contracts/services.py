"""The rules of contracts and agreements (R3 cat. 2) as functions the admin and the demo call.

A contract moves draft → signed → in force → ended, and may be cancelled before it ends; a
contract past draft carries its signing date and a signer on each side. The original is stored
under ARCHIVE_ROOT by its checksum, and the row keeps the relative address and the SHA-256, so
the paper and electronic sets can point at each other (R9).
"""

import hashlib
import io
from pathlib import PurePosixPath

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.access import can, current_actor
from crm.contracts.models import (
    CANCELLED,
    DRAFT,
    ENDED,
    IN_FORCE,
    KINDS,
    SIGNED,
    STATUSES,
    Contract,
)
from crm.errors import DomainError, NotAllowed
from crm.governance.services import change_record
from crm.kernel import to_decimal, unscoped
from crm.sequences import next_value
from crm.storage import StorageError, clean_key, get_storage
from crm.uploads import check_document

MOVES = {
    DRAFT: {SIGNED, CANCELLED},
    SIGNED: {IN_FORCE, CANCELLED},
    IN_FORCE: {ENDED, CANCELLED},
    ENDED: set(),
    CANCELLED: set(),
}


# --- pure rules ---------------------------------------------------------------------------
def transition_error(current: str, target: str):
    if target not in dict(STATUSES):
        return _l("Unknown status.")
    if target not in MOVES.get(current, set()):
        labels = dict(STATUSES)
        return _l(
            "A contract cannot go from %(a)s to %(b)s.",
            a=labels.get(current, current),
            b=labels[target],
        )
    return None


def contract_errors(contract: Contract) -> dict:
    errors = {}
    try:
        refused = to_decimal(contract.amount) < 0
    except ValueError:
        refused = True
    if refused:
        errors["amount"] = _l("The amount is a number, zero or more.")
    if contract.kind not in dict(KINDS):
        errors["kind"] = _l("Unknown kind of contract.")
    if not (contract.title or "").strip():
        errors["title"] = _l("Give the contract a title.")
    if contract.starts_on and contract.ends_on and contract.ends_on < contract.starts_on:
        errors["ends_on"] = _l("The term ends before it starts.")
    if contract.status not in (DRAFT, CANCELLED):
        if not contract.signed_on:
            errors["signed_on"] = _l("A signed contract has its signing date.")
        if not (contract.our_signer or "").strip():
            errors["our_signer"] = _l("A signed contract names our signer.")
        if not (contract.customer_signer or "").strip():
            errors["customer_signer"] = _l("A signed contract names the customer's signer.")
    return errors


def _check(contract: Contract) -> None:
    errors = contract_errors(contract)
    if errors:
        raise DomainError(_l("The contract has errors."), errors)


def _require(action: str, contract: Contract) -> None:
    if not can(current_actor(), action, contract):
        raise NotAllowed(_l("You may not do this to this customer's contracts."))


# --- operations ---------------------------------------------------------------------------
def add_contract(session, contract: Contract, original: tuple[bytes, str] | None = None):
    """Enter a contract: the customer's next catalogue number, a contract number if none, and
    its original (data, file name) when it comes with it."""
    with session.no_autoflush:
        contract.status = contract.status or DRAFT
        if contract.status != DRAFT:
            raise DomainError(_l("A new contract starts as a draft."))
        _check(contract)
        _require("create", contract)
        client_id = contract.client.id if contract.client is not None else contract.client_id
        last = session.scalar(
            select(func.max(Contract.seq))
            .where(Contract.client_id == client_id)
            .execution_options(**unscoped("sequence numbers count deleted rows", deleted=True))
        )
    contract.client_id = client_id
    if original is not None:
        _set_original(contract, *original)
    contract.seq = (last or 0) + 1
    if not (contract.number or "").strip():
        contract.number = f"HT{next_value(session, 'contract_number'):06d}"
    contract.created_by_id = getattr(current_actor(), "id", None)
    session.add(contract)
    session.flush()
    return contract


def update_contract(session, contract: Contract, reason: str | None = None) -> Contract:
    # No autoflush until change_record: the governance hook must see the edit as unsaved.
    with session.no_autoflush:
        _check(contract)
        return change_record(session, contract, reason)


def move_contract(
    session, contract: Contract, target: str, reason: str | None = None, **fields
) -> Contract:
    """Change status along MOVES; `fields` (signing date, signers) may come with the move.
    Like any change of the archive it is kept with its reason (by default, the move itself)
    and may wait for a manager's approval (crm.governance)."""
    _require("edit", contract)
    message = transition_error(contract.status, target)
    if message:
        raise DomainError(message)
    with session.no_autoflush:
        for name, value in fields.items():
            if value not in (None, ""):
                setattr(contract, name, value)
        previous, contract.status = contract.status, target
        _check(contract)
        labels = dict(STATUSES)
        reason = (reason or "").strip() or f"{labels[previous]} → {labels[target]}"
        return change_record(session, contract, reason)


def store_original(data: bytes, filename: str, folder: str) -> tuple[str, str]:
    """Write a file under ARCHIVE_ROOT/folder by its checksum; (relative address, SHA-256)."""
    if not data:
        raise DomainError(_l("The file is empty."), {"original": _l("The file is empty.")})
    if len(data) > current_app.config["MAX_CONTENT_LENGTH"]:
        raise DomainError(
            _l("The file is too large."),
            {"original": _l("At most %(mb)d MB.", mb=current_app.config["MAX_UPLOAD_MB"])},
        )
    suffix = check_document(io.BytesIO(data), filename, "original")  # by content, not name
    digest = hashlib.sha256(data).hexdigest()
    relative = str(PurePosixPath(folder) / f"{digest}{suffix}")
    storage = get_storage()
    if not storage.exists(relative):  # same content, same address: storing twice writes once
        storage.put(relative, io.BytesIO(data))
    return relative, digest


def _set_original(contract: Contract, data: bytes, filename: str) -> None:
    contract.file_path, contract.file_sha256 = store_original(
        data, filename, f"contracts/{contract.client_id}"
    )
    contract.file_name = PurePosixPath(filename.replace("\\", "/")).name[:200]


def attach_original(
    session, contract: Contract, data: bytes, filename: str, reason: str | None = None
) -> Contract:
    """Attach or replace the original of a stored contract: a change of the archive (R6)."""
    _require("edit", contract)
    with session.no_autoflush:
        _set_original(contract, data, filename)
        return change_record(session, contract, reason or str(_l("Original attached")))


def original_bytes(contract: Contract) -> bytes | None:
    """The stored original (in the archive's storage), after checking it is still the file
    that was filed."""
    if not contract.file_path:
        return None
    try:
        data = get_storage().get(clean_key(contract.file_path))
    except (FileNotFoundError, StorageError):
        return None
    if hashlib.sha256(data).hexdigest() != contract.file_sha256:
        raise DomainError(_l("The stored original no longer matches its checksum."))
    return data


def contracts_of(session, client_id: int) -> list[Contract]:
    """A customer's contracts in signing order; drafts not yet signed come last."""
    return session.scalars(
        select(Contract)
        .where(Contract.client_id == client_id)
        .order_by(Contract.signed_on.is_(None), Contract.signed_on, Contract.seq)
    ).all()
