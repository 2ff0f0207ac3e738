"""The customer card through the admin screens, as the staff use it (RULES R1, R5, R17).

Bad input re-renders the form with a message beside the field and writes nothing; a good card
gets a stable customer code and its ID number is stored protected and shown in full only to
those who may see it, each showing recorded.
"""

import hashlib
import hmac
import re

import pytest
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm import crypto
from crm.audit import AuditEvent
from crm.clients import identifiers as ids
from crm.clients.models import Client
from crm.extensions import db
from tests import factories

NEW = "/admin/client/new/"
ID_NUMBER = factories.valid_id_number()  # 110105 19850615 123 + check
MASK = ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:]


def text(message) -> str:
    """A rule's message as the screens show it (their default locale)."""
    with force_locale("zh_Hans_CN"):
        return str(message)


def counts() -> tuple[int, int]:
    """Customers (deleted included, every owner) and audit events now in the database."""
    db.session.expire_all()
    clients = db.session.execute(
        select(func.count())
        .select_from(Client)
        .execution_options(crm_unscoped=True, crm_include_deleted=True)
    ).scalar()
    events = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    return clients, events


def stored(client_id: int) -> Client:
    return db.session.execute(
        select(Client)
        .where(Client.id == client_id)
        .execution_options(crm_unscoped=True, populate_existing=True)
    ).scalar_one()


def field_block(html: str, field: str) -> str:
    """The form group holding `field`: its input and the errors shown under it."""
    for block in html.split('<div class="form-group')[1:]:
        if f'id="{field}"' in block:
            return block
    raise AssertionError(f"no field {field} in the form")


def field_errors(html: str, field: str) -> str:
    block = field_block(html, field)
    errors = re.search(r'<div class="invalid-feedback">(.*?)</div>', block, re.S)
    return errors.group(1) if errors else ""


def card_data(**overrides) -> dict:
    data = {
        "name": "新登记贸易有限公司",
        "kind": "organisation",
        "level": "B",
        "stage": "prospect",
        "nature": "ordinary",
        "weight": "general",
        "credit_code": factories.valid_credit_code(),
        "phone": "010-12345678",
    }
    data.update(overrides)
    return data


def edit_data(client: Client, **overrides) -> dict:
    data = {
        k: getattr(client, k) or ""
        for k in ("name", "kind", "level", "stage", "nature", "weight", "credit_code", "phone")
    }
    data.update(overrides)
    return data


def wrong_check(value: str, alphabet: str) -> str:
    return value[:17] + next(c for c in alphabet if c != value[17])


GOOD_CODE = factories.valid_credit_code(424242)
BAD_CODE = wrong_check(GOOD_CODE, ids.USCC_ALPHABET)
BAD_ID = wrong_check(ID_NUMBER, "0123456789X")
BAD_DATE_ID = "110105" + "19990230" + "123" + "0"

# field, submitted value, the message the rule gives, a fragment that says what is wrong
BAD_INPUT = [
    ("credit_code", BAD_CODE, ids.check_credit_code(BAD_CODE), GOOD_CODE[-1]),
    ("id_number", BAD_ID, ids.check_id_number(BAD_ID), ID_NUMBER[-1]),
    ("id_number", BAD_DATE_ID, ids.check_id_number(BAD_DATE_ID), None),
    ("phone", "12345", ids.check_phone("12345"), "010-12345678"),
    ("mobile", "12800138000", ids.check_mobile("12800138000"), "11"),
    ("postcode", "10001", ids.check_postcode("10001"), "6"),
    ("registered_capital", "-5", _l("This amount cannot be negative."), None),
    ("registered_capital", "NaN", _l("This is not a number."), None),
    ("fixed_assets", "-Infinity", _l("This is not a number."), None),
    ("staff_count", "-1", _l("The staff count cannot be negative."), None),
    ("name", "   ", _l("The customer's full name is required."), None),
    ("name", "", _l("The customer's full name is required."), None),
]
BAD_IDS = [
    "credit_code",
    "id_number",
    "id_number_date",
    "phone",
    "mobile",
    "postcode",
    "negative_capital",
    "nan_capital",
    "infinite_assets",
    "negative_staff",
    "blank_name",
    "missing_name",
]


@pytest.fixture
def am(world, login_as):
    return login_as(world.am1)


@pytest.mark.parametrize("field, value, message, fragment", BAD_INPUT, ids=BAD_IDS)
def test_bad_input_on_create_is_shown_beside_the_field_and_writes_nothing(
    world, am, field, value, message, fragment
):
    before = counts()
    # an ID number is checked on a person's card (an organisation's form has none)
    person = (
        {"kind": "individual", "nature": "individual", "credit_code": ""}
        if field == "id_number"
        else {}
    )
    r = am.post(NEW, data=card_data(**person, **{field: value}))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    errors = field_errors(html, field)
    assert text(message) in errors
    if fragment:
        assert fragment in errors
    assert counts() == before


@pytest.mark.parametrize("field, value, message, fragment", BAD_INPUT, ids=BAD_IDS)
def test_bad_input_on_edit_is_shown_beside_the_field_and_changes_nothing(
    world, am, field, value, message, fragment
):
    before = counts()
    old = {c.key: getattr(stored(world.c1.id), c.key) for c in Client.__table__.columns}
    person = {"kind": "individual", "nature": "individual"} if field == "id_number" else {}
    r = am.post(
        f"/admin/client/edit/?id={world.c1.id}",
        data=edit_data(world.c1, change_reason="更正", **{**person, field: value}),
    )
    assert r.status_code == 200
    assert text(message) in field_errors(r.get_data(as_text=True), field)
    assert counts() == before
    assert {c.key: getattr(stored(world.c1.id), c.key) for c in Client.__table__.columns} == old


def test_an_over_long_name_is_refused_by_its_width(world, am):
    before = counts()
    r = am.post(NEW, data=card_data(name="长" * 201))
    assert r.status_code == 200
    assert "200" in field_errors(r.get_data(as_text=True), "name")
    assert counts() == before


def test_several_mistakes_are_all_reported_at_once(world, am):
    before = counts()
    r = am.post(NEW, data=card_data(credit_code=BAD_CODE, phone="12345", postcode="1"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    for field in ("credit_code", "phone", "postcode"):
        assert field_errors(html, field), field
    assert counts() == before


def test_the_service_refuses_over_long_and_huge_values_too(world):
    """Importers call the service without the form: the widths and ranges still hold."""
    from crm.clients.services import client_field_errors

    errors = client_field_errors(
        {"name": "长" * 201, "registered_capital": 10**13, "staff_count": 2**31, "mobile": "1" * 12}
    )
    assert set(errors) >= {"name", "registered_capital", "staff_count", "mobile"}
    assert "200" in text(errors["name"])


def test_a_valid_card_gets_a_stable_code_and_its_id_number_protected(world, am, login_as):
    before = counts()
    r = am.post(
        NEW,
        data=card_data(
            name="王小明",
            kind="individual",
            credit_code="",
            id_number=ID_NUMBER.lower(),
            mobile="１３８００１３８０００",
        ),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert counts()[0] == before[0] + 1
    client = db.session.execute(
        select(Client).where(Client.name == "王小明").execution_options(crm_unscoped=True)
    ).scalar_one()
    assert re.fullmatch(r"KH\d{7}", client.code)
    codes = db.session.scalars(select(Client.code).execution_options(crm_unscoped=True)).all()
    assert codes.count(client.code) == 1
    assert client.owner_id == world.am1.id and client.region_id == world.east.id
    assert client.mobile == "13800138000"  # stored as ASCII digits

    # Encrypted, findable by a keyed hash, masked for display.
    assert client.id_number_enc and ID_NUMBER not in client.id_number_enc
    assert crypto.decrypt(client.id_number_enc) == ID_NUMBER  # upper-case X, if any
    assert client.id_number_hash != hashlib.sha256(ID_NUMBER.encode()).hexdigest()
    key = current_app.config["LOOKUP_HASH_KEY"].encode()
    assert client.id_number_hash == hmac.new(key, ID_NUMBER.encode(), hashlib.sha256).hexdigest()
    assert client.id_number_mask == MASK
    assert str(client.birth_date) == "1985-06-15" and client.gender == "male"

    # The list and the CSV export show the mask, never the number.
    listing = am.get("/admin/client/").get_data(as_text=True)
    assert MASK in listing and ID_NUMBER not in listing
    export = am.get("/admin/client/export/csv/")
    assert export.status_code == 200
    assert MASK in export.get_data(as_text=True)
    assert ID_NUMBER not in export.get_data(as_text=True)

    # Editing keeps the code; leaving the ID number empty keeps it.
    code, enc = client.code, client.id_number_enc
    r = am.post(
        f"/admin/client/edit/?id={client.id}",
        data=edit_data(client, name="王小明（改）", change_reason="更名"),
    )
    assert r.status_code == 302
    # R6 (issue 7): an account manager's change waits for the sales manager's approval.
    assert stored(client.id).name == "王小明"
    from crm.governance.models import ChangeRequest

    [request] = db.session.scalars(select(ChangeRequest)).all()
    login_as(world.sales_manager).post(
        "/admin/change_request/decide/", data={"id": request.id, "decision": "approve"}
    )
    client = stored(client.id)
    assert client.code == code and client.name == "王小明（改）"
    assert client.id_number_enc == enc


def test_codes_are_unique_and_follow_one_another(world, am):
    for n in range(2):
        # Distinct phones: the same phone twice is a duplicate (R12), refused on entry.
        assert (
            am.post(NEW, data=card_data(name=f"连号客户{n}", phone=f"010-1234567{n}")).status_code
            == 302
        )
    codes = sorted(
        db.session.scalars(select(Client.code).execution_options(crm_unscoped=True)).all()
    )
    assert len(codes) == len(set(codes)) == 5
    assert codes == [f"KH{n:07d}" for n in range(1, 6)]


@pytest.fixture
def person(world):
    return factories.create_client(
        world.am1, name="李四", kind="individual", credit_code=None, id_number=ID_NUMBER
    )


def sensitive_views(client_id: int) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "view_sensitive", AuditEvent.client_id == client_id
        )
    ).all()


@pytest.mark.parametrize("who", ["am1", "sales_manager", "general_manager"])
def test_owner_and_managers_see_the_full_number_and_the_view_is_recorded(
    world, person, login_as, who
):
    user = getattr(world, who)
    html = login_as(user).get(f"/admin/client/details/?id={person.id}").get_data(as_text=True)
    assert re.search(rf'id="id-number-full">{ID_NUMBER}<', html)
    events = sensitive_views(person.id)
    assert [(e.actor_id, e.entity, e.entity_id) for e in events] == [
        (user.id, "clients", person.id)
    ]
    assert ID_NUMBER not in str(events[0].changes)


@pytest.mark.parametrize("who", ["rm_east", "finance"])
def test_others_in_scope_see_only_the_mask(world, person, login_as, who):
    r = login_as(getattr(world, who)).get(f"/admin/client/details/?id={person.id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert MASK in html
    assert ID_NUMBER not in html
    assert sensitive_views(person.id) == []


def test_another_account_manager_gets_404_and_sees_nothing(world, person, login_as):
    r = login_as(world.am2).get(f"/admin/client/details/?id={person.id}")
    assert r.status_code == 404
    assert ID_NUMBER not in r.get_data(as_text=True)
    assert sensitive_views(person.id) == []


def test_the_edit_form_does_not_carry_the_number(world, person, am):
    html = am.get(f"/admin/client/edit/?id={person.id}").get_data(as_text=True)
    assert ID_NUMBER not in html
    assert 'value=""' in field_block(html, "id_number")
