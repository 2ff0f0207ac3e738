"""Issue 8: a search of one or two characters finds exactly the customers holding the word in a
name (any case), or a number starting with it, within the user's scope, words ANDed; and on
PostgreSQL an index answers it — the grams index of migration 0011 for a short word, the
trigram index of 0009 for a longer one (crm/admin/search.py)."""

import re

import pytest
from sqlalchemy import event, select, text

from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow
from tests import factories
from tests.conftest import IS_POSTGRES

LIST = "/admin/client/?page_size=100&search="
NUMBERS = ("code", "phone", "mobile")

# (owner, name, short name, phone, mobile)
CUSTOMERS = (
    ("am1", "华为技术有限公司", "华为", "0755-28780808", "13800000001"),
    ("am1", "上海华盛贸易有限公司", "华盛", "021-61234567", None),
    ("am1", "Abc Trading 上海", "ABC", "010-88886666", "15900000002"),
    ("am1", "北京aBx商贸", None, "010-61000000", None),
    ("am1", "中华老字号", "老字号", "0571-13131313", "18600000003"),
    ("am1", "远达物流", "远达", "021-55551111", "13900000004"),
    ("am2", "华润万家上海", "华润", "021-99990000", "13700000005"),
    ("am3", "Xab北方", "AB北", "010-12345678", None),
)


@pytest.fixture
def scene(world):
    """Customers of am1, am2 and am3 with names in Chinese and Latin of mixed case, plus a
    deleted one of am1 that matches everything searched below."""
    world.clients = [
        factories.create_client(
            getattr(world, who), name=name, short_name=short, phone=phone, mobile=mobile
        )
        for who, name, short, phone, mobile in CUSTOMERS
    ]
    gone = factories.create_client(world.am1, name="华为上海abc已删除", phone="021-13000000")
    gone.deleted_at = utcnow()
    db.session.commit()
    return world


def _listed(web, search: str) -> set[int]:
    db.session.remove()
    response = web.get(LIST + search)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = re.search(r"<table[^>]*model-list.*?</thead>(.*?)</table>", html, re.S).group(1)
    return {int(cid) for cid in re.findall(r"/admin/client/details/\?id=(\d+)", table)}


def _holds(client: Client, word: str) -> bool:
    """The rule the search follows: a name holds the word (any case); a number holds it, or
    starts with it when it is one or two characters long; "^w" starts, "=w" is a value."""
    values = [(getattr(client, col) or "").lower() for col in ("name", "short_name", *NUMBERS)]
    w = word.lstrip("^=").lower()
    if word[0] == "^":
        return any(v.startswith(w) for v in values)
    if word[0] == "=":
        return w in values
    return any(w in v for v in values[:2]) or any(
        v.startswith(w) if len(w) <= 2 else w in v for v in values[2:]
    )


def _expected(world, search: str, who: str) -> set[int]:
    stmt = select(Client).where(Client.deleted_at.is_(None))
    if who == "am1":
        stmt = stmt.where(Client.owner_id == world.am1.id)
    return {c.id for c in db.session.scalars(stmt) if all(_holds(c, w) for w in search.split())}


SEARCHES = (
    "华",
    "华为",
    "上海",
    "ab",
    "AB",
    "aB",
    "B",
    "x",
    "13",
    "02",
    "61",
    "kh",
    "华 上海",
    "上海\u3000ab",
    "华盛贸",
    "6123",
    "^华",
    "=远达物流",
)


@pytest.mark.parametrize("who", ("sales_manager", "am1"))
@pytest.mark.parametrize("search", SEARCHES)
def test_a_search_finds_exactly_the_customers_holding_its_words(scene, login_as, who, search):
    found = _listed(login_as(getattr(scene, who)), search)
    assert found == _expected(scene, search, who)
    assert found or search == "61"  # the one search here that no customer answers


def test_short_words_are_matched_by_the_rule_not_by_accident(scene, login_as):
    """Spelled out on this test's customers (the world's own ones left aside): the expectations
    above are not empty, and both halves of the rule show."""
    web = login_as(scene.sales_manager)
    by_name = {c.name: c.id for c in scene.clients}

    def listed(search):
        return _listed(web, search) & set(by_name.values())

    assert listed("华") == {
        by_name[n]
        for n in ("华为技术有限公司", "上海华盛贸易有限公司", "中华老字号", "华润万家上海")
    }
    assert listed("ab") == {by_name[n] for n in ("Abc Trading 上海", "北京aBx商贸", "Xab北方")}
    # "13" starts a mobile of 华为 but is only inside a phone of 中华老字号; "61" is only inside
    # phones: a short word matches a number at its start, a longer one anywhere
    thirteen = listed("13")
    assert by_name["华为技术有限公司"] in thirteen and by_name["中华老字号"] not in thirteen
    assert listed("61") == set()
    assert listed("6123") == {by_name["上海华盛贸易有限公司"]}


def test_an_account_manager_does_not_find_another_managers_customer(scene, login_as):
    other = next(c.id for c in scene.clients if c.name == "华润万家上海")
    manager, am1 = login_as(scene.sales_manager), login_as(scene.am1)
    assert other in _listed(manager, "华润")
    assert _listed(am1, "华润") == set()
    assert other not in _listed(am1, "华")


# --- PostgreSQL: the plan uses the index ------------------------------------------------------

KEPT = ("ix_clients_grams_", "ix_clients_trgm_", "pk_", "uq_")
pg_only = pytest.mark.skipif(not IS_POSTGRES, reason="the indexes are PostgreSQL's")


def _search_statements(web, search: str) -> list[tuple[str, dict]]:
    """The SQL statements the list page runs for `search` over the customers (its capped count
    with the hits, and, when they are many, its page of ids), with their parameters."""
    seen = []

    def _keep(_conn, _cursor, statement, parameters, _context, _many):
        searched = "crm_short_grams" in statement or "ILIKE" in statement.upper()
        if searched and "FROM clients" in statement:
            seen.append((statement, parameters))

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", _keep)
    try:
        assert web.get(LIST + search).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", _keep)
        db.session.remove()  # the request ran in this test's session: end its transaction
    assert seen
    return seen


def _plans(statements, drop: str | None = None) -> list[str]:
    """Each statement's plan with only the search's own indexes (grams, trigram) and the keys
    left, and no sequential or plain index scan allowed: on a few rows the planner would rather
    read a whole partial index of 0009, so those are set aside; a search that no index left
    answers shows a (disabled) sequential scan of clients. All rolled back."""
    plans = []
    with db.engine.connect() as conn, conn.begin() as tx:
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            conn.exec_driver_sql(f"SET LOCAL {setting} = off")
        names = conn.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'clients'")
        ).scalars()
        others = [n for n in names if not n.startswith(KEPT)]
        for name in [*others, *([drop] if drop else [])]:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        for statement, parameters in statements:
            rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars()
            plans.append("\n".join(rows))
        tx.rollback()
    return plans


def _answers(plan: str, index: str, condition: str) -> bool:
    """`index` is searched with `condition` in the plan, and clients is never read whole (a
    partial index may also be scanned whole, with no condition: that does not count)."""
    searched = re.search(
        rf"Index Scan on {index}\b[^\n]*\n\s*Index Cond: \({re.escape(condition)}", plan
    )
    return bool(searched) and "Seq Scan on clients" not in plan


GRAMS = "crm_short_grams(({})::text) @>"
TRIGRAMS = "({})::text ~~*"


@pytest.fixture
def analysed(scene):
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE clients"))
    return scene


@pg_only
@pytest.mark.parametrize("search", ("华", "华为", "aB", "华 上海"))
def test_a_short_word_is_answered_by_the_grams_index(analysed, login_as, search):
    statements = _search_statements(login_as(analysed.sales_manager), search)
    for plan in _plans(statements):
        for column in ("name", "short_name"):
            assert _answers(plan, f"ix_clients_grams_{column}", GRAMS.format(column)), plan


@pg_only
@pytest.mark.parametrize("search", ("华盛贸", "Trading"))
def test_a_longer_word_is_answered_by_the_trigram_index(analysed, login_as, search):
    statements = _search_statements(login_as(analysed.sales_manager), search)
    for plan in _plans(statements):
        assert _answers(plan, "ix_clients_trgm_name", TRIGRAMS.format("name")), plan


@pg_only
def test_without_the_grams_index_the_check_turns_red(analysed, login_as):
    statements = _search_statements(login_as(analysed.sales_manager), "华")
    for plan in _plans(statements, drop="ix_clients_grams_name"):
        assert not _answers(plan, "ix_clients_grams_name", GRAMS.format("name")), plan
