"""Records and their fields in the staff's words, for history and the audit trail.

An audit event or a change request names a table ("view_grants") and columns ("decided_by_id")
and keeps raw values (ids, codes, ISO times). Staff read them through the admin view that shows
that table: its column labels, its choice maps and its per-column formatters; a reference is
shown by the name of the record it points to; a time in the company's zone to the minute.
"""

import re
from datetime import datetime

from flask import current_app, has_app_context
from markupsafe import Markup
from sqlalchemy import inspect as sa_inspect

from crm.access import request_cache
from crm.admin.base import COMMON_LABELS, select_one, staff_value
from crm.extensions import db
from crm.timeutil import format_local

LOCALE_NAMES = {"zh_Hans_CN": "简体中文", "zh_CN": "简体中文", "en": "English"}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")


def model_for(entity: str):
    """The mapped class of a table name, or None."""
    for mapper in db.Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == entity:
            return mapper.class_
    return None


def view_for(entity: str):
    """The admin view showing that table, or None."""
    if not has_app_context():
        return None
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            model = getattr(view, "model", None)
            if model is not None and getattr(model, "__tablename__", None) == entity:
                return view
    return None


def record_type(entity: str) -> str:
    model = model_for(entity)
    label = getattr(model, "__label__", None) if model is not None else None
    if label is None:
        view = view_for(entity)
        label = getattr(view, "name", None)
    return str(label) if label else entity


def field_label(entity: str, field: str) -> str | None:
    view = view_for(entity)
    labels = dict(getattr(view, "column_labels", None) or {})
    base = field[:-3] if field.endswith("_id") else None
    for key in (field, base):
        if key and key in labels:
            return str(labels[key])
    for key in (field, base):
        if key and key in COMMON_LABELS:
            return str(COMMON_LABELS[key])
    target = _referenced(entity, field)  # complaint_id: the complaint
    label = getattr(target, "__label__", None) if target is not None else None
    return str(label) if label else None


def internal(field: str) -> bool:
    """Columns that hold a machine's copy of a value (a cipher, a lookup hash, a stored path):
    the reader of a history sees the value itself on its own line, or nothing."""
    return field.endswith(("_enc", "_hash", "_path"))


def _referenced(entity: str, field: str):
    """The class a foreign-key column points to."""
    model = model_for(entity)
    if model is None:
        return None
    table = model.__table__
    if field not in table.c:
        return None
    for fk in table.c[field].foreign_keys:
        return model_for(fk.column.table.name)
    return None


def field_value(entity: str, field: str, value) -> str:
    """One stored value as staff read it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return staff_value(value)
    target = _referenced(entity, field) if isinstance(value, int) else None
    if target is not None:
        return _name_of(target, value)
    if field == "locale" and isinstance(value, str):
        return LOCALE_NAMES.get(value, value)
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return format_local(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    view = view_for(entity)
    if view is not None and isinstance(value, str):
        choices = getattr(view, "_column_choices_map", {}).get(field)
        if choices and value in choices:
            return str(choices[value])
        shown = _through_formatter(view, field, value)
        if shown is not None:
            return shown
    if isinstance(value, list | tuple):
        return "、".join(field_value(entity, field, v) for v in value)
    return str(value)


def _name_of(target, record_id: int) -> str:
    """A referenced record's name, read once per request (a card's history names the same
    customer and people on every row: no statement per row)."""
    names = request_cache().setdefault("words.names", {})
    key = (target, record_id)
    if key not in names:
        row = select_one(target, record_id)  # through the scope: a hidden record keeps its number
        names[key] = staff_value(row) if row is not None else f"#{record_id}"
    return names[key]


def _through_formatter(view, field: str, value):
    """The view's own per-column formatter, asked about a detached record holding the value
    (choice maps live in those formatters): its text, or None when it cannot say."""
    formatter = (getattr(view, "column_formatters", None) or {}).get(field)
    if formatter is None:
        return None
    try:
        probe = sa_inspect(view.model).class_manager.new_instance()
        setattr(probe, field, value)
        text = formatter(view, None, probe, field)
    except Exception:  # noqa: BLE001 - a formatter needing more than the one value
        return None
    if text is None:
        return None
    text = Markup(text).striptags() if isinstance(text, Markup) else str(text)
    return text or None
