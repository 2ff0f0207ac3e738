"""The base layout every admin page shares (issue 20): the screen's language on <html>, the menu
in a labelled <nav>, the page in <main> under one <h1>, every list control and column header
named, and the AA-contrast theme served by the app itself (an intranet has no CDN). The browser
suite (tests/browser/test_accessibility.py) runs axe-core over the same screens."""

import re
from html.parser import HTMLParser

import pytest

PAGES = [
    "/admin/",
    "/admin/client/",
    "/admin/client/new/",
    "/admin/client/details/?id={c1}",
    "/admin/contract/",
    "/admin/card/",
    "/admin/inbox/",
    "/admin/change_request/",
]


class Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict, list[str]]] = []  # (tag, attributes, open ancestors)
        self.open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs), list(self.open)))
        if tag not in ("input", "meta", "link", "br", "img", "hr"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def find(self, tag, **attrs):
        return [
            (a, anc)
            for t, a, anc in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


@pytest.mark.parametrize("path", PAGES)
def test_every_admin_page_has_language_landmarks_and_one_title(world, login_as, path):
    html = login_as(world.sales_manager).get(path.format(c1=world.c1.id)).get_data(as_text=True)
    page = Page(html)
    assert page.find("html")[0][0].get("lang") == "zh-CN"
    [(main, _)] = page.find("main")
    [(h1, ancestors)] = page.find("h1")
    assert "main" in ancestors
    [(nav, ancestors)] = page.find("nav")
    assert nav.get("aria-label") == "主菜单" and "header" in ancestors
    # the page's content is inside <main>: every table and form but the menu's own forms
    for tag in ("table", "fieldset"):
        assert all("main" in anc for _, anc in page.find(tag)), tag


def test_list_checkboxes_and_the_action_column_are_named(world, login_as):
    html = login_as(world.sales_manager).get("/admin/client/").get_data(as_text=True)
    page = Page(html)
    toggles = [a for a, _ in page.find("input") if a.get("name") == "rowtoggle"]
    rows = [a for a, _ in page.find("input") if a.get("name") == "rowid"]
    assert [(a["class"], a.get("aria-label")) for a in toggles] == [
        ("action-rowtoggle", "选择所有记录")
    ]
    assert len(rows) == 3 and all(
        a["class"] == "action-checkbox" and a.get("aria-label") == "选择记录" for a in rows
    )
    assert '<th class="list-buttons-header"><span class="sr-only">操作</span></th>' in html


def test_the_theme_is_served_by_the_app_after_the_bootstrap_theme(world, login_as, client):
    html = login_as(world.am1).get("/admin/").get_data(as_text=True)
    sheets = [a["href"] for a, _ in Page(html).find("link") if a.get("rel") == "stylesheet"]
    scripts = [a["src"] for a, _ in Page(html).find("script") if a.get("src")]
    assert all(u.startswith("/") and not u.startswith("//") for u in sheets + scripts)  # no CDN
    theme = next(i for i, u in enumerate(sheets) if "swatch/cerulean" in u)
    assert sheets.index("/static/theme.css") > theme


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _declared(css: str, selector: str, prop: str) -> str:
    """The colour `prop` of the rule whose selector list starts with `selector`."""
    rule = re.search(r"(?m)^" + re.escape(selector) + r"\b[^{]*\{([^}]*)\}", css).group(1)
    return re.search(rf"(?:^|;|\s){prop}:\s*(#[0-9a-f]{{6}})", rule).group(1)


def test_the_theme_gives_text_aa_contrast(client):
    """Cerulean's blue (#2fa4e7) was 2.8:1 on white, its grey 3.3:1, the outlined secondary
    button's label 1.2:1. Ours reach 4.5:1 on white and on the striped rows (#f2f2f2)."""
    assert contrast("#2fa4e7", "#ffffff") < 3  # the measure agrees with the figures
    css = client.get("/static/theme.css").get_data(as_text=True)
    text = {
        "links": _declared(css, "a, .btn-link, .page-link", "color"),
        "headings": _declared(css, "h1, h2, h3", "color"),
        "help texts": _declared(css, ".text-muted", "color"),
        "secondary buttons": _declared(css, ".btn-outline-secondary", "color"),
        "pale buttons": _declared(css, ".btn-secondary, .btn-secondary:disabled", "color"),
    }
    for background in ("#ffffff", "#f2f2f2"):
        assert {
            k: round(contrast(v, background), 2)
            for k, v in text.items()
            if contrast(v, background) < 4.5
        } == {}
    for kind in ("primary", "success", "warning", "danger"):
        filled = _declared(css, f".btn-{kind}, .btn-{kind}:disabled", "background-color")
        assert contrast("#ffffff", filled) >= 4.5, kind
        badge = _declared(css, f".badge-{kind}", "background-color")
        assert contrast("#ffffff", badge) >= 4.5, kind
