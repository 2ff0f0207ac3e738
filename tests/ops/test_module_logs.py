"""Areas log what they do through their own loggers: ids and counts, never an address, a
phone or a password."""

import logging

from crm.extensions import db
from crm.notifications.services import notify, send_outbox

PASSWORD = "cli-log-pass-1"


def test_the_cli_logs_the_user_it_creates_without_the_password(app, world, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        result = app.test_cli_runner().invoke(
            args=["crm", "create-user", "logwang", "--role", "finance", "--password", PASSWORD]
        )
    assert result.exit_code == 0, result.output
    names = {r.name for r in caplog.records}
    assert {"crm.cli", "crm.auth.services"} <= names
    [line] = [r for r in caplog.records if r.name == "crm.cli"]
    assert line.getMessage().startswith("crm create-user: user ")
    assert PASSWORD not in caplog.text


def test_a_mail_that_cannot_be_sent_is_a_warning_without_its_address(
    app, world, caplog, monkeypatch
):
    notify(db.session, [], "evt:log", "test", "主题", "正文", addresses=["wang@example.com"])
    db.session.commit()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nothing listens there
    with caplog.at_level(logging.INFO, logger="crm"):
        assert send_outbox(db.session) == 0
    warning, summary = [r for r in caplog.records if r.name == "crm.notifications.delivery"]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == (
        "outbox_mail 1 not sent (attempt 1, pending): ConnectionRefusedError"
    )
    assert summary.getMessage() == "outbox: 0 of 1 mails sent"
    assert "wang@example.com" not in caplog.text
