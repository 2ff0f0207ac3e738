"""Issue 18 point 5: dependencies with upper bounds (one minor for the libraries whose private
APIs the code uses), lock files that the scripts install from and that this environment
matches, and a pre-commit config whose tool versions are the lock's."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements() -> list[Requirement]:
    extras = PROJECT["optional-dependencies"]
    return [Requirement(r) for r in [*PROJECT["dependencies"], *extras["dev"], *extras["prod"]]]


def _locked(name: str) -> dict[str, str]:
    """name → version of a lock file, for this interpreter (markers evaluated)."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        match = re.match(
            r"^([A-Za-z0-9._-]+(?:\[[^\]]*\])?)==([^\s;\\]+)\s*(?:;\s*([^\\]+))?", line
        )
        if match:
            req = Requirement(f"{match[1]}=={match[2]}" + (f"; {match[3]}" if match[3] else ""))
            if req.marker is None or req.marker.evaluate(default_environment()):
                pins[_norm(req.name)] = match[2]
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _upper(spec: SpecifierSet) -> Version | None:
    bounds = [Version(s.version) for s in spec if s.operator in ("<", "<=", "==", "~=")]
    return min(bounds) if bounds else None


def test_every_dependency_has_an_upper_bound():
    assert [str(r) for r in _requirements() if _upper(r.specifier) is None] == []


def test_the_libraries_whose_private_apis_the_code_uses_are_bound_to_one_minor():
    by_name = {_norm(r.name): r.specifier for r in _requirements()}
    for name in ("flask-admin", "sqlalchemy", "ruff"):
        spec = by_name[name]
        lowest = min(Version(s.version) for s in spec if s.operator == ">=")
        top = _upper(spec)
        assert (top.major, top.minor) == (lowest.major, lowest.minor + 1) and top.micro == 0, (
            f"{name} {spec}: one minor only"
        )


def test_the_locks_pin_everything_within_the_ranges_and_agree():
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert {k: v for k, v in dev.items() if k in runtime} == runtime  # same versions in both
    for req in _requirements():
        assert _norm(req.name) in dev, f"{req.name} is not in requirements-dev.lock"
        assert req.specifier.contains(dev[_norm(req.name)]), (req.name, dev[_norm(req.name)])


def test_this_environment_is_the_lock():
    """./scripts/test.sh installs requirements-dev.lock: what runs the tests is what is locked."""
    different = {
        name: (version, metadata.version(name))
        for name, version in _locked("requirements-dev.lock").items()
        if _norm(metadata.version(name)) != _norm(version)
    }
    assert different == {}


def test_the_scripts_install_from_the_locks():
    assert "-r requirements-dev.lock" in (ROOT / "scripts/test.sh").read_text()
    assert "-r requirements.lock" in (ROOT / "scripts/demo.sh").read_text()
    for script in ("scripts/test.sh", "scripts/demo.sh"):
        assert "--no-deps -e ." in (ROOT / script).read_text()
    assert "./scripts/test.sh --version" in (ROOT / ".ci/run").read_text()


def test_the_pre_commit_hooks_use_the_locked_tools():
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    ids = re.findall(r"^\s+- id: (\S+)", config, re.M)
    assert ids == ["ruff-check", "ruff-format", "trailing-whitespace", "one-migration-head"]
    dev = _locked("requirements-dev.lock")
    assert set(re.findall(r'"ruff==([^"]+)"', config)) == {dev["ruff"]}
    assert "tests/test_migrations.py::test_the_migrations_have_one_head" in config
    ci = (ROOT / ".ci/run").read_text()
    assert "ruff check crm tests" in ci and "ruff format --check" in ci  # CI checks the same


def test_the_pre_commit_config_is_valid():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
