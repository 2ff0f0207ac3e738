"""Bounded numbers, ids and uploads (issue 13, point 5): a value its column cannot hold is a field
error or a 404, never a 500 (SQLite overflows Python's int, PostgreSQL its integer and numeric
columns); only the document types an archive keeps are accepted, told by content."""

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select

from crm.access import allowed
from crm.admin.base import ScopedModelView
from crm.auth.models import Region, User
from crm.bounds import INT32, value_error
from crm.errors import DomainError
from crm.extensions import db
from crm.uploads import kind_of

HUGE = "99999999999999999999"
BAD_IDS = (HUGE, "-" + HUGE, str(INT32 + 1), "1e5", "abc")


def model_views(app):
    return [v for v in app.extensions["admin"][0]._views if isinstance(v, ScopedModelView)]


def users_for(world, view):
    users = [
        u
        for u in vars(world).values()
        if isinstance(u, User) and allowed(u.role, view.gate, "view")
    ]
    assert users, view.endpoint
    return users[0]


# --- ids in URLs ------------------------------------------------------------------------------
def test_every_view_answers_404_to_an_id_no_column_holds(world, app, login_as):
    failures = []
    for view in model_views(app):
        c = login_as(users_for(world, view))
        base = f"/admin/{view.endpoint}"
        for bad in BAD_IDS:
            for method, path, data in (
                ("get", f"{base}/details/?id={bad}", None),
                ("get", f"{base}/edit/?id={bad}", None),
                ("post", f"{base}/delete/", {"id": bad}),
            ):
                r = getattr(c, method)(path, data=data)
                # 404; a view without that screen may send the user back (302) or refuse (403)
                wrong = r.status_code not in (302, 403, 404, 405) or (
                    view.can_view_details and "details" in path and r.status_code != 404
                )
                if wrong:
                    failures.append((path, bad, r.status_code))
    assert failures == []


def test_a_route_int_larger_than_any_id_is_no_match(app):
    from werkzeug.exceptions import NotFound
    from werkzeug.routing import Map, Rule

    urls = Map(
        [Rule("/x/<int:pk>", endpoint="x")], converters={"int": app.url_map.converters["int"]}
    ).bind("localhost")
    assert urls.match("/x/12") == ("x", {"pk": 12})
    with pytest.raises(NotFound):
        urls.match(f"/x/{HUGE}")


# --- filters ----------------------------------------------------------------------------------
def test_every_filter_of_every_view_takes_any_value_without_a_5xx(world, app, login_as):
    failures = []
    for view in model_views(app):
        c = login_as(users_for(world, view))
        for i, flt in enumerate(view._filters or ()):
            arg = view.get_filter_arg(i, flt)
            for value in (
                HUGE,
                "-" + HUGE,
                "abc",
                "1",
                "1e400",
                "NaN",
                "2026-01-01",
                "2026-01-01 to 2026-12-31",
                "1,2," + HUGE,
            ):
                r = c.get(f"/admin/{view.endpoint}/", query_string={f"flt0_{arg}": value})
                if r.status_code >= 500:
                    failures.append((view.endpoint, str(flt.name), value, r.status_code))
    assert failures == []


def test_the_card_type_filter_filters(world, app, login_as):
    from crm.cards import services
    from tests.cards.conftest import make_type
    from tests.factories import create_client, valid_id_number

    gold = make_type("GOLD", "金卡", "0.90", ("500", "400", "50"))
    normal = make_type("NORMAL", "普通卡", "0.95", ("100", "80", "20"))
    number = valid_id_number(seq=321)
    person = create_client(
        world.am1, name="王小明", kind="individual", credit_code=None, id_number=number
    )
    card = services.issue_card(db.session, person, gold, number, today=date(2026, 1, 31))
    db.session.commit()
    view = next(v for v in model_views(app) if v.endpoint == "card")
    i, flt = next((i, f) for i, f in enumerate(view._filters) if "card_type" in str(f.column))
    arg = view.get_filter_arg(i, flt)
    c = login_as(world.clerk)
    hit = c.get("/admin/card/", query_string={f"flt0_{arg}": str(gold.id)})
    miss = c.get("/admin/card/", query_string={f"flt0_{arg}": str(normal.id)})
    assert hit.status_code == miss.status_code == 200
    assert card.number in hit.get_data(as_text=True)
    assert card.number not in miss.get_data(as_text=True)
    bad = c.get("/admin/card/", query_string={f"flt0_{arg}": HUGE}, follow_redirects=True)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "alert-danger" in page and HUGE in page  # said why


# --- money and integers -----------------------------------------------------------------------
CONTRACT = {"kind": "contract", "title": "场地租赁合同", "number": ""}


@pytest.mark.parametrize(
    ("amount", "saved"),
    [
        ("1e30", None),
        ("0.001", None),
        ("1000000000000", None),
        ("999999999999.99", Decimal("999999999999.99")),
        ("1e3", Decimal("1000.00")),
    ],
)
def test_contract_amounts_fit_their_column(world, login_as, amount, saved):
    from crm.contracts.models import Contract

    r = login_as(world.am1).post(
        "/admin/contract/new/", data={**CONTRACT, "client": str(world.c1.id), "amount": amount}
    )
    rows = db.session.scalars(select(Contract)).all()
    if saved is None:
        assert r.status_code == 200 and rows == []
        assert "text-danger" in r.get_data(as_text=True)  # beside the field
    else:
        assert r.status_code == 302 and [c.amount for c in rows] == [saved]


def test_a_20_digit_customer_in_a_select_field_is_a_field_error(world, login_as):
    r = login_as(world.am1).post(
        "/admin/contract/new/", data={**CONTRACT, "client": HUGE, "amount": "1"}
    )
    assert r.status_code == 200


def _card(world):
    from crm.cards import services
    from tests.cards.conftest import make_type
    from tests.factories import create_client, valid_id_number

    gold = make_type("GOLD", "金卡", "0.90", ("500", "400", "50"))
    number = valid_id_number(seq=321)
    person = create_client(
        world.am1, name="王小明", kind="individual", credit_code=None, id_number=number
    )
    card = services.issue_card(db.session, person, gold, number, today=date(2026, 1, 31))
    db.session.commit()
    return card, number


@pytest.mark.parametrize("amount", ["1e30", "NaN", "abc", "0.001"])
def test_a_card_use_amount_fits_its_column(world, amount):
    from crm.cards import services

    card, number = _card(world)
    with pytest.raises(DomainError) as err:
        services.record_use(db.session, card.number, number, "前台", amount)
    assert "list_price" in err.value.field_errors


def test_card_use_form_refuses_1e30(world, login_as):
    from crm.cards.models import CardUse

    card, number = _card(world)
    c = login_as(world.clerk)
    r = c.post(
        "/admin/card_use/new/",
        data={"number": card.number, "holder": number, "place": "前台", "list_price": "1e30"},
    )
    assert r.status_code == 200 and db.session.scalars(select(CardUse)).all() == []
    r = c.post(
        "/admin/card_use/new/",
        data={"number": card.number, "holder": number, "place": "前台", "list_price": "1e3"},
    )
    assert r.status_code == 302
    assert [u.list_price for u in db.session.scalars(select(CardUse))] == [Decimal("1000.00")]


@pytest.mark.parametrize("amount", ["1e30", "1e12", "0.001"])
def test_a_discount_amount_fits_its_column(amount):
    from crm.kernel import parse_money

    with pytest.raises(DomainError) as err:
        parse_money(amount, positive=True)
    assert "amount" in err.value.field_errors


def test_an_integer_field_beyond_its_column_is_a_field_error(world, login_as):
    from crm.cards.models import CardType

    r = login_as(world.sales_manager).post(
        "/admin/card_type/new/",
        data={
            "code": "BIG",
            "name": "大卡",
            "discount_rate": "0.9",
            "issue_fee": "1",
            "renewal_fee": "1",
            "replacement_fee": "1",
            "validity_months": HUGE,
        },
    )
    assert r.status_code == 200 and db.session.scalars(select(CardType)).all() == []


def test_every_flush_refuses_what_a_column_cannot_hold(world):
    """A service or an importer that skips the form still cannot store it."""
    from crm.contracts import services
    from crm.contracts.models import Contract

    for bad in (Decimal("1e30"), Decimal("NaN"), Decimal("0.001")):
        with pytest.raises(DomainError) as err:
            services.add_contract(
                db.session,
                Contract(client_id=world.c1.id, kind="membership", title="x", amount=bad),
            )
            db.session.flush()
        assert "amount" in err.value.field_errors
        db.session.rollback()
    db.session.add(Region(code="R" * 200, name="长"))
    with pytest.raises(DomainError) as err:
        db.session.flush()
    assert "code" in err.value.field_errors
    db.session.rollback()


@pytest.mark.parametrize(
    ("type_", "value", "ok"),
    [
        ("Integer", INT32, True),
        ("Integer", INT32 + 1, False),
        ("Integer", -INT32 - 1, True),
        ("BigInteger", 2**63, False),
        ("BigInteger", 2**62, True),
        ("Numeric", Decimal("-999999999999.99"), True),
        ("Numeric", Decimal("-1e12"), False),
        ("Numeric", Decimal("1.005"), False),
        ("Numeric", Decimal("sNaN"), False),
        ("String", "x" * 10, True),
        ("String", "x" * 11, False),
    ],
)
def test_value_error(type_, value, ok):
    import sqlalchemy

    kind = {
        "Integer": sqlalchemy.Integer(),
        "BigInteger": sqlalchemy.BigInteger(),
        "Numeric": sqlalchemy.Numeric(14, 2),
        "String": sqlalchemy.String(10),
    }[type_]
    assert (value_error(kind, value) is None) is ok


# --- uploads ----------------------------------------------------------------------------------
def _zip(*names) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"II*\x00....", "tiff"),
        (b"MM\x00*....", "tiff"),
        (b"GIF89a....", "gif"),
        (b"BM" + b"\x00" * 12 + b"\x28" + b"\x00" * 20, "bmp"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "ole2"),
        (_zip("[Content_Types].xml", "word/document.xml"), "docx"),
        (_zip("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
        (_zip("[Content_Types].xml", "ppt/presentation.xml"), "pptx"),
        (_zip("OFD.xml", "Doc_0/Document.xml"), "ofd"),
        (_zip("payload.exe"), None),
        (_zip("[Content_Types].xml"), None),
        (EXE, None),
        (b"#!/bin/sh\nrm -rf /\n", None),
        (b"<html><script>", None),
        (b"", None),
        (b"PK\x03\x04 not really a zip", None),
    ],
)
def test_kinds_are_told_by_content(data, kind):
    stream = io.BytesIO(data)
    stream.seek(0)
    assert kind_of(stream) == kind and stream.tell() == 0


def _archive_files() -> list[Path]:
    root = Path(current_app.config["ARCHIVE_ROOT"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _document_form(world, upload):
    return {
        "client": str(world.c1.id),
        "category": "debts",
        "title": "还款协议",
        "doc_date": "2026-10-08",
        "pages": "3",
        "form": "both",
        "customer_signed": "y",
        "handler": "张三",
        "room": "A1",
        "cabinet": "2",
        "shelf": "3",
        "box": "4",
        "upload": upload,
    }


@pytest.fixture
def archive_root(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))
    return tmp_path / "archive"


def test_an_exe_renamed_pdf_is_refused_and_nothing_is_written(world, login_as, archive_root):
    from crm.archives.models import ArchiveDocument

    r = login_as(world.am1).post(
        "/admin/archive_document/new/",
        data=_document_form(world, (io.BytesIO(EXE), "scan.pdf", "application/pdf")),
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "档案只收 PDF" in html
    assert db.session.scalars(select(ArchiveDocument)).all() == []
    assert _archive_files() == []


def test_a_real_small_pdf_is_accepted(world, login_as, archive_root):
    from crm.archives.models import ArchiveDocument

    r = login_as(world.am1).post(
        "/admin/archive_document/new/",
        data=_document_form(world, (io.BytesIO(PDF), "扫描件.PDF", "application/pdf")),
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    [doc] = db.session.scalars(select(ArchiveDocument)).all()
    [stored] = _archive_files()
    assert stored.read_bytes() == PDF and stored.suffix == ".pdf" and doc.incoming_path


def test_a_body_over_the_limit_is_413_and_writes_nothing(
    world, app, login_as, archive_root, monkeypatch
):
    from crm.archives.models import ArchiveDocument

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    r = login_as(world.am1).post(
        "/admin/archive_document/new/",
        data=_document_form(world, (io.BytesIO(PDF + b"0" * 8192), "scan.pdf", "application/pdf")),
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and "文件过大" in r.get_data(as_text=True)
    assert db.session.scalars(select(ArchiveDocument)).all() == [] and _archive_files() == []


def test_a_contract_original_is_checked_by_content(world, login_as, archive_root):
    from crm.contracts.models import Contract

    c = login_as(world.am1)
    r = c.post(
        "/admin/contract/new/",
        data={
            **CONTRACT,
            "client": str(world.c1.id),
            "amount": "1",
            "original": (io.BytesIO(EXE), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 200 and "档案只收 PDF" in r.get_data(as_text=True)
    assert db.session.scalars(select(Contract)).all() == [] and _archive_files() == []
    r = c.post(
        "/admin/contract/new/",
        data={
            **CONTRACT,
            "client": str(world.c1.id),
            "amount": "1",
            "original": (io.BytesIO(_zip("[Content_Types].xml", "word/document.xml")), "合同.docx"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    [stored] = _archive_files()
    assert stored.suffix == ".docx"


def test_ids_typed_into_custom_screens_are_bounded(world, login_as):
    """The hand-made screens read ids from forms and links: a 20-digit one is no such row."""
    manager = login_as(world.sales_manager)
    for path in (
        f"/admin/contract/?client={HUGE}",
        f"/admin/archive_document/?client_id={HUGE}",
        f"/admin/archive_document/new/?client_id={HUGE}",
        f"/admin/consent/?client={HUGE}",
    ):
        assert manager.get(path).status_code < 500, path
    rm = login_as(world.rm_east)
    for data in (
        {"client_id": str(world.c1.id), "owner_id": HUGE},
        {"client_id": HUGE, "owner_id": str(world.am1.id)},
    ):
        assert rm.post("/admin/assignment/assign", data=data).status_code == 404
    assert (
        manager.post(
            "/admin/handover/", data={"leaving_id": HUGE, "successor_id": HUGE}
        ).status_code
        < 500
    )
    for endpoint in ("client", "contract", "credit_profile", "inbox"):
        r = manager.post(f"/admin/{endpoint}/action/", data={"action": "delete", "rowid": HUGE})
        assert r.status_code < 500, endpoint
    finance = login_as(world.finance)
    r = finance.post(
        "/admin/credit_ledger/new/",
        data={
            "client": str(world.c1.id),
            "kind": "reversal",
            "entry_date": "2026-11-01",
            "amount": "1",
            "reverses": HUGE,
        },
    )
    assert r.status_code == 200
    r = finance.post("/admin/credit_check/start", data={"client_id": HUGE})
    assert r.status_code < 500


def test_list_paging_and_sorting_arguments_are_bounded(world, app, login_as):
    failures = []
    for view in model_views(app):
        c = login_as(users_for(world, view))
        for query in (
            f"page={HUGE}",
            f"page=-{HUGE}",
            f"page_size={HUGE}",
            f"sort={HUGE}",
            f"sort=-{HUGE}",
            f"search={HUGE}",
        ):
            r = c.get(f"/admin/{view.endpoint}/?{query}")
            if r.status_code != 200:
                failures.append((view.endpoint, query, r.status_code))
    assert failures == []
