"""Concurrent filings on PostgreSQL: workers racing for one new volume and its item numbers,
and two workers indexing the same document. (SQLite serialises writers by itself.)"""

import threading

import pytest
from sqlalchemy import func, select

from crm.archives import services
from crm.archives.models import ArchiveDocument, ArchiveVolume, CatalogueLine
from crm.extensions import db
from tests.archives.conftest import make_doc
from tests.conftest import IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="needs concurrent writers (PostgreSQL)")


def _race(app, doc_ids):
    barrier = threading.Barrier(len(doc_ids))
    errors = []

    def work(doc_id):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                services.index_document(db.session, doc_id)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001  (reported below, in the test's thread)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in doc_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_concurrent_filings_get_gapless_unique_numbers(app, world):
    mine = [make_doc(world.c1, content=b"%PDF-" + b"x" * 100) for _ in range(12)]
    others = [make_doc(world.c2, content=b"%PDF-y") for _ in range(4)]  # am2's volume, same year
    ids = [d.id for d in mine + others]
    db.session.remove()
    _race(app, ids)
    by_volume = {}
    for doc in db.session.scalars(select(ArchiveDocument).where(ArchiveDocument.id.in_(ids))):
        by_volume.setdefault(doc.volume_id, []).append(doc.item_no)
    assert sorted(len(v) for v in by_volume.values()) == [4, 12]
    for items in by_volume.values():
        assert sorted(items) == list(range(1, len(items) + 1))
    volumes = db.session.scalars(select(ArchiveVolume)).all()
    assert sorted(v.number for v in volumes) == [1, 2]
    assert db.session.scalar(select(func.count()).select_from(CatalogueLine)) == 32


def test_two_workers_indexing_one_document_agree(app, world):
    doc = make_doc(world.c1)
    doc_id = doc.id
    db.session.remove()
    _race(app, [doc_id, doc_id, doc_id])
    doc = db.session.get(ArchiveDocument, doc_id)
    assert doc.item_no == 1 and doc.has_file
    assert db.session.scalar(select(func.count()).select_from(CatalogueLine)) == 2
    assert db.session.scalars(select(ArchiveVolume)).one().item_count == 1
