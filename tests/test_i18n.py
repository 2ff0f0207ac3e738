"""The screens speak Simplified Chinese first: every UI string has a translation, zh_Hans_CN is
the default locale, and a user who picks English gets English (ours and Flask-Admin's)."""

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from crm import access
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "crm" / "translations"
LOCALES = ("zh_Hans_CN", "en")
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]")


def _catalogue(locale: str, kind: str = "po"):
    path = TRANSLATIONS / locale / "LC_MESSAGES" / f"messages.{kind}"
    with path.open("rb") as f:
        return (read_po if kind == "po" else read_mo)(f)


def _strings(message) -> tuple:
    text = message.string
    return tuple(text) if isinstance(text, (tuple, list)) else (text,)


def _ids(message) -> tuple:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fresh extraction from the code as it is now, by the same script the catalogues use."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PYBABEL": str(bindir / "pybabel"), "PYTHON": sys.executable}
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "i18n.sh"), "--pot", str(pot)],
        check=True,
        env=env,
        capture_output=True,
    )
    with pot.open("rb") as f:
        catalogue = read_po(f)
    assert len([m for m in catalogue if m.id]) > 100  # the extraction really found our strings
    return catalogue


def test_every_extracted_string_has_a_chinese_translation(template):
    zh = _catalogue("zh_Hans_CN")
    untranslated, fuzzy = [], []
    for message in template:
        if not message.id:
            continue
        entry = zh.get(message.id, message.context)
        if entry is None or not all(_strings(entry)):
            untranslated.append(message.id)
        elif entry.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, "run scripts/i18n.sh and translate these in zh_Hans_CN"
    assert not fuzzy


def test_the_english_catalogue_knows_every_string(template):
    en = _catalogue("en")
    assert [m.id for m in template if m.id and en.get(m.id, m.context) is None] == []


def test_translations_keep_their_placeholders():
    zh = _catalogue("zh_Hans_CN")
    assert [(m.id, [str(e) for e in errors]) for m, errors in zh.check()] == []
    wrong = []
    for message in zh:
        wanted = sorted(PLACEHOLDER.findall(_ids(message)[-1]))
        for text in _strings(message):
            if text and sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append((message.id, text))
    assert wrong == []


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_its_source(locale):
    """The app reads the .mo: a translation added to the .po but not compiled never shows."""

    def translated(catalogue):
        # Babel compiles an untranslated plural as its msgids: the same as no translation.
        return {
            _ids(m): _strings(m)
            for m in catalogue
            if m.id and not m.fuzzy and all(_strings(m)) and _strings(m) != _ids(m)
        }

    assert translated(_catalogue(locale, "mo")) == translated(_catalogue(locale))


def test_compiled_admin_corrections_match_their_source():
    """Our corrections to Flask-Admin's catalogue (domain "admin") are compiled too."""
    path = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES"
    with (path / "admin.po").open("rb") as f:
        source = {_ids(m): _strings(m) for m in read_po(f) if m.id}
    with (path / "admin.mo").open("rb") as f:
        compiled = {_ids(m): _strings(m) for m in read_mo(f) if m.id}
    assert compiled == source


@pytest.fixture
def account_manager(app):
    """An account manager with one customer and no locale preference.

    Made in a context that is closed before any request: Flask-Babel caches the locale on `g`,
    and the `world` fixture keeps an app context open that every test request would share."""
    with app.app_context():
        region = factories.create_region("EAST", "华东大区")
        user = factories.create_user(access.ACCOUNT_MANAGER, region, "am_i18n")
        factories.create_client(owner=user, name="语言测试有限公司")
        assert user.locale is None
        return SimpleNamespace(username=user.username)


CHINESE = ("客户全称", "客户经理", "客户档案", "交易阶段", "未来客户")
ENGLISH = ("Full name", "Account manager", "Customer archives", "Stage", "Prospect")
# Flask-Admin's own strings, from its "admin" domain: List, Create, Add Filter, Search.
ADMIN_CHINESE = ("列表", "创建", "添加筛选器", "搜索")
ADMIN_ENGLISH = ("List", "Create", "Add Filter", "Search")


def _texts(html: str) -> set:
    """What a person reads: text between tags (scripts left out) and input placeholders."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return {t.strip() for t in re.findall(r">([^<>]+)<", html)} | set(
        re.findall(r'placeholder="([^"]*)"', html)
    )


def _shows(html: str, words) -> list:
    texts = _texts(html)
    return [w for w in words if any(w in t for t in texts)]


def test_customer_list_is_chinese_without_a_preference(account_manager, login_as):
    html = login_as(account_manager).get("/admin/client/").get_data(as_text=True)
    assert "语言测试有限公司" in html
    assert _shows(html, CHINESE + ADMIN_CHINESE) == list(CHINESE + ADMIN_CHINESE)
    assert _shows(html, ENGLISH + ADMIN_ENGLISH) == []


def test_choosing_english_switches_our_labels_and_flask_admins(account_manager, login_as):
    browser = login_as(account_manager)
    referer = {"Referer": "http://localhost/admin/client/"}

    response = browser.post("/locale/en", headers=referer)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/client/"
    html = browser.get("/admin/client/").get_data(as_text=True)
    assert _shows(html, ENGLISH + ADMIN_ENGLISH) == list(ENGLISH + ADMIN_ENGLISH)
    assert _shows(html, CHINESE + ADMIN_CHINESE) == []

    browser.post("/locale/zh_Hans_CN", headers=referer)
    html = browser.get("/admin/client/").get_data(as_text=True)
    assert _shows(html, CHINESE + ADMIN_CHINESE) == list(CHINESE + ADMIN_CHINESE)


@pytest.mark.parametrize("accept", [None, "zh-CN,zh;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9"])
def test_sign_in_page_is_chinese_by_default(client, accept):
    headers = {"Accept-Language": accept} if accept else {}
    html = client.get("/login", headers=headers).get_data(as_text=True)
    chinese = ["登录", "用户名", "密码", "客户档案"]
    assert _shows(html, chinese) == chinese
    assert _shows(html, ("Sign in", "User name", "Password")) == []
    assert '<html lang="zh-CN">' in html


ENGLISH_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}
CHINESE_BROWSER = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.mark.parametrize("path", ["/admin/", "/admin/client/", "/admin/client/new/"])
def test_an_english_browser_signed_in_without_a_preference_sees_chinese(
    account_manager, login_as, path
):
    """The staff are Chinese: a signed-in user's screens follow their own choice, not the
    language the browser happens to send (issue 20)."""
    browser = login_as(account_manager)
    html = browser.get(path, headers=ENGLISH_BROWSER).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert _shows(html, ("客户档案", "退出")) == ["客户档案", "退出"]
    assert _shows(html, ("Customer archives", "Sign out")) == []


def test_a_user_who_chose_english_keeps_it_in_a_chinese_browser(account_manager, login_as):
    browser = login_as(account_manager)
    browser.post("/locale/en", headers={"Referer": "http://localhost/admin/client/"})
    html = browser.get("/admin/client/", headers=CHINESE_BROWSER).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert _shows(html, ENGLISH + ADMIN_ENGLISH) == list(ENGLISH + ADMIN_ENGLISH)
    assert _shows(html, CHINESE + ADMIN_CHINESE) == []


def test_sign_in_page_follows_an_english_browser(client):
    html = client.get("/login", headers=ENGLISH_BROWSER).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert _shows(html, ("Sign in", "User name", "Password")) == [
        "Sign in",
        "User name",
        "Password",
    ]
