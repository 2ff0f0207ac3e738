"""Issue 17: `crm bench load` starts gunicorn on the test database, signs in staff of mixed
roles and runs the daily mix for a moment; every step answers, and the figures are filed as
JSON (no timings asserted: only that each step and role ran without errors)."""

import json

import pytest
from sqlalchemy import func, select

from crm.clients.models import ContactLog
from crm.extensions import db


@pytest.fixture
def tiny(app, ctx):
    result = app.test_cli_runner().invoke(
        args=["crm", "bench-data", "--clients", "60", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output


def test_load_runs_the_daily_mix_against_gunicorn(app, tiny, tmp_path):
    logs_before = db.session.scalar(select(func.count()).select_from(ContactLog))
    out = tmp_path / "load.json"
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "bench",
            "load",
            "--users",
            "6",
            "--seconds",
            "4",
            "--max-requests",
            "120",
            "--workers",
            "1",
            "--threads",
            "2",
            "--json",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["users"] == 6
    total = figures["total"]
    assert 0 < total["requests"] <= 120 and total["errors"] == 0, figures
    steps = figures["steps"]
    for role in ("account_manager", "regional_manager", "sales_manager"):
        assert any(name.endswith(f"| {role}") for name in steps), steps
    assert {name.split(" | ")[0] for name in steps} >= {"list", "search", "card"}
    for f in steps.values():
        assert f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"]
    written = sum(f["requests"] for name, f in steps.items() if name.startswith("contact log"))
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(ContactLog)) == logs_before + written
    assert "requests/s" in result.output


def test_the_figures_say_which_statuses_failed():
    from collections import Counter

    from crm.bench.load import _statuses, summarise

    samples = {("contact log", "regional_manager"): [10.0, 20.0], ("list", "sales_manager"): [5.0]}
    errors = {("contact log", "regional_manager"): Counter({500: 1, 0: 2})}
    figures = summarise(samples, errors, 1.0, 2)
    step = figures["steps"]["contact log | regional_manager"]
    assert step["errors"] == 3 and step["error_statuses"] == {"0": 2, "500": 1}
    assert figures["total"]["errors"] == 3
    assert _statuses(step) == " (no answer ×2, HTTP 500 ×1)"
    assert figures["steps"]["list | sales_manager"]["error_statuses"] == {}
    assert _statuses(figures["steps"]["list | sales_manager"]) == ""
