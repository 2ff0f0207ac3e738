"""Archive screens (档案, R3, R4, R9): documents by customer and category with their dual-set
status, volumes by year with both catalogues (printable .xlsx), integrity flags, search by
archive number, title and customer.

Thin: every write goes through crm.archives.services; reads are narrowed by crm.access (the
archivist reads every catalogue entry and location; the content follows the customer scope)."""

import io
from pathlib import PurePosixPath

from flask import abort, flash, redirect, request, send_file
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext
from markupsafe import Markup, escape
from sqlalchemy import extract, select
from wtforms import FileField, SelectField
from wtforms.validators import DataRequired, NumberRange

from crm import access, printing
from crm.access import ARCHIVIST, can, current_actor
from crm.admin.base import ScopedModelView, perform
from crm.admin.formatters import customer_anchor, customer_filters
from crm.archives import rules, services
from crm.archives.models import ArchiveDocument, ArchiveFlag, ArchiveVolume, CatalogueLine
from crm.auth.models import User
from crm.bounds import id_arg, id_list
from crm.excel.safe import XLSX_MIMETYPE, SafeWorkbook, print_setup
from crm.extensions import db
from crm.timeutil import format_local, local_today

LOCATION = ("room", "cabinet", "shelf", "box")
CATALOGUE_WIDTHS = (6, 28, 14, 40, 12, 6, 60)
LABELS = {
    "archive_no": _l("Archive number"),
    "title": lazy_pgettext("archive", "Title"),
    "client": _l("Customer"),
    "client_name": _l("Customer"),
    "category": _l("Category"),
    "doc_date": _l("Date"),
    "pages": _l("Pages"),
    "retention": _l("Retention"),
    "form": _l("Form"),
    "status": _l("Status"),
    "dual": _l("Dual-set status"),
    "manager": _l("Account manager"),
    "customer_signed": _l("Customer signature recorded"),
    "handler": _l("Handler (经办人)"),
    "approved_by": _l("Approved by"),
    "approved_at": _l("Approved at"),
    "room": _l("Room"),
    "cabinet": _l("Cabinet"),
    "shelf": _l("Shelf"),
    "box": _l("Box"),
    "upload": _l("Electronic file"),
    "storage_path": _l("Storage address"),
    "sha256": _l("SHA-256"),
    "size": _l("Size (bytes)"),
    "content_type": _l("Type"),
    "original_name": _l("Uploaded as"),
    "volume": _l("Volume"),
    "item_no": _l("Item"),
    "year": _l("Year"),
    "number": _l("Volume number"),
    "item_count": _l("Items"),
    "closed_at": _l("Closed at"),
    "kind": _l("Problem"),
    "document": _l("Document"),
    "detail": _l("Detail"),
    "detected_at": _l("Detected at"),
    "resolved_at": _l("Resolved at"),
    "filed_at": _l("Filed at"),
    "archived_at": _l("Archived at"),
}


def _labelled(options):
    return lambda v, c, m, p: options.get(getattr(m, p), getattr(m, p))


def _doc_link(view, context, model, name):
    doc = model if isinstance(model, ArchiveDocument) else model.document
    url = view.get_url("archive_document.details_view", id=doc.id)
    return Markup(f'<a href="{escape(url)}">{escape(doc.archive_no or _("(no number yet)"))}</a>')


def _by_customer(view, context, model, name):
    return customer_anchor(view, model.client_id, model.client_name)


def _dual(view, context, model, name):
    state = model.dual_status
    css = {
        "linked": "success",
        "paper_only": "secondary",
        "electronic_only": "secondary",
        "draft": "light",
    }.get(state, "warning")
    return Markup(f'<span class="badge badge-{css}">{escape(rules.DUAL[state])}</span>')


def _category_options():
    return [(k, str(label)) for k, (_code, label) in rules.CATEGORIES.items()]


class ArchiveDocumentView(ScopedModelView):
    area = "archives"
    list_template = "admin/crm/archive_list.html"
    details_template = "admin/crm/archive_document_details.html"
    column_list = (
        "archive_no",
        "title",
        "client_name",
        "category",
        "doc_date",
        "form",
        "status",
        "dual",
        "manager",
    )
    column_details_list = (
        "archive_no",
        "title",
        "client_name",
        "category",
        "doc_date",
        "pages",
        "retention",
        "form",
        "status",
        "manager",
        "customer_signed",
        "handler",
        "approved_by",
        "approved_at",
        "filed_at",
        "archived_at",
        "room",
        "cabinet",
        "shelf",
        "box",
        "storage_path",
        "sha256",
        "size",
        "content_type",
        "original_name",
    )
    column_export_list = (
        "archive_no",
        "title",
        "client_name",
        "category",
        "doc_date",
        "pages",
        "retention",
        "form",
        "status",
        "room",
        "cabinet",
        "shelf",
        "box",
        "storage_path",
        "sha256",
    )
    column_labels = LABELS
    column_formatters = {
        "archive_no": _doc_link,
        "client_name": _by_customer,
        "dual": _dual,
        "category": _labelled({k: v for k, (_c, v) in rules.CATEGORIES.items()}),
        "form": _labelled(rules.FORMS),
        "status": _labelled(rules.STATUSES),
        "retention": _labelled(rules.RETENTIONS),
        "approved_at": lambda v, c, m, p: format_local(m.approved_at),
        "filed_at": lambda v, c, m, p: format_local(m.filed_at),
        "archived_at": lambda v, c, m, p: format_local(m.archived_at),
    }
    column_formatters_export = {
        "category": _labelled({k: v for k, (_c, v) in rules.CATEGORIES.items()}),
        "form": _labelled(rules.FORMS),
        "status": _labelled(rules.STATUSES),
    }
    column_searchable_list = ("archive_no", "title", "client_name")
    column_sortable_list = ("archive_no", "doc_date", "client_name", "category", "status")
    column_default_sort = ("doc_date", True)
    column_filters = (
        FilterEqual(ArchiveDocument.category, _l("Category"), options=_category_options),
        FilterEqual(
            ArchiveDocument.form,
            _l("Form"),
            options=lambda: [(k, str(v)) for k, v in rules.FORMS.items()],
        ),
        FilterEqual(
            ArchiveDocument.status,
            _l("Status"),
            options=lambda: [(k, str(v)) for k, v in rules.STATUSES.items()],
        ),
        IntEqualFilter(extract("year", ArchiveDocument.doc_date), _l("Year")),
        FilterLike(ArchiveDocument.client_name, _l("Customer")),
        *customer_filters(ArchiveDocument.client_id),
    )
    form_columns = (
        "client",
        "category",
        "title",
        "doc_date",
        "pages",
        "form",
        "customer_signed",
        "handler",
        *LOCATION,
        "upload",
    )
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_overrides = {"category": SelectField, "form": SelectField}
    form_args = {
        "client": {"validators": [DataRequired()]},
        "category": {"choices": _category_options, "validators": [DataRequired()]},
        "form": {"choices": lambda: [(k, str(v)) for k, v in rules.FORMS.items()]},
        "pages": {"validators": [NumberRange(min=1)]},
        "doc_date": {"validators": [DataRequired()]},
    }
    form_extra_fields = {
        "upload": FileField(
            _l("Electronic file"),
            description=_l(
                "The scan or the original electronic document; kept under the archive root with "
                "its checksum when the document is indexed."
            ),
        )
    }
    extra_form_fields = ("upload",)
    column_descriptions = {"handler": _l("The staff member who handled the matter (经办人).")}

    # --- lists by customer and by category ------------------------------------------------
    def _narrowed(self, query):
        client_id = request.args.get("client_id", type=id_arg)
        category = request.args.get("category")
        if client_id:
            query = query.filter(ArchiveDocument.client_id == client_id)
        if category in rules.CATEGORIES:
            query = query.filter(ArchiveDocument.category == category)
        return query

    def get_query(self):
        return self._narrowed(super().get_query())

    def get_count_query(self):
        return self._narrowed(super().get_count_query())

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(
                categories=rules.CATEGORIES,
                category=request.args.get("category"),
                client_id=request.args.get("client_id", type=id_arg),
            )
        doc = kwargs.get("model")
        if template == self.details_template and doc is not None:
            kwargs.update(self._page(doc))
        return super().render(template, **kwargs)

    def _page(self, doc) -> dict:
        actor = current_actor()
        return {
            "lines": db.session.scalars(
                select(CatalogueLine)
                .where(CatalogueLine.document_id == doc.id)
                .order_by(CatalogueLine.set_kind)
            ).all(),
            "flags": db.session.scalars(
                select(ArchiveFlag)
                .where(ArchiveFlag.document_id == doc.id)
                .order_by(ArchiveFlag.id)
            ).all(),
            "missing": [str(services.SIGN_OFF_LABELS[m]) for m in services.missing_sign_off(doc)],
            "may_approve": doc.approved_at is None and can(actor, "approve", doc),
            "may_file": doc.status == rules.DRAFT and can(actor, "file", doc),
            "may_bind": doc.status == rules.FILED and can(actor, "bind", area="archives"),
            "may_read": doc.has_file and access.in_scope(actor, doc, level="detail"),
            "labels": {"dual": rules.DUAL, "sets": rules.SETS, "flags": rules.FLAG_KINDS},
        }

    # --- forms -----------------------------------------------------------------------------
    def adjust_form(self, form) -> None:
        doc = getattr(form, "_obj", None)
        if getattr(current_actor(), "role", None) == ARCHIVIST:
            for name in list(form._fields):
                if name not in (*LOCATION, "csrf_token"):
                    delattr(form, name)
            return
        if doc is not None and doc.archive_no:
            for name in ("client", "category", "doc_date"):
                if name in form:
                    delattr(form, name)
        if doc is not None and doc.storage_path and "upload" in form:
            delattr(form, "upload")

    def create_record(self, form, model) -> None:
        services.new_document(db.session, model)
        self._attach(form, model)

    def update_record(self, form, model) -> None:
        services.update_document(db.session, model)
        self._attach(form, model)

    def _attach(self, form, model) -> None:
        upload = form.upload.data if "upload" in form else None
        if upload and getattr(upload, "filename", ""):
            services.attach_file(db.session, model, upload.stream, upload.filename, upload.mimetype)

    # --- the moves on a document's page ----------------------------------------------------
    def _move(self, operation, done: str):
        doc = self.get_one(request.form.get("id"))
        perform(lambda: operation(doc), done)
        return redirect(self.get_url(".details_view", id=doc.id))

    @expose("/approve/", methods=("POST",))
    def approve_view(self):
        return self._move(lambda d: services.approve_document(db.session, d), _("Approved."))

    @expose("/file/", methods=("POST",))
    def file_view(self):
        from crm.tasks.archives import enqueue_index

        def file_and_queue(doc):
            services.file_document(db.session, doc)
            db.session.commit()
            enqueue_index(doc.id)

        return self._move(file_and_queue, _("Filed; the document is being indexed."))

    @expose("/bind/", methods=("POST",))
    def bind_view(self):
        return self._move(lambda d: services.bind_now(db.session, d), _("Bound into its volume."))

    @expose("/download/")
    def download_view(self):
        doc = self.get_one(request.args.get("id"))
        ok, stream = perform(lambda: services.read_file(db.session, doc), forbid=True)
        if not ok:
            return redirect(self.get_url(".details_view", id=doc.id))
        name = f"{doc.archive_no or doc.id}{PurePosixPath(doc.storage_path).suffix}"
        # A stream from the storage (a local file or an S3 object), closed when sent.
        return send_file(stream, mimetype=doc.content_type, as_attachment=True, download_name=name)


class ArchiveVolumeView(ScopedModelView):
    screen = "archive_volumes"
    area = "archives"
    can_create = can_edit = can_delete = False
    can_export = False
    list_template = "admin/crm/archive_volumes.html"
    details_template = "admin/crm/archive_volume_details.html"
    column_list = (
        "year",
        "category",
        "number",
        "manager",
        "retention",
        "status",
        "item_count",
        "closed_at",
    )
    column_labels = LABELS
    column_formatters = {
        "category": _labelled({k: v for k, (_c, v) in rules.CATEGORIES.items()}),
        "status": _labelled(rules.VOLUME_STATUSES),
        "retention": _labelled(rules.RETENTIONS),
        "number": lambda v, c, m, p: Markup(
            f'<a href="{escape(v.get_url(".details_view", id=m.id))}">{escape(m.code)}</a>'
        ),
        "closed_at": lambda v, c, m, p: format_local(m.closed_at),
    }
    column_filters = (
        IntEqualFilter(ArchiveVolume.year, _l("Year")),
        FilterEqual(ArchiveVolume.category, _l("Category"), options=_category_options),
        FilterEqual(
            ArchiveVolume.status,
            _l("Status"),
            options=lambda: [(k, str(v)) for k, v in rules.VOLUME_STATUSES.items()],
        ),
    )
    column_sortable_list = ("year", "category", "number", "status")
    column_default_sort = [("year", True), ("category", False), ("number", False)]

    @property
    def can_close(self):
        return can(current_actor(), "bind", area="archives")

    def _lines(self, volume, set_kind):
        return db.session.scalars(
            select(CatalogueLine)
            .where(CatalogueLine.volume_id == volume.id, CatalogueLine.set_kind == set_kind)
            .order_by(CatalogueLine.item_no)
        ).all()

    def render(self, template, **kwargs):
        volume = kwargs.get("model")
        if template == self.details_template and volume is not None:
            kwargs["catalogues"] = [
                (k, rules.SETS[k], self._lines(volume, k)) for k in (rules.PAPER, rules.ELECTRONIC)
            ]
            kwargs["volume_statuses"] = rules.VOLUME_STATUSES
        if template == self.list_template:
            kwargs["this_year"] = local_today().year
        kwargs["may_close"] = self.can_close
        return super().render(template, **kwargs)

    def _catalogue(self, set_kind):
        """The volume and the catalogue's heading, column titles and rows for one set."""
        volume = self.get_one(request.args.get("id"))
        if set_kind not in rules.SETS:
            abort(404)
        heading = [
            _("Catalogue of volume %(code)s", code=volume.code),
            str(rules.CATEGORIES[volume.category][1]),
            str(volume.manager),
            str(rules.RETENTIONS[volume.retention]),
        ]
        columns = [
            _("Item"),
            _("Archive number"),
            _("Responsible"),
            pgettext("archive", "Title"),
            _("Date"),
            _("Pages"),
            _("Remarks"),
        ]
        rows = [
            [
                line.item_no,
                line.archive_no,
                line.responsible,
                line.title,
                line.doc_date.isoformat(),
                line.pages,
                line.remarks,
            ]
            for line in self._lines(volume, set_kind)
        ]
        return volume, heading, columns, rows

    @expose("/catalogue.xlsx")
    def catalogue_view(self):
        """The catalogue to print and bind with the paper volume (卷内目录)."""
        set_kind = request.args.get("set", rules.PAPER)
        volume, heading, columns, rows = self._catalogue(set_kind)
        book = SafeWorkbook()
        sheet = book.sheet(rules.SETS[set_kind])
        for col, width in zip("ABCDEFG", CATALOGUE_WIDTHS, strict=True):
            sheet.column_dimensions[col].width = width
        print_setup(sheet.ws, title_rows=2, wide=True)
        sheet.append(heading)
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO(book.save())
        return send_file(
            out,
            as_attachment=True,
            download_name=f"{volume.code}-{set_kind}.xlsx",
            mimetype=XLSX_MIMETYPE,
        )

    @expose("/catalogue.pdf")
    def catalogue_pdf_view(self):
        """The same catalogue as a PDF on A4, its header repeated on every page."""
        set_kind = request.args.get("set", rules.PAPER)
        volume, heading, columns, rows = self._catalogue(set_kind)
        pdf = printing.table_pdf(
            f"{heading[0]} · {rules.SETS[set_kind]}",
            columns,
            rows,
            subtitle=" · ".join(heading[1:]),
            widths=CATALOGUE_WIDTHS,
            wide=True,
            footer=volume.code,
        )
        return send_file(
            io.BytesIO(pdf),
            mimetype=printing.PDF_MIMETYPE,
            as_attachment=True,
            download_name=f"{volume.code}-{set_kind}.pdf",
        )

    @expose("/reference.pdf")
    def reference_pdf_view(self):
        """The volume's reference table (备考表), printed for the end of the paper volume: its
        items and pages in each set, who closed it, and each item's place in the other set
        (R9), with lines for the compiler's and the checker's signatures."""
        volume = self.get_one(request.args.get("id"))
        paper, electronic = (self._lines(volume, k) for k in (rules.PAPER, rules.ELECTRONIC))
        closer = db.session.get(User, volume.closed_by_id) if volume.closed_by_id else None
        fields = [
            (_("Volume"), volume.code),
            (_("Year"), volume.year),
            (_("Category"), rules.CATEGORIES[volume.category][1]),
            (_("Account manager"), volume.manager),
            (_("Retention"), rules.RETENTIONS[volume.retention]),
            (_("Status"), rules.VOLUME_STATUSES[volume.status]),
            (_("Items"), volume.item_count),
            (_("Pages"), sum(line.pages for line in paper)),
            (_("Items in the paper set"), len(paper)),
            (_("Items in the electronic set"), len(electronic)),
            (_("Closed at"), format_local(volume.closed_at) or ""),
            (_("Closed by"), closer or ""),
        ]
        remarks = {line.document_id: line.remarks for line in electronic}
        rows = [
            [
                line.item_no,
                line.archive_no,
                line.title,
                line.remarks,
                remarks.get(line.document_id, ""),
            ]
            for line in paper
        ]
        seen = {line.document_id for line in paper}
        rows += [
            [line.item_no, line.archive_no, line.title, "", line.remarks]
            for line in electronic
            if line.document_id not in seen
        ]
        rows.sort(key=lambda r: r[0])
        pdf = printing.document_pdf(
            _("Reference table of volume %(code)s", code=volume.code),
            [
                ("fields", "", fields),
                (
                    "table",
                    _("Where each item is kept in the two sets"),
                    [
                        _("Item"),
                        _("Archive number"),
                        pgettext("archive", "Title"),
                        _("Paper set"),
                        _("Electronic set"),
                    ],
                    rows,
                    (6, 24, 40, 50, 50),
                ),
                (
                    "text",
                    "",
                    _(
                        "Compiled by: ______________    Checked by: ______________    "
                        "Date: ______________"
                    ),
                ),
            ],
            footer=volume.code,
        )
        return send_file(
            io.BytesIO(pdf),
            mimetype=printing.PDF_MIMETYPE,
            as_attachment=True,
            download_name=f"{volume.code}-reference.pdf",
        )

    @expose("/close/", methods=("POST",))
    def close_view(self):
        volume = self.get_one(request.form.get("id"))
        ok, closed = perform(lambda: services.close_volume(db.session, volume), forbid=True)
        if ok:
            flash(_("Volume closed.") if closed else _("The volume was already closed."), "success")
        return redirect(self.get_url(".details_view", id=volume.id))

    @expose("/close-year/", methods=("POST",))
    def close_year_view(self):
        year = request.form.get("year", type=id_arg)
        if not year:
            abort(400)
        ok, closed = perform(lambda: services.close_year(db.session, year), forbid=True)
        if ok:
            flash(_("%(count)d volumes of %(year)d closed.", count=closed, year=year), "success")
        return redirect(self.get_url(".index_view"))


class ArchiveFlagView(ScopedModelView):
    area = "archives"
    can_create = can_edit = can_delete = False
    can_export = False
    column_list = ("detected_at", "kind", "document", "client", "detail", "resolved_at")
    column_labels = {**LABELS, "client": _l("Customer")}
    column_formatters = {
        "detected_at": lambda v, c, m, p: format_local(m.detected_at),
        "resolved_at": lambda v, c, m, p: format_local(m.resolved_at),
        "kind": _labelled(rules.FLAG_KINDS),
        "document": _doc_link,
        "client": lambda v, c, m, p: m.document.client_name,
    }
    column_filters = (
        FilterEqual(
            ArchiveFlag.kind,
            _l("Problem"),
            options=lambda: [(k, str(v)) for k, v in rules.FLAG_KINDS.items()],
        ),
        "resolved_at",
    )
    column_default_sort = ("detected_at", True)

    @action("resolve", _l("Mark resolved"))
    def action_resolve(self, ids):
        if not can(current_actor(), "bind", area="archives"):
            abort(403)
        rows = self.get_query().filter(ArchiveFlag.id.in_(id_list(ids))).all()
        perform(
            lambda: [services.resolve_flag(db.session, flag) for flag in rows],
            _("%(count)d flags resolved.", count=len(rows)),
        )


def register(admin) -> None:
    category = _l("Archive")
    admin.add_view(
        ArchiveDocumentView(
            ArchiveDocument,
            name=_l("Archive documents"),
            endpoint="archive_document",
            category=category,
        )
    )
    admin.add_view(
        ArchiveVolumeView(
            ArchiveVolume,
            name=_l("Volumes and catalogues"),
            endpoint="archive_volume",
            category=category,
        )
    )
    admin.add_view(
        ArchiveFlagView(
            ArchiveFlag, name=_l("Integrity flags"), endpoint="archive_flag", category=category
        )
    )
    from crm.admin import disposals

    disposals.register(admin, category)
