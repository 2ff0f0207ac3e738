"""The storage interface (crm/storage.py), the same behaviour on a local folder and on a
bucket of a real S3 API (moto's server, tests/s3server.py)."""

import hashlib
import io

import pytest

from crm.storage import LocalStorage, S3Storage, StorageError, get_storage, storage_from


@pytest.fixture
def storage(ctx, archive_storage):
    return get_storage()


def test_put_get_open_exists_sha256(storage, archive_storage):
    data = b"%PDF-1.4 " + bytes(range(256)) * 5000  # over one read chunk
    assert storage.kind == archive_storage
    assert storage.put("2026/HT/00000001.pdf", io.BytesIO(data)) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
    )
    assert storage.exists("2026/HT/00000001.pdf")
    assert storage.get("2026/HT/00000001.pdf") == data
    stream = storage.open("2026/HT/00000001.pdf")
    try:
        assert stream.read(9) == b"%PDF-1.4 "
    finally:
        stream.close()
    assert storage.sha256("2026/HT/00000001.pdf") == (hashlib.sha256(data).hexdigest(), len(data))


def test_missing_files(storage):
    assert not storage.exists("nothing/here.pdf")
    assert storage.sha256("nothing/here.pdf") is None
    assert storage.delete("nothing/here.pdf") is False
    assert storage.move("nothing/here.pdf", "there.pdf") is False
    with pytest.raises(FileNotFoundError):
        storage.open("nothing/here.pdf")


def test_move_delete_and_iterate(storage):
    for key in ("incoming/a.pdf", "incoming/b.pdf", "2025/HT/00000003.pdf"):
        storage.put(key, io.BytesIO(key.encode()))
    assert storage.move("incoming/a.pdf", "2026/HT/00000001.pdf")
    assert not storage.exists("incoming/a.pdf")
    assert storage.get("2026/HT/00000001.pdf") == b"incoming/a.pdf"
    assert list(storage.iterate()) == [
        "2025/HT/00000003.pdf",
        "2026/HT/00000001.pdf",
        "incoming/b.pdf",
    ]
    assert list(storage.iterate("incoming")) == ["incoming/b.pdf"]
    assert storage.delete("incoming/b.pdf") is True
    assert not storage.exists("incoming/b.pdf")
    storage.put("2025/HT/00000003.pdf", io.BytesIO(b"replaced"))  # a put replaces whole
    assert storage.get("2025/HT/00000003.pdf") == b"replaced"


@pytest.mark.parametrize("key", ["../outside.pdf", "/etc/passwd", "a/../../b", ""])
def test_a_key_leaving_the_storage_is_refused(storage, key):
    with pytest.raises(StorageError):
        storage.put(key, io.BytesIO(b"x"))


def test_the_configuration_chooses_the_storage(app, tmp_path):
    local = storage_from({"STORAGE_URL": None, "ARCHIVE_ROOT": str(tmp_path)})
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    s3 = storage_from(
        {
            "STORAGE_URL": "s3://bucket/some/prefix",
            "ARCHIVE_ROOT": "x",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "S3_REGION": "cn-north-1",
            "S3_ACCESS_KEY_ID": "k",
            "S3_SECRET_ACCESS_KEY": "s",
        }
    )
    assert isinstance(s3, S3Storage) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    assert s3.describe() == "s3://bucket/some/prefix"
    assert s3.client.meta.endpoint_url == "http://127.0.0.1:9"
    with pytest.raises(StorageError):
        storage_from({"STORAGE_URL": "ftp://host/x", "ARCHIVE_ROOT": "x"})


def test_objects_live_under_the_prefix(ctx, app, s3_server, monkeypatch):
    bucket = s3_server.new_bucket()
    for key, value in s3_server.config(bucket, "crm/archive").items():
        monkeypatch.setitem(app.config, key, value)
    get_storage().put("2026/HT/1.pdf", io.BytesIO(b"x"))
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["crm/archive/2026/HT/1.pdf"]
    assert list(get_storage().iterate()) == ["2026/HT/1.pdf"]
