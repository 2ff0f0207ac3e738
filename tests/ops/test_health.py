"""GET /healthz: the database and the broker, for a load balancer or a monitor."""

import socket

import pytest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_healthy_when_the_database_and_the_broker_answer(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "ok", "broker": "ok", "failed": []}
    assert r.headers["Cache-Control"] == "no-store"
    assert r.mimetype == "application/json"


@pytest.mark.parametrize(
    "broker", ["redis://127.0.0.1:{port}/0", "amqp://guest@127.0.0.1:{port}//"]
)
def test_a_broker_that_is_down_is_named_and_answers_503(app, client, monkeypatch, broker):
    url = broker.format(port=closed_port())
    monkeypatch.setattr(app.extensions["celery"].conf, "broker_url", url)
    monkeypatch.setitem(app.config, "HEALTH_BROKER_TIMEOUT", 1.0)
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {
        "status": "error",
        "database": "ok",
        "broker": "error",
        "failed": ["broker"],
    }
    assert "127.0.0.1" not in r.get_data(as_text=True)  # no address, no credentials
    assert r.headers["Cache-Control"] == "no-store"


def test_a_database_that_fails_is_named(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from crm.extensions import db

    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", refuse)
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["failed"] == ["database"]
