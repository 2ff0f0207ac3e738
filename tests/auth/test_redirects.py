"""Only same-site paths are followed (issue 13, point 4): the sign-in's `next`, the language
switch's Referer, the credit check's `next` and Flask-Admin's `url` all go through
crm.urls.local_path, and a hostile target never becomes a Location off the site."""

from urllib.parse import urlencode, urlsplit

import pytest

from crm.urls import local_path
from tests import factories

# Each is read by some browser as another host, a script, or a host once the app runs behind an
# https proxy (http:host), or is an encoded form of one.
HOSTILE = [
    "////evil.example/x",
    "///evil.example/x",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "http:evil.example",
    "https:evil.example",
    "http:/evil.example",
    "http:\\\\evil.example",
    "javascript:alert(1)",
    "data:text/html,x",
    "evil.example",
    "%2F%2Fevil.example",
    "%2f%2f%2fevil.example",
    " //evil.example",
    "/\x00/evil.example",
    "\u3000//evil.example",
]
LOCAL = ["/admin/client/?page=2", "/admin/keyperson/", "/admin/client/?search=%2F%2Fx"]


def is_off_site(location: str) -> bool:
    """Whether a browser could leave the site on this Location (a generous reading)."""
    squeezed = "".join(c for c in location if not c.isspace()).replace("\\", "/")
    parts = urlsplit(squeezed)
    return bool(
        parts.scheme or parts.netloc or squeezed.startswith("//") or not squeezed.startswith("/")
    )


@pytest.mark.parametrize("target", HOSTILE)
def test_local_path_refuses_every_hostile_target(target):
    assert local_path(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_local_path_keeps_a_path_of_this_site(target):
    assert local_path(target) == target


# --- the sign-in's next -------------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_next_never_leads_off_site(world, client, target):
    r = client.post(
        "/login?" + urlencode({"next": target}),
        data={"username": "am1", "password": factories.PASSWORD},
    )
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", LOCAL)
def test_sign_in_next_leads_back_to_this_site(world, client, target):
    r = client.post(
        "/login?" + urlencode({"next": target}),
        data={"username": "am1", "password": factories.PASSWORD},
    )
    assert r.headers["Location"] == target


# --- the language switch's Referer --------------------------------------------------------------


@pytest.mark.parametrize("target", [t for t in HOSTILE if t.startswith("/") and "\n" not in t])
def test_the_language_switch_never_follows_a_hostile_referrer(world, login_as, target):
    web = login_as(world.am1)
    r = web.post("/locale/en", headers={"Referer": "http://localhost" + target})
    assert r.status_code == 302 and not is_off_site(r.headers["Location"])
    assert r.headers["Location"] == "/admin/"


def test_the_language_switch_returns_to_the_page_it_came_from(world, login_as):
    web = login_as(world.am1)
    r = web.post("/locale/en", headers={"Referer": "http://localhost/admin/client/?page=2"})
    assert r.headers["Location"] == "/admin/client/?page=2"


# --- the credit check's next ---------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE)
def test_the_credit_check_never_returns_off_site(world, login_as, target):
    web = login_as(world.finance)
    r = web.post("/admin/credit_check/start", data={"client_id": world.c1.id, "next": target})
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/credit_check/"


def test_the_credit_check_returns_to_the_card(world, login_as):
    web = login_as(world.finance)
    card = f"/admin/client/details/?id={world.c1.id}"
    r = web.post("/admin/credit_check/start", data={"client_id": world.c1.id, "next": card})
    assert r.headers["Location"] == card


# --- Flask-Admin's url ---------------------------------------------------------------------------


def _admin_requests(world, target):
    new = {
        "name": "回跳测试客户",
        "kind": "organisation",
        "level": "B",
        "stage": "prospect",
        "nature": "ordinary",
        "weight": "general",
    }
    query = urlencode({"url": target})
    return [
        ("get", f"/admin/client/new/?{query}", None),
        ("post", f"/admin/client/new/?{query}", new),
        ("get", f"/admin/client/edit/?id={world.c1.id}&{query}", None),
        ("get", f"/admin/client/details/?id={world.c1.id}&{query}", None),
        ("post", "/admin/client/delete/", {"id": world.c2.id, "reason": "回跳", "url": target}),
        (
            "post",
            "/admin/client/action/",
            {"action": "delete", "rowid": [world.c3.id], "url": target},
        ),
    ]


@pytest.mark.parametrize("target", HOSTILE)
def test_flask_admin_return_urls_never_lead_off_site(world, login_as, target):
    web = login_as(world.sales_manager)
    for method, path, data in _admin_requests(world, target):
        r = getattr(web, method)(path, data=data)
        assert r.status_code == 400, (method, path, r.status_code, r.headers.get("Location"))


@pytest.mark.parametrize("target", ["http:evil.example", "http:/evil.example"])
def test_flask_admin_alone_would_follow_these(world, app, target):
    """Why the app's rule replaces Flask-Admin's: its own check lets these through."""
    from flask_admin.helpers import is_safe_url

    with app.test_request_context("/admin/client/", base_url="http://localhost/"):
        assert is_safe_url(target)


def test_flask_admin_returns_to_a_page_of_this_site(world, login_as):
    web = login_as(world.sales_manager)
    back = "/admin/client/?page=1"
    r = web.post("/admin/client/delete/", data={"id": world.c2.id, "reason": "回跳", "url": back})
    assert r.status_code == 302 and r.headers["Location"] == back
