"""The one base view: role gate, row scope on every path, domain services for every write.

Reads are narrowed by crm.access in the query layer; this class closes the paths that do not
run a fresh query (Flask-Admin's `get_one` and the AJAX loaders' `get_one` use session.get and
would answer from the identity map), turns an out-of-scope record into 404, and sends creates,
updates and deletes through the domain functions so that no view can skip a rule.
"""

from datetime import date, datetime
from decimal import Decimal

from flask import abort, flash, g, redirect, request, session, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.babel import ngettext as admin_ngettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.filters import (
    FilterEqual,
    FilterGreater,
    FilterInList,
    FilterNotEqual,
    FilterNotInList,
    FilterSmaller,
)
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Numeric, select
from werkzeug.utils import secure_filename
from wtforms import StringField

from crm.access import can, current_actor
from crm.admin.labels import FIELD_LABELS
from crm.admin.listing import BoundedListMixin
from crm.bounds import FormBounds, bounded_id, id_list, value_error
from crm.errors import DomainError, NotAllowed
from crm.excel.safe import csv_response
from crm.extensions import db
from crm.governance.consent import screen_details
from crm.governance.services import add_record, change_record, soft_delete
from crm.kernel import to_decimal
from crm.timeutil import format_local
from crm.urls import local_path

PENDING_KEYS = ("crm_pending_changes", "crm_pending_deletions")


class RoleGate:
    """Who may open a view at all is the policy's answer (crm.access.ACTIONS[area]["view"]);
    the row scope is decided separately. A screen whose gate is not its area's names its own
    entry of the table in `screen`."""

    area: str = ""
    screen: str = ""

    @property
    def gate(self) -> str:
        """The policy area whose "view" action opens this screen."""
        return self.screen or self.area

    def _handle_view(self, name, **kwargs):
        # Flask-Admin redirects to its `url` parameter (the return target of create, edit,
        # details, delete, export and actions) when its is_safe_url agrees, and that check
        # lets "http:evil.example" (a host to a browser on an https page the app sees as http
        # behind a proxy) and relative paths through. The app's one rule decides instead.
        target = request.values.get("url")
        if target is not None and local_path(target) is None:
            abort(400)
        return super()._handle_view(name, **kwargs)

    def is_accessible(self) -> bool:
        return can(current_actor(), "view", area=self.gate)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)


class SecureForm(FlaskForm):
    """Flask-WTF's form: the CSRF token the app-wide CSRFProtect checks."""


def select_one(model, pk):
    """Load one row through the scoped query layer, ignoring what the session already holds."""
    column = model.__mapper__.primary_key[0]
    try:  # the AJAX fields pass the id as text, which PostgreSQL will not compare to an integer
        if column.type.python_type is int:  # nor to an integer its column cannot hold
            pk = bounded_id(pk, column.type)
        else:
            pk = column.type.python_type(pk)
    except (TypeError, ValueError):
        return None
    if pk is None:
        return None
    stmt = select(model).where(column == pk)
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def perform(
    operation,
    success: str | None = None,
    forbid: bool = False,
    form=None,
    prefix: str | None = None,
    autoflush: bool = True,
):
    """The one way a screen runs a domain operation: call it, commit, or roll back and say why
    (every view's buttons, forms and bulk actions come here).
    Returns (True, result) or (False, None).

    - `success`: flashed once it is committed;
    - `forbid`: a NotAllowed answers 403 instead of a message;
    - `form`: a refusal's field errors go beside the form's fields; those no field shows
      follow the rule's sentence in the one flash;
    - `prefix`: the flash names the record (a bulk action refusing one of several);
    - `autoflush=False`: a form's half-built object is not flushed while the rule reads."""
    try:
        if autoflush:
            result = operation()
        else:
            with db.session.no_autoflush:
                result = operation()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if forbid and isinstance(exc, NotAllowed):
            abort(403)
        flash(_refusal(exc, form, prefix), "error")
        return False, None
    if success:
        flash(success, "success")
    return True, result


def _refusal(exc: DomainError, form, prefix: str | None) -> str:
    """One message per refusal: the rule's sentence. Field hints belong beside form fields;
    behind a button they would repeat it in other words (issue 14)."""
    said = [str(exc.message or next(iter(exc.field_errors.values()), ""))]
    if form is not None and not isinstance(exc, NotAllowed):
        for name, message in exc.field_errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, str(message)]
            elif str(message) not in said:
                said.append(str(message))
    text = " ".join(said)
    return f"{prefix}: {text}" if prefix else text


class ScopedAjaxLoader(QueryAjaxModelLoader):
    def get_one(self, pk):
        with db.session.no_autoflush:
            return select_one(self.model, pk)


class BoundedModelConverter(AdminModelConverter):
    """Flask-Admin's form fields, each bounded by what its column can hold (crm.bounds);
    text fields already get their column's length from Flask-Admin."""

    @converts("Integer")
    def handle_integer_types(self, column, field_args, **extra):
        field_args["validators"].append(FormBounds(column.type))
        return super().handle_integer_types(column=column, field_args=field_args, **extra)

    @converts("Numeric")
    def handle_decimal_types(self, column, field_args, **extra):
        field_args["validators"].append(FormBounds(column.type))
        return super().handle_decimal_types(column=column, field_args=field_args, **extra)


# Filters whose own clean() leaves the text as typed: PostgreSQL will not compare text with an
# integer, boolean or date column (and no integer column holds 20 digits), so the value is
# made the column's own type first; a value that is not one is refused.
_TEXT_FILTERS = (
    FilterEqual,
    FilterNotEqual,
    FilterGreater,
    FilterSmaller,
    FilterInList,
    FilterNotInList,
)
_BOOLEANS = {"1": True, "0": False, "true": True, "false": False, "y": True, "n": False}


def _typed(type_, text):
    if not isinstance(text, str):
        return text
    text = text.strip()
    if isinstance(type_, Boolean):
        return _BOOLEANS[text.lower()]
    if isinstance(type_, Integer):
        number = bounded_id(text, type_)
        if number is None:
            raise ValueError(text)
        return number
    if isinstance(type_, Numeric) and getattr(type_, "asdecimal", True):
        return to_decimal(text)
    if isinstance(type_, DateTime):
        return datetime.fromisoformat(text)
    if isinstance(type_, Date):
        return date.fromisoformat(text)
    return text


def bound_filter(flt) -> None:
    """A filter's value must be one its column can hold: otherwise Flask-Admin's own check
    (`validate`) refuses it with a message on the list, instead of the database with a 500."""
    type_ = getattr(getattr(flt, "column", None), "type", None)
    if type_ is None or getattr(flt, "crm_bounded", False):
        return
    own_validate, own_clean = flt.validate, flt.clean
    retype = type(flt) in _TEXT_FILTERS

    def clean(value):  # Flask-Admin's own validate() calls it and expects ValueError
        cleaned = own_clean(value)
        if not retype:
            return cleaned
        try:
            if isinstance(cleaned, list):
                return [_typed(type_, v) for v in cleaned]
            return _typed(type_, cleaned)
        except (TypeError, KeyError, ArithmeticError) as exc:
            raise ValueError(value) from exc

    def validate(value):
        if not own_validate(value):
            return False
        try:
            cleaned = clean(value)
        except (TypeError, ValueError, ArithmeticError):
            return False
        items = cleaned if isinstance(cleaned, list | tuple) else [cleaned]
        return all(_filter_value_ok(type_, v) for v in items)

    flt.clean, flt.validate, flt.crm_bounded = clean, validate, True


def _filter_value_ok(type_, value) -> bool:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return False
        value = Decimal(str(value))
    if isinstance(type_, Numeric) and isinstance(value, Decimal):
        # a filter may compare with a value the column cannot hold, within reason
        return value.is_finite() and abs(value) < Decimal(10) ** 15
    return value_error(type_, value) is None


# --- staff words: every value a list, a details page or an export shows ---------------------
# Flask-Admin shows a value through the view's per-column formatter, else its column choices,
# else the first of these type formatters it is an instance of (in this order), else str().
def staff_value(value) -> str:
    """One value as staff read it: 是/否, local time to the minute, money with separators and
    two decimals, a record by its name, the system by name; nothing developer-shaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, datetime):
        return format_local(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, type):  # crm.access.SYSTEM acts as a class, never an instance
        return str(_("System"))
    if isinstance(value, list | tuple | set):
        return "、".join(staff_value(v) for v in value)
    if isinstance(value, db.Model):
        return record_name(value)
    return str(value)


# What an event stores as its actor's label when no user acted (and what older rows hold).
ACTOR_WORDS = {
    "system": _l("System"),
    "anonymous": _l("Anonymous visitor"),
    "<class 'crm.access.SYSTEM'>": _l("System"),
}


def who(event) -> str:
    """Who did it: the user's name when one acted, else the system or an anonymous visitor."""
    actor = getattr(event, "actor", None)
    if actor is not None:
        return staff_value(actor)
    label = getattr(event, "actor_label", None) or "system"
    return str(ACTOR_WORDS.get(label, label))


def format_decimal(value: Decimal) -> str:
    """Money (two decimals) with thousands separators; a rate keeps its own places."""
    if not value.is_finite():
        return str(value)
    places = -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0
    if places == 2 or abs(value) >= 1000:
        return f"{value:,.2f}"
    return f"{value:,.{places}f}"


def record_name(row) -> str:
    """A record by what staff call it: its own __str__ when it has one, else a name or a code."""
    if type(row).__str__ is not object.__str__:
        return str(row)
    for attr in ("name", "full_name", "number", "code", "title"):
        text = getattr(row, attr, None)
        if text:
            return str(text)
    label = getattr(type(row), "__label__", None)
    return f"{label or type(row).__name__} {getattr(row, 'id', '')}".strip()


# Columns many tables share, for the tables no view labels.
COMMON_LABELS = {
    "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
    "status": _l("Status"),
    "decided_by_id": _l("Decided by"),
    "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"),
    "requested_at": _l("Requested at"),
    "requested_by_id": _l("Requested by"),
    "requested_by": _l("Requested by"),
    "approved_by_id": _l("Approved by"),
    "approved_by": _l("Approved by"),
    "approved_at": _l("Approved at"),
    "recorded_by_id": _l("Recorded by"),
    "recorded_by": _l("Recorded by"),
    "actor": _l("Who"),
    "actor_id": _l("Who"),
    "actor_label": _l("Who"),
    "owner_id": _l("Account manager"),
    "owner": _l("Account manager"),
    "region_id": _l("Region"),
    "region": _l("Region"),
    "client_id": _l("Customer"),
    "client": _l("Customer"),
    "user_id": _l("User"),
    "reason": _l("Reason"),
    "comment": _l("Comment"),
    "note": _l("Note"),
    "amount": _l("Amount"),
    "name": lazy_pgettext("thing", "Name"),
    "locale": _l("Language"),
    "active": lazy_pgettext("in use", "Active"),
    "at": _l("Time"),
    "deleted_at": _l("Deleted at"),
    "from_user_id": _l("From"),
    "to_user_id": _l("To"),
    "destruction_id": _l("Destruction record"),
}


def _staff_formatter(view, value, name):
    return staff_value(value)


def _staff_text(view, value, name):
    return str(ACTOR_WORDS[value]) if value in ACTOR_WORDS else value


def _staff_bool(view, value, name):
    return _("Yes") if value else _("No")


STAFF_FORMATTERS = {
    type(None): lambda view, value, name: "",
    bool: _staff_bool,
    datetime: _staff_formatter,
    date: _staff_formatter,
    Decimal: _staff_formatter,
    type: _staff_formatter,
    list: _staff_formatter,
    tuple: _staff_formatter,
    set: _staff_formatter,
    db.Model: _staff_formatter,
    str: _staff_text,  # "system" stored as who acted
}
# Exports keep amounts as numbers (a spreadsheet adds them up); the rest reads as on screen.
STAFF_EXPORT_FORMATTERS = {k: v for k, v in STAFF_FORMATTERS.items() if k is not Decimal}


class ScopedModelView(RoleGate, BoundedListMixin, ModelView):
    form_base_class = SecureForm
    model_form_converter = BoundedModelConverter
    extra_form_fields: tuple = ()
    can_view_details = True
    can_set_page_size = True
    page_size = 20
    list_template = "admin/crm/list.html"
    # Rows written from buttons prepared once per page (crm/admin/rows.py); a view whose list
    # template adds its own row actions (block list_row_actions) turns it off.
    compact_rows = True
    column_type_formatters = STAFF_FORMATTERS
    column_type_formatters_detail = STAFF_FORMATTERS
    column_type_formatters_export = STAFF_EXPORT_FORMATTERS

    def __init__(self, model, **kwargs):
        super().__init__(model, db, **kwargs)

    def get_sortable_columns(self):
        """Flask-Admin's, less JSON columns: PostgreSQL has no order for json (sorting the
        change requests by their changes answered 500)."""
        columns = super().get_sortable_columns()
        return {
            name: column
            for name, column in columns.items()
            if not isinstance(getattr(column, "type", None), JSON)
        }

    def get_column_name(self, field):
        """A column's label: the view's own, else the staff's word for a shared column (never
        Flask-Admin's English "Created At" made from the column's name)."""
        if self.column_labels and field in self.column_labels:
            return self.column_labels[field]
        if field in FIELD_LABELS:  # crm/admin/labels.py
            return FIELD_LABELS[field]
        if field in COMMON_LABELS:
            return COMMON_LABELS[field]
        return super().get_column_name(field)

    # --- what the signed-in user may do, asked of crm.access -----------------------------
    @property
    def can_create(self):
        return can(current_actor(), "create", area=self.area)

    @property
    def can_edit(self):
        return can(current_actor(), "edit", area=self.area)

    @property
    def can_delete(self):
        return can(current_actor(), "delete", area=self.area)

    @property
    def can_export(self):
        return can(current_actor(), "export", area=self.area)

    # --- exports: every cell through crm.excel.safe (no formulas) ---------------------------
    def _export_csv(self, return_url):
        _count, data = self._export_data()
        header = [str(label) for _, label in self._export_columns]
        rows = (
            [self.get_export_value(row, name) for name, _ in self._export_columns] for row in data
        )
        name = secure_filename(self.get_export_name(export_type="csv"))
        return csv_response(header, rows, name, stream=True)

    # --- reads ------------------------------------------------------------------------------
    def get_one(self, id):
        row = select_one(self.model, id) if id is not None else None
        if row is None:
            abort(404)
        return row

    max_page = 100_000  # deeper than any list is read; a larger page number reads page 0

    def _get_list_extra_args(self):
        args = super()._get_list_extra_args()
        if not 0 <= (args.page or 0) <= self.max_page:
            args.page = 0
        if args.sort is not None and not 0 <= args.sort < 1000:
            args.sort = None
        return args

    def _refresh_filters_cache(self) -> None:
        super()._refresh_filters_cache()
        for flt in self._filters or ():
            bound_filter(flt)

    def _get_filter_groups(self):
        """Flask-Admin computes option lists once at start-up; scoped ones are asked per request."""
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[item["index"]]
                if callable(flt.options):
                    item["options"] = [(str(k), str(v)) for k, v in flt.options()]
        return groups

    def _create_ajax_loader(self, name, options):
        attr = getattr(self.model, name)
        remote = attr.property.mapper.class_
        return ScopedAjaxLoader(name, db, remote, **options)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        model = self.get_one(request.args.get("id"))
        if not can(current_actor(), "edit", model):
            abort(403)
        return super().edit_view()

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        # As for edit: out of scope is 404 for everyone, before a role that may not delete
        # hears 403 (Flask-Admin would only redirect).
        model = self.get_one(request.form.get("id"))
        if not can(current_actor(), "delete", model):
            abort(403)
        return super().delete_view()

    # --- writes: through the domain functions ---------------------------------------------
    def create_form(self, obj=None):
        return self._mark(super().create_form(obj))

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._obj = obj  # Flask-Admin's Unique validator needs it; Flask-WTF's form lacks it
        return self._mark(form)

    def _mark(self, form):
        form.crm_model_form = True
        self.adjust_form(form)
        return form

    def adjust_form(self, form) -> None:
        """Remove or narrow fields for the signed-in user's role."""

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        if valid and getattr(form, "crm_model_form", False):
            errors = self.field_errors(form)
            for name, message in errors.items():
                if name in form:
                    form[name].errors = [*form[name].errors, str(message)]
                else:
                    flash(str(message), "error")
            valid = not errors
        return valid

    def field_errors(self, form) -> dict:
        return {}

    def populate(self, form, model) -> None:
        for name, field in form._fields.items():
            if name not in self.extra_form_fields and name != "csrf_token":
                field.populate_obj(model, name)

    def create_model(self, form):
        model = self.build_new_instance()
        self.populate(form, model)
        return self._write(form, lambda: self.create_record(form, model)) and model

    def update_model(self, form, model):
        self.populate(form, model)
        return self._write(form, lambda: self.update_record(form, model))

    def delete_model(self, model):
        reason = request.form.get("reason", "").strip()
        return self._write(None, lambda: self.delete_record(model, reason))

    def _write(self, form, operation) -> bool:
        """A form's save through `perform`, then the R6 notice if it now waits."""
        for key in PENDING_KEYS:
            db.session.info.pop(key, None)
        ok, _result = perform(operation, form=form if form is not None else {}, autoflush=False)
        if ok:
            self._announce_pending()
        return ok

    def _announce_pending(self) -> bool:
        """R6: note that an edit or a deletion now waits for the sales manager. The notice is
        flashed once when the view is done (_run_view), in place of Flask-Admin's "saved" /
        "deleted", which would say the opposite. True when something now waits."""
        waiting = g.setdefault("crm_pending", {"changes": 0, "deletions": 0})
        changes = len(db.session.info.pop("crm_pending_changes", None) or ())
        deletions = len(db.session.info.pop("crm_pending_deletions", None) or ())
        waiting["changes"] += changes
        waiting["deletions"] += deletions
        return bool(changes or deletions)

    def _run_view(self, fn, *args, **kwargs):
        g.pop("crm_pending", None)
        already = len(session.get("_flashes", ()))
        result = super()._run_view(fn, *args, **kwargs)
        waiting = g.pop("crm_pending", None)
        if waiting and (waiting["changes"] or waiting["deletions"]):
            _drop_flashes(
                already,
                {
                    admin_gettext("Record was successfully saved."),
                    admin_ngettext(
                        "Record was successfully deleted.",
                        "%(count)s records were successfully deleted.",
                        1,
                        count=1,
                    ),
                },
            )
            changes, deletions = waiting["changes"], waiting["deletions"]
            if changes == 1:
                flash(
                    _(
                        "The change awaits the sales manager's approval; the record stays as "
                        "it was until then."
                    ),
                    "info",
                )
            elif changes:
                flash(
                    _(
                        "%(num)d changes await the sales manager's approval; the records "
                        "stay as they were until then.",
                        num=changes,
                    ),
                    "info",
                )
            if deletions == 1:
                flash(_("The deletion awaits the sales manager's approval."), "info")
            elif deletions:
                flash(
                    _("%(num)d deletions await the sales manager's approval.", num=deletions),
                    "info",
                )
        return result

    # --- details: sensitive fields by role, reads under a view grant audited (R5, R17) -----
    @expose("/details/")
    def details_view(self):
        """Flask-Admin's details page; what reading it recorded (a read only a view grant
        allows, a full view of sensitive fields: crm.governance.consent.screen_details) is
        committed once the page is rendered, by the request, not while rendering."""
        response = super().details_view()
        db.session.commit()
        return response

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.list_template and "list_row_actions" in kwargs and self.compact_rows:
            from crm.admin.rows import RowButtons

            kwargs["row_buttons"] = RowButtons.for_page(
                self,
                kwargs["list_row_actions"],
                kwargs.get("return_url") or "",
                kwargs.get("delete_form"),
            )
            kwargs["select_label"] = admin_gettext("Select record")
        if template == self.details_template and model is not None and "details_columns" in kwargs:
            kwargs["details_columns"] = screen_details(
                db.session, current_actor(), model, kwargs["details_columns"]
            )
        return super().render(template, **kwargs)

    def create_record(self, form, model) -> None:
        add_record(db.session, model)

    def update_record(self, form, model) -> None:
        change_record(
            db.session, model, getattr(form, "change_reason", None) and form.change_reason.data
        )

    def delete_record(self, model, reason: str) -> None:
        soft_delete(db.session, [model], reason)

    def get_delete_form(self):
        form = super().get_delete_form()
        form.reason = StringField()
        return form

    @action("delete", _l("Delete"), _l("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        rows = self.get_query().filter(self.model.id.in_(id_list(ids))).all()
        done = sum(1 for row in rows if self.delete_model(row))
        # The ones now waiting for approval are announced as such (_run_view), not as deleted.
        deleted = done - g.get("crm_pending", {}).get("deletions", 0)
        if deleted > 0:
            flash(
                admin_ngettext(
                    "Record was successfully deleted.",
                    "%(count)s records were successfully deleted.",
                    deleted,
                    count=deleted,
                ),
                "success",
            )


def _drop_flashes(start: int, texts: set) -> None:
    """Take back the messages among `texts` flashed since the `start`-th one of the session."""
    flashes = session.get("_flashes")
    if not flashes:
        return
    kept = flashes[:start] + [(c, m) for c, m in flashes[start:] if str(m) not in texts]
    if len(kept) != len(flashes):
        session["_flashes"] = kept


class HomeView(AdminIndexView):
    gate = "home"

    def is_accessible(self) -> bool:
        return can(current_actor(), "view", area=self.gate)

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.full_path))


class RoleView(RoleGate, BaseView):
    """A plain (non-model) screen gated by role."""


__all__ = ["HomeView", "RoleView", "ScopedModelView", "select_one", "_"]
