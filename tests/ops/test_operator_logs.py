"""Issue 18 point 5: a logger per module where something happens that an operator needs to
know (a task's summary with its counts, a backup, a key refusal, an archive flag), each under
the `crm` logger so that crm/logs.py's one handler (request/task id on every line) writes it."""

import logging
from datetime import timedelta

import pytest

from crm import backup as backups
from crm.extensions import db
from crm.keys import MissingKeys, check_keys
from crm.logs import RequestIdFilter
from crm.tasks.cards import daily as cards_daily
from crm.tasks.governance import destroy_expired_deletions


def lines(caplog, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name]


@pytest.fixture
def celery_app(app):
    celery_app = app.extensions["celery"]
    celery_app.set_current()
    celery_app.set_default()
    return celery_app


def test_a_task_run_logs_its_summary_with_counts(celery_app, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        result = cards_daily.apply(args=("2026-03-02",))
    assert result.successful(), result.traceback
    assert lines(caplog, "crm.tasks.cards") == ["cards daily: 0 reminded, 0 expired"]
    [summary] = [r for r in caplog.records if r.name == "crm.tasks.cards"]
    assert summary.levelno == logging.INFO
    assert summary.request_id == result.id  # the task's id, as on every line inside it


def test_the_retention_sweep_logs_each_destruction_and_its_count(celery_app, world, caplog):
    from crm.governance.retention import APPROVED, ask_deletion
    from crm.timeutil import utcnow

    client_id, name = world.c1.id, world.c1.name
    request = ask_deletion(db.session, [world.c1], "重复录入")  # the system deletes at once
    assert request.status == APPROVED
    request.deleted_at = utcnow() - timedelta(days=400)
    db.session.commit()
    with caplog.at_level(logging.INFO, logger="crm"):
        result = destroy_expired_deletions.apply()
    assert result.successful(), result.traceback
    assert lines(caplog, "crm.tasks.governance") == ["retention sweep: 1 deletions destroyed"]
    [destroyed] = lines(caplog, "crm.governance.retention")[:1]
    assert destroyed.startswith(f"deletion request {request.id} destroyed (clients {client_id})")
    assert name not in caplog.text  # ids and counts, never a customer's name


def test_a_backup_logs_where_it_went_and_what_it_holds(app, ctx, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "ARCHIVE_ROOT", str(tmp_path / "archive"))
    with caplog.at_level(logging.INFO, logger="crm"):
        backups.backup(tmp_path / "backup", echo=lambda line: None)
    [line] = lines(caplog, "crm.backup")
    assert line.startswith(f"backup written to {tmp_path / 'backup'}: 0 archive files, ")


def test_a_refused_start_logs_which_keys_are_wrong_never_a_value(tmp_path, caplog):
    config = {"SECRET_KEY": "a-real-looking-secret-value", "FIELD_ENCRYPTION_KEY": "not-fernet"}
    with caplog.at_level(logging.INFO, logger="crm"), pytest.raises(MissingKeys):
        check_keys(config, tmp_path)
    [line] = [r for r in caplog.records if r.name == "crm.keys"]
    assert line.levelno == logging.ERROR
    assert line.getMessage() == (
        "start refused: CRM_LOOKUP_HASH_KEY is not set; "
        "CRM_FIELD_ENCRYPTION_KEY holds a value that is not a Fernet key"
    )
    assert "a-real-looking-secret-value" not in caplog.text and "not-fernet" not in caplog.text


@pytest.mark.parametrize(
    "name",
    [
        "crm.tasks.cards",
        "crm.tasks.intake",
        "crm.tasks.revisits",
        "crm.tasks.governance",
        "crm.tasks.notifications",
        "crm.tasks.credit",
        "crm.tasks.archives",
        "crm.backup",
        "crm.keys",
        "crm.archives.services",
        "crm.archives.disposal",
        "crm.governance.retention",
        "crm.notifications.delivery",
        "crm.auth.services",
    ],
)
def test_module_loggers_go_through_the_one_crm_handler(app, name):
    import importlib

    module = importlib.import_module(name)
    logger = module.logger
    assert logger.name == name
    handlers = [h for h in logging.getLogger("crm").handlers if getattr(h, "crm_handler", False)]
    assert handlers and any(isinstance(f, RequestIdFilter) for f in handlers[0].filters)
    assert not logger.handlers and logger.propagate  # no handler of its own: crm's writes it
