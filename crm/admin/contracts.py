"""Contract screens (合同协议, R3 cat. 2): the list, the card section, status moves, originals.

Thin: every write goes through crm.contracts.services; reads are narrowed by crm.access (finance
reads every customer's contracts, the others their scope)."""

import io
from datetime import date
from pathlib import PurePosixPath

from flask import abort, flash, redirect, request, send_file
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf.file import FileField
from markupsafe import Markup, escape
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform, select_one
from crm.admin.formatters import client_link, client_name, customer_filters
from crm.bounds import id_arg
from crm.clients.models import Client
from crm.contracts import services
from crm.contracts.models import KINDS, STATUSES, Contract
from crm.errors import DomainError
from crm.extensions import db
from crm.timeutil import format_local

LABELS = {
    "client": _l("Customer"),
    "seq": _l("No."),
    "number": _l("Contract number"),
    "kind": _l("Kind"),
    "title": lazy_pgettext("document", "Title"),
    "signed_on": _l("Signing date"),
    "starts_on": _l("Term starts"),
    "ends_on": _l("Term ends"),
    "amount": _l("Amount"),
    "status": _l("Status"),
    "our_signer": _l("Our signer"),
    "customer_signer": _l("Customer's signer"),
    "original": _l("Original"),
    "file_name": _l("Original"),
    "file_path": _l("Storage address"),
    "file_sha256": _l("SHA-256"),
    "notes": _l("Notes"),
    "created_at": _l("Entered at"),
    "created_by": _l("Entered by"),
    "change_reason": _l("Reason for the change"),
}


def choice(options):
    labels = dict(options)
    return lambda v, c, m, p: labels.get(getattr(m, p), getattr(m, p) or "")


def _original(view, context, model, name):
    if not model.file_path:
        return ""
    url = view.get_url("contract.original_view", id=model.id)
    text = model.file_name or _("Download")  # outside the f-string, where pybabel finds it
    return Markup(f'<a href="{escape(url)}">{escape(text)}</a>')


def prefill_client(form) -> None:
    """ "Add" on a customer's card opens the form for that customer (if in scope)."""
    client_id = request.args.get("client", type=id_arg)
    if client_id and request.method == "GET" and "client" in form and form.client.data is None:
        form.client.data = select_one(Client, client_id)


class ContractView(ScopedModelView):
    area = "contracts"
    details_template = "admin/crm/contract_details.html"
    column_list = (
        "client",
        "seq",
        "number",
        "kind",
        "title",
        "signed_on",
        "ends_on",
        "amount",
        "status",
        "file_name",
    )
    column_details_list = (
        "client",
        "seq",
        "number",
        "kind",
        "title",
        "signed_on",
        "starts_on",
        "ends_on",
        "amount",
        "status",
        "our_signer",
        "customer_signer",
        "file_name",
        "file_path",
        "file_sha256",
        "notes",
        "created_by",
        "created_at",
    )
    column_export_list = (
        "client",
        "seq",
        "number",
        "kind",
        "title",
        "signed_on",
        "starts_on",
        "ends_on",
        "amount",
        "status",
        "our_signer",
        "customer_signer",
        "file_path",
        "file_sha256",
    )
    column_labels = LABELS
    column_formatters = {
        "client": client_link,
        "kind": choice(KINDS),
        "status": choice(STATUSES),
        "file_name": _original,
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    column_formatters_export = {
        "client": client_name,
        "kind": choice(KINDS),
        "status": choice(STATUSES),
    }
    column_searchable_list = ("number", "title")
    column_sortable_list = ("signed_on", "status", "number")  # each backed by an index
    column_default_sort = ("signed_on", True)
    column_filters = (
        *customer_filters(Contract.client_id),
        FilterEqual(Contract.status, _l("Status"), options=STATUSES),
        FilterEqual(Contract.kind, _l("Kind"), options=KINDS),
        "signed_on",
    )
    form_columns = (
        "client",
        "number",
        "kind",
        "title",
        "signed_on",
        "starts_on",
        "ends_on",
        "amount",
        "our_signer",
        "customer_signer",
        "notes",
        "original",
        "change_reason",
    )
    form_choices = {"kind": KINDS}
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {
        "client": {"validators": [DataRequired()]},
        "number": {
            "validators": [Optional(), Length(max=40)],
            "description": _l("Leave empty for the next number."),
        },
    }
    form_extra_fields = {
        "original": FileField(
            _l("Original"),
            description=_l("The signed original, scanned or electronic (PDF, image, Word, OFD)."),
        ),
        "change_reason": TextAreaField(
            _l("Reason for the change"), validators=[Optional(), Length(max=500)]
        ),
    }
    extra_form_fields = ("original", "change_reason")

    def adjust_form(self, form) -> None:
        if request.endpoint and request.endpoint.endswith("create_view"):
            del form.change_reason
            prefill_client(form)
        else:
            del form.client  # a contract stays with its customer

    def field_errors(self, form) -> dict:
        probe = Contract(
            kind=form.kind.data,
            title=form.title.data,
            amount=form.amount.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            status="draft",
        )
        return services.contract_errors(probe)

    @staticmethod
    def _upload(form):
        upload = form.original.data
        return (upload.read(), upload.filename) if getattr(upload, "filename", "") else None

    def create_record(self, form, model) -> None:
        services.add_contract(db.session, model, self._upload(form))

    def update_record(self, form, model) -> None:
        upload = self._upload(form)
        if upload:
            services.attach_original(db.session, model, *upload, form.change_reason.data)
        else:
            services.update_contract(db.session, model, form.change_reason.data)

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.details_template and model is not None:
            moves = sorted(services.MOVES.get(model.status, ()), key=list(dict(STATUSES)).index)
            kwargs.update(
                moves=moves if can(current_actor(), "edit", model) else [],
                status_labels=dict(STATUSES),
            )
        return super().render(template, **kwargs)

    @expose("/move/", methods=("POST",))
    def move_view(self):
        contract = self.get_one(request.form.get("id"))
        form = request.form
        fields = {k: (form.get(k) or "").strip() or None for k in ("our_signer", "customer_signer")}
        if form.get("signed_on"):
            try:
                fields["signed_on"] = date.fromisoformat(form["signed_on"])
            except ValueError:
                flash(_("The signing date is not a date."), "error")
                return redirect(self.get_url(".details_view", id=contract.id))
        db.session.info.pop("crm_pending_changes", None)

        def move():
            services.move_contract(
                db.session, contract, form.get("status", ""), form.get("reason"), **fields
            )
            return bool(db.session.info.get("crm_pending_changes"))

        ok, _waiting = perform(move)
        if ok and not self._announce_pending():  # R6: an account manager's move waits
            flash(_("Done."), "success")
        return redirect(self.get_url(".details_view", id=contract.id))

    @expose("/original/")
    def original_view(self):
        contract = self.get_one(request.args.get("id"))
        try:
            data = services.original_bytes(contract)
        except DomainError as exc:
            flash(str(exc.message), "error")
            return redirect(self.get_url(".details_view", id=contract.id))
        if data is None:
            abort(404)
        name = contract.file_name or PurePosixPath(contract.file_path).name
        return send_file(io.BytesIO(data), as_attachment=True, download_name=name)


def client_contracts(client_id: int):
    """The card's section: the customer's contracts in signing order and whether the user
    may add one; None when the signed-in user may not read them."""
    probe = Contract(client_id=client_id)
    if not can(current_actor(), "view", probe):
        return None
    return {
        "rows": services.contracts_of(db.session, client_id),
        "can_add": can(current_actor(), "create", probe),
    }


def register(admin) -> None:
    admin.add_view(
        ContractView(
            Contract,
            name=_l("Contracts and agreements"),
            endpoint="contract",
            category=_l("Customer archives"),
        )
    )
    admin.app.jinja_env.globals.update(
        client_contracts=client_contracts,
        contract_labels={"kind": dict(KINDS), "status": dict(STATUSES)},
    )
