import io
from datetime import date

import pytest
from flask_babel import force_locale

from crm.access import set_actor
from crm.archives import services
from crm.archives.models import ArchiveDocument
from crm.extensions import db


@pytest.fixture(autouse=True)
def _archive_root(app, tmp_path, monkeypatch):
    """Each test its own archive folder: stored files are named by document id."""
    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))
    return tmp_path / "archive"


@pytest.fixture(autouse=True)
def _english(request):
    """Remarks and messages are asserted in their English msgids."""
    if "ctx" not in request.fixturenames and "world" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


def make_doc(
    client,
    category="contracts",
    on=date(2026, 3, 1),
    form="both",
    signed=True,
    content: bytes | None = b"%PDF-1.4 contract",
    location=("A101", "3", "2", "17"),
    title=None,
    pages=4,
) -> ArchiveDocument:
    """A document entered, signed off and filed as the system (no indexing yet)."""
    doc = ArchiveDocument(
        client_id=client.id,
        category=category,
        doc_date=on,
        form=form,
        title=title or f"{category} {on}",
        pages=pages,
    )
    services.new_document(db.session, doc)
    if content is not None and form != "paper":
        services.attach_file(db.session, doc, io.BytesIO(content), "scan.pdf", "application/pdf")
    if location and form != "electronic":
        doc.room, doc.cabinet, doc.shelf, doc.box = location
    if signed:
        doc.customer_signed, doc.handler = True, "经办人 张三"
        services.approve_document(db.session, doc)
        services.file_document(db.session, doc)
    db.session.commit()
    return doc


def index(doc) -> dict:
    result = services.index_document(db.session, doc.id)
    db.session.commit()
    return result


def acting(user):
    set_actor(user)
