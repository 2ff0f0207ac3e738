"""Member card screens (会员卡, R15): types, cards with their moves, uses, expiring, counts.

Thin: every write goes through crm.cards.services; reads are narrowed by crm.access (the
clerk, service and finance read every customer's cards, the others their own scope)."""

from datetime import timedelta

from flask import abort, flash, has_request_context, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from markupsafe import Markup, escape
from sqlalchemy import and_, case, func, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.access import can, current_actor
from crm.admin.base import RoleView, ScopedModelView, perform
from crm.admin.formatters import InMonthFilter, client_link, client_name, customer_filters
from crm.cards import rules, services
from crm.cards.models import CardEvent, CardType, CardUse, MemberCard
from crm.extensions import db
from crm.timeutil import format_local, local_today

EXPIRING_DAYS = 30
EVENT_LABELS = {
    "issue": _l("Issued"),
    "extend": _l("Renewed before expiry"),
    "expire": _l("Expired"),
    "report_lost": _l("Reported lost"),
    "replace": _l("Replaced"),
    "cancel": _l("Cancelled"),
    "renew": _l("Renewed with a new card"),
    "benefits_kept": _l("Kept after benefits changed"),
}
CARD_LABELS = {
    "number": _l("Card number"),
    "client": _l("Holder"),
    "card_type": _l("Card type"),
    "status": _l("Status"),
    "issue_date": _l("Issue date"),
    "expiry_date": _l("Expiry date"),
    "lost_reported_at": _l("Reported lost at"),
    "previous": _l("Replaces / renews"),
    "created_at": _l("Entered at"),
    "id_number": _l("ID number presented"),
}


def _card_link(view, context, model, name):
    card = model if isinstance(model, MemberCard) else model.card
    url = view.get_url("card.details_view", id=card.id)
    return Markup(f'<a href="{escape(url)}">{escape(card.number)}</a>')


def _status(view, context, model, name):
    return rules.STATUSES.get(model.status, model.status)


def _type_options():
    if not has_request_context():  # Flask-Admin asks once at start-up; the base asks per request
        return []
    return [(str(i), n) for i, n in db.session.execute(select(CardType.id, CardType.name))]


class CardTypeView(ScopedModelView):
    area = "card_types"
    can_delete = False  # a type still on cards is retired (active off), never removed
    can_export = False
    column_list = (
        "code",
        "name",
        "discount_rate",
        "privileges",
        "issue_fee",
        "renewal_fee",
        "replacement_fee",
        "validity_months",
        "active",
    )
    column_labels = {
        "code": _l("Code"),
        "name": lazy_pgettext("thing", "Name"),
        "discount_rate": _l("Discount rate"),
        "privileges": _l("Privileges"),
        "issue_fee": _l("Issue fee"),
        "renewal_fee": _l("Renewal fee"),
        "replacement_fee": _l("Replacement fee"),
        "validity_months": _l("Validity (months)"),
        "active": _l("Still issued"),
    }
    column_descriptions = {"discount_rate": _l("Share of the price paid: 0.90 is 10% off.")}
    form_columns = (
        "code",
        "name",
        "discount_rate",
        "privileges",
        "issue_fee",
        "renewal_fee",
        "replacement_fee",
        "validity_months",
        "active",
    )

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        # A type belongs to no customer: the role alone decides (the base asks a row's scope).
        if not can(current_actor(), "edit", area=self.area):
            abort(403)
        return super(ScopedModelView, self).edit_view()

    def field_errors(self, form) -> dict:
        probe = CardType(
            **{
                k: form[k].data
                for k in (
                    "discount_rate",
                    "issue_fee",
                    "renewal_fee",
                    "replacement_fee",
                    "validity_months",
                )
            }
        )
        return services.card_type_errors(probe)

    def create_record(self, form, model) -> None:
        services.save_card_type(db.session, model)

    def update_record(self, form, model) -> None:
        services.save_card_type(db.session, model)


class MemberCardView(ScopedModelView):
    area = "cards"
    can_edit = can_delete = False  # a card changes only by the moves on its page
    details_template = "admin/crm/card_details.html"
    column_list = ("number", "client", "card_type", "status", "issue_date", "expiry_date")
    column_details_list = (
        "number",
        "client",
        "card_type",
        "status",
        "issue_date",
        "expiry_date",
        "lost_reported_at",
        "previous",
        "created_at",
    )
    column_export_list = column_list
    column_labels = CARD_LABELS
    column_formatters = {
        "number": _card_link,
        "client": client_link,
        "status": _status,
        "lost_reported_at": lambda v, c, m, p: format_local(m.lost_reported_at),
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    column_formatters_export = {"status": _status, "client": client_name}
    column_searchable_list = ("number",)
    column_sortable_list = ("number", "issue_date", "expiry_date", "status")
    column_default_sort = ("expiry_date", False)
    column_filters = (
        *customer_filters(MemberCard.client_id),
        FilterEqual(
            MemberCard.status,
            _l("Status"),
            options=lambda: [(k, str(v)) for k, v in rules.STATUSES.items()],
        ),
        FilterEqual(MemberCard.card_type_id, _l("Card type"), options=_type_options),
        "expiry_date",
    )
    form_columns = ("client", "card_type", "id_number")
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {
        "client": {"validators": [DataRequired()]},
        "card_type": {
            "validators": [DataRequired()],
            "query_factory": lambda: db.session.scalars(
                select(CardType).where(CardType.active.is_(True))
            ).all(),
        },
    }
    form_extra_fields = {
        "id_number": StringField(
            _l("ID number presented"),
            validators=[Optional(), Length(max=18)],
            description=_l("An individual holder's ID number, checked against their card."),
        )
    }
    extra_form_fields = ("id_number",)

    def create_model(self, form):
        issued = []

        def issue():
            issued.append(
                services.issue_card(
                    db.session, form.client.data, form.card_type.data, form.id_number.data
                )
            )

        return self._write(form, issue) and issued[0]

    def render(self, template, **kwargs):
        card = kwargs.get("model")
        if template == self.details_template and card is not None:
            kwargs.update(self._page(card))
        return super().render(template, **kwargs)

    def _page(self, card) -> dict:
        actor = current_actor()
        today = local_today()
        moves = []
        if can(actor, "edit", card):
            past = rules.is_past_expiry(card.expiry_date, today)
            if card.status == rules.ACTIVE:
                moves += ["report_lost", "cancel"] + (["renew"] if past else ["extend"])
                moves += ["keep_benefits"]
            elif card.status == rules.LOST:
                moves += ["replace"]
            elif card.status == rules.EXPIRED:
                moves += ["renew"]
        return {
            "moves": moves,
            "event_labels": EVENT_LABELS,
            "status_label": _status(None, None, card, "status"),
            "events": db.session.scalars(
                select(CardEvent)
                .where(CardEvent.card_id == card.id)
                .order_by(CardEvent.at.desc(), CardEvent.id.desc())
            ).all(),
            "uses": db.session.scalars(
                select(CardUse)
                .where(CardUse.card_id == card.id)
                .order_by(CardUse.used_at.desc())
                .limit(100)
            ).all(),
        }

    @expose("/move/", methods=("POST",))
    def move_view(self):
        card = self.get_one(request.form.get("id"))
        move, form = request.form.get("move"), request.form
        reason = (form.get("reason") or "").strip()
        operations = {
            "report_lost": lambda: services.report_lost(db.session, card, reason),
            "replace": lambda: services.replace_card(db.session, card, reason),
            "cancel": lambda: services.cancel_card(db.session, card, reason),
            "extend": lambda: services.extend_card(db.session, card),
            "renew": lambda: services.renew_expired_card(
                db.session, card, form.get("id_number"), form.get("old_number", "")
            ),
            "keep_benefits": lambda: services.record_benefit_decision(
                db.session, card, True, reason
            ),
        }
        if move not in operations:
            flash(_("Unknown action."), "error")
            return redirect(self.get_url(".details_view", id=card.id))
        target = card
        ok, result = perform(operations[move])
        if ok:
            if isinstance(result, MemberCard) and result.id != card.id:
                target = result
                flash(_("New card %(number)s issued.", number=result.number), "success")
            else:
                flash(_("Done."), "success")
        return redirect(self.get_url(".details_view", id=target.id))


class ExpiringCardView(MemberCardView):
    """Active cards whose validity ends within the next 30 days."""

    can_create = False
    column_default_sort = ("expiry_date", False)

    def _expiring(self, query):
        today = local_today()
        return query.filter(
            MemberCard.status == rules.ACTIVE,
            MemberCard.expiry_date >= today,
            MemberCard.expiry_date <= today + timedelta(days=EXPIRING_DAYS),
        )

    def get_query(self):
        return self._expiring(super().get_query())

    def get_count_query(self):
        return self._expiring(super().get_count_query())


class CardUseView(ScopedModelView):
    """The log of uses; "create" records a use after the checks of R15."""

    area = "cards"
    can_edit = can_delete = False
    column_list = (
        "used_at",
        "card",
        "client",
        "place",
        "list_price",
        "discount_rate",
        "benefit",
        "paid",
        "accepted",
        "refusal",
    )
    column_labels = {
        "used_at": _l("Time"),
        "card": _l("Card number"),
        "client": _l("Holder"),
        "place": _l("Place"),
        "list_price": _l("List price"),
        "discount_rate": _l("Discount rate"),
        "benefit": _l("Benefit"),
        "paid": _l("Amount paid"),
        "accepted": _l("Accepted"),
        "refusal": _l("Refused because"),
        "number": _l("Card number"),
        "holder": _l("Holder presenting"),
    }
    column_formatters = {
        "card": _card_link,
        "client": client_link,
        "used_at": lambda v, c, m, p: format_local(m.used_at),
    }
    column_default_sort = ("used_at", True)
    column_sortable_list = ("used_at",)
    column_filters = (
        *customer_filters(CardUse.client_id),
        FilterEqual(
            CardUse.accepted, _l("Accepted"), options=lambda: [("1", _("Yes")), ("0", _("No"))]
        ),
        InMonthFilter(CardUse.used_at, _l("Month used")),
    )
    form_columns = ("number", "holder", "place", "list_price")
    form_extra_fields = {
        "number": StringField(_l("Card number"), validators=[DataRequired(), Length(max=40)]),
        "holder": StringField(
            _l("Holder presenting"),
            validators=[DataRequired()],
            description=_l(
                "An individual's ID number; an organisation's full name or credit code."
            ),
        ),
    }
    form_args = {
        "list_price": {
            "validators": [NumberRange(min=0)],
            "description": _l(
                "The price before the card's benefit; the card type's discount is applied to it."
            ),
        }
    }
    extra_form_fields = ("number", "holder")

    @property
    def can_create(self):
        return can(current_actor(), "use", area="cards")

    def create_model(self, form):
        ok, use = perform(
            lambda: services.record_use(
                db.session,
                form.number.data,
                form.holder.data,
                form.place.data,
                form.list_price.data,
            ),
            form=form,
        )
        if not ok:
            return False
        if not use.accepted:  # logged as an attempt; the form stays for the clerk
            flash(_("Use refused: %(why)s", why=use.refusal), "error")
            return False
        flash(
            _(
                "List price %(price)s, benefit %(benefit)s, amount paid %(paid)s.",
                price=use.list_price,
                benefit=use.benefit,
                paid=use.paid,
            ),
            "success",
        )
        return use


class CardCountsView(RoleView):
    """Active, expiring, lost, expired and cancelled cards per type, in the user's scope."""

    screen = "cards"

    @expose("/")
    def index(self):
        today = local_today()
        soon = and_(
            MemberCard.status == rules.ACTIVE,
            MemberCard.expiry_date >= today,
            MemberCard.expiry_date <= today + timedelta(days=EXPIRING_DAYS),
        )
        columns = {
            status: func.count(case((MemberCard.status == status, 1)))
            for status in (rules.ACTIVE, rules.LOST, rules.EXPIRED, rules.CANCELLED)
        }
        rows = db.session.execute(
            select(
                CardType.name,
                func.count(case((soon, 1))).label("expiring"),
                *[c.label(s) for s, c in columns.items()],
            )
            .select_from(MemberCard)
            .join(CardType, CardType.id == MemberCard.card_type_id)
            .group_by(CardType.id, CardType.name)
            .order_by(CardType.id)
        ).all()
        headers = [
            (rules.ACTIVE, rules.STATUSES[rules.ACTIVE]),
            ("expiring", _l("Expiring within %(days)d days", days=EXPIRING_DAYS)),
            *[(s, rules.STATUSES[s]) for s in (rules.LOST, rules.EXPIRED, rules.CANCELLED)],
        ]
        return self.render("admin/crm/card_counts.html", rows=rows, headers=headers)


def register(admin) -> None:
    category = _l("Member cards")
    admin.add_view(MemberCardView(MemberCard, name=_l("Cards"), endpoint="card", category=category))
    admin.add_view(
        ExpiringCardView(
            MemberCard, name=_l("Expiring in 30 days"), endpoint="card_expiring", category=category
        )
    )
    admin.add_view(
        CardUseView(CardUse, name=_l("Card uses"), endpoint="card_use", category=category)
    )
    admin.add_view(
        CardCountsView(name=_l("Card counts"), endpoint="card_counts", category=category)
    )
    admin.add_view(
        CardTypeView(CardType, name=_l("Card types"), endpoint="card_type", category=category)
    )
