"""The archive on both storages (issue 17 point 4): indexing, downloads, the integrity sweep,
destruction and backup/restore, each run once on a local folder and once on a bucket of a
real S3 API (moto's server on a free port)."""

import hashlib
import io

from sqlalchemy import select

from crm.archives import services
from crm.archives.disposal import destroy_documents
from crm.archives.models import ArchiveDocument, ArchiveFlag
from crm.extensions import db
from crm.storage import get_storage
from tests.archives.conftest import index, make_doc
from tests.test_backup import empty_instance, run  # noqa: F401 (a fixture)

SCAN = b"%PDF-1.4 scan kept in the archive's storage"


def test_an_upload_is_indexed_into_the_storage_and_downloaded_whole(
    world, login_as, archive_storage
):
    doc = make_doc(world.c1, content=SCAN)
    incoming = doc.incoming_path
    storage = get_storage()
    assert storage.exists(incoming)
    index(doc)
    assert not storage.exists(incoming) and doc.incoming_path is None
    assert doc.storage_path == f"2026/HT/{doc.id:08d}.pdf"
    assert storage.get(doc.storage_path) == SCAN
    assert (doc.sha256, doc.size) == (hashlib.sha256(SCAN).hexdigest(), len(SCAN))
    download = login_as(world.am1).get(f"/admin/archive_document/download/?id={doc.id}")
    assert download.status_code == 200
    assert download.data == SCAN
    assert doc.archive_no in download.headers["Content-Disposition"]


def test_the_integrity_sweep_reads_the_storage(world, archive_storage):
    changed, missing, intact = (
        make_doc(world.c1, content=f"%PDF-1.4 {n}".encode(), title=f"doc {n}") for n in range(3)
    )
    for doc in (changed, missing, intact):
        index(doc)
    storage = get_storage()
    storage.put(changed.storage_path, io.BytesIO(b"%PDF-1.4 altered in the bucket"))
    storage.delete(missing.storage_path)
    result = services.check_integrity(db.session, share_percent=100)
    db.session.commit()
    assert (result["checked"], result["changed"], result["missing"]) == (3, 1, 1)
    flags = {(f.document_id, f.kind) for f in db.session.scalars(select(ArchiveFlag))}
    assert flags == {(changed.id, "checksum_changed"), (missing.id, "file_missing")}


def test_destruction_deletes_the_stored_file(world, archive_storage):
    doc = make_doc(world.c1, content=SCAN)
    index(doc)
    key = doc.storage_path
    assert get_storage().exists(key)
    result = destroy_documents(db.session, [doc], 1, lambda table, ids: None)
    assert result["files_deleted"] == 1
    assert not get_storage().exists(key)


def test_a_backup_holds_the_objects_and_restores_them_into_an_empty_storage(  # noqa: F811
    app,
    world,
    archive_storage,
    s3_server,
    tmp_path,
    empty_instance,  # noqa: F811
):
    docs = [
        make_doc(getattr(world, key), title=key, content=f"%PDF-1.4 {key}".encode())
        for key in ("c1", "c2")
    ]
    for doc in docs:
        index(doc)
    stored = {d.storage_path: d.sha256 for d in docs}
    db.session.commit()
    out = tmp_path / "backup"
    made = run(app, "backup", "--out", str(out))
    assert made.exit_code == 0, made.output
    for key, digest in stored.items():  # the objects themselves, not references
        assert hashlib.sha256((out / "archive" / key).read_bytes()).hexdigest() == digest
    if archive_storage == "s3":  # into a new, empty bucket
        for name, value in s3_server.config(s3_server.new_bucket()).items():
            empty_instance.config[name] = value
    restored = run(empty_instance, "restore", str(out))
    assert restored.exit_code == 0, restored.output
    with empty_instance.app_context():
        storage = get_storage()
        assert storage.kind == archive_storage
        for doc in db.session.scalars(select(ArchiveDocument)):
            assert storage.sha256(doc.storage_path)[0] == doc.sha256 == stored[doc.storage_path]
        db.session.remove()
    again = run(empty_instance, "restore", str(out))
    assert again.exit_code != 0
