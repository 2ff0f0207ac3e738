"""Backups against loss (R17): a consistent copy of the database and the archive files, with a
manifest of SHA-256 sums, and its restore into an empty instance.

A backup folder holds:
  database.dump     pg_dump --format=custom (PostgreSQL), or
  database.sqlite   a copy made with SQLite's online backup API (SQLite);
  archive/...       every archive file, under its storage key: the files of ARCHIVE_ROOT, or
                    the objects of the bucket CRM_STORAGE_URL names (downloaded: a backup
                    holds the objects themselves, not references, so that it restores on its
                    own, into a folder or into any bucket);
  manifest.json     sha256 and size of each of the above, the schema revision (alembic),
                    the time (UTC) and the application's version.

The database is copied first, then the files: a file a copied row names is in the backup (files
are only ever added under a new name while the application runs, or removed by a destruction
that is then also missing from the copy's rows at the next backup)."""

import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from crm.archives.services import sha256_of
from crm.extensions import db
from crm.storage import LocalStorage, copy_into, copy_out, get_storage

MANIFEST = "manifest.json"
ARCHIVE_DIR = "archive"
FORMAT = 1
PG_LIB = Path("/usr/lib/postgresql")  # Debian: one bin folder per client version

Echo = Callable[[str], None]
logger = logging.getLogger(__name__)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


def app_version() -> str:
    try:
        return metadata.version("crm")
    except metadata.PackageNotFoundError:
        return "unknown"


def _dialect() -> str:
    return db.engine.dialect.name


def _schema_revision() -> list[str]:
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return []
        return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


# --- PostgreSQL tools ------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    """The newest pg_dump / pg_restore: CRM_PG_BIN's, on PATH, or a Debian cluster's."""
    found = []
    if os.environ.get("CRM_PG_BIN"):
        found.append(Path(os.environ["CRM_PG_BIN"]) / name)
    if shutil.which(name):
        found.append(Path(shutil.which(name)))
    found += sorted(PG_LIB.glob(f"*/bin/{name}"))
    found = [p for p in found if p.is_file() and os.access(p, os.X_OK)]
    if not found:
        raise BackupError(
            f"{name} was not found: install the PostgreSQL client "
            f"(Debian: postgresql-client) or set CRM_PG_BIN to its folder."
        )
    return str(max(found, key=_tool_major))


def _tool_major(path) -> int:
    out = subprocess.run(
        [str(path), "--version"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def _server_major() -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar()) // 10000


def _checked_tool(name: str) -> str:
    tool = _pg_tool(name)
    tool_major, server_major = _tool_major(tool), _server_major()
    if tool_major < server_major:
        raise BackupError(
            f"{tool} is version {tool_major}, older than the database server "
            f"({server_major}): install the PostgreSQL {server_major} client."
        )
    return tool


def _libpq():
    """(connection URI without password, environment with PGPASSWORD) for the pg tools."""
    url = make_url(db.engine.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict, what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.returncode}")


# --- backup ----------------------------------------------------------------------------------


def _dump_database(out: Path, echo: Echo) -> str:
    dialect = _dialect()
    if dialect == "postgresql":
        tool = _checked_tool("pg_dump")
        uri, env = _libpq()
        target = out / "database.dump"
        echo(f"database: pg_dump --format=custom ({tool})")
        _run(
            [
                tool,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={target}",
                f"--dbname={uri}",
            ],
            env,
            "pg_dump",
        )
        return target.name
    if dialect == "sqlite":
        target = out / "database.sqlite"
        echo("database: SQLite online backup")
        raw = db.engine.raw_connection()
        try:
            copy = sqlite3.connect(target)
            try:
                raw.driver_connection.backup(copy)
            finally:
                copy.close()
        finally:
            raw.close()
        return target.name
    raise BackupError(f"No backup for a {dialect} database.")


def backup(out: Path, echo: Echo = print, on_file=None) -> dict:
    """Write a backup into `out` (created; must be empty) and return its manifest.
    `on_file(done, total)` hears of each archive file copied (the command's progress bar)."""
    out = Path(out)
    storage = get_storage()
    if isinstance(storage, LocalStorage) and storage.root.resolve() in (
        out.resolve(),
        *out.resolve().parents,
    ):
        raise BackupError(
            f"{out} is inside the archive folder {storage.root}: choose another folder."
        )
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: choose a new folder for the backup.")
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    revision = _schema_revision()
    database = _dump_database(out, echo)
    files_dir = out / ARCHIVE_DIR
    files_dir.mkdir()
    count = 0
    keys = list(storage.iterate())
    for key in keys:
        copy_out(storage, key, files_dir / key)
        count += 1
        if on_file:
            on_file(count, len(keys))
        elif count % 500 == 0:
            echo(f"archive: {count} files copied")
    echo(f"archive: {count} files copied from {storage.describe()}")
    entries = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        sha, size = sha256_of(path)
        entries[path.relative_to(out).as_posix()] = {"sha256": sha, "size": size}
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(timespec="seconds"),
        "app_version": app_version(),
        "schema_revision": revision,
        "database": {"dialect": _dialect(), "file": database},
        "archive_files": count,
        "files": entries,
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    total = sum(e["size"] for e in entries.values())
    echo(f"manifest: {len(entries)} files, {total} bytes, revision {', '.join(revision)}")
    logger.info(
        "backup written to %s: %s archive files, %s files, %s bytes, revision %s",
        out,
        count,
        len(entries),
        total,
        ", ".join(revision),
    )
    return manifest


# --- restore ---------------------------------------------------------------------------------


def verify(folder: Path, echo: Echo = print) -> dict:
    """Check every file against the manifest; refuse a missing, changed or unlisted file."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"{folder} has no {MANIFEST}: it is not a backup.") from exc
    except ValueError as exc:
        raise BackupError(f"{MANIFEST} is not readable JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    listed = manifest["files"]
    for name in listed:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or not parts:
            raise BackupError(f"The backup was altered: {name} is not a path inside it.")
    for name, entry in listed.items():
        path = folder / name
        if not path.is_file():
            raise BackupError(f"The backup is incomplete: {name} is missing.")
        sha, size = sha256_of(path)
        if size != entry["size"] or sha != entry["sha256"]:
            raise BackupError(f"The backup was altered: {name} does not match its manifest sum.")
    for path in folder.rglob("*"):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed:
            raise BackupError(f"The backup was altered: {name} is not in its manifest.")
    echo(f"verified: {len(listed)} files match the manifest of {manifest['created_at']}")
    return manifest


def _restore_database(folder: Path, manifest: dict, echo: Echo) -> None:
    dialect = _dialect()
    if manifest["database"]["dialect"] != dialect:
        raise BackupError(
            f"The backup is of a {manifest['database']['dialect']} database; "
            f"this instance uses {dialect}."
        )
    source = folder / manifest["database"]["file"]
    if dialect == "postgresql":
        tool = _checked_tool("pg_restore")
        uri, env = _libpq()
        echo(f"database: pg_restore ({tool})")
        _run(
            [
                tool,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={uri}",
                str(source),
            ],
            env,
            "pg_restore",
        )
    else:
        echo("database: SQLite online backup into this instance")
        copy = sqlite3.connect(source)
        raw = db.engine.raw_connection()
        try:
            copy.backup(raw.driver_connection)
        finally:
            raw.close()
            copy.close()
    db.engine.dispose()


def restore(folder: Path, echo: Echo = print) -> dict:
    """Bring a verified backup into this instance, whose database and archive must be empty."""
    folder = Path(folder)
    manifest = verify(folder, echo)
    with db.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
    if tables:
        raise BackupError(
            f"The database already has {len(tables)} tables "
            f"(e.g. {sorted(tables)[0]}): restore only into an empty database."
        )
    storage = get_storage()
    if next(iter(storage.iterate()), None) is not None:
        raise BackupError(
            f"The archive storage {storage.describe()} is not empty: restore "
            f"only into an empty archive."
        )
    _restore_database(folder, manifest, echo)
    prefix = f"{ARCHIVE_DIR}/"
    names = [n for n in manifest["files"] if n.startswith(prefix)]
    for name in names:
        key = name[len(prefix) :]
        copy_into(storage, key, folder / name)
        # Read back from the storage: what it keeps is what the manifest sums.
        if (storage.sha256(key) or ("",))[0] != manifest["files"][name]["sha256"]:
            raise BackupError(f"{key} did not copy intact into {storage.describe()}.")
    echo(f"archive: {len(names)} files restored into {storage.describe()}")
    revision = _schema_revision()
    echo(
        f"done: schema revision {', '.join(revision)} (app {manifest['app_version']} "
        f"at backup, {app_version()} now; run `flask --app wsgi db upgrade` if newer)"
    )
    logger.info(
        "restored from %s (made %s): %s archive files, revision %s",
        folder,
        manifest["created_at"],
        len(names),
        ", ".join(revision),
    )
    return manifest
