"""Complaint screens (投诉与折价, R3 cat. 4, R14): complaints with their owner and hand-overs,
discounts awaiting the sales manager, withdrawals.

Thin: every write goes through crm.complaints.services; reads are narrowed by crm.access
(customer service reads and handles every customer's complaints, the others their scope)."""

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm import access
from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform
from crm.admin.contracts import choice, prefill_client
from crm.admin.formatters import (
    client_link,
    client_name,
    complaint_link,
    customer_filters,
    local_time,
)
from crm.auth.models import User
from crm.bounds import id_arg
from crm.clients.choices import SATISFACTION
from crm.complaints import services
from crm.complaints.models import (
    CATEGORIES,
    CHANNELS,
    DISCOUNT_STATUSES,
    LIABILITY,
    PENDING,
    SOLVED,
    STATUSES,
    Complaint,
    ComplaintHandover,
    Discount,
    Withdrawal,
)
from crm.extensions import db

LABELS = {
    "client": _l("Customer"),
    "received_at": _l("Received at"),
    "channel": _l("Channel"),
    "category": _l("Category"),
    "description": _l("Description"),
    "first_responder": _l("First responder"),
    "responder": _l("Responsible now"),
    "liability": _l("Liability finding"),
    "liability_notes": _l("Liability notes"),
    "status": _l("Status"),
    "resolution": _l("Resolution"),
    "satisfaction": _l("Customer satisfaction"),
    "solved_at": _l("Solved at"),
    "change_reason": _l("Reason for the change"),
    "complaint": _l("Complaint"),
    "amount": _l("Amount"),
    "reason": _l("Reason"),
    "requested_by": _l("Requested by"),
    "requested_at": _l("Requested at"),
    "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"),
    "withdrawn_on": _l("Withdrawal date"),
    "previous_stage": _l("Stage before"),
    "recorded_by": _l("Recorded by"),
    "recorded_at": _l("Recorded at"),
}


class ComplaintView(ScopedModelView):
    area = "complaints"
    details_template = "admin/crm/complaint_details.html"
    column_list = (
        "received_at",
        "client",
        "channel",
        "category",
        "status",
        "responder",
        "first_responder",
        "liability",
        "satisfaction",
    )
    column_details_list = (
        "client",
        "received_at",
        "channel",
        "category",
        "description",
        "first_responder",
        "responder",
        "status",
        "liability",
        "liability_notes",
        "resolution",
        "satisfaction",
        "solved_at",
    )
    column_export_list = column_details_list
    column_labels = LABELS
    column_formatters = {
        "client": client_link,
        "channel": choice(CHANNELS),
        "category": choice(CATEGORIES),
        "status": choice(STATUSES),
        "liability": choice(LIABILITY),
        "satisfaction": choice(SATISFACTION),
        "received_at": local_time("received_at"),
        "solved_at": local_time("solved_at"),
    }
    column_formatters_export = {
        "client": client_name,
        "channel": choice(CHANNELS),
        "category": choice(CATEGORIES),
        "status": choice(STATUSES),
        "liability": choice(LIABILITY),
    }
    column_sortable_list = ("received_at", "status")
    column_default_sort = ("received_at", True)
    column_filters = (
        *customer_filters(Complaint.client_id),
        FilterEqual(Complaint.status, _l("Status"), options=STATUSES),
        FilterEqual(Complaint.category, _l("Category"), options=CATEGORIES),
    )
    form_choices = {
        "channel": CHANNELS,
        "category": CATEGORIES,
        "status": STATUSES,
        "liability": LIABILITY,
        "satisfaction": SATISFACTION,
    }
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {"client": {"validators": [DataRequired()]}}
    form_columns = (
        "client",
        "channel",
        "category",
        "description",
        "status",
        "liability",
        "liability_notes",
        "resolution",
        "satisfaction",
        "change_reason",
    )
    form_extra_fields = {
        "change_reason": TextAreaField(
            _l("Reason for the change"), validators=[Optional(), Length(max=500)]
        )
    }
    extra_form_fields = ("change_reason",)
    CREATE_FIELDS = ("client", "channel", "category", "description")

    def adjust_form(self, form) -> None:
        if request.endpoint and request.endpoint.endswith("create_view"):
            for name in [n for n in form._fields if n not in (*self.CREATE_FIELDS, "csrf_token")]:
                delattr(form, name)
            prefill_client(form)
        else:
            del form.client

    def create_record(self, form, model) -> None:
        services.record_complaint(db.session, model)

    def update_model(self, form, model):
        stored = model.status
        self.populate(form, model)
        return self._write(
            form,
            lambda: services.update_complaint(db.session, model, stored, form.change_reason.data),
        )

    def render(self, template, **kwargs):
        complaint = kwargs.get("model")
        if template == self.details_template and complaint is not None:
            kwargs.update(self._page(complaint))
        return super().render(template, **kwargs)

    def _page(self, complaint) -> dict:
        actor = current_actor()
        owner = can(actor, "edit", complaint) and services.is_owner(actor, complaint)
        handovers = db.session.scalars(
            select(ComplaintHandover)
            .where(ComplaintHandover.complaint_id == complaint.id)
            .order_by(ComplaintHandover.at)
        ).all()
        discounts = db.session.scalars(
            select(Discount)
            .where(Discount.complaint_id == complaint.id)
            .order_by(Discount.requested_at)
        ).all()
        colleagues = []
        if owner and complaint.status != SOLVED:
            writers = access.ACTIONS["complaints"]["edit"]
            candidates = db.session.scalars(
                select(User)
                .where(
                    User.active.is_(True), User.role.in_(writers), User.id != complaint.responder_id
                )
                .order_by(User.full_name)
            ).all()
            colleagues = [u for u in candidates if can(u, "edit", complaint)]
        return {
            "handovers": handovers,
            "discounts": discounts,
            "colleagues": colleagues,
            "may_request": can(actor, "create", complaint),
            "may_approve": can(actor, "approve", area="complaints"),
            "counted": services.counted_discounts(db.session, complaint_id=complaint.id),
            "discount_labels": dict(DISCOUNT_STATUSES),
        }

    def _act(self, complaint, operation):
        db.session.info.pop("crm_pending_changes", None)
        if perform(operation)[0] and not self._announce_pending():  # R6: or it waits
            flash(_("Done."), "success")
        return redirect(self.get_url(".details_view", id=complaint.id))

    @expose("/handover/", methods=("POST",))
    def handover_view(self):
        complaint = self.get_one(request.form.get("id"))
        to_user = db.session.get(User, request.form.get("to_user", type=id_arg) or 0)
        return self._act(
            complaint,
            lambda: services.hand_over(
                db.session, complaint, to_user, request.form.get("note", "")
            ),
        )

    @expose("/discount/", methods=("POST",))
    def discount_view(self):
        complaint = self.get_one(request.form.get("id"))
        return self._act(
            complaint,
            lambda: services.request_discount(
                db.session,
                complaint,
                request.form.get("amount", ""),
                request.form.get("reason", ""),
            ),
        )


def _discount_status(view, context, model, name):
    """The status, and for a manager the approve / reject buttons of a pending discount."""
    label = escape(dict(DISCOUNT_STATUSES).get(model.status, model.status))
    if model.status != PENDING or not can(current_actor(), "approve", area="complaints"):
        return label
    url, token = escape(view.get_url(".decide_view")), escape(generate_csrf())
    buttons = "".join(
        f'<form method="post" action="{url}" class="d-inline">'
        f'<input type="hidden" name="csrf_token" value="{token}">'
        f'<input type="hidden" name="id" value="{model.id}">'
        f'<input type="hidden" name="decision" value="{decision}">'
        f'<input name="note" class="form-control form-control-sm d-inline w-auto" '
        f'placeholder="{escape(_("Note"))}"{" required" if decision == "reject" else ""}>'
        f'<button class="btn btn-sm {css}" id="{decision}-{model.id}">{escape(text)}</button>'
        "</form>"
        for decision, css, text in (
            ("approve", "btn-success", _("Approve")),
            ("reject", "btn-outline-danger", _("Reject")),
        )
    )
    return Markup(f"{label} {buttons}")


class DiscountView(ScopedModelView):
    """Discounts (折价); pending ones wait for the sales manager, who decides here."""

    area = "complaints"
    can_create = can_edit = can_delete = False  # asked for on the complaint, decided here
    column_list = (
        "requested_at",
        "client",
        "complaint",
        "amount",
        "reason",
        "status",
        "requested_by",
        "decided_by",
        "decided_at",
        "comment",
    )
    column_export_list = column_list
    column_labels = {**LABELS, "comment": _l("Decision note")}
    column_formatters = {
        "client": client_link,
        "complaint": complaint_link,
        "status": _discount_status,
        "requested_at": local_time("requested_at"),
        "decided_at": local_time("decided_at"),
    }
    column_formatters_export = {
        "client": client_name,
        "complaint": lambda v, c, m, p: m.complaint_id,
        "status": choice(DISCOUNT_STATUSES),
    }
    column_sortable_list = ("requested_at", "status")
    column_default_sort = ("requested_at", True)
    column_filters = (FilterEqual(Discount.status, _l("Status"), options=DISCOUNT_STATUSES),)

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        discount = self.get_one(request.form.get("id"))
        if not can(current_actor(), "approve", discount):
            abort(403)
        approve = request.form.get("decision") == "approve"
        perform(
            lambda: services.decide_discount(
                db.session, discount, approve, request.form.get("note", "")
            ),
            _("Done."),
        )
        return redirect(self.get_url(".index_view"))


class WithdrawalView(ScopedModelView):
    """退会: recorded with its reason; the customer becomes former and keeps the archive."""

    area = "complaints"
    can_edit = can_delete = False
    column_list = (
        "withdrawn_on",
        "client",
        "reason",
        "previous_stage",
        "recorded_by",
        "recorded_at",
    )
    column_export_list = column_list
    column_labels = LABELS
    column_formatters = {"client": client_link, "recorded_at": local_time("recorded_at")}
    column_sortable_list = ("withdrawn_on",)
    column_default_sort = ("withdrawn_on", True)
    form_columns = ("client", "withdrawn_on", "reason")
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {
        "client": {"validators": [DataRequired()]},
        "reason": {"validators": [DataRequired()]},
    }

    def adjust_form(self, form) -> None:
        prefill_client(form)

    def create_model(self, form):
        done = []
        return (
            self._write(
                form,
                lambda: done.append(
                    services.withdraw_member(
                        db.session, form.client.data, form.reason.data, form.withdrawn_on.data
                    )
                ),
            )
            and done[0]
        )


def register(admin) -> None:
    category = _l("Complaints and discounts")
    admin.add_view(
        ComplaintView(Complaint, name=_l("Complaints"), endpoint="complaint", category=category)
    )
    admin.add_view(
        DiscountView(Discount, name=_l("Discounts"), endpoint="discount", category=category)
    )
    admin.add_view(
        WithdrawalView(Withdrawal, name=_l("Withdrawals"), endpoint="withdrawal", category=category)
    )
