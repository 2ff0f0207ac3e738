"""Users, regions and settings: the system administrator's screens (no customer data)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from wtforms import PasswordField
from wtforms.validators import Length, Optional

from crm import access
from crm.admin.base import ScopedModelView
from crm.auth.passwords import hash_password
from crm.auth.services import set_active, set_password
from crm.extensions import db


class AdminOnly(ScopedModelView):
    roles = frozenset({access.ADMIN})
    can_create = can_edit = can_export = True
    can_delete = False  # users are disabled, not deleted: their names stay on the records

    def create_record(self, form, model) -> None:
        db.session.add(model)

    def update_record(self, form, model) -> None:
        db.session.flush()


class UserView(AdminOnly):
    column_list = ("username", "full_name", "role", "region", "active", "locale",
                   "last_login_at")
    column_labels = {
        "username": _l("User name"), "full_name": _l("Name"), "role": _l("Role"),
        "region": _l("Region"), "active": _l("Enabled"), "locale": _l("Language"),
        "last_login_at": _l("Last sign-in"),
        "email": _l("E-mail"), "new_password": _l("New password"),
    }
    column_searchable_list = ("username", "full_name")
    column_filters = ("role", "active")
    column_formatters = {"role": lambda v, c, m, p: str(access.ROLES.get(m.role, m.role))}
    form_choices = {"role": list(access.ROLES.items()),
                    "locale": [("zh_Hans_CN", "简体中文"), ("en", "English")]}
    form_columns = ("username", "full_name", "role", "region", "email", "locale", "active")
    form_extra_fields = {
        "new_password": PasswordField(_l("New password"),
                                      validators=[Optional(), Length(min=8, max=200)]),
    }
    extra_form_fields = ("new_password",)

    def field_errors(self, form) -> dict:
        if self._is_create() and not form.new_password.data:
            return {"new_password": _l("A new user needs a password.")}
        return {}

    def _is_create(self) -> bool:
        from flask import request

        return bool(request.endpoint and request.endpoint.endswith("create_view"))

    def create_record(self, form, model) -> None:
        model.password_hash = hash_password(form.new_password.data)
        db.session.add(model)

    def update_record(self, form, model) -> None:
        # Through the services, as the CLI: a new password or disabling ends the user's sessions.
        state = inspect(model).attrs.active.history
        if state.deleted and not model.active:
            set_active(db.session, model, False)
        if form.new_password.data:
            set_password(db.session, model, form.new_password.data)
        db.session.flush()


class RegionView(AdminOnly):
    column_list = ("code", "name")
    column_labels = {"code": _l("Code"), "name": _l("Region name")}
    form_columns = ("code", "name")


class SettingView(AdminOnly):
    roles = frozenset({access.ADMIN, access.SALES_MANAGER, access.GENERAL_MANAGER})
    can_create = False
    column_list = ("key", "value")
    column_labels = {"key": _l("Setting"), "value": _l("Value")}
    form_columns = ("value",)
