"""Revisits (R14): the plan by due day; recording one is the revisit form."""

from flask_admin.contrib.sqla.filters import DateSmallerFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.admin.base import ScopedModelView
from crm.admin.formatters import client_link, client_name
from crm.clients import choices as ch
from crm.excel.export import XlsxExportMixin
from crm.extensions import db
from crm.revisits.models import Revisit
from crm.revisits.services import record_revisit
from crm.timeutil import local_today

STATUS = [("open", lazy_pgettext("revisit status", "Open")), ("done", _l("Done"))]


class RevisitView(XlsxExportMixin, ScopedModelView):
    area = "revisits"
    can_create = False  # the plan creates them (crm.revisits.services.plan_revisits)
    can_delete = False
    column_list = (
        "due_date",
        "client",
        "assignee",
        "status",
        "done_on",
        "way",
        "person_met",
        "satisfaction",
    )
    column_labels = {
        "due_date": _l("Due"),
        "client": _l("Customer"),
        "assignee": _l("Assignee"),
        "status": _l("Status"),
        "done_on": _l("Done on"),
        "way": _l("Way of contact"),
        "person_met": _l("Person met"),
        "satisfaction": _l("Satisfaction"),
        "notes": _l("Record"),
    }
    column_formatters = {
        "client": client_link,
        "status": lambda v, c, m, p: ch.label(STATUS, m.status),
        "way": lambda v, c, m, p: ch.label(ch.CONTACT_WAY, m.way) if m.way else "",
        "satisfaction": lambda v, c, m, p: (
            ch.label(ch.SATISFACTION, m.satisfaction) if m.satisfaction else ""
        ),
    }
    column_formatters_export = {"client": client_name}
    column_filters = (
        FilterEqual(Revisit.status, _l("Status"), options=STATUS),
        FilterEqual(Revisit.due_date, _l("Due")),
        # "due by": the home page's revisits due today or earlier (issue 15)
        DateSmallerFilter(Revisit.due_date, _l("Due")),
    )
    column_default_sort = ("due_date", False)
    # The form is the revisit record only; record_revisit writes it (populate skips these).
    form_fields = {
        "done_on": DateField(_l("Done on"), validators=[DataRequired()], default=local_today),
        "way": SelectField(_l("Way of contact"), choices=ch.CONTACT_WAY, default="visit"),
        "person_met": StringField(_l("Person met"), validators=[DataRequired(), Length(max=100)]),
        "satisfaction": SelectField(
            _l("Satisfaction"), choices=[("", "")] + list(ch.SATISFACTION), validators=[Optional()]
        ),
        "notes": TextAreaField(_l("Record"), validators=[Optional(), Length(max=4000)]),
    }
    extra_form_fields = tuple(form_fields)

    def scaffold_form(self):
        return type("RevisitForm", (self.form_base_class,), dict(self.form_fields))

    def on_form_prefill(self, form, id):
        revisit = self.get_one(id)
        form.done_on.data = revisit.done_on or local_today()
        form.way.data = revisit.way or "visit"
        form.person_met.data = revisit.person_met
        form.satisfaction.data = revisit.satisfaction or ""
        form.notes.data = revisit.notes

    def update_record(self, form, model) -> None:
        record_revisit(
            db.session,
            model,
            form.done_on.data,
            form.way.data,
            form.person_met.data,
            form.satisfaction.data or None,
            form.notes.data,
        )


def register(admin) -> None:
    admin.add_view(
        RevisitView(
            Revisit, name=_l("Revisits"), endpoint="revisit", category=_l("Customer archives")
        )
    )
