"""Issue 13.1: no publicly known secret. Outside the tests and the demo the app refuses to start
without its three keys; the demo makes its own once; a cookie signed with the default that
the code once shipped opens nothing."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from crm import create_app
from crm.config import TestConfig
from crm.keys import DEMO_KEY_FILE, PUBLISHED_SECRET, MissingKeys, check_keys

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("CRM_SECRET_KEY", "CRM_FIELD_ENCRYPTION_KEY", "CRM_LOOKUP_HASH_KEY")
UA = "crm-tests"


def _config(**overrides) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, **overrides}


@pytest.mark.parametrize("name", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "LOOKUP_HASH_KEY"])
def test_the_app_refuses_to_start_without_each_key(name):
    with pytest.raises(MissingKeys) as refused:
        create_app(_config(**{name: None, "TESTING": False}))
    message = str(refused.value)
    assert f"CRM_{name} is not set" in message
    assert message.count("is not set") == 1  # only the missing one is named
    assert "python3 -c" in message  # and how to make it
    if name == "FIELD_ENCRYPTION_KEY":
        assert "Fernet.generate_key()" in message
    assert refused.value.code == message  # SystemExit: printed as is, exit status 1


def test_the_published_default_and_a_malformed_field_key_are_refused():
    with pytest.raises(MissingKeys, match="CRM_SECRET_KEY is the default once published"):
        create_app(_config(SECRET_KEY=PUBLISHED_SECRET))
    with pytest.raises(MissingKeys, match="CRM_FIELD_ENCRYPTION_KEY holds a value that is not"):
        create_app(_config(FIELD_ENCRYPTION_KEY=f"{TestConfig.FIELD_ENCRYPTION_KEY},nope"))


def _run(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in KEYS and k != "CRM_DEMO"}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_production_entry_point_names_every_missing_key_in_one_message(tmp_path):
    out = _run("import wsgi", CRM_INSTANCE_DIR=str(tmp_path))
    assert out.returncode == 1
    for name in KEYS:
        assert f"{name} is not set" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.count("The CRM will not start") == 1
    assert not (tmp_path / DEMO_KEY_FILE).exists()  # no key is made up outside the demo


def test_the_demo_makes_its_keys_once_and_every_process_reuses_them(tmp_path):
    code = (
        "from crm import create_app\n"
        "c = create_app().config\n"
        "print(c['SECRET_KEY'], c['FIELD_ENCRYPTION_KEY'], c['LOOKUP_HASH_KEY'], "
        "c['SESSION_COOKIE_SECURE'])\n"
    )
    first = _run(code, CRM_DEMO="1", CRM_INSTANCE_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / DEMO_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    made = key_file.read_text()
    secret, field, lookup, secure = first.stdout.split()
    assert f"CRM_SECRET_KEY={secret}\n" in made and f"CRM_FIELD_ENCRYPTION_KEY={field}\n" in made
    assert f"CRM_LOOKUP_HASH_KEY={lookup}\n" in made
    assert secure == "False"  # the demo runs on http://127.0.0.1

    # A second process (the worker, beat, the next run) reads the same keys, unchanged.
    second = _run(code, CRM_DEMO="1", CRM_INSTANCE_DIR=str(tmp_path))
    assert second.stdout == first.stdout
    assert key_file.read_text() == made
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp file left


def test_demo_keys_given_in_the_environment_win(tmp_path):
    config = {"DEMO": True, "SECRET_KEY": "from-the-environment"}
    check_keys(config, tmp_path)
    assert config["SECRET_KEY"] == "from-the-environment"
    assert config["FIELD_ENCRYPTION_KEY"] and config["LOOKUP_HASH_KEY"]


def test_demo_sh_runs_every_process_as_the_demo():
    script = (ROOT / "scripts" / "demo.sh").read_text()
    # Exported before the first flask command, so that the web app, worker and beat inherit it.
    assert script.index("export CRM_DEMO=1") < script.index(".venv/bin/flask")


def _forged_cookie(app, user_id: str, secret: str) -> str:
    """A Flask-Login session for user_id, signed with `secret`, as an attacker would make it."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(
        environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"User-Agent": UA}
    ):
        identifier = _create_identifier()
    signer = Flask("forger")
    signer.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    return serializer.dumps({"_user_id": str(user_id), "_fresh": True, "_id": identifier})


def test_a_cookie_signed_with_the_old_default_secret_opens_nothing(app, world):
    export = "/admin/client/export/csv/"

    def fetch(cookie):
        c = app.test_client()
        c.set_cookie("session", cookie, domain="localhost")
        return c.get(export, headers={"User-Agent": UA})

    # The forgery is right: signed with the app's own key it is the general manager's session.
    assert (
        fetch(
            _forged_cookie(app, world.general_manager.get_id(), app.config["SECRET_KEY"])
        ).status_code
        == 200
    )
    r = fetch(_forged_cookie(app, world.general_manager.get_id(), PUBLISHED_SECRET))
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert app.config["SECRET_KEY"] != PUBLISHED_SECRET


def test_the_suite_and_the_processes_it_starts_share_one_set_of_keys(app):
    # A worker or CLI process started by a test reads the environment: same keys as the app.
    for name in KEYS:
        assert app.config[name.removeprefix("CRM_")] == os.environ[name]
