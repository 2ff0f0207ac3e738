"""Intake screens (R12, R13): duplicate check on entry, first contacts, the assignment queue,
a leaver's hand-over, the divisions' invitations. Thin: the rules are in crm.intake."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEmpty, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField

from crm import access
from crm.access import current_actor
from crm.admin.base import RoleView, ScopedModelView, perform, select_one
from crm.admin.formatters import client_link, client_name
from crm.auth.models import User
from crm.bounds import id_arg, id_list
from crm.clients import services as client_services
from crm.clients.models import Client
from crm.excel.export import XlsxExportMixin
from crm.extensions import db
from crm.intake import services
from crm.intake.duplicates import find_duplicates, readable_ids
from crm.intake.models import FirstContact, InvitationClaim
from crm.timeutil import format_local

DUPLICATE_FIELDS = {"credit_code", "id_number", "phone", "mobile", "name"}


# --- duplicate check in the customer form (R12) -----------------------------------------


def _already(match) -> str:
    # All anyone may be told of a card they cannot read: it exists, and whose it is.
    return _(
        "This customer is already registered (account manager: %(owner)s).",
        owner=match.owner or _("none"),
    )


def duplicate_errors(data: dict) -> dict:
    return {
        m.field: _already(m)
        for m in find_duplicates(db.session, data)
        if m.field in DUPLICATE_FIELDS
    }


def show_existing_card(view):
    """On a new card's POST: if the customer exists and the user may read it, open it."""
    if request.method != "POST":
        return None
    matches = find_duplicates(db.session, request.form.to_dict())
    readable = readable_ids(db.session, [m.client_id for m in matches])
    for match in matches:
        if match.client_id in readable:
            flash(
                _(
                    "This customer is already registered: %(name)s. Here is the card.",
                    name=match.name,
                ),
                "warning",
            )
            return redirect(view.get_url("client.details_view", id=match.client_id))
    return None


# --- first contacts awaiting registration (R12) --------------------------------------------


class FirstContactView(ScopedModelView):
    area = "intake"
    can_edit = False
    can_delete = False
    column_list = (
        "name",
        "contact_date",
        "deadline",
        "owner",
        "phone",
        "mobile",
        "client",
        "registered_on",
        "registered_late",
    )
    column_labels = {
        "name": _l("Full name"),
        "contact_date": _l("First contact date"),
        "deadline": _l("Register by"),
        "owner": _l("Account manager"),
        "phone": _l("Phone"),
        "mobile": _l("Mobile"),
        "client": _l("Registered card"),
        "registered_on": _l("Registered on"),
        "registered_late": _l("Registered late"),
        "notes": _l("Notes"),
        "region": _l("Region"),
    }
    column_formatters = {
        "deadline": lambda v, c, m, p: services.deadline_of(m),
        "client": client_link,
    }
    column_searchable_list = ("name", "phone", "mobile")
    # The home page's "registrations due" opens those with no customer card yet.
    column_filters = (FilterEmpty(FirstContact.client_id, _l("Registered card")),)
    column_default_sort = ("contact_date", True)
    form_columns = ("name", "phone", "mobile", "contact_date", "owner", "notes")
    form_args = {"owner": {"query_factory": lambda: _account_managers(), "allow_blank": True}}

    def adjust_form(self, form) -> None:
        if current_actor().role == access.ACCOUNT_MANAGER:
            del form.owner

    def populate(self, form, model) -> None:
        super().populate(form, model)
        if "owner" in form and form.owner.data is not None:
            model.owner_id = form.owner.data.id

    def create_record(self, form, model) -> None:
        services.record_first_contact(db.session, model)


def _account_managers():
    return client_services.assignable_owners(db.session, current_actor())


# --- the assignment queue (R12) ------------------------------------------------------------


class AssignmentQueueView(RoleView):
    screen = "assignment_queue"

    @expose("/")
    def index(self):
        queue = services.assignment_queue(db.session)
        candidates = {}
        for region_id in {c.region_id for c in queue}:
            candidates[region_id] = services.active_counts(db.session, region_id)
        return self.render("admin/crm/intake_queue.html", queue=queue, candidates=candidates)

    @expose("/assign", methods=("POST",))
    def assign(self):
        client = select_one(Client, request.form.get("client_id"))
        owner = db.session.get(User, request.form.get("owner_id", type=id_arg) or 0)
        if client is None or owner is None:
            abort(404)
        perform(
            lambda: services.assign_client(db.session, client, owner),
            _("%(client)s is now with %(owner)s.", client=client.name, owner=owner),
        )
        return redirect(url_for(".index"))


# --- a leaver's hand-over (R12) -------------------------------------------------------------


class HandOverView(RoleView):
    screen = "handover"

    def _staff(self):
        return db.session.scalars(
            select(User).where(User.role == access.ACCOUNT_MANAGER).order_by(User.full_name)
        ).all()

    @expose("/", methods=("GET", "POST"))
    def index(self):
        handed = None
        if request.method == "POST":
            leaving = db.session.get(User, request.form.get("leaving_id", type=id_arg) or 0)
            successor = db.session.get(User, request.form.get("successor_id", type=id_arg) or 0)
            if leaving is None or successor is None:
                abort(404)
            ok, handed = perform(lambda: services.hand_over(db.session, leaving, successor))
            if ok:
                flash(
                    _("%(n)d customers handed over to %(who)s.", n=len(handed), who=successor),
                    "success",
                )
        return self.render("admin/crm/intake_handover.html", staff=self._staff(), handed=handed)


# --- the divisions' invitations (R13) ------------------------------------------------------

STATUS_LABELS = {"pending": _l("Pending"), "confirmed": _l("Confirmed"), "lost": _l("Lost")}


class InvitationClaimView(XlsxExportMixin, ScopedModelView):
    area = "invitations"
    can_edit = False
    can_delete = False
    column_list = (
        "client",
        "division",
        "status",
        "claimed_by",
        "claimed_at",
        "confirmed_at",
        "count_day",
        "late",
    )
    column_labels = {
        "client": _l("Customer"),
        "division": _l("Division"),
        "status": _l("Status"),
        "claimed_by": _l("Claimed by"),
        "claimed_at": _l("Claimed at"),
        "confirmed_at": _l("Confirmed at"),
        "count_day": _l("Counts for"),
        "late": _l("After the cut-off"),
        "notes": _l("Notes"),
    }
    column_formatters = {
        "client": client_link,
        "division": lambda v, c, m, p: services.divisions().get(m.division, m.division),
        "status": lambda v, c, m, p: STATUS_LABELS.get(m.status, m.status),
        "claimed_at": lambda v, c, m, p: format_local(m.claimed_at),
        "confirmed_at": lambda v, c, m, p: format_local(m.confirmed_at),
    }
    column_formatters_export = {"client": client_name}
    column_filters = (
        FilterEqual(InvitationClaim.status, _l("Status"), options=list(STATUS_LABELS.items())),
    )
    column_default_sort = ("claimed_at", True)
    form_columns = ("client", "division", "notes")
    form_overrides = {"division": SelectField}
    form_args = {"division": {"choices": []}}
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}

    def adjust_form(self, form) -> None:
        form.division.choices = list(services.divisions().items())

    def create_model(self, form):
        # The claim is built by the service; Flask-Admin's own instance stays out of it.
        ok, claim = perform(
            lambda: services.claim_invitation(
                db.session, form.client.data, form.division.data, form.notes.data
            ),
            autoflush=False,
        )
        return claim if ok else False

    @action("confirm", _l("Confirm"), _l("Confirm the selected invitations now?"))
    def action_confirm(self, ids):
        claims = self.get_query().filter(InvitationClaim.id.in_(id_list(ids))).all()
        for claim in claims:
            ok, _result = perform(
                lambda c=claim: services.confirm_invitation(db.session, c), prefix=claim.client.name
            )
            if not ok:
                continue
            if claim.status == "lost":
                flash(
                    _(
                        "%(name)s: the other division's confirmation counts.",
                        name=claim.client.name,
                    ),
                    "warning",
                )
            else:
                flash(
                    _(
                        "%(name)s: confirmed, counts for %(day)s.",
                        name=claim.client.name,
                        day=claim.count_day,
                    ),
                    "success",
                )


def register(admin) -> None:
    category = _l("Intake")
    admin.add_view(
        FirstContactView(
            FirstContact, name=_l("First contacts"), endpoint="first_contact", category=category
        )
    )
    admin.add_view(
        AssignmentQueueView(name=_l("Assignment queue"), endpoint="assignment", category=category)
    )
    admin.add_view(
        HandOverView(name=_l("Departure hand-over"), endpoint="handover", category=category)
    )
    admin.add_view(
        InvitationClaimView(
            InvitationClaim, name=_l("Invitations"), endpoint="invitation", category=category
        )
    )
