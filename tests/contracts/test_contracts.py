import hashlib
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from crm.contracts import services
from crm.contracts.models import Contract
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.governance.models import ChangeRequest


def make(client, **kw) -> Contract:
    values = {
        "client_id": client.id,
        "kind": "membership",
        "title": "会籍协议",
        "amount": Decimal("12000.00"),
    }
    values.update(kw)
    contract = services.add_contract(db.session, Contract(**values))
    db.session.commit()
    return contract


def sign(contract, day=date(2026, 3, 1)):
    services.move_contract(
        db.session, contract, "signed", signed_on=day, our_signer="吴经理", customer_signer="张总"
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        ("draft", "signed", True),
        ("draft", "cancelled", True),
        ("draft", "in_force", False),
        ("signed", "in_force", True),
        ("signed", "ended", False),
        ("in_force", "ended", True),
        ("in_force", "cancelled", True),
        ("ended", "in_force", False),
        ("cancelled", "signed", False),
        ("draft", "bogus", False),
    ],
)
def test_status_moves(ctx, current, target, ok):
    assert (services.transition_error(current, target) is None) is ok


def test_contract_numbers_and_catalogue_per_customer(world):
    a, b = make(world.c1), make(world.c1)
    other = make(world.c2, number="自编-001")
    assert (a.seq, b.seq, other.seq) == (1, 2, 1)
    assert a.number == "HT000001" and b.number == "HT000002"
    assert other.number == "自编-001" and a.status == "draft" and a.created_by_id is None


def test_a_new_contract_is_a_draft_with_a_valid_amount(world):
    with pytest.raises(DomainError):
        make(
            world.c1,
            status="signed",
            signed_on=date(2026, 1, 1),
            our_signer="a",
            customer_signer="b",
        )
    with pytest.raises(DomainError) as err:
        make(world.c1, amount=Decimal("-1"))
    assert "amount" in err.value.field_errors
    with pytest.raises(DomainError) as err:
        make(world.c1, starts_on=date(2026, 5, 1), ends_on=date(2026, 4, 1))
    assert "ends_on" in err.value.field_errors


def test_signing_needs_the_date_and_both_signers(world):
    contract = make(world.c1)
    with pytest.raises(DomainError) as err:
        services.move_contract(db.session, contract, "signed", our_signer="吴经理")
    assert {"signed_on", "customer_signer"} <= set(err.value.field_errors)
    db.session.rollback()
    sign(contract)
    assert contract.status == "signed" and contract.customer_signer == "张总"
    with pytest.raises(DomainError):
        services.move_contract(db.session, contract, "ended")
    db.session.rollback()
    services.move_contract(db.session, contract, "in_force")
    services.move_contract(db.session, contract, "ended")
    assert contract.status == "ended"
    with pytest.raises(DomainError):
        services.move_contract(db.session, contract, "cancelled")


def test_the_card_lists_contracts_in_signing_order(world):
    late, draft, early = (
        make(world.c1, title="后签"),
        make(world.c1, title="草稿"),
        make(world.c1, title="先签"),
    )
    sign(late, date(2026, 6, 1))
    sign(early, date(2025, 12, 1))
    assert [c.title for c in services.contracts_of(db.session, world.c1.id)] == [
        "先签",
        "后签",
        "草稿",
    ]
    assert draft.seq == 2  # the catalogue number stays the order of entry


def test_original_is_stored_by_checksum_under_the_archive_root(world):
    contract = make(world.c1)
    data = b"%PDF-1.4 signed contract"
    services.attach_original(db.session, contract, data, "C:\\scans\\合同.pdf")
    db.session.commit()
    digest = hashlib.sha256(data).hexdigest()
    assert contract.file_sha256 == digest and contract.file_name == "合同.pdf"
    assert contract.file_path == f"contracts/{world.c1.id}/{digest}.pdf"
    stored = Path(current_app.config["ARCHIVE_ROOT"]) / contract.file_path
    assert stored.read_bytes() == data
    assert services.original_bytes(contract) == data
    stored.write_bytes(b"tampered")
    with pytest.raises(DomainError):
        services.original_bytes(contract)
    with pytest.raises(DomainError):
        services.attach_original(db.session, contract, b"MZ...", "virus.exe")


def test_writes_follow_the_scope(world, act):
    act(world.am2)
    with pytest.raises(NotAllowed):
        make(world.c1)
    db.session.rollback()
    act(world.finance)  # finance reads every contract but writes none
    with pytest.raises(NotAllowed):
        make(world.c1)
    db.session.rollback()
    act(world.am1)
    contract = make(world.c1)
    assert contract.created_by_id == world.am1.id
    act(world.finance)
    assert db.session.scalars(select(Contract)).all() == [contract]
    act(world.service)
    assert db.session.scalars(select(Contract)).all() == []


# --- through the admin ----------------------------------------------------------------------
@pytest.fixture
def three(world):
    return {key: make(getattr(world, key), title=f"{key}协议") for key in ("c1", "c2", "c3")}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("am1", {"c1"}),
        ("rm_east", {"c1", "c2"}),
        ("rm_north", {"c3"}),
        ("finance", {"c1", "c2", "c3"}),
        ("sales_manager", {"c1", "c2", "c3"}),
    ],
)
def test_contract_list_and_details_are_scoped(world, three, login_as, who, sees):
    c = login_as(getattr(world, who))
    body = c.get("/admin/contract/").get_data(as_text=True)
    for key, contract in three.items():
        assert (f"{key}协议" in body) == (key in sees), (who, key)
        status = c.get(f"/admin/contract/details/?id={contract.id}").status_code
        assert status == (200 if key in sees else 404), (who, key)


def test_roles_without_contracts_do_not_open_them(world, login_as):
    for user in (world.service, world.clerk, world.archivist):
        assert login_as(user).get("/admin/contract/").status_code == 403


def test_the_customer_card_shows_its_contracts(world, three, login_as):
    sign(three["c1"], date(2026, 2, 2))
    page = login_as(world.am1).get(f"/admin/client/details/?id={world.c1.id}")
    body = page.get_data(as_text=True)
    assert 'id="contracts"' in body and three["c1"].number in body and "2026-02-02" in body
    assert "/admin/contract/new/" in body
    finance = login_as(world.finance).get(f"/admin/client/details/?id={world.c1.id}")
    text = finance.get_data(as_text=True)
    assert three["c1"].number in text and "/admin/contract/new/" not in text
    service = login_as(world.service).get(f"/admin/client/details/?id={world.c1.id}")
    assert service.status_code == 200 and 'id="contracts"' not in service.get_data(as_text=True)


def test_create_with_original_move_and_download(world, login_as):
    c = login_as(world.am1)
    r = c.post(
        "/admin/contract/new/",
        data={
            "client": str(world.c1.id),
            "kind": "contract",
            "title": "场地租赁合同",
            "amount": "88000.50",
            "number": "",
            "original": (io.BytesIO(b"%PDF-1.4 original"), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    contract = db.session.scalars(select(Contract).where(Contract.title == "场地租赁合同")).one()
    assert contract.amount == Decimal("88000.50") and contract.file_name == "scan.pdf"
    signing = {
        "id": contract.id,
        "status": "signed",
        "signed_on": "2026-11-01",
        "our_signer": "王芳",
        "customer_signer": "甲方法人",
    }
    c.post("/admin/contract/move/", data=signing)
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "draft"
    waiting = db.session.scalars(
        select(ChangeRequest).execution_options(crm_unscoped=True)
    ).one()  # R6: an account manager's change waits for approval
    assert (waiting.entity, waiting.changes["status"]) == ("contracts", ["draft", "signed"])
    login_as(world.rm_east).post("/admin/contract/move/", data=signing)
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "signed"
    download = c.get(f"/admin/contract/original/?id={contract.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 original"
    am2 = login_as(world.am2)
    assert am2.get(f"/admin/contract/original/?id={contract.id}").status_code == 404
    assert (
        am2.post(
            "/admin/contract/move/", data={"id": contract.id, "status": "in_force"}
        ).status_code
        == 404
    )
    finance = login_as(world.finance)
    r = finance.post("/admin/contract/move/", data={"id": contract.id, "status": "in_force"})
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "signed"  # finance only reads


def test_export_follows_the_scope(world, three, login_as):
    body = login_as(world.am1).get("/admin/contract/export/csv/").get_data(as_text=True)
    assert "c1协议" in body and "c2协议" not in body and "c3协议" not in body
    assert (
        login_as(world.finance)
        .get("/admin/contract/export/csv/")
        .get_data(as_text=True)
        .count("协议")
        == 3
    )
