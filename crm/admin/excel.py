"""Customer cards from Excel: the template download and the checked, all-or-nothing import."""

from flask import Response, flash, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.admin.base import RoleView
from crm.excel.cards import import_cards, template_workbook
from crm.excel.export import XLSX_MIMETYPE
from crm.extensions import db

MAX_UPLOAD = 20 * 1024 * 1024


class CardImportView(RoleView):
    screen = "card_import"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        report = None
        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                flash(_("Choose an .xlsx file."), "error")
            elif request.content_length and request.content_length > MAX_UPLOAD:
                flash(_("The file is too large."), "error")
            else:
                report = import_cards(db.session, upload.stream)
                if report.ok:
                    db.session.commit()
                    flash(_("%(n)d customer cards imported.", n=report.created), "success")
                else:
                    db.session.rollback()
                    flash(
                        _(
                            "Nothing was imported: correct the rows below and upload the file "
                            "again."
                        ),
                        "error",
                    )
        return self.render("admin/crm/excel_import.html", report=report)

    @expose("/template.xlsx")
    def template(self):
        return Response(
            template_workbook(),
            mimetype=XLSX_MIMETYPE,
            headers={"Content-Disposition": "attachment;filename=customer_cards_template.xlsx"},
        )


def register(admin) -> None:
    admin.add_view(
        CardImportView(
            name=_l("Import from Excel"), endpoint="card_import", category=_l("Customer archives")
        )
    )
