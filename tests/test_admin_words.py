"""Flask-Admin's own words on our screens are Chinese, and the right Chinese (issue 14): the
page-size menu, the select boxes' placeholder, the flashes of a create or an edit."""

from types import SimpleNamespace

import pytest
from flask_admin.babel import gettext as admin_gettext
from flask_admin.babel import ngettext as admin_ngettext
from flask_admin.model import BaseModelView
from flask_babel import force_locale

from crm import access
from tests import factories


@pytest.fixture
def manager(app):
    """Made in a context closed before any request (Flask-Babel caches the locale on `g`)."""
    with app.app_context():
        region = factories.create_region("EAST", "华东大区")
        user = factories.create_user(access.ACCOUNT_MANAGER, region, "am_words")
        client = factories.create_client(owner=user, name="用词测试有限公司")
        return SimpleNamespace(username=user.username, client_id=client.id)


def flashes(c) -> list:
    with c.session_transaction() as s:
        return list(s.get("_flashes", []))


def test_the_page_size_menu_is_chinese(manager, login_as):
    html = login_as(manager).get("/admin/client/").get_data(as_text=True)
    for size in (20, 50, 100):
        assert f"每页 {size} 条" in html
    assert "items" not in html and "项目" not in html


def test_every_page_size_of_every_list_is_translated(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        sizes = {
            size
            for view in app.extensions["admin"][0]._views
            if isinstance(view, BaseModelView) and view.can_set_page_size
            for size in view.page_size_options
        }
        assert sizes
        for size in sizes:
            said = admin_ngettext(f"{size} item", f"{size} items", size)
            assert said == f"每页 {size} 条", size


def test_our_corrections_win_over_flask_admins_catalogue(app):
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert admin_gettext("Please select model") == "请选择"
        assert admin_gettext("Record was successfully saved.") == "已保存。"
        assert admin_gettext("not between") == "不介于"
        assert admin_gettext("Add Filter") == "添加筛选器"  # Flask-Admin's own, kept
    with app.test_request_context(), force_locale("en"):
        assert admin_gettext("Please select model") == "Please select model"


def test_a_select_box_asks_to_choose_not_for_a_model(manager, login_as):
    html = login_as(manager).get("/admin/keyperson/new/").get_data(as_text=True)
    assert 'data-placeholder="请选择"' in html
    assert "请选择模型" not in html and "Please select model" not in html


def test_a_refused_create_says_so_in_chinese(manager, login_as):
    c = login_as(manager)
    r = c.post("/admin/keyperson/new/", data={"name": ""})
    assert r.status_code == 200
    assert "未能创建，请按提示修改后重试。" in r.get_data(as_text=True)  # flashed, shown at once
    assert "Failed to create record." not in r.get_data(as_text=True)


def test_no_column_of_any_view_is_named_by_its_attribute(app):
    """Every label a list, details page, export or filter shows is one of ours (translated),
    never Flask-Admin's prettified attribute name ("Created At", "Actor")."""
    from flask_babel.speaklater import LazyString

    prettified = []
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        for view in app.extensions["admin"][0]._views:
            if not isinstance(view, BaseModelView):
                continue
            for attr in ("_list_columns", "_details_columns", "_export_columns"):
                for name, label in getattr(view, attr, None) or ():
                    if not isinstance(label, LazyString):
                        prettified.append((view.endpoint, attr, name, str(label)))
            for flt in view._filters or ():
                if not isinstance(flt.name, LazyString):
                    prettified.append((view.endpoint, "filter", str(flt.name)))
    assert prettified == []


def test_a_details_page_names_its_times_in_chinese(manager, login_as, app):
    with app.app_context():
        from crm.clients.models import Client
        from crm.extensions import db

        client = db.session.get(Client, manager.client_id, execution_options={"crm_unscoped": True})
        log_id = factories.create_contact_log(client).id
    html = login_as(manager).get(f"/admin/contactlog/details/?id={log_id}").get_data(as_text=True)
    assert "创建时间" in html and "Created At" not in html
