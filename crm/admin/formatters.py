"""Formatters and filters shared by the admin lists (issue 14 point 5): the customer's name as a
link to its card, and the search of a customer's records by the customer's name or code.

The customer filter answers from the customers table, whose name and code are indexed for the
list search (trigrams of migration 0009, the short grams of migration 0011): the condition is
`<model>.client_id IN (SELECT clients.id … WHERE <name or code matches>)`, each word written by
crm.admin.search exactly as the customer list's own search box writes it, so the same index
serves it. The role scope (crm.access) applies to that inner SELECT as to any other, so a
filter never reaches a customer the reader may not see.
"""

from datetime import datetime, time

from flask import current_app, url_for
from flask_admin.babel import lazy_gettext as admin_l
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import DateTime, and_, false, or_, select

from crm.admin import search as searching
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import format_local, local_to_utc


def local_time(field: str):
    """A list column showing the record's `field` in the company's zone, to the minute."""
    return lambda v, c, m, p: format_local(getattr(m, field))


def customer_anchor(view, client_id, name) -> Markup | str:
    """`name` as a link to the card of customer `client_id` (plain text without an id)."""
    if client_id is None:
        return ""
    url = view.get_url("client.details_view", id=client_id)
    return Markup(f'<a class="crm-client-link" href="{escape(url)}">{escape(name or "")}</a>')


def client_link(view, context, model, name):
    """The row's customer (`model.client`) by name, linked to the customer's card."""
    client = getattr(model, "client", None)
    if client is None:
        return ""
    return customer_anchor(view, client.id, client.name)


def client_name(view, context, model, name):
    """The row's customer by name, as an export shows it (text, no link)."""
    client = getattr(model, "client", None)
    return client.name if client is not None else ""


def complaint_link(view, context, model, name):
    """The row's complaint (`model.complaint_id`) as #id, linked to the complaint."""
    if model.complaint_id is None:
        return ""
    url = view.get_url("complaint.details_view", id=model.complaint_id)
    return Markup(f'<a href="{escape(url)}">#{model.complaint_id}</a>')


def name_link(view, context, model, name):
    """A customer row's own name, linked to its card (the customer list)."""
    return customer_anchor(view, model.id, model.name)


def customer_condition(text: str):
    """SQL condition on the customers table: every word of `text` in the name, short name or
    code (each word as the list search reads it, so an index answers)."""
    dialect = db.session.get_bind().dialect.name
    words = []
    for word in (text or "").split():
        words.append(
            or_(
                *(
                    searching.condition(col, col, word, dialect)
                    for col in (Client.name, Client.short_name, Client.code)
                )
            )
        )
    return and_(*words) if words else None


class CustomerFilter(BaseSQLAFilter):
    """ "Customer (name or code) contains": rows whose customer matches every word."""

    def __init__(self, column, name=None, options=None, data_type=None):
        super().__init__(column, name or _l("Customer (name or code)"), options, data_type)

    def apply(self, query, value, alias=None):
        condition = customer_condition(value)
        if condition is None:
            return query
        return query.filter(self.column.in_(select(Client.id).where(condition)))

    def operation(self):
        return admin_l("contains")


def month_of(value):
    """The month (crm.reviews Period) a filter's value YYYY-MM names; None for anything else."""
    from crm.reviews.consumption import MONTH, Period

    try:
        period = Period.parse(value)
    except ValueError:
        return None
    return period if period.kind == MONTH else None


class InMonthFilter(BaseSQLAFilter):
    """The rows of one month (YYYY-MM) of the company's calendar, on a date column or on a
    time stored in UTC: where a home page's consumption bar leads. Anything else finds nothing.
    """

    def apply(self, query, value, alias=None):
        month = month_of(value)
        if month is None:
            return query.filter(false())
        start, end = month.start, month.end
        if isinstance(self.column.type, DateTime):
            start, end = (local_to_utc(datetime.combine(d, time.min)) for d in (start, end))
        return query.filter(self.column >= start, self.column < end)

    def operation(self):
        return _l("in the month")


def customer_filters(client_id_column) -> tuple:
    """The customer filter for a list of a customer's records (the column holding the
    customer's id)."""
    return (CustomerFilter(client_id_column),)


def filter_url(endpoint: str, filter_type: type, value, **args) -> str | None:
    """The list URL of the admin view `endpoint` filtered by its filter of `filter_type` at
    `value` (Flask-Admin names a filter's argument by its position in the view)."""
    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            if getattr(view, "endpoint", None) != endpoint or not getattr(view, "_filters", None):
                continue
            for i, flt in enumerate(view._filters):
                if isinstance(flt, filter_type):
                    return url_for(
                        f"{endpoint}.index_view",
                        **{f"flt0_{view.get_filter_arg(i, flt)}": value},
                        **args,
                    )
    return None
