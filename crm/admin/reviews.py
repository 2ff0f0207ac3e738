"""The regular reviews' screens (RULES R7): the monthly watch list, the quarterly
reclassification proposals, and the consumption analyses (quarter, half-year, year) as a
screen, an .xlsx workbook and a printable PDF. Every figure is in the reader's scope."""

from decimal import Decimal

from flask import Response, abort, flash, has_app_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_l
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select

from crm import printing
from crm.access import can, current_actor
from crm.admin.base import RoleView, ScopedModelView, perform
from crm.admin.formatters import client_link, local_time, month_of
from crm.bounds import id_list
from crm.clients import choices
from crm.excel.safe import SafeWorkbook, print_setup
from crm.extensions import db
from crm.reviews import analysis, quarterly, runs, watch
from crm.reviews.consumption import HALF, MONTH, QUARTER, YEAR, Period
from crm.reviews.models import APPROVED, PENDING, REJECTED, ReclassProposal, WatchEntry
from crm.timeutil import local_today

PROPOSAL_STATUSES = [
    (PENDING, _l("Awaiting approval")),
    (APPROVED, _l("Approved")),
    (REJECTED, _l("Rejected")),
]
LABELS = {
    "month": _l("Month"),
    "client": _l("Customer"),
    "owner": _l("Account manager"),
    "region": _l("Region"),
    "reasons": _l("Why watched"),
    "action_taken": _l("What was done"),
    "handled_at": _l("Recorded at"),
    "handled_by": _l("Recorded by"),
    "created_at": _l("Listed at"),
    "quarter": _l("Quarter"),
    "amount": _l("Consumption this quarter"),
    "previous_amount": _l("Previous quarter"),
    "year_ago_amount": _l("Same quarter last year"),
    "level_from": _l("Customer level"),
    "weight_from": _l("Weight"),
    "stage_from": _l("Stage"),
    "status": _l("Status"),
    "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"),
    "reason": _l("Reason"),
}


def _money(value) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


def _growth(value) -> str:
    return "" if value is None else f"{value:+}%"


class MonthFilter(BaseSQLAFilter):
    """The list of one month (YYYY-MM); anything else finds nothing."""

    def apply(self, query, value, alias=None):
        month = month_of(value)
        return query.filter(false() if month is None else self.column == month.start)

    def operation(self):
        return admin_l("equals")


class UntouchedFilter(BaseSQLAFilter):
    """Entries nobody has recorded anything on yet (the month's end check)."""

    def apply(self, query, value, alias=None):
        if value == "1":
            return query.filter(self.column.is_(None))
        if value == "0":
            return query.filter(self.column.is_not(None))
        return query.filter(false())

    def operation(self):
        return admin_l("equals")


def _recent_months():
    """The last twelve months, asked per request (none while the views are being built)."""
    if not has_app_context():
        return []
    month = Period.containing(MONTH, local_today())
    out = []
    for _i in range(12):
        out.append((str(month), str(month)))
        month = month.previous()
    return out


class WatchEntryView(ScopedModelView):
    """R7: the month's watch list; the owner records what was done."""

    area = "watch_list"
    list_template = "admin/crm/review_watch_list.html"
    column_list = (
        "month",
        "client",
        "owner",
        "region",
        "reasons",
        "action_taken",
        "handled_at",
        "handled_by",
    )
    column_details_list = (*column_list, "created_at")
    column_export_list = column_list
    column_labels = LABELS
    column_sortable_list = ("month", "handled_at", "created_at")
    column_default_sort = [("month", True), ("id", False)]
    form_columns = ("action_taken",)
    column_formatters = {
        "month": lambda v, c, m, p: f"{m.month:%Y-%m}",
        "client": client_link,
        "reasons": lambda v, c, m, p: watch.reasons_text(m.reasons),
        "handled_at": local_time("handled_at"),
        "created_at": local_time("created_at"),
    }
    column_formatters_export = {
        "month": lambda v, c, m, p: f"{m.month:%Y-%m}",
        "client": lambda v, c, m, p: m.client.name if m.client else "",
        "reasons": lambda v, c, m, p: watch.reasons_text(m.reasons),
        "handled_at": local_time("handled_at"),
    }
    column_filters = (
        MonthFilter(WatchEntry.month, _l("Month"), options=_recent_months),
        UntouchedFilter(
            WatchEntry.handled_at,
            _l("Untouched"),
            options=lambda: [("1", _("Yes")), ("0", _("No"))],
        ),
    )

    @property
    def can_create(self):
        return False

    @property
    def can_delete(self):
        return False

    def update_record(self, form, model) -> None:
        watch.record_action(db.session, model, form.action_taken.data)

    def render(self, template, **kwargs):
        kwargs["may_run"] = can(current_actor(), "run", area="watch_list")
        return super().render(template, **kwargs)

    @expose("/run/", methods=("POST",))
    def run_view(self):
        """A manager makes this month's list now (entries already there stay as they are)."""
        if not can(current_actor(), "run", area="watch_list"):
            abort(403)
        ok, result = perform(lambda: runs.monthly(db.session))
        if ok:
            flash(
                _(
                    "Watch list %(month)s: %(new)d customers added, %(total)d in all.",
                    month=result["month"],
                    new=result["new"],
                    total=result["total"],
                ),
                "success",
            )
        return redirect(self.get_url(".index_view"))


def _classes(kind: str, before, after) -> str:
    sets = {"level": choices.LEVEL, "weight": choices.WEIGHT, "stage": choices.STAGE}[kind]
    if before == after:
        return choices.label(sets, before)
    return f"{choices.label(sets, before)} → {choices.label(sets, after)}"


class ReclassProposalView(ScopedModelView):
    """R7, R2: the quarter's proposals; the sales manager approves or rejects them."""

    area = "reclass"
    details_template = "admin/crm/review_proposal.html"
    column_list = (
        "quarter",
        "client",
        "amount",
        "previous_amount",
        "year_ago_amount",
        "level_from",
        "weight_from",
        "stage_from",
        "status",
        "decided_by",
        "reason",
    )
    column_details_list = (*column_list, "decided_at", "created_at")
    column_export_list = column_list
    column_labels = LABELS
    column_sortable_list = ("quarter", "amount", "status")
    column_default_sort = [("quarter", True), ("amount", True)]
    column_formatters = {
        "client": client_link,
        "amount": lambda v, c, m, p: _money(m.amount),
        "previous_amount": lambda v, c, m, p: _money(m.previous_amount),
        "year_ago_amount": lambda v, c, m, p: _money(m.year_ago_amount),
        "level_from": lambda v, c, m, p: _classes("level", m.level_from, m.level_to),
        "weight_from": lambda v, c, m, p: _classes("weight", m.weight_from, m.weight_to),
        "stage_from": lambda v, c, m, p: _classes("stage", m.stage_from, m.stage_to),
        "status": lambda v, c, m, p: choices.label(PROPOSAL_STATUSES, m.status),
        "decided_at": local_time("decided_at"),
        "created_at": local_time("created_at"),
    }
    column_formatters_export = {
        **{
            k: v
            for k, v in column_formatters.items()
            if k not in ("client", "amount", "previous_amount", "year_ago_amount")
        },
        "client": lambda v, c, m, p: m.client.name if m.client else "",
    }
    column_filters = (
        FilterEqual(ReclassProposal.status, _l("Status"), options=PROPOSAL_STATUSES),
        FilterEqual(ReclassProposal.quarter, _l("Quarter")),
    )

    @property
    def can_create(self):
        return False

    @property
    def can_edit(self):
        return False

    @property
    def can_delete(self):
        return False

    def _may_decide(self) -> bool:
        return can(current_actor(), "approve", area="reclass")

    def is_action_allowed(self, name):
        return self._may_decide() and super().is_action_allowed(name)

    def render(self, template, **kwargs):
        kwargs["may_decide"] = self._may_decide()
        return super().render(template, **kwargs)

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        """Approve or reject the proposals of `ids` (one, or a batch) with one reason."""
        if not self._may_decide():
            abort(403)
        ids = id_list(request.form.getlist("ids"))
        rows = (
            db.session.scalars(select(ReclassProposal).where(ReclassProposal.id.in_(ids))).all()
            if ids
            else []
        )
        if not rows:
            abort(404)
        reason = request.form.get("reason", "")
        if request.form.get("decision") == "approve":
            perform(
                lambda: quarterly.approve_many(db.session, rows, reason),
                _("The reclassification is applied."),
            )
        else:
            perform(
                lambda: [quarterly.reject(db.session, row, reason) for row in rows],
                _("The proposal is rejected."),
            )
        if len(rows) == 1:
            return redirect(self.get_url(".details_view", id=rows[0].id))
        return redirect(self.get_url(".index_view"))

    @expose("/batch/")
    def batch_view(self):
        if not self._may_decide():
            abort(403)
        ids = id_list(request.args.getlist("ids"))
        rows = (
            db.session.scalars(
                select(ReclassProposal).where(
                    ReclassProposal.id.in_(ids), ReclassProposal.status == PENDING
                )
            ).all()
            if ids
            else []
        )
        return self.render(
            "admin/crm/review_batch.html",
            rows=rows,
            decision=request.args.get("decision", "approve"),
            classes=_classes,
        )

    @action("approve", _l("Approve"))
    def action_approve(self, ids):
        return redirect(url_for(".batch_view", ids=ids, decision="approve"))

    @action("reject", _l("Reject"))
    def action_reject(self, ids):
        return redirect(url_for(".batch_view", ids=ids, decision="reject"))


KINDS = [(QUARTER, _l("Quarter")), (HALF, _l("Half-year")), (YEAR, _l("Year"))]


def _sheets(result):
    """The analysis as (title, headers, rows) tables: the screen's, the workbook's, the PDF's."""
    amount, before, change = (_("Consumption"), _("Previous period"), _("Growth"))
    tables = [
        (
            _("Summary"),
            [_("Period"), amount, before, change, _("Customers")],
            [
                [
                    str(result.period),
                    _money(result.total),
                    _money(result.previous_total),
                    _growth(result.growth),
                    result.customers,
                ]
            ],
        )
    ]
    for dim, label in analysis.DIMENSIONS.items():
        tables.append(
            (
                str(label),
                [str(label), amount, before, change, _("Customers")],
                [
                    [
                        line.label,
                        _money(line.amount),
                        _money(line.previous),
                        _growth(line.growth),
                        line.customers,
                    ]
                    for line in result.by[dim]
                ],
            )
        )
    for title, rows in ((_("Top customers"), result.top), (_("Bottom customers"), result.bottom)):
        tables.append(
            (title, [_("Customer"), amount], [[name, _money(value)] for _cid, name, value in rows])
        )
    tables.append(
        (
            _("New, lost and returning customers"),
            [_("Customers"), _("Count"), amount],
            [[str(analysis.MOVEMENTS[k]), n, _money(v)] for k, (n, v) in result.movement.items()],
        )
    )
    return tables


class AnalysisView(RoleView):
    """R7: consumption of a quarter, half-year or year by region, account manager, level,
    nature, weight and product kind; top and bottom customers; new, lost and returning."""

    area = "reviews"

    def _period(self) -> Period | None:
        kind = request.args.get("kind", HALF)
        if kind not in dict(KINDS):
            kind = HALF
        text = request.args.get("period")
        try:
            return runs.period_for(kind, text)
        except ValueError:
            return None

    def _result(self):
        period = self._period()
        if period is None:
            return None, None
        return period, analysis.analyse(db.session, period)

    @expose("/")
    def index(self):
        period, result = self._result()
        return self.render(
            "admin/crm/review_analysis.html",
            period=period,
            kinds=KINDS,
            kind=request.args.get("kind", HALF),
            result=result,
            tables=_sheets(result) if result else [],
            may_export=can(current_actor(), "export", area="reviews"),
            bad_period=request.args.get("period") if period is None else None,
        )

    @expose("/analysis.xlsx")
    def xlsx_view(self):
        if not can(current_actor(), "export", area="reviews"):
            abort(403)
        period, result = self._result()
        if result is None:
            abort(404)
        book = SafeWorkbook()
        for title, headers, rows in _sheets(result):
            sheet = book.sheet(title)
            print_setup(sheet.ws, 1)
            sheet.append(headers)
            for row in rows:
                sheet.append(row)
        return Response(
            book.save(),
            headers={"Content-Disposition": f'attachment; filename="consumption-{period}.xlsx"'},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @expose("/analysis.pdf")
    def pdf_view(self):
        period, result = self._result()
        if result is None:
            abort(404)
        sections = [
            ("table", title, headers, [[str(c) for c in row] for row in rows])
            for title, headers, rows in _sheets(result)
        ]
        pdf = printing.document_pdf(
            _("Consumption analysis %(period)s", period=str(period)),
            sections,
            footer=_("Consumption analysis"),
        )
        return Response(
            pdf,
            mimetype=printing.PDF_MIMETYPE,
            headers={"Content-Disposition": f'inline; filename="consumption-{period}.pdf"'},
        )


def register(admin) -> None:
    category = _l("Reviews")
    admin.add_view(
        WatchEntryView(WatchEntry, name=_l("Watch list"), endpoint="watch_list", category=category)
    )
    admin.add_view(
        ReclassProposalView(
            ReclassProposal, name=_l("Reclassification"), endpoint="reclass", category=category
        )
    )
    admin.add_view(
        AnalysisView(name=_l("Consumption analysis"), endpoint="review_analysis", category=category)
    )
