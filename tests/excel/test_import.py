"""Excel import of customer cards: checked like the form, all or nothing, duplicates reported."""

from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.clients.models import Client
from crm.excel.cards import HEADERS, import_cards, template_workbook
from crm.extensions import db
from crm.intake.duplicates import find_duplicates
from tests import factories


def card(n: int, **over) -> dict:
    row = {
        "name": f"导入测试{n:05d}贸易有限公司",
        "kind": "单位",
        "level": "B",
        "credit_code": factories.valid_credit_code(500000 + n),
        "phone": f"021-{60000000 + n}",
        "mobile": f"139{n:08d}",
        "stage": "未来客户",
        "registered_capital": 1000000,
        "opening_date": "2020-05-01",
        "region": "华东大区",
    }
    row.update(over)
    return row


def workbook(rows) -> BytesIO:
    return BytesIO(template_workbook(rows))


def count_clients() -> int:
    return db.session.execute(select(func.count()).select_from(Client)).scalar()


def test_template_has_chinese_headers_and_reads_back(world):
    wb = load_workbook(BytesIO(template_workbook()))
    header = [c.value for c in wb.active[1]]
    assert header[0] == "客户全称*"
    assert "统一社会信用代码" in header and "客户经理" in header
    assert len(header) == len(HEADERS)


# (row's index in the file, the bad values, the field the report must name)
BAD = [
    ({"credit_code": "91110105000000001X"}, "credit_code"),
    ({"mobile": "12345"}, "mobile"),
    ({"phone": "hello"}, "phone"),
    ({"name": None}, "name"),
    ({"registered_capital": "abc"}, "registered_capital"),
    ({"opening_date": "2020-13-45"}, "opening_date"),
    ({"stage": "不知道"}, "stage"),
    ({"id_number": "110105198506151234"}, "id_number"),
    ({"postcode": "12"}, "postcode"),
    ({"owner": "nobody"}, "owner"),
]


def test_5000_rows_with_20_bad_write_nothing_then_the_fixed_file_imports(world):
    rows = [card(i) for i in range(5000)]
    expected = set()
    for k in range(20):
        index = 100 + k * 240
        values, field = BAD[k % len(BAD)]
        if field == "name":
            rows[index]["name"] = None
        else:
            rows[index].update(values)
        expected.add((index + 2, field))  # Excel row: 1 is the header
    before = count_clients()
    report = import_cards(db.session, workbook(rows))
    db.session.rollback()
    assert {(e.row, e.field) for e in report.errors} == expected
    assert report.created == 0 and count_clients() == before

    fixed = [card(i) for i in range(5000)]
    report = import_cards(db.session, workbook(fixed))
    db.session.commit()
    assert report.ok, report.errors[:5]
    assert report.created == 5000
    assert count_clients() == before + 5000
    stored = db.session.scalars(select(Client).where(Client.name == fixed[42]["name"])).one()
    assert stored.code and stored.stage == "prospect" and stored.region_id == world.east.id


def test_duplicates_in_the_file_and_in_the_database_are_reported_not_doubled(world):
    rows = [
        card(1),
        card(2, credit_code=card(1)["credit_code"]),  # same credit code as row 2
        card(3, name=" 华东甲贸易 股份有限公司"),  # near-identical to c1
        card(4, phone="021-66668888"),  # c1's phone
        card(5, mobile=card(1)["mobile"]),  # same mobile as row 2
        card(6, name="导入测试00001贸易公司"),  # near-identical to row 2
    ]
    before = count_clients()
    report = import_cards(db.session, workbook(rows))
    db.session.rollback()
    got = {(e.row, e.field) for e in report.errors}
    assert got == {(3, "credit_code"), (4, "name"), (5, "phone"), (6, "mobile"), (7, "name")}
    assert count_clients() == before
    messages = {e.row: e.message for e in report.errors}
    assert "华东甲贸易有限公司" in messages[4] and "am1" in messages[4]
    assert "2" in messages[3]


def test_id_number_duplicate_is_found_by_its_hash(world):
    number = factories.valid_id_number()
    factories.create_client(
        world.am1, kind="individual", name="张三", id_number=number, phone="13900000001"
    )
    report = import_cards(
        db.session, workbook([card(1, kind="个人", name="张三丰", id_number=number.lower())])
    )
    assert [(e.row, e.field) for e in report.errors] == [(2, "id_number")]
    matches = find_duplicates(db.session, {"id_number": number})
    assert [m.name for m in matches] == ["张三"]


def test_not_a_workbook_is_reported(world):
    report = import_cards(db.session, BytesIO(b"not a workbook"))
    assert not report.ok and report.created == 0


@pytest.mark.parametrize("who", ["am1", "rm_east"])
def test_rows_follow_the_importer_s_ownership_like_the_form(app, world, who):
    from crm.access import set_actor

    user = getattr(world, who)
    with app.test_request_context():
        set_actor(user)
        report = import_cards(db.session, workbook([card(1, region="华北大区")]))
        db.session.commit()
    assert report.ok
    stored = db.session.scalars(select(Client).where(Client.name == card(1)["name"])).one()
    # The form's rule: an account manager's new customer is their own, in their region.
    assert stored.region_id == world.east.id
    assert stored.owner_id == (user.id if who == "am1" else None)


def test_an_unowned_row_needs_a_region_for_its_assignment_queue(world):
    report = import_cards(db.session, workbook([card(1, region=None), card(2, owner="am3")]))
    assert [(e.row, e.field) for e in report.errors] == [(2, "region"), (3, "region")]
    report = import_cards(db.session, workbook([card(2, owner="am3", region=None)]))
    db.session.commit()
    assert report.ok
    stored = db.session.scalars(select(Client).where(Client.name == card(2)["name"])).one()
    assert (stored.owner_id, stored.region_id) == (world.am3.id, world.north.id)
