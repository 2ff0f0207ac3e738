"""Lists to .xlsx and .csv: the signed-in user's scope and the masking hold."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests import factories


@pytest.fixture
def person(world):
    return factories.create_client(
        world.am1,
        kind="individual",
        name="赵六",
        phone="13977778888",
        id_number=factories.valid_id_number(seq=357),
    )


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(BytesIO(response.data), read_only=True).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("who", "names"),
    [
        ("am1", {"华东甲贸易有限公司", "赵六"}),
        ("rm_east", {"华东甲贸易有限公司", "华东乙科技有限公司", "赵六"}),
        (
            "sales_manager",
            {"华东甲贸易有限公司", "华东乙科技有限公司", "华北丙实业有限公司", "赵六"},
        ),
    ],
)
def test_xlsx_export_holds_the_scope(world, person, login_as, who, names):
    rows = xlsx_rows(login_as(getattr(world, who)).get("/admin/client/export/xlsx/"))
    header, body = rows[0], rows[1:]
    name_col = header.index(next(h for h in header if h in ("客户全称", "Full name")))
    assert {r[name_col] for r in body} == names


def test_xlsx_and_csv_show_the_id_number_masked(world, person, login_as):
    full = factories.valid_id_number(seq=357)
    am = login_as(world.am1)
    rows = xlsx_rows(am.get("/admin/client/export/xlsx/"))
    cells = [str(c) for r in rows for c in r if c is not None]
    assert full not in cells and person.id_number_mask in cells
    csv = am.get("/admin/client/export/csv/").get_data(as_text=True)
    assert full not in csv and person.id_number_mask in csv and world.c2.name not in csv


def test_the_filtered_list_exports_only_what_the_filter_shows(world, person, login_as):
    rows = xlsx_rows(login_as(world.sales_manager).get("/admin/client/export/xlsx/?search=华北"))
    assert len(rows) == 2 and "华北丙实业有限公司" in rows[1]


def test_roles_without_export_are_refused(world, login_as):
    r = login_as(world.finance).get("/admin/client/export/xlsx/")
    assert r.status_code == 302 and not r.data.startswith(b"PK")


def test_other_lists_export_to_xlsx_too(world, login_as):
    from datetime import date

    from crm.extensions import db
    from crm.revisits.models import Revisit

    for client in (world.c1, world.c3):
        db.session.add(Revisit(client_id=client.id, due_date=date(2026, 11, 25)))
    db.session.commit()
    rows = xlsx_rows(login_as(world.am1).get("/admin/revisit/export/xlsx/"))
    assert [r for r in rows[1:] if world.c1.name in r] and not [
        r for r in rows[1:] if world.c3.name in r
    ]
