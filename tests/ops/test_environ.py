"""PEP 3333: WSGI environ keys are strings. The scope's per-request caches live on the request
object (gunicorn's access log lower-cases every environ key and failed on a tuple key)."""

import pytest
from flask import g
from sqlalchemy import event

from crm.extensions import db


@pytest.fixture
def environs(app, monkeypatch):
    """The environ of each request as the server holds it once the app has answered (the test
    client hands the app a copy of its own)."""
    seen = []
    wsgi_app = app.wsgi_app

    def recording(environ, start_response):
        seen.append(environ)
        return wsgi_app(environ, start_response)

    monkeypatch.setattr(app, "wsgi_app", recording)
    return seen


@pytest.mark.parametrize("who", ["am1", "rm_east", "finance", "sales_manager", "admin"])
def test_signed_in_requests_leave_only_string_keys_in_the_environ(world, login_as, environs, who):
    c = login_as(getattr(world, who))
    for url in (
        "/admin/",
        "/admin/client/",
        f"/admin/client/details/?id={world.c1.id}",
        "/admin/keyperson/",
        "/admin/user/",
    ):
        environs.clear()
        r = c.get(url)
        assert r.status_code in (200, 403, 404), url
        [environ] = environs
        assert [k for k in environ if not isinstance(k, str)] == [], url


def test_the_scope_is_built_per_user_and_never_shared_with_another(
    app, world, login_as, monkeypatch
):
    from crm import access

    built, built_models = [], []
    original = access.scope_condition
    monkeypatch.setattr(
        access.scope,
        "scope_condition",
        lambda user, model: (
            (built.append(getattr(user, "id", None)) or built_models.append(model))
            or original(user, model)
        ),
    )
    am1, am3 = login_as(world.am1), login_as(world.am3)
    access.hook._OPTIONS.clear()  # criteria are kept per process, by scope key
    statements = []

    def count(*args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        # One app context around both requests, as a CLI or a test may hold: its g outlives
        # each request, the cache must not.
        with app.app_context():
            g.marker = True
            built.clear()
            r1 = am1.get("/admin/client/")
            assert built and set(built) == {world.am1.id}
            # each model's criteria once, for the classes the page loads only
            assert len(built) == len(set(built_models)) <= len(access.scoped_models())
            built.clear()
            built_models.clear()
            r3 = am3.get("/admin/client/")
            assert built and set(built) == {world.am3.id}  # her own, not am1's
            built.clear()
            am1.get("/admin/client/")
            assert built == []  # am1's criteria kept for her next request
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) > 2  # the pages ran several statements on one scope build each
    assert world.c1.name in r1.get_data(as_text=True)
    assert world.c1.name not in r3.get_data(as_text=True)
    assert world.c3.name in r3.get_data(as_text=True)
