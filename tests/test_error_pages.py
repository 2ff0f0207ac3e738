"""Error pages (issue 14): 400, 403, 404, 405, 413, 429 and 500 in the user's language, inside
the app's layout for a signed-in user, plain for anyone else, always with a way back; JSON for
AJAX look-ups; a 500 rolls the session back."""

import io

import pytest
from flask import abort
from werkzeug.exceptions import TooManyRequests

from crm.auth.models import Region
from crm.extensions import db

ZH = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    405: "无法这样操作",
    413: "文件过大",
    429: "请求过于频繁",
    500: "系统出错",
}
EN = {
    400: "Bad request",
    403: "Access denied",
    404: "Page not found",
    405: "Not possible here",
    413: "File too large",
    429: "Too many requests",
    500: "Something went wrong",
}
WERKZEUG = (
    "The requested URL was not found",
    "Internal Server Error",
    "Traceback",
    "Method Not Allowed",
    "You don't have the permission",
    "Request Entity Too Large",
    "Bad Request",
)


def _429():
    raise TooManyRequests()


def _500():
    db.session.add(Region(code="EAST", name="重复的大区"))  # the world's EAST: a flush error
    db.session.flush()


@pytest.fixture
def replace_view(app, monkeypatch):
    """An existing endpoint answering as a failing view would (no new route after start)."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def _replace(func):
        monkeypatch.setitem(app.view_functions, "admin.index", func)
        return "/admin/"

    return _replace


def make(code, world, app, monkeypatch, replace_view):
    """(user, method, path, kwargs) that produce `code` through the real app."""
    if code == 400:  # closing a year without saying which
        return world.sales_manager, "post", "/admin/archive_volume/close-year/", {}
    if code == 403:
        return world.finance, "get", "/admin/user/", {}
    if code == 404:
        return world.sales_manager, "get", "/admin/client/details/?id=424242", {}
    if code == 405:
        return world.sales_manager, "get", "/admin/archive_volume/close/", {}
    if code == 413:
        monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
        return (
            world.am1,
            "post",
            "/admin/card_import/",
            {
                "data": {"file": (io.BytesIO(b"x" * 5000), "big.xlsx")},
                "content_type": "multipart/form-data",
            },
        )
    if code == 429:
        return world.sales_manager, "get", replace_view(_429), {}
    if code == 500:
        return world.sales_manager, "get", replace_view(_500), {}
    raise AssertionError(code)


CODES = sorted(ZH)


@pytest.mark.parametrize("code", CODES)
def test_each_error_is_a_chinese_page_in_the_layout_with_a_way_back(
    code, world, app, login_as, monkeypatch, replace_view
):
    user, method, path, kwargs = make(code, world, app, monkeypatch, replace_view)
    c = login_as(user)
    r = getattr(c, method)(path, headers={"Referer": "http://localhost/admin/client/"}, **kwargs)
    assert r.status_code == code
    html = r.get_data(as_text=True)
    assert ZH[code] in html and 'id="error-page"' in html
    assert 'id="logout"' in html and "navbar" in html  # the menu stays: signed in
    assert 'id="error-home"' in html and 'href="/admin/client/"' in html  # home and back
    assert not [w for w in WERKZEUG if w in html]


@pytest.mark.parametrize("code", CODES)
def test_english_for_a_user_who_chose_english(
    code, world, app, login_as, monkeypatch, replace_view
):
    user, method, path, kwargs = make(code, world, app, monkeypatch, replace_view)
    user.locale = "en"
    db.session.commit()
    r = getattr(login_as(user), method)(path, **kwargs)
    html = r.get_data(as_text=True)
    assert r.status_code == code and EN[code] in html and ZH[code] not in html
    assert "Back to the home page" in html


def test_413_names_the_limit_and_writes_nothing(world, app, login_as, monkeypatch, replace_view):
    from crm.clients.models import Client

    before = db.session.query(Client).count()
    user, method, path, kwargs = make(413, world, app, monkeypatch, replace_view)
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 7)
    r = getattr(login_as(user), method)(path, **kwargs)
    assert r.status_code == 413 and "超过 7 MB" in r.get_data(as_text=True)
    assert db.session.query(Client).count() == before


def test_the_upload_limit_is_a_setting(app):
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    assert app.config["MAX_UPLOAD_MB"] == 50


def test_anonymous_users_get_a_plain_chinese_page_with_sign_in(client):
    r = client.get("/no-such-page")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and ZH[404] in html and 'href="/login"' in html
    assert 'id="logout"' not in html and "navbar" not in html


def test_a_500_rolls_the_session_back_so_the_page_keeps_its_menu(
    world, app, login_as, replace_view
):
    """After a failed flush the session refuses every query until rolled back: without the
    rollback the layout (menu, bell count) could not be drawn."""
    r = login_as(world.sales_manager).get(replace_view(_500))
    html = r.get_data(as_text=True)
    assert r.status_code == 500 and 'id="bell-count"' in html and ZH[500] in html
    assert db.session.query(Region).filter_by(name="重复的大区").count() == 0


def test_ajax_look_ups_get_json(world, login_as):
    r = login_as(world.sales_manager).get("/admin/contract/ajax/lookup/?name=no_such_field&query=x")
    assert r.status_code == 404 and r.is_json
    assert r.get_json()["error"] == 404 and r.get_json()["message"]


def test_a_json_client_gets_json(world, login_as):
    r = login_as(world.finance).get("/admin/user/", headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.get_json()["error"] == 403


def test_an_expired_form_says_so(world, app, login_as, monkeypatch):
    c = login_as(world.sales_manager)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    r = c.post("/admin/archive_volume/close-year/", data={"year": "2026"})
    assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True)


def test_abort_inside_a_view_is_handled_too(app, world, login_as, replace_view):
    r = login_as(world.sales_manager).get(replace_view(lambda: abort(403)))
    assert r.status_code == 403 and ZH[403] in r.get_data(as_text=True)
