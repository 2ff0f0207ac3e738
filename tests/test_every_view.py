"""Every registered screen, for every demo role, on the demo data (issue 14 points 1 and 2).

One crawl per module: the demo world is loaded once, every demo user walks every Flask-Admin
view (list, the list sorted by each sortable column, create form, details and edit of the first
row the user may see, every export type), and the answers are kept in memory; the tests then
read them per role. The autouse cleanup of tests/conftest.py empties the tables after the first
test, which does not matter: nothing reads the database after the crawl.

The server must never answer 5xx; 403 and 404 are fine where a role has no access. Under the
default (Chinese) locale, no table cell may show a Python repr, a bare True/False/None, a UTC or
seconds-precision time, or an English phrase known to have slipped through before.
"""

import re
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

from crm.demo import DEMO_USERS, seed_demo
from crm.extensions import db

PASSWORD = "walk-pass-2026"
USERNAMES = [u for u, *_ in DEMO_USERS]


class _Cells(HTMLParser):
    """The text of every <td> and <dd> (details rows are <td> pairs too) of a page."""

    def __init__(self):
        super().__init__()
        self.cells, self._depth, self._buf, self._skip = [], 0, [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "dd"):
            if self._depth == 0:
                self._buf = []
            self._depth += 1
        elif tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("td", "dd") and self._depth:
            self._depth -= 1
            if self._depth == 0:
                self.cells.append(" ".join("".join(self._buf).split()))
        elif tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._depth and not self._skip:
            self._buf.append(data)


def cells_of(html: str) -> list[str]:
    parser = _Cells()
    parser.feed(html)
    return parser.cells


def model_views(app):
    admin = app.extensions["admin"][0]
    return [v for v in admin._views if hasattr(v, "model") and hasattr(v, "index_view")]


def _first_ids(html: str, endpoint: str) -> list[str]:
    """Ids of the rows a list links to (details or edit)."""
    ids = []
    pattern = r'href="(/admin/' + re.escape(endpoint) + r'/(?:details|edit)/\?[^"]*)"'
    for href in re.findall(pattern, html):
        query = parse_qs(urlparse(href.replace("&amp;", "&")).query)
        if "id" in query and query["id"][0] not in ids:
            ids.append(query["id"][0])
    return ids


def crawl(app, username: str) -> list[tuple[str, int, str]]:
    """(url, status, body) for every page the user's walk opens."""
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302, (username, r.status_code)
    pages = []

    def get(url):
        try:  # under TESTING the client raises what the server would answer with a 500
            resp = client.get(url)
        except Exception as exc:  # noqa: BLE001 - the walk goes on and reports it
            pages.append((url, 500, f"{type(exc).__name__}: {exc}"))
            return None, ""
        body = resp.get_data(as_text=True) if resp.mimetype.startswith("text/html") else ""
        pages.append((url, resp.status_code, body))
        return resp, body

    get("/admin/")
    for view in model_views(app):
        base = view.url.rstrip("/")
        resp, body = get(base + "/")
        if resp is None or resp.status_code != 200:
            continue
        with app.test_request_context():
            sortable = (
                list(view._sortable_columns or {}) if hasattr(view, "_sortable_columns") else []
            )
            list_columns = [c for c, _ in (view._list_columns or [])]
        for index, name in enumerate(list_columns):
            if name in sortable:
                get(f"{base}/?sort={index}")
        get(f"{base}/?sort=0&desc=1")
        get(base + "/new/")
        ids = _first_ids(body, view.endpoint)
        for row_id in ids[:1]:
            get(f"{base}/details/?id={row_id}")
            get(f"{base}/edit/?id={row_id}")
        for export_type in ("csv", "xlsx", "xls", "json"):
            get(f"{base}/export/{export_type}/")
    return pages


@pytest.fixture(scope="module")
def walked(app):
    """Every demo user's walk over the demo data, loaded once for the module."""
    with app.app_context():
        seed_demo(db.session, n_clients=12, password=PASSWORD)
        db.session.commit()
        from crm.auth.models import User

        for user in db.session.query(User).all():  # sign-ins get the same password
            assert user.username in USERNAMES
        db.session.remove()
    pages = {username: crawl(app, username) for username in USERNAMES}
    return pages


@pytest.mark.parametrize("username", USERNAMES)
def test_no_view_answers_a_server_error(walked, username):
    pages = walked[username]
    assert len(pages) > 40, "the walk opened the screens"
    assert any(status == 200 and "/details/" in url for url, status, _ in pages), (
        "the walk reached the details of rows"
    )
    errors = [(url, status, body[:200]) for url, status, body in pages if status >= 500]
    assert errors == []


REPR = re.compile(r"<class |<crm\.|object at 0x|<sqlalchemy|<flask|\bInstrumentedList\b")
BARE = re.compile(r"^(True|False|None)$")
MICRO = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+|[+-]00:00\b|\d{2}:\d{2}:\d{2}\b")
RAW = r"(pending|queued|done|running|proposed|approved|rejected|marketing|zh_Hans_CN|system)"
CODES = re.compile(r"^(" + RAW + r"|anonymous|users|view_grants|clients|[a-z]+_id)$")
CODE_IN_LINE = re.compile(r"(?:[:：]|→)\s*" + RAW + r"\b|\b[a-z]+_[a-z_]+[:：]")
MONEY = re.compile(r"^-?\d{4,}\.\d{2}$")  # an amount without thousands separators
ENGLISH = (
    "Created At",
    "Updated At",
    "Actor",
    " items",
    "Failed to create record",
    "Please select model",
    "请选择模型",
    "decided_by_id",
    "view_grants",
    "zh_Hans_CN",
    "membership=",
)
ID_CHANGE = re.compile(r"(客户经理|大区|区域|客户)[:：]\s*(\d+|—)\s*→\s*\d+")


def bad_cells(body: str) -> list[str]:
    found = []
    for cell in cells_of(body):
        if (
            REPR.search(cell)
            or BARE.match(cell)
            or MICRO.search(cell)
            or CODES.match(cell)
            or ID_CHANGE.search(cell)
            or CODE_IN_LINE.search(cell)
            or MONEY.match(cell)
            or any(p in cell for p in ENGLISH)
        ):
            found.append(cell[:160])
    return found


@pytest.mark.parametrize("username", USERNAMES)
def test_every_cell_speaks_the_staff_words(walked, username):
    problems = defaultdict(set)
    for url, status, body in walked[username]:
        if status == 200 and body:
            for cell in bad_cells(body):
                problems[url.split("?")[0]].add(cell)
    report = "\n".join(
        f"{url}: {cell}" for url, cells in sorted(problems.items()) for cell in sorted(cells)[:6]
    )
    assert not problems, "developer values on the screens:\n" + report


def test_the_cell_check_catches_developer_values():
    page = (
        "<table><tr><td>False</td><td>2026-11-30 15:16:08.123456+00:00</td>"
        "<td>&lt;class 'crm.access.SYSTEM'&gt;</td><td>客户经理: 8 → 7</td>"
        "<td>pending</td><td>王芳</td><td>decided_by_id: — → 2</td><td>状态: — → queued</td>"
        "<td>12345.60</td><td>12,345.60</td><td>2026-11-30 23:16</td></tr></table>"
        "<script>var a = true;</script>"
    )
    assert bad_cells(page) == [
        "False",
        "2026-11-30 15:16:08.123456+00:00",
        "<class 'crm.access.SYSTEM'>",
        "客户经理: 8 → 7",
        "pending",
        "decided_by_id: — → 2",
        "状态: — → queued",
        "12345.60",
    ]
