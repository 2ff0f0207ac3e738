"""Operable (issue 13 point 6): one log line per request with its id and the user's, the id
on every record logged while the request runs, and loggers configured once by the factory."""

import logging

from crm import create_app
from crm.config import TestConfig
from crm.logs import FORMAT, RequestIdFilter
from tests import factories

REQUESTS = "crm.requests"


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == REQUESTS]


def test_one_line_per_request_with_method_path_status_duration_and_user(world, login_as, caplog):
    c = login_as(world.am1)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crm"):
        r = c.get("/admin/client/?search=13912345678")
    [line] = request_lines(caplog)
    assert line.levelno == logging.INFO
    message = line.getMessage()
    assert message.startswith("GET /admin/client/ 200 ")
    assert f"user={world.am1.id}" in message
    assert (line.status, line.user_id) == (200, str(world.am1.id))
    assert line.duration_ms >= 0 and "ms" in message
    assert line.request_id == r.headers["X-Request-ID"]
    assert len(line.request_id) == 32
    assert "13912345678" not in caplog.text  # the path only: a search may be a phone number


def test_an_anonymous_request_is_logged_without_a_user(client, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        r = client.get("/admin/")
    [line] = request_lines(caplog)
    assert line.getMessage().startswith("GET /admin/ 302 ")
    assert line.getMessage().endswith("user=-")
    assert line.request_id == r.headers["X-Request-ID"]


def test_a_valid_request_id_is_kept_and_an_invalid_one_replaced(client, caplog):
    with caplog.at_level(logging.INFO, logger="crm"):
        r = client.get("/login", headers={"X-Request-ID": "lb-7f3a.2026:01"})
        bad = client.get("/login", headers={"X-Request-ID": "x y<script>" + "z" * 80})
    assert r.headers["X-Request-ID"] == "lb-7f3a.2026:01"
    assert bad.headers["X-Request-ID"] != "x y<script>" + "z" * 80
    assert len(bad.headers["X-Request-ID"]) == 32
    ids = [line.request_id for line in request_lines(caplog)]
    assert ids == ["lb-7f3a.2026:01", bad.headers["X-Request-ID"]]


def test_records_logged_during_a_request_carry_its_id_and_no_user_name(world, client, caplog):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crm"):
        r = client.post(
            "/login",
            data={"username": "am1", "password": "wrong-password"},
            headers={"X-Request-ID": "req-42"},
        )
        client.post("/login", data={"username": "nobody-13912345678", "password": "x" * 9})
    assert r.status_code == 401
    [refused, unknown] = [rec for rec in caplog.records if rec.name == "crm.auth.services"]
    assert refused.levelno == logging.WARNING
    assert refused.getMessage() == f"sign-in login_failed: user {world.am1.id}"
    assert refused.request_id == "req-42"
    assert unknown.getMessage() == "sign-in login_failed: user unknown"
    assert "13912345678" not in caplog.text and "wrong-password" not in caplog.text


def test_a_user_written_on_screen_is_logged_by_id(world, login_as, caplog):
    admin = login_as(world.admin)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crm"):
        r = admin.post(
            "/admin/user/new/",
            data={
                "username": "logged",
                "full_name": "日志",
                "role": "finance",
                "region": "__None",
                "email": "",
                "locale": "zh_Hans_CN",
                "password": "logged-pass-1",
            },
        )
    assert r.status_code == 302
    [created] = [rec for rec in caplog.records if rec.name == "crm.auth.services"]
    assert (
        created.getMessage().startswith("user ") and "created, role finance" in created.getMessage()
    )
    assert created.request_id == r.headers["X-Request-ID"]


def test_the_factory_configures_the_crm_logger_once_at_the_setting_level(app):
    crm_logger = logging.getLogger("crm")
    ours = [h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]
    assert len(ours) == 1
    assert ours[0].formatter._fmt == FORMAT
    assert any(isinstance(f, RequestIdFilter) for f in ours[0].filters)
    level = crm_logger.level
    try:
        create_app(
            {
                **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                "LOG_LEVEL": "warning",
            }
        )
        assert crm_logger.level == logging.WARNING
        assert len([h for h in crm_logger.handlers if getattr(h, "crm_handler", False)]) == 1
    finally:
        crm_logger.setLevel(level)
        app.extensions["celery"].set_default()
        app.extensions["celery"].set_current()


def test_the_formatted_line_has_time_level_logger_and_request_id(app, capsys):
    with app.test_request_context():
        from flask import g

        g.request_id = "fmt-1"
        logging.getLogger("crm.tests").warning("hello")
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if x.endswith("hello")]
    assert " WARNING crm.tests [fmt-1] hello" in line
    assert line[:4].isdigit()  # the time first
    assert factories.PASSWORD not in err
