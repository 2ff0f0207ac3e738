"""`flask --app wsgi crm bench archives --docs N`.

Files N signed-off documents with electronic files of realistic sizes (200 KB–2 MB by default,
random bytes), then times the indexing task's work (number, stored file and checksum, both
catalogue lines, one commit per document, as a worker does) and a full integrity sweep over
those files. Everything the run made — rows and files — is removed at the end. The files are
fresh in the page cache: the sweep's rate is the hashing and database cost, not the disk's.
"""

import io
import os
import random
import threading
import time
from datetime import date

import click
from flask import current_app
from sqlalchemy import delete, func, select

from crm import access
from crm.archives import rules, services
from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.auth.models import User
from crm.bench import bench, report
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow

YEAR = 1901  # a year of its own, so the bench's volumes never meet real ones
USERNAME = "bench_archive_am"


def _owner() -> tuple[User, Client]:
    user = db.session.scalar(select(User).where(User.username == USERNAME))
    if user is None:
        from crm.auth.models import Region
        from crm.auth.services import create_user

        if not db.session.scalar(select(Region.id).where(Region.code == "BENCH")):
            db.session.add(Region(code="BENCH", name="基准大区"))
            db.session.flush()
        user = create_user(
            db.session,
            USERNAME,
            "bench-pass-2026",
            access.ACCOUNT_MANAGER,
            "BENCH",
            "基准档案客户经理",
        )
    client = db.session.scalar(select(Client).where(Client.code == "BA00000001"))
    if client is None:
        client = Client(
            code="BA00000001",
            name="基准档案客户有限公司",
            kind="organisation",
            owner_id=user.id,
            region_id=user.region_id,
        )
        db.session.add(client)
        db.session.flush()
    return user, client


def _prepare(n: int, min_kb: int, max_kb: int, rng: random.Random) -> tuple[list[int], int]:
    _user, client = _owner()
    ids, total = [], 0
    categories = list(rules.CATEGORIES)
    for i in range(n):
        size = rng.randrange(min_kb * 1024, max_kb * 1024 + 1)
        total += size
        doc = services.new_document(
            db.session,
            ArchiveDocument(
                client_id=client.id,
                category=categories[i % 6],
                title=f"基准文件 {i}",
                doc_date=date(YEAR, 1 + i % 12, 1 + i % 28),
                form="both",
                pages=1 + i % 9,
            ),
        )
        doc.room, doc.cabinet, doc.shelf, doc.box = "B1", "1", "1", str(i // 50)
        services.attach_file(
            db.session, doc, io.BytesIO(os.urandom(size)), f"{i}.pdf", "application/pdf"
        )
        doc.customer_signed, doc.handler, doc.approved_at = True, "基准经办人", utcnow()
        services.file_document(db.session, doc)
        ids.append(doc.id)
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()
    return ids, total


def _index(ids: list[int], workers: int) -> None:
    app = current_app._get_current_object()
    chunks = [ids[k::workers] for k in range(workers)]
    errors = []

    def work(chunk):
        with app.app_context():
            try:
                for doc_id in chunk:
                    services.index_document(db.session, doc_id)
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001  (reported after the run)
                errors.append(exc)

    if workers == 1:
        work(ids)
    else:
        threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise click.ClickException(f"indexing failed: {errors[0]!r}")


def _cleanup(user_id: int) -> None:
    docs = db.session.scalars(
        select(ArchiveDocument).where(ArchiveDocument.manager_id == user_id)
    ).all()
    for doc in docs:
        for rel in (doc.storage_path, doc.incoming_path):
            if rel:
                services.remove_file(rel)
    ids = [d.id for d in docs]
    db.session.execute(delete(ArchiveFlag).where(ArchiveFlag.document_id.in_(ids)))
    db.session.execute(delete(CatalogueLine).where(CatalogueLine.document_id.in_(ids)))
    db.session.execute(delete(ArchiveDocument).where(ArchiveDocument.id.in_(ids)))
    db.session.execute(delete(ArchiveVolume).where(ArchiveVolume.manager_id == user_id))
    db.session.commit()


def index_waiting(n: int, workers: int, out: str | None) -> dict:
    """Bind `n` of the scans `crm bench-data` filed for indexing, as the indexing task does
    (they stay bound: each run takes the next ones)."""
    ids = db.session.scalars(
        select(ArchiveDocument.id)
        .where(ArchiveDocument.status == rules.FILED, ArchiveDocument.archive_no.is_(None))
        .order_by(ArchiveDocument.id)
        .limit(n)
    ).all()
    if not ids:
        raise click.ClickException(
            "no documents wait for indexing: load more with `crm bench-data`"
        )
    waiting = db.session.scalar(
        select(func.count())
        .select_from(ArchiveDocument)
        .where(ArchiveDocument.status == rules.FILED)
    )
    db.session.rollback()
    start = time.perf_counter()
    _index(ids, workers)
    seconds = time.perf_counter() - start
    stored = db.session.scalar(
        select(func.coalesce(func.sum(ArchiveDocument.size), 0)).where(ArchiveDocument.id.in_(ids))
    )
    figures = {
        "documents bound": len(ids),
        "of those waiting": waiting,
        "workers": workers,
        "seconds": round(seconds, 2),
        "documents/s": round(len(ids) / seconds, 1),
        "stored KB/document": round(stored / 1024 / len(ids), 1),
    }
    report(f"archive indexing of waiting scans ({db.engine.dialect.name})", figures, out)
    return figures


@bench.command("archives")
@click.option("--docs", "n_docs", default=200, show_default=True)
@click.option("--min-kb", default=200, show_default=True)
@click.option("--max-kb", default=2048, show_default=True)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="Indexing threads (PostgreSQL; SQLite serialises writers).",
)
@click.option("--keep", is_flag=True, help="Leave the documents and files in place.")
@click.option("--out", default=None, help="Append the results to this JSON file.")
def archives_cmd(n_docs, min_kb, max_kb, workers, keep, out):
    """Indexing throughput (documents/s) and the integrity sweep's rate (MB/s)."""
    rng = random.Random(20261125)
    user, _client = _owner()
    db.session.commit()
    _cleanup(user.id)
    start = time.perf_counter()
    ids, total = _prepare(n_docs, min_kb, max_kb, rng)
    prepared = time.perf_counter() - start

    start = time.perf_counter()
    _index(ids, workers)
    indexing = time.perf_counter() - start

    start = time.perf_counter()
    result = services.check_integrity(db.session, share_percent=100, ids=ids)
    db.session.commit()
    sweep = time.perf_counter() - start

    mb = total / 1024 / 1024
    rows = {
        "database": db.engine.url.get_backend_name(),
        "archive root": current_app.config["ARCHIVE_ROOT"],
        "documents": n_docs,
        "file sizes (KB)": f"{min_kb}–{max_kb}",
        "total MB": round(mb, 1),
        "workers": workers,
        "upload (untimed set-up) s": round(prepared, 2),
        "indexing s": round(indexing, 2),
        "indexing docs/s": round(n_docs / indexing, 1),
        "indexing MB/s": round(mb / indexing, 1),
        "integrity sweep s": round(sweep, 2),
        "integrity files checked": result["checked"],
        "integrity MB/s": round(result["bytes"] / 1024 / 1024 / sweep, 1),
        "integrity flags raised": result["changed"] + result["missing"] + result["sets"],
    }
    if not keep:
        _cleanup(user.id)
    report(f"archives: indexing and integrity ({n_docs} documents)", rows, out)
