"""`flask crm create-user`: the way the first users are made (DESIGN crm/cli.py)."""

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm.access import ROLES
from crm.auth.models import User
from crm.auth.passwords import verify_password
from crm.extensions import db

PASSWORD = "cli-pass-2026"


def text(message) -> str:
    """A message as the command prints it: in the default locale."""
    with force_locale("zh_Hans_CN"):
        return str(message)


@pytest.fixture
def regions(world):
    return world.east, world.north


def invoke(app, *args, password=PASSWORD):
    extra = ["--password", password] if password is not None else []
    return app.test_cli_runner().invoke(args=["crm", "create-user", *args, *extra])


def users_named(username: str) -> list[User]:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).all()


def user_count() -> int:
    return db.session.execute(select(func.count()).select_from(User)).scalar()


def test_creates_a_user_who_can_sign_in(app, regions, client):
    result = invoke(
        app, "wang", "--role", "account_manager", "--region", "EAST", "--name", "王经理"
    )
    assert result.exit_code == 0, result.output
    assert "created wang (account_manager)" in result.output
    [user] = users_named("wang")
    assert (user.role, user.region_id, user.full_name, user.active) == (
        "account_manager",
        regions[0].id,
        "王经理",
        True,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)
    r = client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert r.status_code == 302


def test_the_region_may_be_given_by_name(app, regions):
    result = invoke(app, "zhao", "--role", "regional_manager", "--region", "华北大区")
    assert result.exit_code == 0, result.output
    assert users_named("zhao")[0].region_id == regions[1].id


def test_the_password_can_be_typed_at_the_prompt(app, regions):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["crm", "create-user", "qian", "--role", "finance"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert verify_password(users_named("qian")[0].password_hash, PASSWORD)


def test_an_unknown_role_is_refused_with_the_roles_named(app, regions):
    before = user_count()
    result = invoke(app, "boss", "--role", "boss", "--region", "EAST")
    assert result.exit_code == 2
    assert "--role" in result.output and "'boss' is not one of" in result.output
    assert "account_manager" in result.output  # the valid choices are listed
    assert user_count() == before


def test_an_unknown_region_is_refused_with_a_clear_message(app, regions):
    before = user_count()
    result = invoke(app, "li", "--role", "account_manager", "--region", "MARS")
    assert result.exit_code == 1
    assert f"Error: {text(_l('Unknown region: %(region)s', region='MARS'))}" in result.output
    assert "Traceback" not in result.output
    assert users_named("li") == [] and user_count() == before


@pytest.mark.parametrize("role", ["account_manager", "regional_manager"])
def test_regional_roles_need_a_region(app, regions, role):
    result = invoke(app, "noregion", "--role", role)
    assert result.exit_code == 1
    assert text(_l("The role %(role)s needs a region.", role=ROLES[role])) in result.output
    assert users_named("noregion") == []


def test_a_taken_name_and_a_short_password_are_refused(app, regions):
    assert invoke(app, "sun", "--role", "clerk").exit_code == 0
    result = invoke(app, "sun", "--role", "service")
    assert result.exit_code == 1
    assert text(_l("The user name %(name)s is taken.", name="sun")) in result.output
    assert [u.role for u in users_named("sun")] == ["clerk"]
    result = invoke(app, "zhou", "--role", "clerk", password="short")
    assert result.exit_code == 1
    assert text(_l("A password has at least %(n)d characters.", n=8)) in result.output
    assert users_named("zhou") == []
