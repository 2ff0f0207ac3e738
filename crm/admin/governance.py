"""Governance screens (RULES R5, R6, R17): changes and deletions awaiting approval, the
recycle bin, the record of destructions, view grants, consent and the marketing list."""

from datetime import datetime, time, timedelta

from flask import abort, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectField
from wtforms.validators import DataRequired, Length, Optional

from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform, select_one
from crm.admin.clients import entity_label
from crm.admin.formatters import customer_anchor, local_time
from crm.bounds import id_arg
from crm.clients.models import Client
from crm.extensions import db
from crm.governance import changes, consent, grants, retention
from crm.governance.models import (
    APPROVED,
    DESTROYED,
    PENDING,
    REJECTED,
    RESTORED,
    ChangeRequest,
    Consent,
    DeletionRequest,
    DestructionRecord,
    ViewGrant,
)
from crm.timeutil import format_local, local_today, utcnow

STATUSES = [
    (PENDING, _l("Awaiting approval")),
    (APPROVED, _l("Approved")),
    (REJECTED, _l("Rejected")),
    (RESTORED, _l("Restored")),
    (DESTROYED, _l("Destroyed")),
]
GRANT_STATES = {
    "live": _l("Live"),
    "expired": _l("Expired"),
    PENDING: _l("Awaiting approval"),
    REJECTED: _l("Rejected"),
}
LABELS = {
    "requested_at": _l("Requested at"),
    "client": _l("Customer"),
    "client_id": _l("Customer"),
    "entity": _l("Record type"),
    "entity_id": _l("Record ID"),
    "changes": _l("Changes"),
    "reason": _l("Reason"),
    "status": _l("Status"),
    "author": _l("Asked by"),
    "requested_by": _l("Asked by"),
    "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"),
    "comment": _l("Comment"),
    "label": _l("Record"),
    "deleted_at": _l("Deleted at"),
    "purge_after": _l("Destroyed after"),
    "approved_by": _l("Approved by"),
    "approved_at": _l("Approved at"),
    "destroyed_at": _l("Destroyed at"),
    "row_count": _l("Rows destroyed"),
    "ends_at": _l("Ends at"),
    "state": _l("State"),
    "purpose": _l("Purpose"),
    "given_at": _l("Given at"),
    "given_how": _l("Given how"),
    "notes": _l("Notes"),
    "withdrawn_at": _l("Withdrawn at"),
    "name": _l("Full name"),
    "code": _l("Customer code"),
    "phone": _l("Phone"),
    "mobile": _l("Mobile"),
    "email": _l("E-mail"),
    "city": _l("City"),
    "level": _l("Customer level"),
    "id": _l("Destruction record"),
    "detail": _l("What went"),
}


def _status(v, c, m, p):
    return str(dict(STATUSES).get(m.status, m.status))


def _client(v, c, m, p):
    """The customer's name when the reader sees it, else only its number."""
    row = select_one(Client, m.client_id) if m.client_id else None
    if row is None:
        return f"#{m.client_id}" if m.client_id else ""
    return customer_anchor(v, row.id, row.name)


def _diff(v, c, m, p):
    from crm.admin.clients import changes_formatter

    return changes_formatter(v, c, m, p)


def _decide(operation, success: str) -> bool:
    return perform(operation, success)[0]


class ReadOnlyView(ScopedModelView):
    can_create = can_edit = can_delete = False
    can_export = False
    list_template = "admin/crm/list.html"
    column_labels = LABELS


class ChangeRequestView(ReadOnlyView):
    """R6: changes awaiting the sales manager; the asker sees their own."""

    screen = "changes"
    details_template = "admin/crm/governance_change.html"
    column_list = (
        "requested_at",
        "client_id",
        "entity",
        "changes",
        "reason",
        "author",
        "status",
        "decided_by",
        "comment",
    )
    column_details_list = column_list
    column_formatters = {
        "requested_at": local_time("requested_at"),
        "client_id": _client,
        "changes": _diff,
        "status": _status,
    }
    column_filters = (FilterEqual(ChangeRequest.status, _l("Status"), options=STATUSES[:3]),)
    column_default_sort = ("requested_at", True)

    def render(self, template, **kwargs):
        kwargs["may_decide"] = can(current_actor(), "decide", area="changes")
        return super().render(template, **kwargs)

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        cr = self.get_one(request.form.get("id"))
        if not can(current_actor(), "decide", area="changes"):
            abort(403)
        comment = request.form.get("comment", "")
        if request.form.get("decision") == "approve":
            _decide(
                lambda: changes.approve_change(db.session, cr.id, comment),
                _("The change is applied."),
            )
        else:
            _decide(
                lambda: changes.reject_change(db.session, cr.id, comment),
                _("The change is rejected."),
            )
        return redirect(self.get_url(".details_view", id=cr.id))


class DeletionRequestView(ReadOnlyView):
    """R6: deletions awaiting the sales manager's approval, and their outcome."""

    screen = "deletions"
    details_template = "admin/crm/governance_deletion.html"
    column_list = (
        "requested_at",
        "label",
        "reason",
        "requested_by",
        "status",
        "decided_by",
        "deleted_at",
        "comment",
    )
    column_details_list = column_list
    column_formatters = {
        "requested_at": local_time("requested_at"),
        "status": _status,
        "deleted_at": local_time("deleted_at"),
    }
    column_filters = (FilterEqual(DeletionRequest.status, _l("Status"), options=STATUSES),)
    column_default_sort = ("requested_at", True)

    def render(self, template, **kwargs):
        kwargs["may_decide"] = retention.deletes_at_once(current_actor())
        kwargs["purge_after"] = (
            retention.purge_after(kwargs["model"])
            if getattr(kwargs.get("model"), "deleted_at", None)
            else None
        )
        return super().render(template, **kwargs)

    def _sales_manager(self):
        if not retention.deletes_at_once(current_actor()):
            abort(403)

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        self._sales_manager()
        dr = self.get_one(request.form.get("id"))
        comment = request.form.get("comment", "")
        if request.form.get("decision") == "approve":
            _decide(
                lambda: retention.approve_deletion(db.session, dr.id, comment),
                _("Deleted; it stays in the recycle bin until it is destroyed."),
            )
        else:
            _decide(
                lambda: retention.reject_deletion(db.session, dr.id, comment),
                _("The deletion is rejected."),
            )
        return redirect(self.get_url(".details_view", id=dr.id))

    @expose("/restore/", methods=("POST",))
    def restore_view(self):
        self._sales_manager()
        dr = self.get_one(request.form.get("id"))
        _decide(lambda: retention.restore(db.session, dr.id), _("Restored, whole."))
        return redirect(self.get_url(".details_view", id=dr.id))


class RecycleBinView(DeletionRequestView):
    """What is deleted and not yet destroyed: the sales manager restores it whole."""

    column_list = ("deleted_at", "label", "reason", "requested_by", "decided_by", "purge_after")
    column_formatters = {
        **DeletionRequestView.column_formatters,
        "purge_after": lambda v, c, m, p: format_local(retention.purge_after(m)),
    }
    column_filters = ()
    column_default_sort = ("deleted_at", True)

    def get_query(self):
        return super().get_query().filter(DeletionRequest.status == APPROVED)

    def get_count_query(self):
        return super().get_count_query().filter(DeletionRequest.status == APPROVED)


class DestructionRecordView(ReadOnlyView):
    """001 客户档案的销毁: the record of every destruction; it outlives the data."""

    screen = "destructions"
    can_export = True
    can_view_details = True
    # The number is what a volume's "destroyed, see destruction record N" line points at.
    column_list = (
        "id",
        "destroyed_at",
        "label",
        "reason",
        "requested_by",
        "approved_by",
        "approved_at",
        "deleted_at",
        "row_count",
    )
    column_details_list = (*column_list, "detail")
    column_formatters = {
        "destroyed_at": local_time("destroyed_at"),
        "approved_at": local_time("approved_at"),
        "deleted_at": local_time("deleted_at"),
        "detail": lambda v, c, m, p: _destruction_detail(m.detail),
    }
    column_default_sort = ("destroyed_at", True)


def _destruction_detail(detail) -> Markup:
    """What went, as the record lists it: documents destroyed and kept, files, rows."""
    if not detail:
        return Markup("")
    parts = [
        (_("Documents destroyed"), ", ".join(detail.get("documents_destroyed", [])) or "-"),
        (_("Documents kept under retention"), ", ".join(detail.get("documents_kept", [])) or "-"),
        (_("Files deleted"), detail.get("files_deleted", 0)),
        (_("Audit events marked"), detail.get("audit_events_marked", 0)),
        (
            _("Rows destroyed"),
            ", ".join(f"{entity_label(t)} {n}" for t, n in sorted(detail.get("rows", {}).items())),
        ),
    ]
    return Markup("<br>").join(Markup("{}: {}").format(k, v) for k, v in parts)


class ViewGrantView(ReadOnlyView):
    """R5: asking to read another's customer; the sales or general manager approves until an
    end date; the grant ends by itself."""

    screen = "view_grants"
    list_template = "admin/crm/governance_grants.html"
    compact_rows = False  # its template adds the decide form to each pending row
    column_list = (
        "requested_at",
        "client_id",
        "author",
        "reason",
        "state",
        "ends_at",
        "decided_by",
        "comment",
    )
    column_details_list = column_list
    column_formatters = {
        "requested_at": local_time("requested_at"),
        "client_id": _client,
        "ends_at": local_time("ends_at"),
        "state": lambda v, c, m, p: str(GRANT_STATES.get(grants.state(m))),
    }
    column_filters = (FilterEqual(ViewGrant.status, _l("Status"), options=STATUSES[:3]),)
    column_default_sort = ("requested_at", True)

    def render(self, template, **kwargs):
        actor = current_actor()
        kwargs.update(
            may_ask=can(actor, "ask", area="view_grants"),
            may_decide=can(actor, "decide", area="view_grants"),
            default_end=local_today() + timedelta(days=_grant_days()),
        )
        return super().render(template, **kwargs)

    @expose("/ask/", methods=("POST",))
    def ask_view(self):
        if not can(current_actor(), "ask", area="view_grants"):
            abort(403)
        _decide(
            lambda: grants.request_grant(
                db.session, request.form.get("client_code"), request.form.get("reason")
            ),
            _("Your request awaits the sales manager's approval."),
        )
        return redirect(self.get_url(".index_view"))

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        if not can(current_actor(), "decide", area="view_grants"):
            abort(403)
        grant = self.get_one(request.form.get("id"))
        comment = request.form.get("comment", "")
        if request.form.get("decision") == "approve":
            ends = _end_of(request.form.get("ends_on"))
            _decide(
                lambda: grants.approve_grant(db.session, grant.id, ends, comment),
                _("Granted until the end date."),
            )
        else:
            _decide(
                lambda: grants.reject_grant(db.session, grant.id, comment),
                _("The request is rejected."),
            )
        return redirect(self.get_url(".index_view"))


def _grant_days() -> int:
    from crm.settings import get_setting

    return int(get_setting("view_grant_days"))


def _end_of(value: str | None):
    """The end of the company's day `value` (YYYY-MM-DD), in stored UTC; None for the default."""
    from datetime import UTC, date

    from crm.timeutil import company_zone

    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    local = datetime.combine(day + timedelta(days=1), time.min, tzinfo=company_zone())
    return local.astimezone(UTC).replace(tzinfo=None)


class ConsentView(ScopedModelView):
    """R17: consents per purpose; a consent is withdrawn, never edited or deleted."""

    area = "consents"
    can_edit = can_delete = False
    column_list = ("client", "purpose", "given_at", "given_how", "withdrawn_at", "notes")
    column_labels = LABELS
    column_formatters = {
        "client": lambda v, c, m, p: _client(v, c, m, p),
        "purpose": lambda v, c, m, p: str(dict(consent.PURPOSES)[m.purpose]),
        "given_how": lambda v, c, m, p: str(dict(consent.WAYS)[m.given_how]),
        "given_at": local_time("given_at"),
        "withdrawn_at": local_time("withdrawn_at"),
    }
    column_filters = (FilterEqual(Consent.purpose, _l("Purpose"), options=consent.PURPOSES),)
    details_template = "admin/crm/governance_consent.html"
    form_columns = ("client", "purpose", "given_how", "notes")
    form_overrides = {"purpose": SelectField, "given_how": SelectField}
    form_args = {
        "purpose": {"choices": consent.PURPOSES, "validators": [DataRequired()]},
        "given_how": {"choices": consent.WAYS, "validators": [DataRequired()]},
        "client": {"validators": [DataRequired()]},
        "notes": {"validators": [Optional(), Length(max=500)]},
    }
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}

    def adjust_form(self, form) -> None:
        client_id = request.args.get("client", type=id_arg)
        if client_id and request.method == "GET" and form.client.data is None:
            form.client.data = select_one(Client, client_id)

    def create_record(self, form, model) -> None:
        consent.record_consent(db.session, model)

    @expose("/withdraw/", methods=("POST",))
    def withdraw_view(self):
        row = self.get_one(request.form.get("id"))
        if not can(current_actor(), "edit", row):
            abort(403)
        _decide(
            lambda: consent.withdraw_consent(db.session, row, request.form.get("reason")),
            _("The consent is withdrawn."),
        )
        return redirect(self.get_url(".details_view", id=row.id))


class MarketingListView(ReadOnlyView):
    """R17: the customers who consented to marketing, and only their contact fields."""

    screen = "marketing"
    area = "clients"
    can_view_details = False
    column_list = ("code", "name", "level", "city", "phone", "mobile", "email")
    column_export_list = column_list
    column_searchable_list = ("name", "code")
    column_default_sort = ("name", False)

    @property
    def can_export(self):
        return can(current_actor(), "export", area="clients")

    def get_query(self):
        return super().get_query().filter(consent.consenting("marketing"))

    def get_count_query(self):
        return super().get_count_query().filter(consent.consenting("marketing"))


def card_context(client_id: int) -> dict:
    """What the customer card shows of governance: waiting changes and consents."""
    return {
        "pending_changes": changes.pending_for(db.session, client_id),
        "consents": db.session.scalars(
            select(Consent).where(Consent.client_id == client_id).order_by(Consent.given_at.desc())
        ).all(),
        "purposes": dict(consent.PURPOSES),
        "now": utcnow(),
    }


def register(admin) -> None:
    category = _l("Governance")
    admin.add_view(
        ChangeRequestView(
            ChangeRequest,
            name=_l("Changes awaiting approval"),
            endpoint="change_request",
            category=category,
        )
    )
    admin.add_view(
        DeletionRequestView(
            DeletionRequest,
            name=_l("Deletion requests"),
            endpoint="deletion_request",
            category=category,
        )
    )
    admin.add_view(
        RecycleBinView(
            DeletionRequest, name=_l("Recycle bin"), endpoint="recycle_bin", category=category
        )
    )
    admin.add_view(
        DestructionRecordView(
            DestructionRecord,
            name=_l("Destruction records"),
            endpoint="destruction",
            category=category,
        )
    )
    admin.add_view(
        ViewGrantView(ViewGrant, name=_l("View grants"), endpoint="view_grant", category=category)
    )
    admin.add_view(ConsentView(Consent, name=_l("Consents"), endpoint="consent", category=category))
    admin.add_view(
        MarketingListView(
            Client, name=_l("Marketing list"), endpoint="marketing", category=category
        )
    )
    admin.app.jinja_env.globals["governance_card"] = card_context


__all__ = ["register"]
