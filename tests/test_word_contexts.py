"""One English word, several Chinese ones (issue 14): "Title", "Name", "Open", "Active" and
"Cancelled" are translated by where they stand (message contexts), not once for every screen."""

import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from crm import access
from crm.archives import rules as archive_rules
from crm.commissions.models import STATEMENT_STATUSES
from crm.complaints.models import STATUSES as COMPLAINT_STATUSES
from crm.contracts.models import STATUSES as CONTRACT_STATUSES
from tests import factories


@pytest.fixture
def manager(app):
    """A sales manager, made in a context closed before any request (Flask-Babel caches the
    locale on `g`)."""
    with app.app_context():
        user = factories.create_user(access.SALES_MANAGER, None, "sm_words")
        return SimpleNamespace(username=user.username)


def headers(html: str) -> list:
    """The list's column headers as a person reads them."""
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    cells = re.findall(r"<th\b[^>]*>(.*?)</th>", head, re.S)
    return [re.sub(r"<[^>]+>|\s+", "", cell) for cell in cells]


@pytest.mark.parametrize(
    "path, shows, never",
    [
        ("/admin/contract/", "标题", "职务"),
        ("/admin/daily_record/", "标题", "职务"),
        ("/admin/archive_document/", "题名", "职务"),
        ("/admin/keyperson/", "职务", "标题"),
        ("/admin/keyperson/", "姓名", "名称"),
        ("/admin/user/", "姓名", "名称"),
        ("/admin/card_type/", "名称", "姓名"),
        ("/admin/scheme/", "名称", "姓名"),
        ("/admin/notice_robot/", "名称", "姓名"),
    ],
)
def test_a_list_header_says_what_its_column_holds(manager, login_as, app, path, shows, never):
    c = login_as(manager)
    if path in ("/admin/user/", "/admin/notice_robot/"):
        with app.app_context():
            admin = factories.create_user(access.ADMIN, None, "admin_words")
            c = login_as(SimpleNamespace(username=admin.username))
    r = c.get(path)
    assert r.status_code == 200, path
    columns = headers(r.get_data(as_text=True))
    assert shows in columns and never not in columns, columns


def test_the_aging_report_names_its_rows_by_the_grouping(manager, login_as):
    c = login_as(manager)
    for group, label in (("client", "客户"), ("owner", "客户经理"), ("region", "大区")):
        html = c.get(f"/admin/credit_aging/?group={group}").get_data(as_text=True)
        head = re.search(r'id="aging-report">\s*<thead><tr><th>([^<]*)</th>', html)
        assert head and head.group(1) == label, group


def test_open_and_cancelled_are_said_as_each_record_means_them(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert str(dict(COMPLAINT_STATUSES)["open"]) == "待处理"
        assert str(dict(STATEMENT_STATUSES)["open"]) == "待确认"
        assert str(archive_rules.VOLUME_STATUSES[archive_rules.OPEN]) == "未封卷"
        assert str(dict(CONTRACT_STATUSES)["cancelled"]) == "已作废"
        from crm.admin.commissions import LABELS
        from crm.admin.revisits import STATUS

        assert str(dict(STATUS)["open"]) == "待回访"
        assert str(LABELS["active"]) == "启用"
    with app.test_request_context(), force_locale("en"):
        assert str(dict(COMPLAINT_STATUSES)["open"]) == "Open"
