"""Credit screens (信用管理): profiles, the ledger, the R11 review chain, aging, credit checks.

Thin: every write goes through crm.credit (ledger, checks, reviews); reads are narrowed by
crm.access (finance reads every customer's credit, the others their own scope)."""

from dataclasses import dataclass
from functools import partial

from flask import abort, flash, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext as admin_l
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import Integer, select
from wtforms import BooleanField, IntegerField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.access import can, current_actor
from crm.admin import credit_onsite
from crm.admin.base import RoleView, ScopedModelView, SecureForm, perform
from crm.admin.formatters import client_link, customer_filters, filter_url
from crm.admin.listing import ListTotalsMixin
from crm.bounds import FormBounds, id_arg, id_list
from crm.credit import checks as credit_checks
from crm.credit import ledger as credit_ledger
from crm.credit import onsite, rules
from crm.credit import reviews as credit_reviews
from crm.credit.models import (
    CHARGE,
    CHARGE_SOURCES,
    ENTRY_KINDS,
    PAYMENT,
    REVERSAL,
    REVIEW_STATUS,
    CheckRun,
    CreditBalance,
    CreditProfile,
    CreditReview,
    Deferral,
    LedgerEntry,
    RepaymentPlan,
)
from crm.excel.safe import csv_response
from crm.extensions import db
from crm.settings import DEFAULTS
from crm.timeutil import format_local
from crm.urls import safe_target

PLAN_KINDS = [("plan", _l("Repayment plan")), ("agreement", _l("Repayment agreement"))]
BUCKET_LABELS = {
    "not_due": _l("Not due"),
    "d1_30": _l("1–30 days"),
    "d31_60": _l("31–60 days"),
    "d61_90": _l("61–90 days"),
    "d90_plus": _l("Over 90 days"),
    "total": _l("Total open"),
}
# The aging report's first column names what its rows are, per grouping.
AGING_ROWS = {"client": _l("Customer"), "owner": _l("Account manager"), "region": _l("Region")}
CARD_ENTRIES = 20  # the customer card shows the newest entries; the ledger list has them all
CLIENT_FILTER = IntEqualFilter(LedgerEntry.client_id, _l("Customer"))


def _choice(options):
    labels = dict(options)
    return lambda v, c, m, p: labels.get(getattr(m, p), getattr(m, p))


def _outstanding(view, context, model, name):
    return model.balance.outstanding if model.balance else "0.00"


def _percent(util) -> str:
    return "" if util is None else ("∞" if util.is_infinite() else f"{util}%")


def _utilisation(view, context, model, name):
    owed = model.balance.outstanding if model.balance else 0
    return _percent(rules.utilisation(owed, model.credit_limit))


def _level_options():
    if not has_request_context():  # Flask-Admin asks once at start-up; the base asks per request
        return []
    return [(str(t), f"{t}%") for t in credit_checks.thresholds()] + [
        (credit_checks.OVER_LIMIT, _("Over the limit"))
    ]


class UtilisationFilter(BaseSQLAFilter):
    """Customers whose credit use reaches a threshold (80, 90 …) or the limit, as the credit
    check counts them: the list the check's result links to."""

    def __init__(self):
        super().__init__(CreditProfile.client_id, _l("Credit use"), options=_level_options)

    def validate(self, value) -> bool:
        return credit_checks.customers_over(value) is not None

    def apply(self, query, value, alias=None):
        return query.filter(CreditProfile.client_id.in_(credit_checks.customers_over(value)))

    def operation(self):
        return _l("at least")


class OverdueFilter(BaseSQLAFilter):
    """Customers with a charge past its due date (the check's "with overdue debts"; the home
    pages link here). Its one value is "1"."""

    def __init__(self):
        super().__init__(
            CreditProfile.client_id, _l("Overdue debts"), options=[("1", _l("Has overdue debts"))]
        )

    def validate(self, value) -> bool:
        return value == "1"

    def apply(self, query, value, alias=None):
        return query.filter(CreditProfile.client_id.in_(credit_checks.customers_overdue()))

    def operation(self):
        return admin_l("equals")


class CreditProfileView(ScopedModelView):
    area = "credit"
    can_create = can_edit = can_delete = False  # set only through the review chain (R11)
    details_template = "admin/crm/credit_profile_details.html"
    column_list = (
        "client",
        "grade",
        "credit_limit",
        "outstanding",
        "utilisation",
        "period_days",
        "payment_terms",
        "payment_method",
        "updated_at",
    )
    column_details_list = (
        "client",
        "grade",
        "credit_limit",
        "period_days",
        "payment_terms",
        "payment_method",
        "direct_export",
        "collateral",
        "updated_at",
    )
    column_labels = {
        "client": _l("Customer"),
        "grade": _l("Credit grade"),
        "credit_limit": _l("Credit limit"),
        "outstanding": _l("Outstanding"),
        "utilisation": _l("Utilisation"),
        "period_days": _l("Credit period (days)"),
        "payment_terms": _l("Payment terms"),
        "payment_method": _l("Payment method"),
        "direct_export": _l("Direct export"),
        "collateral": _l("Collateral registration"),
        "updated_at": _l("Updated at"),
    }
    column_formatters = {
        "client": client_link,
        "outstanding": _outstanding,
        "utilisation": _utilisation,
        "updated_at": lambda v, c, m, p: format_local(m.updated_at),
    }
    column_searchable_list = ("grade",)
    column_filters = (
        *customer_filters(CreditProfile.client_id),
        UtilisationFilter(),
        OverdueFilter(),
    )
    column_sortable_list = ("grade", "credit_limit", "updated_at")

    @property
    def can_export(self):
        return can(current_actor(), "export", area="credit")

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.details_template and model is not None:
            kwargs.update(
                figures=credit_ledger.client_credit(db.session, model.client_id),
                bucket_labels=BUCKET_LABELS,
                entries=db.session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.client_id == model.client_id)
                    .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
                    .limit(50)
                ),
                reviews=db.session.scalars(
                    select(CreditReview)
                    .where(CreditReview.client_id == model.client_id)
                    .order_by(CreditReview.id.desc())
                    .limit(10)
                ),
                may_check=can(current_actor(), "check", area="credit"),
                status_labels=dict(REVIEW_STATUS),
                kind_labels=dict(ENTRY_KINDS),
            )
        return super().render(template, **kwargs)

    @action("credit_check", _l("Credit check"))
    def action_check(self, ids):
        if not can(current_actor(), "check", area="credit"):
            abort(403)
        rows = self.get_query().filter(CreditProfile.id.in_(id_list(ids))).all()
        ok, result = perform(
            lambda: credit_checks.check_now(
                db.session, [p.client_id for p in rows], current_actor()
            )
        )
        if ok:
            flash(_check_message(result), "success")


def _check_message(result: dict) -> Markup:
    """The check's result, each count of customers over 80%, 90% and the limit a link to the
    credit profiles filtered to those customers."""

    def count(key, level):
        n = result.get(key, 0)
        url = filter_url("credit_profile", UtilisationFilter, level)
        return (
            Markup(f'<a class="crm-over-{escape(level)}" href="{escape(url)}">{n}</a>')
            if n and url
            else n
        )

    return Markup(
        _(
            "Checked: %(n)s owing; %(o80)s over 80%%, %(o90)s over 90%%, %(over)s "
            "over the limit, %(late)s with overdue debts.",
            n=result.get("customers", 0),
            o80=count("over_80", "80"),
            o90=count("over_90", "90"),
            over=count("over_limit", credit_checks.OVER_LIMIT),
            late=result.get("overdue_customers", 0),
        )
    )


class LedgerView(ListTotalsMixin, ScopedModelView):
    """Charges and payments are added through the services; nothing here edits or deletes.
    Under the list: the amounts of the rows found, summed per kind of entry."""

    total_columns = ("amount",)
    total_group = "kind"

    def total_label(self, group) -> str:
        return str(dict(ENTRY_KINDS).get(group, group))

    area = "credit"
    can_edit = can_delete = False
    column_list = (
        "client",
        "entry_date",
        "kind",
        "source",
        "amount",
        "due_date",
        "reference",
        "note",
        "override_reason",
        "recorded_by",
        "reverses_id",
    )
    column_labels = {
        "client": _l("Customer"),
        "entry_date": _l("Date"),
        "kind": _l("Entry"),
        "source": _l("Source"),
        "amount": _l("Amount"),
        "due_date": _l("Due date"),
        "reference": _l("Reference"),
        "note": _l("Note"),
        "override_reason": _l("Limit override reason"),
        "recorded_by": _l("Recorded by"),
        "reverses_id": _l("Reverses entry"),
        "recorded_at": _l("Recorded at"),
    }
    column_formatters = {
        "client": client_link,
        "kind": _choice(ENTRY_KINDS),
        "source": _choice(CHARGE_SOURCES),
    }
    column_sortable_list = ("entry_date", "amount")
    column_default_sort = [("entry_date", True), ("id", True)]
    column_searchable_list = ("reference",)
    column_filters = (CLIENT_FILTER, *customer_filters(LedgerEntry.client_id))
    form_columns = (
        "client",
        "kind",
        "source",
        "entry_date",
        "amount",
        "reference",
        "note",
        "reverses",
        "override_reason",
    )
    form_choices = {"kind": ENTRY_KINDS, "source": CHARGE_SOURCES}
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {
        "client": {"validators": [Optional()]},
        "amount": {"validators": [Optional()]},
        "source": {"validators": [Optional()]},
    }
    form_extra_fields = {
        "reverses": IntegerField(
            _l("Entry to reverse (for a reversal)"), validators=[Optional(), FormBounds(Integer())]
        ),
        "override_reason": TextAreaField(
            _l("Limit override reason (managers only)"), validators=[Optional(), Length(max=500)]
        ),
    }

    @property
    def can_export(self):
        return can(current_actor(), "export", area="credit")

    def client_url(self, client_id: int) -> str:
        """This list narrowed to one customer by its own customer filter."""
        arg = self.get_filter_arg(self._filters.index(CLIENT_FILTER), CLIENT_FILTER)
        return url_for(f"{self.endpoint}.index_view", **{f"flt0_{arg}": client_id})

    def field_errors(self, form) -> dict:
        kind = form.kind.data
        if kind == REVERSAL:
            return {} if form.reverses.data else {"reverses": _l("Which entry is reversed?")}
        errors = {}
        if not form.client.data:
            errors["client"] = _l("Choose the customer.")
        if form.amount.data is None:
            errors["amount"] = _l("Enter the amount.")
        return errors

    def create_model(self, form):
        created = []

        def record():
            data = form.data
            if data["kind"] == CHARGE:
                created.append(
                    credit_ledger.record_charge(
                        db.session,
                        data["client"].id,
                        data["amount"],
                        data["entry_date"],
                        data["reference"],
                        source=data["source"] or "bill",
                        note=data["note"],
                        override_reason=data["override_reason"],
                    )
                )
            elif data["kind"] == PAYMENT:
                created.append(
                    credit_ledger.record_payment(
                        db.session,
                        data["client"].id,
                        data["amount"],
                        data["entry_date"],
                        data["reference"],
                        data["note"],
                    )
                )
            else:
                created.append(
                    credit_ledger.reverse_entry(
                        db.session, data["reverses"], data["note"], data["entry_date"]
                    )
                )

        return self._write(form, record) and created[0]


class RepaymentPlanView(ScopedModelView):
    """Repayment plans and agreements on file (R3 cat. 3)."""

    area = "credit"
    can_edit = can_delete = False
    column_list = ("client", "kind", "signed_on", "amount", "schedule", "created_at")
    column_labels = {
        "client": _l("Customer"),
        "kind": _l("Kind"),
        "signed_on": _l("Signed on"),
        "amount": _l("Amount"),
        "schedule": _l("Instalments"),
        "created_at": _l("Recorded at"),
    }
    column_formatters = {
        "client": client_link,
        "kind": _choice(PLAN_KINDS),
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    form_columns = ("client", "kind", "signed_on", "amount", "schedule")
    form_choices = {"kind": PLAN_KINDS}
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}

    def create_model(self, form):
        created = []

        def add():
            d = form.data
            created.append(
                credit_ledger.add_repayment_plan(
                    db.session,
                    d["client"].id,
                    d["kind"],
                    d["signed_on"],
                    d["amount"],
                    d["schedule"],
                )
            )

        return self._write(form, add) and created[0]


class DeferralView(ScopedModelView):
    """Deferred-payment approvals: a manager moves a charge's due date, with a reason."""

    area = "credit"
    can_edit = can_delete = False
    column_list = ("client_id", "charge_id", "old_due_date", "new_due_date", "reason", "created_at")
    column_labels = {
        "client_id": _l("Customer"),
        "charge_id": _l("Charge"),
        "old_due_date": _l("Due date"),
        "new_due_date": _l("New due date"),
        "reason": _l("Reason"),
        "created_at": _l("Approved at"),
    }
    form_columns = ("charge", "new_due_date", "reason")
    form_extra_fields = {
        "charge": IntegerField(
            _l("Charge (ledger entry no.)"), validators=[DataRequired(), FormBounds(Integer())]
        )
    }

    @property
    def can_create(self):
        return can(current_actor(), "defer", area="credit")

    def create_model(self, form):
        created = []

        def defer():
            d = form.data
            created.append(
                credit_ledger.defer_charge(db.session, d["charge"], d["new_due_date"], d["reason"])
            )

        return self._write(form, defer) and created[0]


class DecisionForm(SecureForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("approve", _l("Approve")), ("reject", _l("Reject"))],
        validators=[DataRequired()],
    )
    opinion = TextAreaField(_l("Opinion"), validators=[DataRequired(), Length(max=2000)])


class CreditReviewView(ScopedModelView):
    """Proposals and the R11 chain. "Edit" is the decision of whoever's turn it is."""

    area = "credit_review"
    can_delete = False
    column_list = (
        "client",
        "origin",
        "period",
        "status",
        "grade",
        "credit_limit",
        "period_days",
        "proposed_by",
        "proposed_at",
    )
    column_details_list = (
        "client",
        "origin",
        "period",
        "status",
        "grade",
        "credit_limit",
        "period_days",
        "payment_terms",
        "payment_method",
        "direct_export",
        "collateral",
        "previous",
        "situation",
        "proposed_by",
        "proposed_at",
        "region_opinion",
        "region_by",
        "region_at",
        "sales_opinion",
        "sales_by",
        "sales_at",
        "gm_opinion",
        "gm_by",
        "gm_at",
    )
    column_labels = {
        **CreditProfileView.column_labels,
        "origin": _l("Origin"),
        "period": _l("Quarter"),
        "status": _l("Status"),
        "previous": _l("Current credit"),
        "situation": _l("Customer's situation"),
        "proposed_by": _l("Proposed by"),
        "proposed_at": _l("Proposed at"),
        "region_opinion": _l("Regional manager's opinion"),
        "region_by": _l("Regional manager"),
        "region_at": _l("Reviewed at"),
        "sales_opinion": _l("Sales manager's opinion"),
        "sales_by": _l("Sales manager"),
        "sales_at": _l("Reviewed at"),
        "gm_opinion": _l("General manager's decision"),
        "gm_by": _l("General manager"),
        "gm_at": _l("Decided at"),
    }
    column_formatters = {
        "client": client_link,
        "status": _choice(REVIEW_STATUS),
        "origin": _choice(
            [
                ("proposal", _l("Proposal")),
                ("reevaluation", _l("Quarterly re-evaluation")),
                (onsite.CUSTOMER_REQUEST, _l("Customer's own request")),
            ]
        ),
    }
    column_filters = ("status", "period")
    column_default_sort = ("proposed_at", True)
    column_sortable_list = ("proposed_at", "status")
    form_columns = (
        "client",
        "grade",
        "credit_limit",
        "period_days",
        "payment_terms",
        "payment_method",
        "direct_export",
        "collateral",
        "situation",
        "customer_request",
    )
    form_choices = {"grade": [(g, g) for g in DEFAULTS["credit_grades"][0]]}
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_extra_fields = {
        "customer_request": BooleanField(
            _l("The customer asked for this itself"),
            description=_l(
                "R11: a higher limit the customer asked for needs an on-site check "
                "before it can be approved."
            ),
        )
    }
    extra_form_fields = ("customer_request",)
    details_template = "admin/crm/credit_review_details.html"

    @property
    def can_export(self):
        return can(current_actor(), "export", area="credit_review")

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.details_template and model is not None:
            kwargs.update(credit_onsite.review_page(model))
        return super().render(template, **kwargs)

    def create_model(self, form):
        created = []

        def propose():
            data = form.data
            created.append(
                credit_reviews.propose_credit(
                    db.session,
                    data["client"].id,
                    {k: data[k] for k in credit_reviews.PROFILE_FIELDS},
                    data["situation"],
                    origin=onsite.CUSTOMER_REQUEST if data["customer_request"] else "proposal",
                )
            )

        return self._write(form, propose) and created[0]

    def edit_form(self, obj=None):
        return DecisionForm()

    def update_model(self, form, model):
        return self._write(
            form,
            lambda: credit_reviews.decide_review(
                db.session, model.id, form.decision.data == "approve", form.opinion.data
            ),
        )


class AgingReportView(RoleView):
    """Open charges by age past due, per customer, account manager or region; CSV export."""

    screen = "credit"

    @expose("/")
    def index(self):
        group = request.args.get("group", "client")
        if group not in ("client", "owner", "region"):
            abort(404)
        rows = credit_ledger.aging_report(db.session, group)
        totals = credit_ledger.aging_totals(db.session)
        buckets = (*rules.AGING_BUCKETS, "total")
        if request.args.get("format") == "csv":
            if not can(current_actor(), "export", area="credit"):
                abort(403)
            header = [str(AGING_ROWS[group]), *[str(BUCKET_LABELS[k]) for k in buckets]]
            lines = [[r["label"], *[r[k] for k in buckets]] for r in rows]
            lines.append([_("Total"), *[totals[k] for k in buckets]])
            return csv_response(header, lines, f"aging-{group}.csv")
        return self.render(
            "admin/crm/credit_aging.html",
            rows=rows,
            group=group,
            buckets=buckets,
            labels=BUCKET_LABELS,
            totals=totals,
            row_label=AGING_ROWS[group],
        )


class CreditCheckView(RoleView):
    """Finance's check of all customers: runs as a Celery task; the page follows its progress."""

    screen = "credit_checks"

    @expose("/")
    def index(self):
        runs = db.session.scalars(select(CheckRun).order_by(CheckRun.id.desc()).limit(20)).all()
        live = credit_checks.live_check(db.session)
        stalled = {r.id for r in runs if credit_checks.is_stalled(r)}
        following = any(r.status in credit_checks.LIVE and r.id not in stalled for r in runs)
        return self.render(
            "admin/crm/credit_check.html",
            runs=runs,
            live=live,
            stalled=stalled,
            running=following,
            message=_check_message,
            status_labels=CHECK_STATUS,
        )

    @expose("/start", methods=("POST",))
    def start(self):
        from crm.tasks.credit import enqueue_check

        client_id = request.form.get("client_id", type=id_arg)
        if client_id is not None:
            ok, result = perform(
                lambda: credit_checks.check_now(db.session, [client_id], current_actor())
            )
            if ok:
                flash(_check_message(result), "success")
            return redirect(safe_target(request.form.get("next"), url_for(".index")))
        ok, run = perform(lambda: credit_checks.start_check(db.session, None, current_actor()))
        if ok:
            perform(lambda: enqueue_check(run.id))
        return redirect(url_for(".index"))

    @expose("/resume", methods=("POST",))
    def resume(self):
        from crm.tasks.credit import enqueue_check

        ok, run = perform(
            lambda: credit_checks.resume_check(db.session, request.form.get("run_id", type=int))
        )
        if ok:
            perform(lambda: enqueue_check(run.id, resumed=True))
        return redirect(url_for(".index"))


CHECK_STATUS = {
    "queued": _l("queued"),
    "running": _l("running"),
    "stalled": _l("stalled"),
    "done": _l("done"),
    "failed": _l("failed"),
}


@dataclass(frozen=True)
class CardCredit:
    """The customer card's credit section: the profile page's figures, the newest ledger
    entries and where to read or act further."""

    figures: dict  # crm.credit.ledger.client_credit
    profile: CreditProfile | None
    entries: list
    ledger_url: str
    may_check: bool

    @property
    def utilisation(self) -> str:
        return _percent(self.figures["utilisation"])


def client_credit(ledger: LedgerView, client_id: int) -> CardCredit | None:
    """The card's credit section, or None when the signed-in user may not read this
    customer's credit: the ledger view's role gate, then the row scope crm.access gives the
    credit screens. The figures are read unscoped by the services (as on the profile page,
    once the scope has been asked); the entries go through the scope hook as the list does."""
    actor = current_actor()
    if not can(actor, "view", area=ledger.gate) or not can(
        actor, "view", CreditBalance(client_id=client_id), area="credit"
    ):
        return None
    entries = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.entry_date,
            LedgerEntry.kind,
            LedgerEntry.source,
            LedgerEntry.reference,
            LedgerEntry.amount,
            LedgerEntry.due_date,
        )
        .where(LedgerEntry.client_id == client_id)
        .order_by(LedgerEntry.entry_date.desc(), LedgerEntry.id.desc())
        .limit(CARD_ENTRIES)
    ).all()
    figures = credit_ledger.client_credit(db.session, client_id)
    return CardCredit(
        figures=figures,
        profile=figures["profile"],
        entries=entries,
        ledger_url=ledger.client_url(client_id),
        may_check=can(actor, "check", area="credit"),
    )


def register(admin) -> None:
    category = _l("Credit")
    admin.add_view(
        CreditProfileView(
            CreditProfile, name=_l("Credit profiles"), endpoint="credit_profile", category=category
        )
    )
    ledger = LedgerView(
        LedgerEntry, name=_l("Receivables ledger"), endpoint="credit_ledger", category=category
    )
    admin.add_view(ledger)
    admin.add_view(
        CreditReviewView(
            CreditReview, name=_l("Credit reviews"), endpoint="credit_review", category=category
        )
    )
    credit_onsite.register(admin, category)
    admin.add_view(
        RepaymentPlanView(
            RepaymentPlan, name=_l("Repayment plans"), endpoint="credit_plan", category=category
        )
    )
    admin.add_view(
        DeferralView(
            Deferral,
            name=_l("Deferred-payment approvals"),
            endpoint="credit_deferral",
            category=category,
        )
    )
    admin.add_view(
        AgingReportView(name=_l("Aging report"), endpoint="credit_aging", category=category)
    )
    admin.add_view(
        CreditCheckView(name=_l("Credit check"), endpoint="credit_check", category=category)
    )
    admin.app.jinja_env.globals.update(
        client_credit=partial(client_credit, ledger),
        credit_labels={"kind": dict(ENTRY_KINDS), "source": dict(CHARGE_SOURCES)},
    )
