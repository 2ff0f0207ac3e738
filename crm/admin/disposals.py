"""Disposal lists (销毁清册, R3, R6): documents kept past their customer whose retention has
ended. The archivist or a manager proposes one (the daily task does too), the sales manager
approves or rejects it with a reason, the archivist or the sales manager carries it out.
Thin: every write goes through crm.archives.disposal; crm.access shows the lists to the
archivist and the managers only."""

import io

from flask import abort, flash, redirect, request, send_file
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from markupsafe import Markup, escape

from crm import printing
from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform
from crm.admin.formatters import local_time
from crm.archives import disposal, rules
from crm.archives.models import DisposalList
from crm.extensions import db
from crm.timeutil import format_local

LABELS = {
    "id": _l("List"),
    "status": _l("Status"),
    "proposed_at": _l("Proposed at"),
    "proposed_by": _l("Proposed by"),
    "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"),
    "comment": _l("Reason of the decision"),
    "carried_out_by": _l("Carried out by"),
    "carried_out_at": _l("Carried out at"),
    "files_deleted": _l("Files deleted"),
    "items": _l("Documents"),
}


class DisposalListView(ScopedModelView):
    area = "disposals"
    can_create = can_edit = can_delete = False
    can_export = False
    can_view_details = True
    list_template = "admin/crm/disposal_list.html"
    details_template = "admin/crm/disposal_details.html"
    column_list = (
        "id",
        "status",
        "proposed_at",
        "proposed_by",
        "items",
        "decided_by",
        "decided_at",
        "comment",
        "carried_out_at",
        "files_deleted",
    )
    column_details_list = (
        "id",
        "status",
        "proposed_at",
        "proposed_by",
        "decided_by",
        "decided_at",
        "comment",
        "carried_out_by",
        "carried_out_at",
        "files_deleted",
    )
    column_labels = LABELS
    column_formatters = {
        "id": lambda v, c, m, p: Markup(
            f'<a href="{escape(v.get_url(".details_view", id=m.id))}">#{m.id}</a>'
        ),
        "status": lambda v, c, m, p: rules.DISPOSAL_STATUSES.get(m.status, m.status),
        "items": lambda v, c, m, p: len(m.items),
        "proposed_at": local_time("proposed_at"),
        "decided_at": local_time("decided_at"),
        "carried_out_at": local_time("carried_out_at"),
    }
    column_filters = (
        FilterEqual(
            DisposalList.status,
            _l("Status"),
            options=lambda: [(k, str(v)) for k, v in rules.DISPOSAL_STATUSES.items()],
        ),
    )
    column_default_sort = ("id", True)

    def render(self, template, **kwargs):
        actor = current_actor()
        kwargs.update(
            may_propose=can(actor, "create", area="disposals"),
            may_decide=can(actor, "approve", area="disposals"),
            may_carry_out=can(actor, "carry_out", area="disposals"),
            statuses=rules.DISPOSAL_STATUSES,
            categories=rules.CATEGORIES,
            retentions=rules.RETENTIONS,
        )
        return super().render(template, **kwargs)

    @expose("/list.pdf")
    def pdf_view(self):
        """The disposal list (销毁清册) on A4: its documents, the decision, and lines for the
        signatures of who carries it out and who supervises."""
        listed = self.get_one(request.args.get("id"))
        if listed is None:
            abort(404)
        rows = [
            [
                item.archive_no or f"#{item.document_id}",
                item.title,
                rules.CATEGORIES[item.category][1]
                if item.category in rules.CATEGORIES
                else item.category,
                item.doc_date.isoformat(),
                rules.RETENTIONS.get(item.retention, item.retention),
                item.retention_ended.isoformat(),
            ]
            for item in listed.items
        ]
        status = rules.DISPOSAL_STATUSES.get(listed.status, listed.status)
        decided = (
            f"{listed.decided_by.full_name if listed.decided_by else ''} "
            f"{format_local(listed.decided_at) or ''} {listed.comment or ''}"
        ).strip()
        pdf = printing.table_pdf(
            _("Disposal list #%(id)s", id=listed.id),
            [
                _("Archive number"),
                pgettext("archive", "Title"),
                _("Category"),
                _("Date"),
                _("Retention"),
                _("Retention ended"),
            ],
            rows,
            widths=(24, 60, 22, 16, 14, 16),
            wide=True,
            subtitle=" · ".join(
                str(x)
                for x in (
                    status,
                    _("Proposed by %(who)s", who=listed.proposed_by),
                    format_local(listed.proposed_at),
                )
                if x
            ),
            footer=_("Disposal list #%(id)s", id=listed.id),
            after=[
                ("text", _("Decision"), decided or "—"),
                (
                    "text",
                    "",
                    _(
                        "Carried out by: ______________    Supervised by: "
                        "______________    Date: ______________"
                    ),
                ),
            ],
        )
        return send_file(
            io.BytesIO(pdf),
            mimetype=printing.PDF_MIMETYPE,
            as_attachment=True,
            download_name=f"disposal-{listed.id}.pdf",
        )

    @expose("/propose/", methods=("POST",))
    def propose_view(self):
        ok, listed = perform(lambda: disposal.propose_disposal(db.session), forbid=True)
        if ok and listed is None:
            flash(_("No document's retention has ended: nothing to propose."), "info")
            return redirect(self.get_url(".index_view"))
        if ok:
            flash(
                _("Disposal list #%(id)s proposed to the sales manager.", id=listed.id), "success"
            )
            return redirect(self.get_url(".details_view", id=listed.id))
        return redirect(self.get_url(".index_view"))

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        listed = self.get_one(request.form.get("id"))
        if listed is None:
            abort(404)
        approve = request.form.get("decision") == "approve"
        perform(
            lambda: disposal.decide_disposal(
                db.session, listed.id, approve, request.form.get("comment", "")
            ),
            _("The disposal list is approved.")
            if approve
            else _("The disposal list is rejected; its documents stay."),
            forbid=True,
        )
        return redirect(self.get_url(".details_view", id=listed.id))

    @expose("/carry-out/", methods=("POST",))
    def carry_out_view(self):
        listed = self.get_one(request.form.get("id"))
        if listed is None:
            abort(404)
        perform(
            lambda: disposal.carry_out_disposal(db.session, listed.id),
            _("Carried out: the documents are disposed of and recorded."),
            forbid=True,
        )
        return redirect(self.get_url(".details_view", id=listed.id))


def register(admin, category) -> None:
    admin.add_view(
        DisposalListView(
            DisposalList, name=_l("Disposal lists"), endpoint="disposal", category=category
        )
    )
