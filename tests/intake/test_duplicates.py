"""R12: duplicate detection on entry shows the existing card, or says whose it is."""

import pytest
from sqlalchemy import func, select

from crm.clients.models import Client
from crm.extensions import db
from crm.intake.duplicates import find_duplicates
from tests import factories

NEW = "/admin/client/new/"


def card(**overrides) -> dict:
    data = {
        "name": "全新登记贸易有限公司",
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


def clients() -> int:
    db.session.commit()  # end this session's transaction: see what requests wrote
    return db.session.execute(select(func.count()).select_from(Client)).scalar()


@pytest.mark.parametrize("field", ["credit_code", "phone", "name", "id_number"])
def test_each_key_finds_the_registered_customer(world, field):
    number = factories.valid_id_number()
    person = factories.create_client(
        world.am3, kind="individual", name="李四有限公司", id_number=number, phone="13911112222"
    )
    values = {
        "credit_code": person.credit_code,
        "phone": "139 1111 2222",
        "name": "李四 股份有限公司",
        "id_number": number.lower(),
    }
    matches = find_duplicates(db.session, {field: values[field]})
    assert [(m.client_id, m.field) for m in matches] == [(person.id, field)]
    assert matches[0].owner == "am3"


def test_a_readable_duplicate_opens_the_existing_card(world, login_as):
    before = clients()
    r = login_as(world.am1).post(NEW, data=card(name="华东甲贸易股份有限公司"))
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/admin/client/details/?id={world.c1.id}")
    assert clients() == before


def test_an_unreadable_duplicate_says_only_that_it_exists_and_whose_it_is(world, login_as):
    before = clients()
    # am1 may not read c2 (am2's): the same phone is refused with am2's name, nothing more.
    world.am1.locale = "en"  # the screens follow the user's own language, not the browser's
    db.session.commit()
    r = login_as(world.am1).post(NEW, data=card(phone="021-55557777"))
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "already registered (account manager: am2)" in page
    assert world.c2.name not in page and world.c2.code not in page
    assert clients() == before


def test_a_new_customer_is_still_registered(world, login_as):
    before = clients()
    r = login_as(world.am1).post(NEW, data=card())
    assert r.status_code == 302 and clients() == before + 1


def test_a_deleted_customer_is_no_duplicate(world):
    from crm.clients.services import delete_client

    delete_client(db.session, world.c3, "测试")
    db.session.commit()
    assert find_duplicates(db.session, {"phone": "010-44443333"}) == []
