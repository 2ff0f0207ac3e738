"""Sessions that end (issue 13, point 4): sign-out, a new password and disabling end every
session of the user server-side, a cookie copied before included; other users keep theirs."""

from flask.testing import FlaskClient
from sqlalchemy import select

from crm.auth import services
from crm.auth.models import User
from crm.extensions import db
from tests import factories


def stored(user) -> User:
    return db.session.execute(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    ).scalar_one()


def copy_of(app, web: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of `web`'s cookies (a stolen or a second-tab cookie)."""
    thief = app.test_client()
    for name in ("session", "remember_token"):
        cookie = web.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def is_signed_in(web: FlaskClient) -> bool:
    r = web.get("/admin/client/")
    if r.status_code == 200:
        return True
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    return False


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, world, login_as):
    web = login_as(world.am1)
    thief = copy_of(app, web)
    assert is_signed_in(thief)
    assert web.post("/logout").status_code == 302
    assert not is_signed_in(web)
    assert not is_signed_in(thief)


def test_sign_out_ends_the_users_other_sessions_but_not_another_users(app, world, login_as):
    laptop, phone = login_as(world.am1), login_as(world.am1)
    other = login_as(world.am2)
    laptop.post("/logout")
    assert not is_signed_in(phone)
    assert is_signed_in(other)
    # A new sign-in works, and makes a session the old cookies still do not open.
    again = login_as(world.am1)
    assert is_signed_in(again) and not is_signed_in(phone)


def test_a_remember_me_cookie_ends_with_the_session(app, world):
    web = app.test_client()
    with app.test_request_context():
        from flask_login import login_user

        user = db.session.get(User, world.am1.id)
        login_user(user, remember=True)
        from flask_login.utils import encode_cookie

        remember = encode_cookie(user.get_id())
    web.set_cookie("remember_token", remember)
    assert is_signed_in(web)  # the remember-me cookie alone signs in
    services.sign_out(db.session, stored(world.am1))
    db.session.commit()
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert not is_signed_in(fresh)


def test_a_new_password_ends_every_session(app, world, login_as):
    web, other = login_as(world.am1), login_as(world.am2)
    thief = copy_of(app, web)
    services.set_password(db.session, stored(world.am1), "a-new-pass-2027")
    db.session.commit()
    assert not is_signed_in(web)
    assert not is_signed_in(thief)
    assert is_signed_in(other)
    r = app.test_client().post("/login", data={"username": "am1", "password": "a-new-pass-2027"})
    assert r.status_code == 302


def test_disabling_ends_every_session_and_enabling_does_not_revive_it(app, world, login_as):
    web, other = login_as(world.am1), login_as(world.am2)
    thief = copy_of(app, web)
    services.set_active(db.session, stored(world.am1), False)
    db.session.commit()
    assert not is_signed_in(thief)
    services.set_active(db.session, stored(world.am1), True)
    db.session.commit()
    assert not is_signed_in(web)
    assert not is_signed_in(thief)
    assert is_signed_in(other)


def test_a_cookie_naming_the_id_alone_is_refused(app, world):
    """The cookies before this change named the user id only: they do not sign in any more."""
    web = app.test_client()
    with web.session_transaction() as session:
        session["_user_id"] = str(world.am1.id)
        session["_fresh"] = True
    assert not is_signed_in(web)
    r = web.post("/login", data={"username": "am1", "password": factories.PASSWORD})
    assert r.status_code == 302 and is_signed_in(web)
