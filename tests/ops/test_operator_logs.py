"""Issue 18 point 5: a logger per module where something happens that an operator needs to
know (a backup, a key refusal; a task's summary: tests/tasks/test_task_log.py), each under
the `crm` logger so that crm/logs.py's one handler (request/task id on every line) writes it."""

import logging

import pytest

from crm import backup as backups
from crm.keys import MissingKeys, check_keys
from crm.logs import RequestIdFilter


def lines(caplog, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name]


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


def test_every_module_logger_is_named_after_its_module():
    """A logger named otherwise would sit outside `crm` and miss its handler and level."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "crm"
    calls = [
        (path.relative_to(root.parent).as_posix(), call)
        for path in root.rglob("*.py")
        for call in re.findall(r"getLogger\(([^)]*)\)", path.read_text(encoding="utf-8"))
    ]
    odd = [
        (path, call)
        for path, call in calls
        if call != "__name__" and not re.fullmatch(r"""["']crm(\.[\w.]+)?["']""", call)
    ]
    assert len(calls) > 15 and odd == []
