"""Signing in and out (DESIGN crm/auth; RULES R17 security): argon2 hashes, lock-out after
repeated failures, disabled users refused even mid-session, safe redirects, CSRF on writes."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm import create_app
from crm.audit import AuditEvent
from crm.auth.models import LoginFailure, User
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow
from tests import factories

WRONG = _l("Wrong user name or password.")
LOCKED = _l("Too many failed sign-ins. Try again later.")
DISABLED = _l("This account is disabled.")


def text(message) -> str:
    with force_locale("zh_Hans_CN"):
        return str(message)


def sign_in(client, username, password, next_url=None):
    url = "/login" + (f"?{urlencode({'next': next_url})}" if next_url is not None else "")
    return client.post(url, data={"username": username, "password": password})


def stored(user) -> User:
    return db.session.execute(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    ).scalar_one()


def signed_in(client) -> bool:
    r = client.get("/admin/")
    return r.status_code == 200


@pytest.fixture
def user(world):
    return world.am1


def test_the_right_password_signs_in(user, client):
    r = sign_in(client, "am1", factories.PASSWORD)
    assert r.status_code == 302
    assert signed_in(client)
    assert stored(user).last_login_at is not None
    assert db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_id == user.id)
    ).all() == ["login"]


@pytest.mark.parametrize("username, password", [("am1", "wrong-pass-1"), ("nobody", "x" * 9)])
def test_a_wrong_password_or_user_is_401_with_a_message(user, client, username, password):
    r = sign_in(client, username, password)
    assert r.status_code == 401
    assert text(WRONG) in r.get_data(as_text=True)
    assert not signed_in(client)
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "login_failed")
    ).all()
    assert event.actor_label == username


def test_passwords_are_stored_as_argon2id_hashes(user):
    stored_hash = stored(user).password_hash
    assert stored_hash.startswith("$argon2id$")
    assert factories.PASSWORD not in stored_hash


def lock_of(username, address="127.0.0.1") -> LoginFailure | None:
    db.session.expire_all()
    return db.session.get(LoginFailure, (username, address))


def test_five_failures_lock_the_account_even_against_the_right_password(app, user, client):
    minutes = app.config["LOGIN_LOCK_MINUTES"]
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert sign_in(client, "am1", "wrong-pass-1").status_code == 401
    assert lock_of("am1").locked_until is None
    assert sign_in(client, "am1", "wrong-pass-1").status_code == 401
    locked_until = lock_of("am1").locked_until
    assert locked_until is not None
    assert timedelta(minutes=minutes - 1) < locked_until - utcnow() <= timedelta(minutes=minutes)

    r = sign_in(client, "am1", factories.PASSWORD)
    assert r.status_code == 401
    assert text(LOCKED) in r.get_data(as_text=True)
    assert not signed_in(client)

    # The lock runs out after LOGIN_LOCK_MINUTES; a success forgets the failures.
    lock_of("am1").locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sign_in(client, "am1", factories.PASSWORD).status_code == 302
    assert signed_in(client)
    assert lock_of("am1") is None


def test_a_success_resets_the_failure_count(app, user, client):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        sign_in(client, "am1", "wrong-pass-1")
    assert sign_in(client, "am1", factories.PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        sign_in(client, "am1", "wrong-pass-1")
    assert lock_of("am1").locked_until is None
    assert sign_in(client, "am1", factories.PASSWORD).status_code == 302


def test_a_disabled_user_cannot_sign_in(user, client):
    stored(user).active = False
    db.session.commit()
    r = sign_in(client, "am1", factories.PASSWORD)
    assert r.status_code == 401
    assert text(DISABLED) in r.get_data(as_text=True)
    assert not signed_in(client)


def test_a_session_ends_on_the_next_request_once_the_user_is_disabled(user, login_as):
    c = login_as(user)
    assert c.get("/admin/client/").status_code == 200
    stored(user).active = False
    db.session.commit()
    r = c.get("/admin/client/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = c.post(
        "/admin/client/new/",
        data={
            "name": "停用后写入",
            "kind": "organisation",
            "level": "B",
            "stage": "prospect",
            "nature": "ordinary",
            "weight": "general",
        },
    )
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert (
        db.session.execute(
            select(func.count())
            .select_from(Client)
            .where(Client.name == "停用后写入")
            .execution_options(crm_unscoped=True)
        ).scalar()
        == 0
    )


def test_sign_out_is_a_post(user, login_as):
    c = login_as(user)
    assert c.get("/logout").status_code == 405
    assert signed_in(c)
    r = c.post("/logout")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert not signed_in(c)


def test_the_session_cookie_is_http_only_and_same_site_lax(user, client):
    r = sign_in(client, "am1", factories.PASSWORD)
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("session="))
    attributes = {
        part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]
    }
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"


@pytest.mark.parametrize("target", ["/admin/client/?page=2", "/admin/keyperson/"])
def test_next_leads_back_to_a_page_of_this_site(user, client, target):
    r = sign_in(client, "am1", factories.PASSWORD, next_url=target)
    assert r.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\r\n/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
    ],
)
def test_next_cannot_lead_off_site(user, client, target):
    r = sign_in(client, "am1", factories.PASSWORD, next_url=target)
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/"


# --- with CSRF protection on, as in production ------------------------------------------------


@pytest.fixture(scope="module")
def csrf_app(app):
    """A second app on the test database, with CSRF checks on."""
    secure = create_app({**app.config, "WTF_CSRF_ENABLED": True})
    app.extensions["celery"].set_default()  # the second app must not take over the tasks
    return secure


def token_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no csrf_token in the page"
    return match.group(1)


def csrf_login(csrf_app, user):
    c = csrf_app.test_client()
    token = token_of(c.get("/login").get_data(as_text=True))
    r = c.post(
        "/login",
        data={"username": user.username, "password": factories.PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 302
    return c


def counts():
    db.session.expire_all()
    clients = db.session.execute(
        select(func.count())
        .select_from(Client)
        .execution_options(crm_unscoped=True, crm_include_deleted=True)
    ).scalar()
    deleted = db.session.execute(
        select(func.count())
        .select_from(Client)
        .where(Client.deleted_at.is_not(None))
        .execution_options(crm_unscoped=True, crm_include_deleted=True)
    ).scalar()
    return (
        clients,
        deleted,
        db.session.execute(select(func.count()).select_from(AuditEvent)).scalar(),
    )


def test_sign_in_without_a_token_is_refused(world, csrf_app):
    c = csrf_app.test_client()
    r = c.post("/login", data={"username": "am1", "password": factories.PASSWORD})
    assert r.status_code == 400
    assert c.get("/admin/").status_code == 302


def test_sign_out_needs_the_token(world, csrf_app):
    c = csrf_login(csrf_app, world.am1)
    page = c.get("/admin/").get_data(as_text=True)
    assert c.post("/logout").status_code == 400
    assert c.get("/admin/").status_code == 200
    assert c.post("/logout", data={"csrf_token": token_of(page)}).status_code == 302
    assert c.get("/admin/").status_code == 302


def test_admin_forms_carry_a_token(world, csrf_app):
    c = csrf_login(csrf_app, world.sales_manager)
    new = c.get("/admin/client/new/").get_data(as_text=True)
    create_form = new[new.rindex("<form", 0, new.index('id="name"')) :]
    assert 'name="csrf_token"' in create_form[: create_form.index("</form>")]
    listing = c.get("/admin/client/").get_data(as_text=True)
    delete_forms = re.findall(r'<form[^>]*action="/admin/client/delete/".*?</form>', listing, re.S)
    assert len(delete_forms) == 3  # one a row: c1, c2, c3
    for delete_form in delete_forms:
        assert re.search(r'name="csrf_token"[^>]*value="[^"]+"', delete_form)


def test_admin_writes_without_a_token_are_refused_and_write_nothing(world, csrf_app):
    c = csrf_login(csrf_app, world.sales_manager)
    data = {
        "name": "无令牌客户",
        "kind": "organisation",
        "level": "B",
        "stage": "prospect",
        "nature": "ordinary",
        "weight": "general",
    }
    before = counts()
    assert c.post("/admin/client/new/", data=data).status_code == 400
    assert (
        c.post("/admin/client/delete/", data={"id": world.c1.id, "reason": "无令牌"}).status_code
        == 400
    )
    assert (
        c.post(
            "/admin/client/delete/",
            data={"id": world.c1.id, "reason": "无令牌", "csrf_token": "forged"},
        ).status_code
        == 400
    )
    assert counts() == before

    # The same requests with the page's token go through: the refusals were the token's.
    token = token_of(c.get("/admin/client/new/").get_data(as_text=True))
    assert c.post("/admin/client/new/", data={**data, "csrf_token": token}).status_code == 302
    r = c.post(
        "/admin/client/delete/", data={"id": world.c1.id, "reason": "有令牌", "csrf_token": token}
    )
    assert r.status_code == 302
    clients, deleted, _ = counts()
    assert (clients, deleted) == (before[0] + 1, before[1] + 1)


def test_failures_further_apart_than_a_lock_start_afresh_and_old_rows_go(app, user, client):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        sign_in(client, "am1", "wrong-pass-1")
    row = lock_of("am1")
    row.last_failure_at = utcnow() - timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    db.session.add(
        LoginFailure(
            username="gone",
            address="10.1.1.1",
            failures=3,
            last_failure_at=utcnow() - timedelta(days=2),
        )
    )
    db.session.commit()
    sign_in(client, "am1", "wrong-pass-1")  # the old count is forgotten: 1, not a lock
    assert (lock_of("am1").failures, lock_of("am1").locked_until) == (1, None)
    sign_in(client, "someone-else", "wrong-pass-1")  # a new row sweeps rows a day old
    assert lock_of("gone", "10.1.1.1") is None
