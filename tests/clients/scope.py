"""The role-scope table the matrix tests share, and the small scene they run on.

The scene is the factories' world (regions EAST and NORTH; c1 owned by am1 and c2 by am2 in
EAST, c3 by am3 in NORTH; a key person and a contact log each) with a marker on every row so
a page can be searched for it, and an ID number on every customer so a leak of the full number
shows. It is built in an app context that is then closed, so every request below runs in its
own session, as in production.
"""

import csv
import io
import json
import re
from types import SimpleNamespace

from sqlalchemy import select

from crm.auth.models import Region, User
from crm.clients import services
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.extensions import db
from tests import factories

KEYS = ("c1", "c2", "c3")
ALL = frozenset(KEYS)
CLOSED = None  # the role may not open the view at all: 403
VIEWS = ("client", "keyperson", "contactlog")
DETAIL_VIEWS = ("keyperson", "contactlog")  # rows under a customer's card: archive detail
MODELS = {"client": Client, "keyperson": KeyPerson, "contactlog": ContactLog}

# Which customers each user reads (RULES R5; DESIGN "Roles and what they see"): their cards,
# and their key persons and contact logs (archive detail, deeper than the basic card).
#  user                role                 cards              key persons / contact logs
SCOPE = {
    "am1": ("account_manager", {"c1"}, {"c1"}),
    "am3": ("account_manager", {"c3"}, {"c3"}),
    "rm_east": ("regional_manager", {"c1", "c2"}, {"c1", "c2"}),
    "rm_north": ("regional_manager", {"c3"}, {"c3"}),
    "sales_manager": ("sales_manager", ALL, ALL),
    "general_manager": ("general_manager", ALL, ALL),
    "finance": ("finance", ALL, CLOSED),
    "clerk": ("clerk", ALL, CLOSED),
    "service": ("service", ALL, CLOSED),
    "archivist": ("archivist", CLOSED, CLOSED),
    "admin": ("admin", CLOSED, CLOSED),
}
USERS = list(SCOPE)
# What a role may do to the rows it reads (RULES R6: deleting needs the sales manager).
WRITERS = {"account_manager", "regional_manager", "sales_manager", "general_manager"}
# R6: account and regional managers ask; the sales manager approves (or deletes at once).
DELETERS = {"account_manager", "regional_manager", "sales_manager", "general_manager"}
EXPORTERS = WRITERS
SEES_FULL_ID = {"account_manager", "sales_manager", "general_manager"}


def pairs(views=VIEWS, readers_only=False) -> list[tuple[str, str]]:
    """(user, view) cases for parametrize; `readers_only` leaves out views closed to the user."""
    return [
        (user, view)
        for user in USERS
        for view in views
        if not readers_only or visible(user, view) is not CLOSED
    ]


def role(user: str) -> str:
    return SCOPE[user][0]


def visible(user: str, view: str):
    """The customers whose rows `user` sees in `view`, or CLOSED."""
    return SCOPE[user][1] if view == "client" else SCOPE[user][2]


def expected_status(user: str, view: str, key: str, allowed=None) -> int:
    """A row path's answer: 403 for a closed view, 404 out of scope, 403 if the role may not."""
    seen = visible(user, view)
    if seen is CLOSED:
        return 403
    if key not in seen:
        return 404
    if allowed is not None and role(user) not in allowed:
        return 403
    return 200


# --- the scene ---------------------------------------------------------------------------------
def build_scene(app, soft_delete: str | None = None) -> SimpleNamespace:
    """Plain values (no ORM objects) describing the world; `soft_delete` names a customer to
    delete first, as the system would."""
    with app.app_context():
        w = factories.create_world()
        customers = {}
        for n, key in enumerate(KEYS, 1):
            c = getattr(w, key)
            kp, log = c.key_persons[0], c.contact_logs[0]
            kp.name, log.person_met = f"KP-{key}-mark", f"LOG-{key}-mark"
            id_number = factories.valid_id_number(seq=100 + 2 * n)
            services.set_id_number(c, id_number)
            db.session.commit()
            customers[key] = SimpleNamespace(
                key=key,
                id=c.id,
                name=c.name,
                owner_id=c.owner_id,
                region_id=c.region_id,
                kp_id=kp.id,
                kp_name=kp.name,
                log_id=log.id,
                log_mark=log.person_met,
                id_number=id_number,
                id_mask=c.id_number_mask,
            )
        if soft_delete:
            client = db.session.get(Client, customers[soft_delete].id)
            services.delete_client(db.session, client, "scene: deleted")
            db.session.commit()
        users = {
            u.username: SimpleNamespace(
                id=u.id, username=u.username, role=u.role, region_id=u.region_id
            )
            for u in db.session.scalars(select(User))
        }
        regions = {r.code: r.id for r in db.session.scalars(select(Region))}
        db.session.remove()
    return SimpleNamespace(c=customers, users=users, regions=regions, app=app)


def marker(scene, view: str, key: str) -> str:
    c = scene.c[key]
    return {"client": c.name, "keyperson": c.kp_name, "contactlog": c.log_mark}[view]


def row_id(scene, view: str, key: str) -> int:
    c = scene.c[key]
    return {"client": c.id, "keyperson": c.kp_id, "contactlog": c.log_id}[view]


def shown(scene, view: str, text: str) -> set:
    """The customers whose row of `view` appears in `text`."""
    return {key for key in KEYS if marker(scene, view, key) in text}


def load(scene, view: str, key: str) -> dict:
    """A row as it is in the database, deleted or not, read as the system in a fresh session."""
    model = MODELS[view]
    with scene.app.app_context():
        stmt = select(model).where(model.id == row_id(scene, view, key))
        row = db.session.execute(stmt.execution_options(crm_include_deleted=True)).scalar_one()
        values = {col.key: getattr(row, col.key) for col in model.__table__.columns}
        db.session.remove()
    return values


def find(app, model, **where) -> list[dict]:
    """Rows matching `where`, deleted or not, read as the system in a fresh session."""
    with app.app_context():
        stmt = select(model).filter_by(**where).execution_options(crm_include_deleted=True)
        rows = [
            {col.key: getattr(r, col.key) for col in model.__table__.columns}
            for r in db.session.scalars(stmt)
        ]
        db.session.remove()
    return rows


# --- reading pages -----------------------------------------------------------------------------
def listed(scene, view: str, text: str) -> set:
    """The customers whose row of `view` is in a list page's rows (the search box and the sort
    links echo what was asked, so the rest of the page does not count)."""
    table = re.search(r"<table[^>]*model-list.*?</thead>(.*?)</table>", text, re.S)
    return shown(scene, view, table.group(1)) if table else set()


def count_badge(text: str) -> int:
    """The number in the list tab, 'List (N)'; Flask-Admin leaves it out when N is 0."""
    match = re.search(r'class="nav-link active">[^<(]*\((\d+)\)', text)
    return int(match.group(1)) if match else 0


def filter_groups(text: str) -> dict:
    """The filter definitions the list page hands its script, keyed by filter index."""
    match = re.search(r'id="filter-groups-data" class="d-none">([^<]*)</div>', text)
    groups = json.loads(match.group(1)) if match else {}
    return {item["index"]: item for items in groups.values() for item in items}


def filter_index(app, endpoint: str, column: str) -> int:
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    return next(i for i, flt in enumerate(view._filters) if flt.column.key == column)


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[1:]
