"""Printing (issue 16 point 10): the catalogues of both sets, a volume's reference table and a
customer's card as PDF on A4 with Chinese text, through the same scope as their screens; the
.xlsx catalogues set up for printing."""

import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from crm import printing
from crm.archives.models import ArchiveVolume
from crm.extensions import db
from tests import factories
from tests.archives.conftest import index, make_doc
from tests.archives.test_admin import SEES


@pytest.fixture
def docs(world):
    out = {}
    for key in ("c1", "c2", "c3"):
        doc = make_doc(
            getattr(world, key), title=f"购销合同-{key}", content=f"%PDF-1.4 {key}".encode()
        )
        index(doc)
        out[key] = doc
    return out


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 1
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """The text without line breaks and spaces (a long cell wraps at any character)."""
    return "".join(text.split())


def test_table_pdf_is_a4_with_chinese_text_and_repeats_its_header_on_every_page():
    rows = [[n, f"客户档案第{n}号", "华东大区"] for n in range(1, 121)]
    reader, text = pdf_text(printing.table_pdf("销毁清册", ["序号", "题名", "区域"], rows))
    assert len(reader.pages) > 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == tuple(round(x) for x in A4)
    assert "销毁清册" in text and "客户档案第120号" in text
    assert all("题名" in page.extract_text() for page in reader.pages)  # the header repeats
    wide = PdfReader(io.BytesIO(printing.table_pdf("宽表", [f"列{i}" for i in range(9)], [])))
    assert float(wide.pages[0].mediabox.width) > float(wide.pages[0].mediabox.height)


def test_the_font_falls_back_to_the_builtin_song_face(monkeypatch):
    monkeypatch.setattr(printing, "TTF_CANDIDATES", ())
    monkeypatch.delenv("CRM_PDF_FONT", raising=False)
    monkeypatch.setattr(printing, "_font_name", None)
    reader, text = pdf_text(printing.table_pdf("备考表", ["说明"], [["华东甲贸易有限公司"]]))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert any("STSong-Light" in str(f.get_object()["/BaseFont"]) for f in fonts.values())
    assert "华东甲贸易有限公司" in text
    monkeypatch.setattr(printing, "_font_name", None)  # the next test registers afresh


def test_the_chinese_font_file_is_embedded(monkeypatch):
    monkeypatch.setattr(printing, "_font_name", None)
    if not any(__import__("os").path.isfile(p) for p in printing.TTF_CANDIDATES):
        pytest.fail("fonts-wqy-microhei is not installed (see the README)")
    reader, _text = pdf_text(printing.table_pdf("目录", ["题名"], [["合同"]]))
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    embedded = [
        f
        for f in fonts
        if "/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"].get_object()
    ]
    assert embedded and all("WenQuanYi" in str(f["/BaseFont"]) for f in embedded)


@pytest.mark.parametrize("set_kind", ["paper", "electronic"])
def test_both_catalogues_print_as_pdf_for_the_archivist(world, docs, login_as, set_kind):
    volume = db.session.get(ArchiveVolume, docs["c1"].volume_id)
    c = login_as(world.archivist)
    page = c.get(f"/admin/archive_volume/details/?id={volume.id}").get_data(as_text=True)
    assert f"catalogue.pdf?id={volume.id}&amp;set={set_kind}" in page
    r = c.get(f"/admin/archive_volume/catalogue.pdf?id={volume.id}&set={set_kind}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    _reader, text = pdf_text(r.data)
    assert docs["c1"].archive_no in text and "购销合同-c1" in text and volume.code in text
    remark = "Paper" if set_kind == "electronic" else "Electronic"
    assert remark in text  # each set points to the other (R9)
    assert c.get(f"/admin/archive_volume/catalogue.pdf?id={volume.id}&set=x").status_code == 404


def test_the_reference_table_counts_the_volume_and_points_to_both_sets(world, docs, login_as):
    volume = db.session.get(ArchiveVolume, docs["c1"].volume_id)
    second = make_doc(world.c1, title="补充协议", pages=7)
    index(second)
    c = login_as(world.sales_manager)
    assert "reference.pdf" in c.get(f"/admin/archive_volume/details/?id={volume.id}").get_data(
        as_text=True
    )
    r = c.get(f"/admin/archive_volume/reference.pdf?id={volume.id}")
    assert r.status_code == 200
    _reader, text = pdf_text(r.data)
    assert f"Reference table of volume {volume.code}" in text
    assert "购销合同-c1" in text and "补充协议" in text
    assert "Pages\n11\n" in text  # 4 + 7 pages in the paper set
    assert "Itemsinthepaperset2Itemsintheelectronicset2" in flat(text)
    assert f"{docs['c1'].archive_no}-E" in flat(text) and "box17" in flat(text)  # R9


@pytest.mark.parametrize("who", ["am1", "rm_east", "finance", "clerk", "service", "admin"])
def test_volume_pdfs_only_for_the_volume_readers(world, docs, login_as, who):
    volume = db.session.get(ArchiveVolume, docs["c1"].volume_id)
    c = login_as(getattr(world, who))
    for url in (
        f"/admin/archive_volume/catalogue.pdf?id={volume.id}&set=paper",
        f"/admin/archive_volume/reference.pdf?id={volume.id}",
    ):
        assert c.get(url).status_code == 403, url


CARD_ROLES = sorted({*SEES, "finance", "clerk", "service"})
CARD_SEES = {k: v for k, v in SEES.items() if k != "archivist"}  # no card reader


@pytest.mark.parametrize("who", CARD_ROLES)
def test_the_card_pdf_follows_the_card_scope(world, login_as, who):
    c = login_as(getattr(world, who))
    for key in ("c1", "c2", "c3"):
        customer = getattr(world, key)
        screen = c.get(f"/admin/client/details/?id={customer.id}")
        pdf = c.get(f"/admin/client/card.pdf?id={customer.id}")
        assert pdf.status_code == screen.status_code, (who, key)
        if who in CARD_SEES:  # a customer outside the user's scope is not found
            assert pdf.status_code == (200 if key in CARD_SEES[who] else 404), (who, key)
        if pdf.status_code == 200:
            assert f"card.pdf?id={customer.id}" in screen.get_data(as_text=True)
            _reader, text = pdf_text(pdf.data)
            assert customer.name in text, (who, key)
    missing = c.get("/admin/client/card.pdf?id=999999").status_code
    assert missing == (403 if who == "archivist" else 404)


def test_the_card_pdf_shows_key_persons_contacts_and_never_the_full_id_number(world, login_as):
    customer = factories.create_client(
        world.am1, name="上海丁餐饮管理有限公司", id_number=factories.valid_id_number()
    )
    factories.create_key_person(customer, name="王经理")
    factories.create_contact_log(customer, record="初次拜访，介绍会员卡")
    db.session.commit()
    r = login_as(world.am1).get(f"/admin/client/card.pdf?id={customer.id}")
    _reader, text = pdf_text(r.data)
    assert "上海丁餐饮管理有限公司" in text and "王经理" in text and "初次拜访" in text
    assert factories.valid_id_number() not in text


def test_the_xlsx_catalogue_is_set_up_for_printing(world, docs, login_as):
    volume = db.session.get(ArchiveVolume, docs["c1"].volume_id)
    r = login_as(world.archivist).get(f"/admin/archive_volume/catalogue.xlsx?id={volume.id}")
    sheet = load_workbook(io.BytesIO(r.data)).active
    assert sheet.print_title_rows == "$1:$2"
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.page_setup.orientation == "landscape"


def test_the_xlsx_list_exports_are_set_up_for_printing(world, login_as):
    r = login_as(world.sales_manager).get("/admin/client/export/xlsx/")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.orientation == "landscape"
