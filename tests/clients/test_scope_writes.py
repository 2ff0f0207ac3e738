"""Role × path matrix, writing: edit, create, delete, bulk delete and the AJAX loader's get_one
touch only rows in the user's scope, and only for the roles allowed to (scope.SCOPE, WRITERS,
DELETERS). Every refusal leaves the database as it was.
"""

from types import SimpleNamespace

import pytest

from crm import access
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.governance.models import ChangeRequest, DeletionRequest
from tests.clients.scope import (
    ALL,
    CLOSED,
    DELETERS,
    DETAIL_VIEWS,
    KEYS,
    MODELS,
    USERS,
    VIEWS,
    WRITERS,
    expected_status,
    find,
    load,
    pairs,
    role,
    row_id,
    visible,
)
from tests.clients.scope import build_scene as _build_scene

users = pytest.mark.parametrize("user", USERS)
views = pytest.mark.parametrize("view", VIEWS)
every_view = pytest.mark.parametrize(("user", "view"), pairs())
every_detail_view = pytest.mark.parametrize(("user", "view"), pairs(DETAIL_VIEWS))
# Writers who do not see every customer: the ones a form could try to reach past.
narrow_writers = pytest.mark.parametrize(
    ("user", "view"),
    [
        (u, v)
        for u, v in pairs(DETAIL_VIEWS, readers_only=True)
        if role(u) in WRITERS and visible(u, v) != ALL
    ],
)
EDITED = {"client": "short_name", "keyperson": "title", "contactlog": "conclusion"}
# R6 (issue 7): an account manager's change of a filed card waits for the sales manager's
# approval; only the sales manager deletes at once, other deleters' deletions wait for them.
WAITS = {("account_manager", "client")}
DELETES_AT_ONCE = {"sales_manager"}


def pending_changes(app) -> list[dict]:
    return find(app, ChangeRequest, status="pending")


def deletion_requests(scene, view: str) -> set:
    """The customers whose row of `view` has a deletion request (pending or done)."""
    rows = find(scene.app, DeletionRequest, entity=MODELS[view].__tablename__)
    ids = {r["entity_id"] for r in rows}
    return {key for key in KEYS if row_id(scene, view, key) in ids}


@pytest.fixture
def scene(app):
    return _build_scene(app)


@pytest.fixture
def sign_in(login_as):
    return lambda user: login_as(SimpleNamespace(username=user))


def form(scene, view: str, key: str, **changes) -> dict:
    """A complete, valid form for the row of `view` under customer `key`."""
    c = scene.c[key]
    if view == "client":
        row = load(scene, "client", key)
        data = {
            name: row[name]
            for name in (
                "name",
                "kind",
                "level",
                "stage",
                "nature",
                "weight",
                "phone",
                "credit_code",
            )
        }
        data.update(owner=row["owner_id"], region=row["region_id"])
    elif view == "keyperson":
        data = {"client": c.id, "position": "legal_rep", "name": c.kp_name}
    else:
        data = {
            "client": c.id,
            "contact_date": "2026-11-02",
            "way": "visit",
            "person_met": c.log_mark,
            "record": "拜访",
            "level": "B",
        }
    # R6 (issue 7): every change of the archive carries its reason.
    return {**data, "change_reason": "matrix", **changes}


def status(response) -> int:
    """200 for a write that went through (Flask-Admin then redirects), else the code."""
    return 200 if response.status_code == 302 else response.status_code


@every_view
def test_edit_form_opens_only_in_scope_for_writers(scene, sign_in, user, view):
    c = sign_in(user)
    for key in KEYS:
        r = c.get(f"/admin/{view}/edit/", query_string={"id": row_id(scene, view, key)})
        assert r.status_code == expected_status(user, view, key, WRITERS), key


@every_view
def test_edit_post_changes_only_rows_in_scope_for_writers(scene, sign_in, user, view):
    c = sign_in(user)
    field = EDITED[view]
    for key in KEYS:
        before = load(scene, view, key)
        r = c.post(
            f"/admin/{view}/edit/",
            query_string={"id": row_id(scene, view, key)},
            data=form(scene, view, key, **{field: f"EDITED by {user}"}),
        )
        expected = expected_status(user, view, key, WRITERS)
        assert status(r) == expected, key
        after = load(scene, view, key)
        if expected == 200 and (role(user), view) in WAITS:
            assert after == before, key  # the change waits for approval
            assert [r["entity_id"] for r in pending_changes(scene.app)][-1] == after["id"]
        elif expected == 200:
            assert after[field] == f"EDITED by {user}"
        else:
            assert after == before, key
    if (role(user), view) not in WAITS:
        assert pending_changes(scene.app) == []


@narrow_writers
def test_edit_cannot_move_a_row_to_a_customer_out_of_scope(scene, sign_in, user, view):
    """The AJAX field's get_one answers only customers in scope, so naming another customer's
    id in the form cannot move a key person or a contact log there."""
    seen = visible(user, view)
    source = sorted(seen)[0]
    c = sign_in(user)
    for target in sorted(set(KEYS) - seen):
        r = c.post(
            f"/admin/{view}/edit/",
            query_string={"id": row_id(scene, view, source)},
            data=form(scene, view, source, client=scene.c[target].id),
        )
        assert r.status_code in (200, 302), target  # the form is shown again, or refused
        assert load(scene, view, source)["client_id"] == scene.c[source].id


@users
def test_new_customer_of_an_account_manager_is_their_own(scene, sign_in, user):
    """Whatever owner and region the POST names, an account manager's new customer is theirs
    and a regional manager's stays in their region; a manager assigns anyone; others cannot."""
    name = f"新客户{user}有限公司"
    other = scene.users["am3"]
    r = sign_in(user).post(
        "/admin/client/new/",
        data={
            **form(scene, "client", "c3"),
            "name": name,
            "credit_code": "",
            "phone": f"0571-{81000000 + USERS.index(user)}",  # not c3's: that is a duplicate
            "owner": other.id,
            "region": scene.regions["NORTH"],
        },
    )
    created = find(scene.app, Client, name=name)
    me = scene.users[user]
    if visible(user, "client") is CLOSED:
        assert r.status_code == 403
    if role(user) not in WRITERS:
        assert created == []
    elif role(user) == "account_manager":
        assert [(c["owner_id"], c["region_id"]) for c in created] == [(me.id, me.region_id)]
    elif role(user) == "regional_manager":
        # The owner list holds only the region's account managers (another region's is
        # dropped), and the customer stays in the manager's region whatever the POST says.
        owner = other.id if other.region_id == me.region_id else None
        assert [(c["owner_id"], c["region_id"]) for c in created] == [(owner, me.region_id)]
    else:
        assert [(c["owner_id"], c["region_id"]) for c in created] == [
            (other.id, scene.regions["NORTH"])
        ]


@every_detail_view
def test_rows_can_be_added_only_under_customers_in_scope(scene, sign_in, user, view):
    model = {"keyperson": KeyPerson, "contactlog": ContactLog}[view]
    c = sign_in(user)
    for key in KEYS:
        mark = f"NEW-{key}-{user}"
        extra = {"name": mark} if view == "keyperson" else {"person_met": mark}
        r = c.post(f"/admin/{view}/new/", data=form(scene, view, key, **extra))
        created = find(scene.app, model, **extra)
        if expected_status(user, view, key, WRITERS) == 200:
            assert r.status_code == 302, key
            assert [row["client_id"] for row in created] == [scene.c[key].id]
        else:
            assert r.status_code in (200, 302, 403), key
            assert created == [], key
            if visible(user, view) is CLOSED:
                assert r.status_code == 403


@every_view
def test_row_delete_only_by_managers_and_only_in_scope(scene, sign_in, user, view):
    c = sign_in(user)
    for key in KEYS:
        r = c.post(
            f"/admin/{view}/delete/", data={"id": row_id(scene, view, key), "reason": "matrix"}
        )
        expected = expected_status(user, view, key, DELETERS)
        assert status(r) == expected, key
        at_once = expected == 200 and role(user) in DELETES_AT_ONCE
        assert (load(scene, view, key)["deleted_at"] is not None) == at_once, key
        assert (key in deletion_requests(scene, view)) == (expected == 200), key


@views
def test_row_delete_needs_a_reason(scene, sign_in, view):
    r = sign_in("sales_manager").post(
        f"/admin/{view}/delete/", data={"id": row_id(scene, view, "c1"), "reason": " "}
    )
    assert r.status_code == 302
    assert load(scene, view, "c1")["deleted_at"] is None


@every_view
def test_bulk_delete_asks_only_for_rows_in_scope(scene, sign_in, user, view):
    r = sign_in(user).post(
        f"/admin/{view}/action/",
        data={
            "action": "delete",
            "reason": "matrix",
            "rowid": [row_id(scene, view, key) for key in KEYS],
        },
    )
    if visible(user, view) is CLOSED:
        assert r.status_code == 403
    deleted = {key for key in KEYS if load(scene, view, key)["deleted_at"] is not None}
    assert deleted == (set(KEYS) if role(user) in DELETES_AT_ONCE else set())
    asked = visible(user, view) if role(user) in DELETERS else set()
    assert deletion_requests(scene, view) == asked


@views
@pytest.mark.parametrize("user", ["am1", "am3", "rm_east", "rm_north"])
def test_bulk_delete_mixing_scopes_deletes_only_rows_in_scope(
    scene, sign_in, monkeypatch, user, view
):
    """The managers see everything, so to prove the action path keeps the scope, grant the
    narrower roles the right to delete and mix every customer's row into one request."""
    for area in ("clients", "archive_detail"):
        monkeypatch.setitem(
            access.ACTIONS[area],
            "delete",
            {*access.MANAGERS, access.ACCOUNT_MANAGER, access.REGIONAL_MANAGER},
        )
    r = sign_in(user).post(
        f"/admin/{view}/action/",
        data={
            "action": "delete",
            "reason": "matrix",
            "rowid": [row_id(scene, view, key) for key in KEYS],
        },
    )
    assert r.status_code == 302
    # Their deletions wait for the sales manager: requests for exactly the rows in scope.
    assert deletion_requests(scene, view) == visible(user, view)
    assert all(load(scene, view, key)["deleted_at"] is None for key in KEYS)


@views
def test_deleted_rows_cannot_be_deleted_again_or_opened(scene, sign_in, view):
    """A soft-deleted row is out of everyone's scope: its id answers 404 on every row path."""
    c = sign_in("sales_manager")
    c.post(f"/admin/{view}/delete/", data={"id": row_id(scene, view, "c2"), "reason": "first"})
    first = load(scene, view, "c2")["deleted_at"]
    assert first is not None
    pk = row_id(scene, view, "c2")
    assert c.get(f"/admin/{view}/details/", query_string={"id": pk}).status_code == 404
    assert c.get(f"/admin/{view}/edit/", query_string={"id": pk}).status_code == 404
    assert c.post(f"/admin/{view}/delete/", data={"id": pk, "reason": "again"}).status_code == 404
    c.post(f"/admin/{view}/action/", data={"action": "delete", "reason": "again", "rowid": [pk]})
    assert load(scene, view, "c2")["deleted_at"] == first


@every_view
def test_inline_list_edit_is_closed(scene, sign_in, user, view):
    """Flask-Admin's x-editable endpoint stays shut: no view lists editable columns."""
    field = EDITED[view]
    before = load(scene, view, "c1")
    r = sign_in(user).post(
        f"/admin/{view}/ajax/update/",
        data={"list_form_pk": row_id(scene, view, "c1"), field: "INLINE"},
    )
    assert r.status_code == (403 if visible(user, view) is CLOSED else 404)
    assert load(scene, view, "c1") == before


# --- the session already holds every row -------------------------------------------------------
# Here the test's own app context stays open (the `world` fixture), so each request reuses the
# session that created c1..c3: `session.get` would answer from the identity map without a
# query. The base view's get_one and the AJAX loader's get_one must still say 404 / nothing.
def test_identity_map_does_not_open_rows_out_of_scope(app, world, login_as):
    c3, kp3 = world.c3.id, world.c3.key_persons[0].id  # both now sit in the shared session
    c = login_as(world.am1)
    for path in (
        f"/admin/client/details/?id={c3}",
        f"/admin/client/edit/?id={c3}",
        f"/admin/keyperson/details/?id={kp3}",
        f"/admin/keyperson/edit/?id={kp3}",
    ):
        assert c.get(path).status_code == 404, path
    r = c.post(f"/admin/client/edit/?id={c3}", data={"name": "HIJACKED", "kind": "organisation"})
    assert r.status_code == 404
    assert c.post("/admin/client/delete/", data={"id": c3, "reason": "x"}).status_code == 404
    r = c.post(
        "/admin/keyperson/new/", data={"client": c3, "position": "other", "name": "IDENTITY-MAP"}
    )
    assert r.status_code in (200, 302)
    assert find(app, KeyPerson, name="IDENTITY-MAP") == []
    [row] = find(app, Client, id=c3)
    assert row["name"] != "HIJACKED" and row["deleted_at"] is None
