"""Issue 18 point 5: `crm bench` (measurement code, 1.2k lines) is imported only when one of its
commands runs; the web app and the workers start without it. Checked in fresh interpreters:
this test process may have imported crm.bench already (tests/scale do)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_app_factory_does_not_import_the_bench():
    assert (
        _run(
            "import sys; from crm import create_app; create_app(); "
            "print(sorted(m for m in sys.modules if m.startswith('crm.bench')))"
        )
        == "[]"
    )


def test_the_worker_module_does_not_import_the_bench():
    assert (
        _run(
            "import sys; import crm.tasks.worker; "
            "print(sorted(m for m in sys.modules if m.startswith('crm.bench')))"
        )
        == "[]"
    )


def test_the_bench_commands_still_answer():
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "crm"]
    for args in (["bench", "--help"], ["bench", "credit", "--help"], ["bench-data", "--help"]):
        result = subprocess.run(
            [*flask, *args],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "Usage: python -m flask crm " + args[0] in result.stdout
    listing = subprocess.run(
        [*flask, "--help"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.returncode == 0, listing.stderr
    assert "bench " in listing.stdout and "bench-data" in listing.stdout
