"""Issue 18 point 5: `crm bench` (measurement code, 1.2k lines) is imported only when one of its
commands runs; the web app and the workers start without it. Checked in fresh interpreters:
this test process may have imported crm.bench already (tests/scale do)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_MODULES = "print(sorted(m for m in sys.modules if m.startswith('crm.bench')))"


def _python(*args: str) -> str:
    """Runs `python ARGS` in a fresh interpreter (this run's keys and instance folder) and
    returns its output."""
    result = subprocess.run(
        [sys.executable, *args],
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
        _python("-c", f"import sys; from crm import create_app; create_app(); {BENCH_MODULES}")
        == "[]"
    )


def test_the_worker_module_does_not_import_the_bench():
    assert _python("-c", f"import sys; import crm.tasks.worker; {BENCH_MODULES}") == "[]"


def test_the_bench_commands_still_answer():
    flask = ["-m", "flask", "--app", "wsgi", "crm"]
    for args in (["bench", "--help"], ["bench", "credit", "--help"], ["bench-data", "--help"]):
        assert "Usage: python -m flask crm " + args[0] in _python(*flask, *args)
    listing = _python(*flask, "--help")
    assert "bench " in listing and "bench-data" in listing
