"""Screens of R14's needs survey (年度需求调查) and fault reports (故障报告与分析).

Thin: every write goes through crm.surveys.services or crm.faults.services; reads are narrowed
by crm.access (customer service reads every customer's, the others their own scope; a row
outside it answers 404)."""

from flask import flash, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform
from crm.admin.contracts import choice, client_link, prefill_client
from crm.admin.formatters import client_name, complaint_link, local_time
from crm.extensions import db
from crm.faults import services as faults
from crm.faults.models import STATUSES as FAULT_STATUSES
from crm.faults.models import FaultReport
from crm.surveys import services as surveys
from crm.surveys.models import (
    CAMPAIGN_STATUSES,
    DRAFT,
    RESPONSE_STATUSES,
    SurveyCampaign,
    SurveyResponse,
)
from crm.timeutil import local_to_utc, to_local

LABELS = {
    "year": _l("Year"),
    "title": lazy_pgettext("document", "Title"),
    "status": _l("Status"),
    "questions": _l("Questions"),
    "created_at": _l("Created at"),
    "launched_at": _l("Launched at"),
    "campaign": _l("Needs survey"),
    "client": _l("Customer"),
    "answered_by": _l("Answered by"),
    "answered_at": _l("Answered at"),
    "complaint": _l("Complaint"),
    "occurred_at": _l("Time of the fault"),
    "place": _l("Place"),
    "symptom": _l("Symptom"),
    "plan": _l("Plan"),
    "handled_by": _l("Handled by"),
    "reported_by": _l("Reported by"),
    "reported_at": _l("Reported at"),
    "cause": _l("Cause"),
    "analysis": _l("Fault analysis"),
    "prevention": _l("Prevention"),
    "analysed_by": _l("Analysed by"),
    "analysed_at": _l("Analysed at"),
}


class SurveyCampaignView(ScopedModelView):
    """The yearly surveys; a manager sets the questions and launches it over active customers."""

    area = "survey_setup"
    can_edit = can_delete = False
    details_template = "admin/crm/survey_campaign_details.html"
    column_list = ("year", "title", "status", "created_at", "launched_at")
    column_details_list = ("year", "title", "status", "created_at", "launched_at")
    column_labels = LABELS
    column_formatters = {
        "status": choice(CAMPAIGN_STATUSES),
        "created_at": local_time("created_at"),
        "launched_at": local_time("launched_at"),
    }
    column_default_sort = ("year", True)
    form_columns = ("year", "title", "questions")
    form_extra_fields = {
        "year": IntegerField(_l("Year"), validators=[DataRequired()]),
        "questions": TextAreaField(
            _l("Questions"), validators=[DataRequired()], description=_l("One question a line.")
        ),
    }
    extra_form_fields = ("year", "questions")

    @property
    def can_export(self):
        return False

    def create_model(self, form):
        created = []

        def create():
            created.append(
                surveys.create_campaign(
                    db.session,
                    form.year.data,
                    form.title.data,
                    surveys.parse_questions(form.questions.data),
                )
            )

        return self._write(form, create) and created[0]

    def render(self, template, **kwargs):
        campaign = kwargs.get("model")
        if template == self.details_template and campaign is not None:
            kwargs.update(
                progress=surveys.progress(db.session, campaign.id),
                may_launch=can(current_actor(), "launch", area="survey_setup"),
                is_draft=campaign.status == DRAFT,
            )
        return super().render(template, **kwargs)

    @expose("/launch/", methods=("POST",))
    def launch_view(self):
        campaign = self.get_one(request.form.get("id"))
        ok, added = perform(lambda: surveys.launch_campaign(db.session, campaign))
        if ok:
            flash(_("%(n)s active customers added to the survey.", n=added), "success")
        return redirect(self.get_url(".details_view", id=campaign.id))


class SurveyResponseView(ScopedModelView):
    """Each customer's answers; recorded on the row's page by whoever asks the customer."""

    area = "surveys"
    can_create = can_edit = can_delete = False  # rows come from the launch; answers below
    details_template = "admin/crm/survey_response_details.html"
    column_list = ("campaign", "client", "status", "answered_by", "answered_at")
    column_details_list = column_list
    column_export_list = column_list
    column_labels = LABELS
    column_formatters = {
        "client": client_link,
        "status": choice(RESPONSE_STATUSES),
        "answered_at": local_time("answered_at"),
    }
    column_formatters_export = {"client": client_name, "status": choice(RESPONSE_STATUSES)}
    column_filters = (FilterEqual(SurveyResponse.status, _l("Status"), options=RESPONSE_STATUSES),)
    column_default_sort = ("id", False)

    def render(self, template, **kwargs):
        response = kwargs.get("model")
        if template == self.details_template and response is not None:
            kwargs.update(
                questions=response.campaign.questions,
                answers=response.answers or {},
                may_answer=can(current_actor(), "edit", response),
            )
        return super().render(template, **kwargs)

    @expose("/answer/", methods=("POST",))
    def answer_view(self):
        response = self.get_one(request.form.get("id"))
        answers = {key[2:]: value for key, value in request.form.items() if key.startswith("q_")}
        perform(
            lambda: surveys.answer_survey(db.session, response, answers), _("Answers recorded.")
        )
        return redirect(self.get_url(".details_view", id=response.id))


class FaultReportView(ScopedModelView):
    """Fault reports and, on edit, their fault analysis."""

    area = "faults"
    can_delete = False
    column_list = ("occurred_at", "client", "place", "symptom", "handled_by", "status", "complaint")
    column_details_list = (
        "client",
        "complaint",
        "occurred_at",
        "place",
        "symptom",
        "plan",
        "handled_by",
        "reported_by",
        "reported_at",
        "status",
        "cause",
        "analysis",
        "prevention",
        "analysed_by",
        "analysed_at",
    )
    column_export_list = column_details_list
    column_labels = LABELS
    column_formatters = {
        "client": client_link,
        "complaint": complaint_link,
        "status": choice(FAULT_STATUSES),
        "occurred_at": local_time("occurred_at"),
        "reported_at": local_time("reported_at"),
        "analysed_at": local_time("analysed_at"),
    }
    column_formatters_export = {
        "client": client_name,
        "complaint": lambda v, c, m, p: m.complaint_id or "",
        "status": choice(FAULT_STATUSES),
        "occurred_at": local_time("occurred_at"),
    }
    column_filters = (FilterEqual(FaultReport.status, _l("Status"), options=FAULT_STATUSES),)
    column_default_sort = ("occurred_at", True)
    column_sortable_list = ("occurred_at", "status")
    form_columns = (
        "client",
        "complaint",
        "occurred_at",
        "place",
        "symptom",
        "plan",
        "handled_by",
        "cause",
        "analysis",
        "prevention",
    )
    form_ajax_refs = {
        "client": {"fields": ("name", "code"), "page_size": 10},
        "complaint": {"fields": ("description",), "page_size": 10},
    }
    form_args = {
        "client": {"validators": [DataRequired()]},
        "occurred_at": {
            "validators": [DataRequired()],
            "description": _l("In the company's time zone."),
        },
        "place": {"validators": [DataRequired(), Length(max=200)]},
        "handled_by": {
            "validators": [DataRequired(), Length(max=200)],
            "description": _l("Who deals with the fault."),
        },
        "complaint": {
            "validators": [Optional()],
            "description": _l("The customer's complaint, if there is one."),
        },
    }
    form_extra_fields = {
        "prevention": StringField(_l("Prevention"), validators=[Optional(), Length(max=2000)])
    }
    CREATE_FIELDS = ("client", "complaint", "occurred_at", "place", "symptom", "plan", "handled_by")

    def adjust_form(self, form) -> None:
        if request.endpoint and request.endpoint.endswith("create_view"):
            for name in ("cause", "analysis", "prevention"):
                delattr(form, name)
            prefill_client(form)
        else:
            del form.client

    def on_form_prefill(self, form, id):
        form.occurred_at.data = (
            to_local(form.occurred_at.data).replace(tzinfo=None) if form.occurred_at.data else None
        )

    def populate(self, form, model) -> None:
        super().populate(form, model)
        model.occurred_at = local_to_utc(form.occurred_at.data)
        if "client" in form and form.client.data is not None:
            model.client_id = form.client.data.id
        model.complaint_id = form.complaint.data.id if form.complaint.data else None

    def create_record(self, form, model) -> None:
        faults.report_fault(db.session, model)

    def update_record(self, form, model) -> None:
        if (form.cause.data or form.analysis.data or "").strip():
            faults.analyse_fault(
                db.session, model, form.cause.data, form.analysis.data, form.prevention.data
            )
        faults.update_fault(db.session, model)


def client_service(client_id: int):
    """The card's section: the customer's survey answers and fault reports, each None when
    the signed-in user may not read them."""
    actor = current_actor()
    out = {}
    if can(actor, "view", SurveyResponse(client_id=client_id)):
        out["surveys"] = surveys.answers_of(db.session, client_id)
    if can(actor, "view", FaultReport(client_id=client_id)):
        out["faults"] = faults.faults_of(db.session, client_id)
    return out or None


def complaint_faults(complaint_id: int) -> list[FaultReport]:
    """The fault reports linked to a complaint, in the user's scope (for its page)."""
    return faults.faults_of_complaint(db.session, complaint_id)


def register(admin) -> None:
    category = _l("Service")
    admin.add_view(
        SurveyCampaignView(
            SurveyCampaign, name=_l("Needs surveys"), endpoint="survey", category=category
        )
    )
    admin.add_view(
        SurveyResponseView(
            SurveyResponse, name=_l("Survey answers"), endpoint="survey_response", category=category
        )
    )
    admin.add_view(
        FaultReportView(
            FaultReport, name=_l("Fault reports"), endpoint="fault_report", category=category
        )
    )
    admin.app.jinja_env.globals.update(
        client_service=client_service,
        complaint_faults=complaint_faults,
        service_labels={"response": dict(RESPONSE_STATUSES), "fault": dict(FAULT_STATUSES)},
    )
