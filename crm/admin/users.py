"""Users, regions and settings: the system administrator's screens (no customer data)."""

from flask import abort, request
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from crm import access
from crm.admin.base import ScopedModelView
from crm.auth import services
from crm.extensions import db


class AdminOnly(ScopedModelView):
    area = "users"
    can_delete = False  # users are disabled, not deleted: their names stay on the records

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        # These rows belong to no customer: the role gate alone decides (the base asks a
        # customer scope these models do not have).
        if not self.can_edit:
            abort(403)
        return super(ScopedModelView, self).edit_view()

    def create_record(self, form, model) -> None:
        db.session.add(model)

    def update_record(self, form, model) -> None:
        db.session.flush()


class UserView(AdminOnly):
    """Users are written only by crm.auth.services, as by the CLI: the same rules, the same
    audit. The password is never shown; a new one is typed in its own field."""

    column_list = ("username", "full_name", "role", "region", "active", "locale", "last_login_at")
    column_details_list = (
        "username",
        "full_name",
        "role",
        "region",
        "email",
        "active",
        "locale",
        "last_login_at",
        "created_at",
    )
    column_export_list = column_list
    column_labels = {
        "username": _l("User name"),
        "full_name": lazy_pgettext("person", "Name"),
        "role": _l("Role"),
        "region": _l("Region"),
        "active": _l("Enabled"),
        "locale": _l("Language"),
        "last_login_at": _l("Last sign-in"),
        "email": _l("E-mail"),
        "password": _l("New password"),
        "created_at": _l("Registered at"),
    }
    column_searchable_list = ("username", "full_name")
    column_filters = ("role", "active")
    column_formatters = {"role": lambda v, c, m, p: str(access.ROLES.get(m.role, m.role))}
    column_formatters_detail = column_formatters
    form_choices = {
        "role": list(access.ROLES.items()),
        "locale": [("zh_Hans_CN", "简体中文"), ("en", "English")],
    }
    form_columns = (
        "username",
        "full_name",
        "role",
        "region",
        "email",
        "locale",
        "active",
        "password",
    )
    form_extra_fields = {
        # Declared here rather than derived from the column: uniqueness is the service's rule
        # (one message, the CLI's), not a second check of Flask-Admin's.
        "username": StringField(_l("User name"), validators=[InputRequired(), Length(max=64)]),
        "password": PasswordField(
            _l("New password"),
            validators=[Length(max=200)],
            description=_l("Leave empty to keep the current password."),
        ),
    }
    extra_form_fields = ("username", "password")
    form_widget_args = {"password": {"autocomplete": "new-password"}}

    def adjust_form(self, form) -> None:
        if not self._is_create():
            # The sign-in name stays what it was: it is how the records name their author.
            form.username.render_kw = {"readonly": True}
        else:
            del form.active  # a new user is enabled; disabling one is an edit
            form.password.description = None

    def _is_create(self) -> bool:
        return bool(request.endpoint and request.endpoint.endswith("create_view"))

    def create_model(self, form):
        created = []
        ok = self._write(
            form,
            lambda: created.append(
                services.create_user(
                    db.session,
                    form.username.data,
                    form.password.data,
                    form.role.data,
                    form.region.data,
                    form.full_name.data,
                    form.email.data or None,
                    locale=form.locale.data or None,
                )
            ),
        )
        return ok and created[0]

    def update_model(self, form, model) -> bool:
        def operation():
            services.update_user(
                db.session,
                model,
                full_name=form.full_name.data,
                role=form.role.data,
                region=form.region.data,
                email=form.email.data,
                locale=form.locale.data or None,
                active=form.active.data,
            )
            if form.password.data:
                services.set_password(db.session, model, form.password.data)

        return self._write(form, operation)


class RegionView(AdminOnly):
    area = "regions"
    column_list = ("code", "name")
    column_labels = {"code": _l("Code"), "name": _l("Region name")}
    form_columns = ("code", "name")


class SettingView(AdminOnly):
    area = "settings"
    can_create = False
    column_list = ("key", "value")
    column_labels = {"key": _l("Setting"), "value": _l("Value")}
    form_columns = ("value",)
