"""Commission screens (促销与提成, R3 cat. 6): schemes, promoters, customers' inviters, sales,
monthly statements a manager confirms.

Thin: every write goes through crm.commissions.services. Commissions are computed there and
never typed here; a confirmed month is frozen and later corrections are adjustment lines."""

from flask import abort, flash, has_request_context, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform
from crm.admin.contracts import choice, prefill_client
from crm.admin.formatters import InMonthFilter, client_link, client_name, customer_filters
from crm.admin.listing import ListTotalsMixin
from crm.auth.models import User
from crm.bounds import id_list
from crm.commissions import rules, services
from crm.commissions.models import (
    LINE_KINDS,
    PROMOTER_KINDS,
    STATEMENT_STATUSES,
    ClientInviter,
    CommissionLine,
    CommissionStatement,
    Promoter,
    PromotionScheme,
    SalesRecord,
)
from crm.extensions import db
from crm.timeutil import format_local

LABELS = {
    "name": lazy_pgettext("thing", "Name"),
    "kind": _l("Kind"),
    "user": _l("Member of staff"),
    "phone": _l("Phone"),
    "active": lazy_pgettext("in use", "Active"),
    "notes": _l("Notes"),
    "starts_on": _l("Period starts"),
    "ends_on": _l("Period ends"),
    "target": _l("Target"),
    "target_amount": _l("Target amount"),
    "rule_kind": _l("Rate rule"),
    "rates": _l("Rates"),
    "rates_text": _l("Rates"),
    "client": _l("Customer"),
    "promoter": _l("Promoter (current inviter)"),
    "since": _l("Since"),
    "scheme": _l("Promotion scheme"),
    "product_kind": _l("Product kind"),
    "amount": _l("Amount"),
    "sold_on": _l("Sale date"),
    "commission": _l("Commission"),
    "month": _l("Month"),
    "status": _l("Status"),
    "total": _l("Total"),
    "confirmed_by": _l("Confirmed by"),
    "confirmed_at": _l("Confirmed at"),
    "change_reason": _l("Reason for the correction"),
}


def _rates(view, context, model, name):
    return rules.describe_rates(model.rule_kind, model.rates)


def _promoter_options():
    if not has_request_context():  # Flask-Admin asks once at start-up; the base asks per request
        return []
    return [
        (str(i), n)
        for i, n in db.session.execute(select(Promoter.id, Promoter.name).order_by(Promoter.name))
    ]


class SetupView(ScopedModelView):
    """Schemes and promoters belong to no customer: the role alone decides (as card types)."""

    area = "commission_setup"
    can_delete = False  # retired (inactive / period over), never removed: sales point at them
    can_export = False

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not can(current_actor(), "edit", area=self.area):
            abort(403)
        return super(ScopedModelView, self).edit_view()


class PromoterView(SetupView):
    column_list = ("name", "kind", "user", "phone", "active")
    column_labels = LABELS
    column_formatters = {"kind": choice(PROMOTER_KINDS)}
    column_searchable_list = ("name",)
    column_sortable_list = ("name",)
    form_columns = ("name", "kind", "user", "phone", "active", "notes")
    form_choices = {"kind": PROMOTER_KINDS}
    form_args = {
        "user": {
            "query_factory": lambda: db.session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.full_name)
            ).all()
        }
    }

    def create_record(self, form, model) -> None:
        services.save_promoter(db.session, model)

    def update_record(self, form, model) -> None:
        services.save_promoter(db.session, model)


class SchemeView(SetupView):
    column_list = ("name", "starts_on", "ends_on", "rule_kind", "rates", "target", "target_amount")
    column_labels = LABELS
    column_formatters = {"rule_kind": choice(rules.RULE_KINDS), "rates": _rates}
    column_sortable_list = ("starts_on", "name")
    column_default_sort = ("starts_on", True)
    form_columns = (
        "name",
        "starts_on",
        "ends_on",
        "target",
        "target_amount",
        "rule_kind",
        "rates_text",
    )
    form_choices = {"rule_kind": rules.RULE_KINDS}
    form_extra_fields = {
        "rates_text": TextAreaField(
            _l("Rates"),
            validators=[DataRequired()],
            description=_l(
                "One per line. By product kind: membership=10%, catering=5%, *=3% (any other "
                "kind). Tiered: 0=3%, 100000=5% (the highest tier reached applies to the whole "
                "amount)."
            ),
        )
    }
    extra_form_fields = ("rates_text",)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None:
            form.rates_text.data = rules.format_rates(obj.rates)
        return form

    def create_record(self, form, model) -> None:
        services.save_scheme(db.session, model, form.rates_text.data)

    def update_record(self, form, model) -> None:
        services.save_scheme(db.session, model, form.rates_text.data)


class InviterView(ScopedModelView):
    """Whom each customer's sales count for (R13: the current inviter)."""

    area = "commissions"
    can_edit = can_delete = False
    column_list = ("client", "promoter", "since")
    column_labels = LABELS
    column_formatters = {"client": client_link}
    column_sortable_list = ()
    form_columns = ("client", "promoter", "since")
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {
        "client": {"validators": [DataRequired()]},
        "promoter": {
            "validators": [DataRequired()],
            "query_factory": lambda: db.session.scalars(
                select(Promoter).where(Promoter.active.is_(True)).order_by(Promoter.name)
            ).all(),
        },
    }

    def adjust_form(self, form) -> None:
        prefill_client(form)

    def create_model(self, form):
        done = []
        return (
            self._write(
                form,
                lambda: done.append(
                    services.set_inviter(
                        db.session, form.client.data.id, form.promoter.data, form.since.data
                    )
                ),
            )
            and done[0]
        )


class SalesRecordView(ListTotalsMixin, ScopedModelView):
    screen = "commission_sales"
    total_columns = ("amount", "commission")
    area = "commissions"
    can_delete = False  # a wrong sale is corrected (an adjustment), never removed
    column_list = (
        "sold_on",
        "client",
        "promoter",
        "scheme",
        "product_kind",
        "amount",
        "commission",
    )
    column_export_list = column_list
    column_labels = LABELS
    column_formatters = {"client": client_link, "product_kind": choice(rules.PRODUCT_KINDS)}
    column_formatters_export = {"client": client_name, "product_kind": choice(rules.PRODUCT_KINDS)}
    column_sortable_list = ("sold_on",)
    column_default_sort = ("sold_on", True)
    column_filters = (
        *customer_filters(SalesRecord.client_id),
        FilterEqual(SalesRecord.promoter_id, _l("Promoter"), options=_promoter_options),
        FilterEqual(SalesRecord.product_kind, _l("Product kind"), options=rules.PRODUCT_KINDS),
        InMonthFilter(SalesRecord.sold_on, _l("Month sold")),
        "sold_on",
    )
    form_columns = ("client", "scheme", "product_kind", "amount", "sold_on", "change_reason")
    form_choices = {"product_kind": rules.PRODUCT_KINDS}
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {
        "client": {"validators": [DataRequired()]},
        "scheme": {"validators": [DataRequired()]},
    }
    form_extra_fields = {
        "change_reason": TextAreaField(
            _l("Reason for the correction"), validators=[Optional(), Length(max=500)]
        )
    }
    extra_form_fields = ("change_reason",)

    def adjust_form(self, form) -> None:
        if request.endpoint and request.endpoint.endswith("create_view"):
            del form.change_reason
            prefill_client(form)
        else:  # a correction changes the amount or the kind, with its reason
            del form.client, form.scheme, form.sold_on

    def create_record(self, form, model) -> None:
        services.record_sale(db.session, model)

    def update_model(self, form, model):
        return self._write(
            form,
            lambda: services.correct_sale(
                db.session,
                model,
                form.change_reason.data or "",
                form.amount.data,
                form.product_kind.data,
            ),
        )


class StatementView(ListTotalsMixin, ScopedModelView):
    """Each promoter's month; a manager confirms a month that is over, and it is frozen."""

    screen = "commission_statements"
    total_columns = ("total",)

    area = "commissions"
    can_create = can_edit = can_delete = False
    details_template = "admin/crm/commission_statement_details.html"
    column_list = ("month", "promoter", "status", "total", "confirmed_by", "confirmed_at")
    column_export_list = column_list
    column_labels = LABELS
    column_formatters = {
        "status": choice(STATEMENT_STATUSES),
        "confirmed_at": lambda v, c, m, p: format_local(m.confirmed_at),
    }
    column_formatters_export = {"status": choice(STATEMENT_STATUSES)}
    column_sortable_list = ("month", "status")
    column_default_sort = ("month", True)
    column_filters = (
        FilterEqual(CommissionStatement.status, _l("Status"), options=STATEMENT_STATUSES),
        FilterEqual(CommissionStatement.month, _l("Month")),
    )

    def render(self, template, **kwargs):
        statement = kwargs.get("model")
        if template == self.details_template and statement is not None:
            kwargs.update(
                lines=db.session.scalars(
                    select(CommissionLine)
                    .where(CommissionLine.statement_id == statement.id)
                    .order_by(CommissionLine.id)
                ).all(),
                line_kinds=dict(LINE_KINDS),
                product_kinds=dict(rules.PRODUCT_KINDS),
                may_confirm=statement.status == "open"
                and can(current_actor(), "confirm", area="commissions"),
            )
        return super().render(template, **kwargs)

    def _confirm(self, statements) -> int:
        if not can(current_actor(), "confirm", area="commissions"):
            abort(403)
        done = 0
        for statement in statements:
            ok, _result = perform(
                lambda s=statement: services.confirm_statement(db.session, s), prefix=str(statement)
            )
            done += ok
        return done

    @expose("/confirm/", methods=("POST",))
    def confirm_view(self):
        statement = self.get_one(request.form.get("id"))
        if self._confirm([statement]):
            flash(_("Month confirmed: it can no longer change."), "success")
        return redirect(self.get_url(".details_view", id=statement.id))

    @action("confirm", _l("Confirm"), _l("Confirm the selected months? They cannot change after."))
    def action_confirm(self, ids):
        rows = self.get_query().filter(CommissionStatement.id.in_(id_list(ids))).all()
        count = self._confirm(rows)
        if count:
            flash(_("%(count)d months confirmed.", count=count), "success")

    def is_action_allowed(self, name):
        if name == "confirm":
            return can(current_actor(), "confirm", area="commissions")
        return super().is_action_allowed(name)


def register(admin) -> None:
    category = _l("Promotions and commissions")
    admin.add_view(
        SalesRecordView(SalesRecord, name=_l("Sales records"), endpoint="sale", category=category)
    )
    admin.add_view(
        StatementView(
            CommissionStatement,
            name=_l("Monthly statements"),
            endpoint="commission_statement",
            category=category,
        )
    )
    admin.add_view(
        InviterView(
            ClientInviter, name=_l("Customers' inviters"), endpoint="inviter", category=category
        )
    )
    admin.add_view(
        SchemeView(
            PromotionScheme, name=_l("Promotion schemes"), endpoint="scheme", category=category
        )
    )
    admin.add_view(
        PromoterView(Promoter, name=_l("Promoters"), endpoint="promoter", category=category)
    )
