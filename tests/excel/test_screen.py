"""The import screen: template download, upload, the report before anything is written."""

from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.clients.models import Client
from crm.excel.cards import template_workbook
from crm.extensions import db
from tests.excel.test_import import card


def count() -> int:
    db.session.commit()
    return db.session.execute(select(func.count()).select_from(Client)).scalar()


def upload(c, rows):
    return c.post(
        "/admin/card_import/",
        data={"file": (BytesIO(template_workbook(rows)), "cards.xlsx")},
        content_type="multipart/form-data",
    )


def test_template_download(world, login_as):
    r = login_as(world.am1).get("/admin/card_import/template.xlsx")
    assert r.status_code == 200
    assert load_workbook(BytesIO(r.data)).active["A1"].value == "客户全称*"


def test_a_bad_file_shows_the_report_and_writes_nothing(world, login_as):
    before = count()
    r = upload(login_as(world.am1), [card(1), card(2, mobile="123")])
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="import-report"' in page
    assert "<td>3</td><td>手机</td>" in page
    assert count() == before


def test_a_good_file_is_imported_as_the_uploader_s_customers(world, login_as):
    before = count()
    r = upload(login_as(world.am1), [card(1), card(2)])
    assert 'id="import-done"' in r.get_data(as_text=True)
    assert count() == before + 2
    owners = set(db.session.scalars(select(Client.owner_id).where(Client.name.like("导入测试%"))))
    assert owners == {world.am1.id}


def test_roles_without_registration_cannot_import(world, login_as):
    for user in (world.finance, world.clerk, world.service):
        assert login_as(user).get("/admin/card_import/").status_code == 403
