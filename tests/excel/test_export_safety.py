"""No export carries a formula (OWASP CSV injection): a hostile customer name arrives as text in
every CSV and .xlsx the product writes, numbers stay numbers, and no module writes a
spreadsheet around crm.excel.safe."""

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm.excel import safe
from crm.extensions import db
from tests import factories

HOSTILE = '=HYPERLINK("http://x","y")'


def xlsx_cells(data: bytes) -> list:
    ws = load_workbook(io.BytesIO(data)).active
    return [cell for row in ws.iter_rows() for cell in row]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.data[:300]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def assert_text_cell(cells, value=HOSTILE):
    [cell] = [c for c in cells if c.value == value]
    assert cell.data_type == "s"


@pytest.fixture
def hostile(world):
    world.c1.name = HOSTILE
    db.session.commit()
    return world


@pytest.mark.parametrize(
    "value", [HOSTILE, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_formula_like_texts_are_quoted_in_csv_and_text_in_xlsx(value):
    assert safe.csv_value(value) == "'" + value
    [cell] = [c for c in xlsx_cells(safe.xlsx_bytes(["h"], [[value]])) if c.row == 2]
    assert cell.data_type == "s" and cell.value == value.replace("\r", "\n") or cell.value == value


@pytest.mark.parametrize(
    "value", [Decimal("-12.50"), -3, -1.5, "-12.50", "-1,234.00", "普通名称", "a=b"]
)
def test_numbers_and_plain_texts_are_left_alone(value):
    assert safe.csv_value(value) == value
    [cell] = [c for c in xlsx_cells(safe.xlsx_bytes(["h"], [[value]])) if c.row == 2]
    if isinstance(value, str):
        assert cell.data_type == "s" and cell.value == value
    else:
        assert cell.data_type == "n" and Decimal(str(cell.value)) == Decimal(str(value))


def test_client_csv_export(hostile, login_as):
    rows = csv_rows(login_as(hostile.sales_manager).get("/admin/client/export/csv/"))
    cells = [c for r in rows for c in r]
    assert "'" + HOSTILE in cells and HOSTILE not in cells


def test_client_xlsx_export(hostile, login_as):
    r = login_as(hostile.sales_manager).get("/admin/client/export/xlsx/")
    assert r.status_code == 200
    assert_text_cell(xlsx_cells(r.data))


def test_every_flask_admin_csv_export_goes_through_the_safe_writer(hostile, login_as):
    """Key persons carry the customer's name in another view's CSV."""
    factories.create_key_person(hostile.c1, name="@SUM(1+1)")
    rows = csv_rows(login_as(hostile.sales_manager).get("/admin/keyperson/export/csv/"))
    cells = [c for r in rows for c in r]
    assert "'@SUM(1+1)" in cells and "@SUM(1+1)" not in cells


def test_aging_csv(hostile, login_as):
    from crm.credit import ledger
    from tests.credit.conftest import give_profile

    give_profile(hostile.c1, "10000.00")
    ledger.record_charge(db.session, hostile.c1.id, "100", date(2026, 7, 1), "old")
    db.session.commit()
    rows = csv_rows(login_as(hostile.finance).get("/admin/credit_aging/?format=csv"))
    [row] = [r for r in rows if HOSTILE in r[0]]
    assert row[0].startswith("'" + HOSTILE)
    assert Decimal(row[-1]) == Decimal("100.00")  # the total stays a plain number


def test_printable_catalogue(world, login_as, app, tmp_path, monkeypatch):
    from crm.archives.models import ArchiveVolume
    from tests.archives.conftest import index, make_doc

    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))
    doc = make_doc(world.c1, title="-1+1|cmd")
    index(doc)
    db.session.refresh(doc)
    volume = db.session.get(ArchiveVolume, doc.volume_id)
    r = login_as(world.archivist).get(
        f"/admin/archive_volume/catalogue.xlsx?id={volume.id}&set=paper"
    )
    assert r.status_code == 200
    assert_text_cell(xlsx_cells(r.data), "-1+1|cmd")


def test_card_template_rows():
    from crm.excel.cards import template_workbook

    assert_text_cell(xlsx_cells(template_workbook([{"name": HOSTILE}])))


SPREADSHEET_WRITERS = re.compile(
    r"csv\.writer|csv\.DictWriter|\bWorkbook\(|text/csv|WriteOnlyWorksheet|import csv\b"
)


def test_no_module_writes_a_spreadsheet_around_the_safe_writer():
    root = Path(safe.__file__).parent.parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p != Path(safe.__file__) and SPREADSHEET_WRITERS.search(p.read_text())
    ]
    assert offenders == []


def test_every_model_view_exports_through_the_safe_writer(app):
    from crm.admin.base import ScopedModelView
    from crm.excel.export import XlsxExportMixin

    views = [v for v in app.extensions["admin"][0]._views if isinstance(v, ScopedModelView)]
    assert views
    for view in views:
        assert type(view)._export_csv is ScopedModelView._export_csv, view
        if "xlsx" in view.export_types:
            assert type(view)._export_tablib is XlsxExportMixin._export_tablib, view
        assert set(view.export_types) <= {"csv", "xlsx"}, view
