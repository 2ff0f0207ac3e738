"""Sign-in failures (issue 13, point 4): every failure that does not prove the password answers
the same, at the cost of a real check; failed sign-ins are throttled per client address and per
user name (Flask-Limiter, 429 with a Chinese message); the lock counts failures per name and
address, so a stranger cannot lock the owner out. The rest of the suite runs with the limiter
off (TestConfig); this module builds an app of its own with it on."""

import re
import uuid

import pytest
from flask_babel import force_locale
from limits import parse_many
from limits.storage import MemoryStorage, RedisStorage

from crm import create_app
from crm.auth import passwords
from crm.auth.services import LOCKED, REFUSED
from crm.auth.throttle import storage_uri
from tests import factories
from tests.conftest import BROKER_URL

STRANGER, OWNER, ELSEWHERE = "10.9.8.7", "192.168.1.20", "172.16.0.5"
THROTTLED = "此处登录尝试过于频繁，请等几分钟后再试。"  # the 429 message, in Chinese


def zh(message) -> str:
    with force_locale("zh_Hans_CN"):
        return str(message)


def sign_in(web, username, password, address=STRANGER):
    return web.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def answer(r, username) -> tuple[int, str]:
    """What the browser sees, less the echo of the name typed."""
    return r.status_code, r.get_data(as_text=True).replace(f'value="{username}"', 'value=""')


def first_limit(setting: str) -> int:
    return parse_many(setting)[0].amount


@pytest.fixture(scope="module")
def limited_app(app):
    """A second app on the test database with the sign-in limiter on (in memory)."""
    limited = create_app(
        {**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"}
    )
    app.extensions["celery"].set_default()  # the second app must not take over the tasks
    return limited


@pytest.fixture
def web(limited_app):
    limited_app.extensions["crm_limiter"].reset()
    yield limited_app.test_client()
    limited_app.extensions["crm_limiter"].reset()


# --- the same answer for every failure ----------------------------------------------------------


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(app, world, client):
    unknown = sign_in(client, "nobody-here", "wrong-pass-1")
    wrong = sign_in(client, "general_manager", "wrong-pass-1")
    assert answer(unknown, "nobody-here") == answer(wrong, "general_manager")
    assert unknown.status_code == 401 and zh(REFUSED) in unknown.get_data(as_text=True)
    # ... and the lock that follows LOGIN_MAX_FAILURES says the same for both too.
    for _i in range(app.config["LOGIN_MAX_FAILURES"]):
        unknown = sign_in(client, "nobody-here", "wrong-pass-1")
        wrong = sign_in(client, "general_manager", "wrong-pass-1")
    assert answer(unknown, "nobody-here") == answer(wrong, "general_manager")
    assert zh(LOCKED) in wrong.get_data(as_text=True)


def test_a_disabled_account_is_told_only_to_whoever_knows_its_password(world, client):
    from crm.auth.services import set_active
    from crm.extensions import db

    set_active(db.session, db.session.merge(world.am1), False)
    db.session.commit()
    assert answer(sign_in(client, "am1", "wrong-pass-1"), "am1") == answer(
        sign_in(client, "nobody", "wrong-pass-1"), "nobody"
    )


def test_an_unknown_name_costs_a_real_verification(world, client, monkeypatch):
    verified = []
    real = passwords.verify_password

    def spy(stored, password):
        verified.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    assert sign_in(client, "nobody-here", "wrong-pass-1").status_code == 401
    [stored] = verified
    assert stored == passwords.dummy_hash()
    # The dummy hash is made with the parameters of a real user's hash: the check costs the same.
    params = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$")
    assert params.match(stored).group(0) == params.match(world.am1.password_hash).group(0)


# --- throttled per address ----------------------------------------------------------------------


def test_failures_from_one_address_are_answered_429_in_chinese(limited_app, world, web):
    n = first_limit(limited_app.config["LOGIN_LIMIT_PER_ADDRESS"])
    for i in range(n):  # a different name each time: the per-name lock never comes into it
        assert sign_in(web, f"guess{i}", "wrong-pass-1").status_code == 401
    r = sign_in(web, "am1", factories.PASSWORD)  # even the right password, from there
    assert r.status_code == 429
    assert THROTTLED in r.get_data(as_text=True)
    assert web.get("/login", environ_base={"REMOTE_ADDR": STRANGER}).status_code == 200
    # Another address is not throttled.
    assert (
        sign_in(limited_app.test_client(), "am1", factories.PASSWORD, address=ELSEWHERE).status_code
        == 302
    )


def test_successful_sign_ins_from_one_address_are_not_throttled(limited_app, world, web):
    """A whole office behind one address signs in every morning."""
    n = first_limit(limited_app.config["LOGIN_LIMIT_PER_ADDRESS"])
    for _i in range(n + 2):
        assert (
            sign_in(limited_app.test_client(), "am1", factories.PASSWORD, address=OWNER).status_code
            == 302
        )


def test_the_limiter_answers_a_name_tried_from_many_addresses(limited_app, world, web, monkeypatch):
    monkeypatch.setitem(limited_app.config, "LOGIN_LIMIT_PER_NAME", "3 per hour")
    for i in range(3):
        assert (
            sign_in(web, "general_manager", "wrong-pass-1", address=f"10.0.0.{i + 1}").status_code
            == 401
        )
    r = sign_in(web, "general_manager", "wrong-pass-1", address="10.0.0.99")
    assert r.status_code == 429 and THROTTLED in r.get_data(as_text=True)
    assert sign_in(web, "am1", factories.PASSWORD, address="10.0.0.99").status_code == 302


# --- the lock counts per name and address ------------------------------------------------------


def test_a_strangers_failures_do_not_lock_the_owner_out(limited_app, app, world, web):
    per_address = first_limit(limited_app.config["LOGIN_LIMIT_PER_ADDRESS"])
    stranger, owner = web, limited_app.test_client()
    answers = [
        sign_in(stranger, "general_manager", "wrong-pass-1").status_code
        for _i in range(per_address + 3)
    ]
    # Locked after LOGIN_MAX_FAILURES (401, the lock's message), then throttled (429).
    assert answers[:per_address] == [401] * per_address and answers[-1] == 429
    r = sign_in(stranger.application.test_client(), "general_manager", factories.PASSWORD)
    assert r.status_code == 429 or zh(LOCKED) in r.get_data(as_text=True)
    # The owner, from her own address, is neither locked nor throttled.
    r = sign_in(owner, "general_manager", factories.PASSWORD, address=OWNER)
    assert r.status_code == 302
    assert owner.get("/admin/", environ_base={"REMOTE_ADDR": OWNER}).status_code == 200


def test_the_owner_is_not_locked_out_without_the_limiter(app, world):
    """The lock alone (the rest of the suite's app, limiter off) counts per address too."""
    stranger, owner = app.test_client(), app.test_client()
    for _i in range(app.config["LOGIN_MAX_FAILURES"] + 2):
        r = sign_in(stranger, "general_manager", "wrong-pass-1")
    assert r.status_code == 401 and zh(LOCKED) in r.get_data(as_text=True)
    assert sign_in(stranger, "general_manager", factories.PASSWORD).status_code == 401
    assert sign_in(owner, "general_manager", factories.PASSWORD, address=OWNER).status_code == 302


# --- where the counts live ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "config, expected",
    [
        ({"BROKER_URL": "redis://redis:6379/0"}, "redis://redis:6379/0"),
        ({"BROKER_URL": "rediss://redis:6380/0"}, "rediss://redis:6380/0"),
        (
            {"BROKER_URL": "redis://redis:6379/0", "RATELIMIT_STORAGE_URI": "redis://other:6379/3"},
            "redis://other:6379/3",
        ),
        ({"BROKER_URL": "sqla+sqlite:///instance/celery-broker.sqlite"}, "memory://"),
        ({}, "memory://"),
    ],
)
def test_the_counts_live_in_redis_in_production_and_in_memory_embedded(config, expected):
    assert storage_uri(config) == expected


def test_an_app_on_a_redis_broker_counts_in_redis(app):
    on_redis = create_app(
        {
            **app.config,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": None,
            "BROKER_URL": "redis://127.0.0.1:6379/2",
        }
    )
    app.extensions["celery"].set_default()
    assert isinstance(on_redis.extensions["crm_limiter"].storage, RedisStorage)
    embedded = create_app(
        {
            **app.config,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": None,
            "BROKER_URL": "sqla+sqlite:///x.sqlite",
        }
    )
    app.extensions["celery"].set_default()
    assert isinstance(embedded.extensions["crm_limiter"].storage, MemoryStorage)


def test_behind_a_proxy_the_lock_counts_the_forwarded_address(app, world):
    proxied = create_app({**app.config, "PROXY_COUNT": 1})
    app.extensions["celery"].set_default()
    stranger, owner = proxied.test_client(), proxied.test_client()

    def via_proxy(web, password, client_address):
        return web.post(
            "/login",
            data={"username": "general_manager", "password": password},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy, for everyone
            headers={"X-Forwarded-For": client_address},
        )

    for _i in range(app.config["LOGIN_MAX_FAILURES"]):
        via_proxy(stranger, "wrong-pass-1", STRANGER)
    assert zh(LOCKED) in via_proxy(stranger, factories.PASSWORD, STRANGER).get_data(as_text=True)
    assert via_proxy(owner, factories.PASSWORD, OWNER).status_code == 302


@pytest.mark.skipif(
    not BROKER_URL.startswith("redis"),
    reason="needs the Redis broker (CRM_BROKER_URL=redis://...), as in production and CI",
)
def test_on_redis_every_web_worker_shares_the_counts(app, world):
    """Two apps on one Redis stand for two gunicorn workers: failures at one throttle the other."""
    prefix = f"crm-signin-test-{uuid.uuid4().hex}"
    workers = [
        create_app(
            {
                **app.config,
                "RATELIMIT_ENABLED": True,
                "RATELIMIT_STORAGE_URI": None,
                "RATELIMIT_KEY_PREFIX": prefix,
            }
        )
        for _i in range(2)
    ]
    app.extensions["celery"].set_default()
    assert all(isinstance(w.extensions["crm_limiter"].storage, RedisStorage) for w in workers)
    try:
        n = first_limit(app.config["LOGIN_LIMIT_PER_ADDRESS"])
        for i in range(n):
            worker = workers[i % 2].test_client()
            assert sign_in(worker, f"guess{i}", "wrong-pass-1").status_code == 401
        for worker in workers:
            r = sign_in(worker.test_client(), "am1", factories.PASSWORD)
            assert r.status_code == 429 and THROTTLED in r.get_data(as_text=True)
    finally:
        workers[0].extensions["crm_limiter"].reset()


def test_with_its_redis_away_sign_in_still_works_and_the_lock_still_holds(app, world):
    """A Redis blip must not stop the staff signing in: the throttle lets requests through."""
    away = create_app(
        {**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}
    )  # nothing listens
    app.extensions["celery"].set_default()
    web = away.test_client()
    for _i in range(app.config["LOGIN_MAX_FAILURES"]):
        assert sign_in(web, "general_manager", "wrong-pass-1").status_code == 401
    assert zh(LOCKED) in sign_in(web, "general_manager", factories.PASSWORD).get_data(as_text=True)
    assert sign_in(web, "am1", factories.PASSWORD).status_code == 302
