"""Role × path matrix, reading: every path of the customer, key-person and contact-log admin
views shows each user exactly the rows of `scope.SCOPE`, never one more.

Writes (edit, create, delete, bulk actions, AJAX get_one) are in test_scope_writes.py.
"""

import re
from types import SimpleNamespace

import pytest

from crm.access import set_actor
from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from tests.clients.scope import (
    CLOSED,
    DETAIL_VIEWS,
    EXPORTERS,
    KEYS,
    SEES_FULL_ID,
    USERS,
    VIEWS,
    count_badge,
    csv_rows,
    expected_status,
    filter_groups,
    filter_index,
    listed,
    marker,
    pairs,
    role,
    row_id,
    shown,
    visible,
)
from tests.clients.scope import build_scene as _build_scene

users = pytest.mark.parametrize("user", USERS)
every_view = pytest.mark.parametrize(("user", "view"), pairs())
readable_view = pytest.mark.parametrize(("user", "view"), pairs(readers_only=True))
card_readers = pytest.mark.parametrize("user", [u for u, _v in pairs(["client"], True)])


@pytest.fixture
def scene(app):
    return _build_scene(app)


@pytest.fixture
def sign_in(login_as):
    return lambda user: login_as(SimpleNamespace(username=user))


@every_view
def test_list_shows_exactly_the_rows_in_scope(scene, sign_in, user, view):
    r = sign_in(user).get(f"/admin/{view}/")
    expected = visible(user, view)
    if expected is CLOSED:
        assert r.status_code == 403
        return
    assert r.status_code == 200
    assert listed(scene, view, r.text) == expected


@readable_view
def test_count_badge_counts_only_rows_in_scope(scene, sign_in, user, view):
    expected = visible(user, view)
    r = sign_in(user).get(f"/admin/{view}/")
    assert count_badge(r.text) == len(expected)


@readable_view
def test_search_never_finds_rows_out_of_scope(scene, sign_in, user, view):
    expected = visible(user, view)
    c = sign_in(user)
    for key in KEYS:
        r = c.get(f"/admin/{view}/", query_string={"search": marker(scene, view, key)})
        assert r.status_code == 200
        assert listed(scene, view, r.text) == {key} & expected, key
        assert count_badge(r.text) == len({key} & expected), key


@pytest.mark.parametrize("column", ["owner_id", "region_id"])
@card_readers
def test_filter_by_another_scopes_owner_or_region_returns_nothing(scene, sign_in, user, column):
    expected = visible(user, "client")
    arg = f"flt0_{filter_index(scene.app, 'client', column)}"
    c = sign_in(user)
    for key in KEYS:
        value = getattr(scene.c[key], column)
        matching = {k for k in KEYS if getattr(scene.c[k], column) == value}
        r = c.get("/admin/client/", query_string={arg: value})
        assert r.status_code == 200
        assert listed(scene, "client", r.text) == matching & expected, key
        assert count_badge(r.text) == len(matching & expected), key


@card_readers
def test_filter_options_list_only_managers_and_regions_in_scope(scene, sign_in, user):
    """The owner and region filters offer the account managers and regions of the customers
    the user reads: an account manager sees only themselves, a regional manager their own."""
    expected = visible(user, "client")
    groups = filter_groups(sign_in(user).get("/admin/client/").text)
    owner_ids = {str(scene.c[k].owner_id) for k in expected}
    region_ids = {str(scene.c[k].region_id) for k in expected}
    owners = groups[filter_index(scene.app, "client", "owner_id")]["options"]
    regions = groups[filter_index(scene.app, "client", "region_id")]["options"]
    assert {value for value, _label in owners} == owner_ids
    assert {value for value, _label in regions} == region_ids


@every_view
def test_details_answer_404_out_of_scope(scene, sign_in, user, view):
    c = sign_in(user)
    for key in KEYS:
        r = c.get(f"/admin/{view}/details/", query_string={"id": row_id(scene, view, key)})
        assert r.status_code == expected_status(user, view, key), key
        if r.status_code == 200:
            assert marker(scene, view, key) in r.text


@card_readers
def test_id_numbers_are_masked_except_on_the_card_of_those_who_may_see_them(scene, sign_in, user):
    expected = visible(user, "client")
    c = sign_in(user)
    listing = c.get("/admin/client/").text
    for key in KEYS:
        assert scene.c[key].id_number not in listing
        assert (scene.c[key].id_mask in listing) == (key in expected)
        card = c.get("/admin/client/details/", query_string={"id": scene.c[key].id}).text
        full_shown = key in expected and role(user) in SEES_FULL_ID
        assert (scene.c[key].id_number in card) == full_shown, key


@every_view
def test_csv_export_holds_only_rows_in_scope_with_masked_id_numbers(scene, sign_in, user, view):
    r = sign_in(user).get(f"/admin/{view}/export/csv/")
    expected = visible(user, view)
    if expected is CLOSED:
        assert r.status_code == 403
        return
    if role(user) not in EXPORTERS:
        assert r.status_code == 302 and r.mimetype != "text/csv"
        return
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = csv_rows(r.text)
    assert len(rows) == len(expected)
    assert shown(scene, view, r.text) == expected
    for key in KEYS:
        assert scene.c[key].id_number not in r.text
        if view == "client":
            assert (scene.c[key].id_mask in r.text) == (key in expected)


@pytest.mark.parametrize(("user", "view"), pairs(DETAIL_VIEWS))
def test_ajax_customer_lookup_offers_only_customers_in_scope(scene, sign_in, user, view):
    c = sign_in(user)
    url = f"/admin/{view}/ajax/lookup/"
    r = c.get(url, query_string={"name": "client", "query": "有限公司"})
    expected = visible(user, view)
    if expected is CLOSED:
        assert r.status_code == 403
        return
    assert r.status_code == 200
    assert {pk for pk, _label in r.get_json()} == {scene.c[k].id for k in expected}
    for key in KEYS:  # a look-up naming an out-of-scope customer exactly finds nothing
        found = c.get(url, query_string={"name": "client", "query": scene.c[key].name}).get_json()
        assert [pk for pk, _label in found] == ([scene.c[key].id] if key in expected else [])


@pytest.mark.parametrize(
    "user",
    [u for u in USERS if visible(u, "client") is not CLOSED and visible(u, "keyperson") is CLOSED],
)
def test_basic_card_readers_get_no_key_persons_or_contact_logs(scene, sign_in, user):
    c = sign_in(user)
    for key in KEYS:
        r = c.get("/admin/client/details/", query_string={"id": scene.c[key].id})
        assert r.status_code == 200
        assert scene.c[key].name in r.text
        assert scene.c[key].kp_name not in r.text
        assert scene.c[key].log_mark not in r.text
        assert 'id="history"' not in r.text


@pytest.mark.parametrize("unscoped_parent", [False, True], ids=["scoped", "unscoped-parent"])
@users
def test_relationship_lazy_loads_stay_in_scope(scene, user, unscoped_parent):
    """Key persons and contact logs reached through `client.key_persons` are narrowed like any
    query, even when the customer itself was loaded by a named unscoped sweep."""
    app = scene.app
    expected = visible(user, "keyperson") or set()
    with app.test_request_context():
        set_actor(db.session.get(User, scene.users[user].id))
        for key in KEYS:
            stmt = db.select(Client).where(Client.id == scene.c[key].id)
            if unscoped_parent:
                stmt = stmt.execution_options(crm_unscoped=True)
            client = db.session.execute(stmt).scalar_one_or_none()
            if client is None:
                assert not unscoped_parent and key not in (visible(user, "client") or set())
                continue
            assert [p.name for p in client.key_persons] == (
                [scene.c[key].kp_name] if key in expected else []
            )
            assert [log.person_met for log in client.contact_logs] == (
                [scene.c[key].log_mark] if key in expected else []
            )
            db.session.expunge_all()
        db.session.remove()


def test_users_in_turn_in_one_process_each_see_their_own_scope(scene, sign_in):
    """SQLAlchemy caches compiled statements and lambda criteria: a user's scope must not stick
    to the next user of the same statement."""
    order = ["am1", "am3", "rm_east", "am1", "rm_north", "finance", "am3", "sales_manager", "am1"]
    clients = {user: sign_in(user) for user in set(order)}
    for user in order:
        for view in VIEWS:
            expected = visible(user, view)
            if expected is CLOSED:
                continue
            r = clients[user].get(f"/admin/{view}/")
            assert listed(scene, view, r.text) == expected, (user, view)
            assert count_badge(r.text) == len(expected), (user, view)


@users
def test_home_page_counts_only_customers_in_scope(scene, sign_in, user):
    text = sign_in(user).get("/admin/").text
    counts = re.findall(r'class="h3 crm-count">(\d+)<', text)
    assert counts == [str(len(visible(user, "client") or ()))]


# --- soft-deleted rows vanish for everyone -------------------------------------------------------
@pytest.fixture
def scene_without_c2(app):
    return _build_scene(app, soft_delete="c2")


@readable_view
def test_soft_deleted_rows_vanish_from_every_read_path(scene_without_c2, sign_in, user, view):
    scene = scene_without_c2
    expected = visible(user, view) - {"c2"}
    c = sign_in(user)
    r = c.get(f"/admin/{view}/")
    assert listed(scene, view, r.text) == expected
    assert count_badge(r.text) == len(expected)
    r = c.get(f"/admin/{view}/", query_string={"search": marker(scene, view, "c2")})
    assert listed(scene, view, r.text) == set()
    r = c.get(f"/admin/{view}/details/", query_string={"id": row_id(scene, view, "c2")})
    assert r.status_code == 404
    if role(user) in EXPORTERS:
        r = c.get(f"/admin/{view}/export/csv/")
        assert shown(scene, view, r.text) == expected
    if view != "client":
        found = c.get(
            f"/admin/{view}/ajax/lookup/", query_string={"name": "client", "query": "有限公司"}
        ).get_json()
        assert {pk for pk, _label in found} == {scene.c[k].id for k in expected}


def test_scope_table_covers_every_role():
    from crm.access import ROLES

    assert {role(user) for user in USERS} == set(ROLES)
