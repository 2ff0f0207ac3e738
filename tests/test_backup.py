"""Backups (issue 16 point 11, R17): `crm backup` copies the database and the archive files with a
manifest of SHA-256 sums; `crm restore` verifies it and brings it back into an EMPTY instance —
on SQLite and on PostgreSQL (a second database made and dropped here)."""

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from crm import backup as backups
from crm import create_app
from crm.archives.models import ArchiveDocument
from crm.clients.models import Client
from crm.extensions import db
from tests.archives.conftest import index, make_doc
from tests.conftest import IS_POSTGRES


@pytest.fixture
def archive(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))
    return tmp_path / "archive"


@pytest.fixture
def stocked(world, archive):
    """Three customers, each with an archived contract whose scan is on disk."""
    for key in ("c1", "c2", "c3"):
        index(
            make_doc(
                getattr(world, key), title=f"合同-{key}", content=f"%PDF-1.4 scan of {key}".encode()
            )
        )
    return world


@pytest.fixture
def empty_instance(app, tmp_path):
    """A second app on an empty database and an empty archive folder."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if IS_POSTGRES:
        import psycopg

        name = f"{url.database}_restore"
        admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        target = url.set(database=name).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    other = create_app(
        {
            **app.config,
            "SQLALCHEMY_DATABASE_URI": target,
            "ARCHIVE_ROOT": str(tmp_path / "restored-archive"),
        }
    )
    app.extensions["celery"].set_current()  # tasks called later run in the tests' own app
    app.extensions["celery"].set_default()
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    # create_app made the other app's Celery the default: tasks run after this test (eagerly,
    # through shared_task) must find the session's app and database again.
    app.extensions["celery"].set_current()
    app.extensions["celery"].set_default()
    if IS_POSTGRES:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def files_by_hash(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def customers() -> list[str]:
    return sorted(db.session.scalars(select(Client.name)))


def run(app, *args):
    # The CLI uses the current app when there is one (the tests' own): push the one meant.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["crm", *args])
        db.session.remove()
    return result


def test_backup_then_restore_into_an_empty_instance(
    app, stocked, archive, tmp_path, empty_instance
):
    names, originals = customers(), files_by_hash(archive)
    assert len(names) == 3 and len(originals) == 3
    out = tmp_path / "backup"
    made = run(app, "backup", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert "archive: 3 files copied" in made.output and "manifest:" in made.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_revision"] and manifest["app_version"] and manifest["created_at"]
    database = manifest["database"]["file"]
    assert database == ("database.dump" if IS_POSTGRES else "database.sqlite")
    assert set(manifest["files"]) == {database, *(f"archive/{n}" for n in originals)}
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    restored = run(empty_instance, "restore", str(out))
    assert restored.exit_code == 0, restored.output
    assert "verified: 4 files match the manifest" in restored.output
    with empty_instance.app_context():
        assert customers() == names
        assert db.session.scalar(select(func.count()).select_from(Client)) == 3
        root = Path(empty_instance.config["ARCHIVE_ROOT"])
        assert files_by_hash(root) == originals
        for doc in db.session.scalars(select(ArchiveDocument)):  # the rows name the files
            assert hashlib.sha256((root / doc.storage_path).read_bytes()).hexdigest() == doc.sha256
        db.session.remove()

    again = run(empty_instance, "restore", str(out))  # no longer empty
    assert again.exit_code != 0 and "restore only into an empty database" in again.output


def test_a_tampered_backup_is_refused_naming_the_file(
    app, stocked, archive, tmp_path, empty_instance
):
    out = tmp_path / "backup"
    assert run(app, "backup", "--out", str(out)).exit_code == 0
    victim = next(p for p in (out / "archive").rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes() + b" forged")
    refused = run(empty_instance, "restore", str(out))
    assert refused.exit_code != 0
    name = victim.relative_to(out).as_posix()
    assert f"The backup was altered: {name} does not match" in refused.output
    extra = tmp_path / "backup2"
    assert run(app, "backup", "--out", str(extra)).exit_code == 0
    (extra / "archive" / "planted.pdf").write_bytes(b"x")
    planted = run(empty_instance, "restore", str(extra))
    assert "archive/planted.pdf is not in its manifest" in planted.output
    with empty_instance.app_context():  # nothing was restored
        assert not db.inspect(db.engine).get_table_names()
        assert not Path(empty_instance.config["ARCHIVE_ROOT"]).exists()
        db.session.remove()


def test_a_manifest_naming_a_path_outside_the_backup_is_refused(
    app, stocked, tmp_path, empty_instance
):
    out = tmp_path / "backup"
    assert run(app, "backup", "--out", str(out)).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["archive/../../escaped.pdf"] = {"sha256": "0" * 64, "size": 1}
    (out / "manifest.json").write_text(json.dumps(manifest))
    refused = run(empty_instance, "restore", str(out))
    assert "archive/../../escaped.pdf is not a path inside it" in refused.output
    assert not (tmp_path / "escaped.pdf").exists()


def test_restore_refuses_a_database_with_tables(app, stocked, tmp_path):
    out = tmp_path / "backup"
    assert run(app, "backup", "--out", str(out)).exit_code == 0
    refused = run(app, "restore", str(out))
    assert refused.exit_code != 0 and "restore only into an empty database" in refused.output
    assert len(customers()) == 3


def test_backup_refuses_a_folder_that_is_not_empty(app, world, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "x").write_text("x")
    result = run(app, "backup", "--out", str(tmp_path / "old"))
    assert result.exit_code != 0 and "is not empty" in result.output
    inside = run(app, "backup", "--out", str(Path(app.config["ARCHIVE_ROOT"]) / "b"))
    assert inside.exit_code != 0 and "is inside the archive folder" in inside.output


def test_pg_dump_missing_or_older_than_the_server_is_refused(ctx, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    monkeypatch.delenv("CRM_PG_BIN", raising=False)
    monkeypatch.setattr(backups, "PG_LIB", tmp_path / "nothing")
    with pytest.raises(backups.BackupError, match="pg_dump was not found"):
        backups._checked_tool("pg_dump")
    old = tmp_path / "bin" / "pg_dump"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.9'\n")
    old.chmod(0o755)
    monkeypatch.setenv("CRM_PG_BIN", str(old.parent))
    monkeypatch.setattr(backups, "_server_major", lambda: 15)
    with pytest.raises(backups.BackupError, match=r"version 13, older than the database server"):
        backups._checked_tool("pg_dump")
    monkeypatch.setattr(backups, "_server_major", lambda: 13)
    assert backups._checked_tool("pg_dump") == str(old)
