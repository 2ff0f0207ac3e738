"""Customer cards (客户档案卡), key persons and the communication log."""

import io

from flask import request, send_file, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext, pgettext
from markupsafe import Markup, escape
from sqlalchemy import func, select
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import Length, Optional, StopValidation

from crm import access, printing
from crm.access import REGIONAL_MANAGER, can, current_actor
from crm.admin import intake as intake_admin
from crm.admin import optioncache, words
from crm.admin.base import ScopedModelView, select_one
from crm.admin.formatters import client_link, customer_filters, name_link
from crm.audit import AuditEvent, record
from crm.auth.models import Region, User
from crm.bounds import id_arg
from crm.clients import choices as ch
from crm.clients import services
from crm.clients.models import Client, ContactLog, KeyPerson, SituationChange
from crm.excel.export import XlsxExportMixin
from crm.extensions import db
from crm.governance.consent import screen_details
from crm.timeutil import format_local, local_today

CLIENT_LABELS = {
    "code": _l("Customer code"),
    "name": _l("Full name"),
    "short_name": _l("Short name"),
    "kind": _l("Customer kind"),
    "credit_code": _l("Unified social credit code"),
    "tax_number": _l("Tax number"),
    "licence_number": _l("Business licence number"),
    "bank_name": _l("Bank"),
    "bank_account": _l("Bank account"),
    "company_type": _l("Company type"),
    "registered_capital": _l("Registered capital (paid in)"),
    "fixed_assets": _l("Fixed assets"),
    "working_capital": _l("Working capital"),
    "staff_count": _l("Staff count"),
    "business_area": _l("Business area (m²)"),
    "opening_date": _l("Opening date"),
    "business_scope": _l("Business scope"),
    "main_products": _l("Main products and brands"),
    "market": _l("Domestic / export"),
    "trade_mode": _l("Wholesale / retail"),
    "gender": _l("Gender"),
    "birth_date": _l("Date of birth"),
    "occupation": _l("Occupation"),
    "id_number": _l("ID number"),
    "id_number_mask": _l("ID number"),
    "province": _l("Province"),
    "city": _l("City"),
    "street": _l("Street address"),
    "postcode": _l("Postcode"),
    "phone": _l("Phone"),
    "fax": _l("Fax"),
    "mobile": _l("Mobile"),
    "email": _l("E-mail"),
    "website": _l("Website"),
    "market_region": _l("Market region"),
    "sales_capacity": _l("Sales capacity"),
    "development_potential": _l("Development potential"),
    "business_philosophy": _l("Business philosophy and style"),
    "policy_notes": _l("Market policy news"),
    "first_contact_date": _l("First contact date"),
    "first_deal_date": _l("First dealt with us"),
    "consumption_kinds": _l("Consumption kinds"),
    "satisfaction": _l("Satisfaction"),
    "attitude": _l("Attitude"),
    "level": _l("Customer level"),
    "stage": _l("Stage"),
    "nature": _l("Nature"),
    "weight": _l("Weight"),
    "owner": _l("Account manager"),
    "region": _l("Region"),
    "created_at": _l("Registered at"),
    "change_reason": _l("Reason for the change"),
    "happened_on": _l("Date the change happened"),
}


def _happened_on_field():
    """R12: the day a change of the customer's situation happened (the form says when it is
    registered); today unless told, never in the future."""
    return DateField(
        _l("Date the change happened"),
        validators=[Optional()],
        description=_l(
            "A change of contact, key person, address or status is "
            "registered within 5 working days of when it happened."
        ),
    )


def _default_today(form) -> None:
    if "happened_on" in form and request.method == "GET" and form.happened_on.data is None:
        form.happened_on.data = local_today()


CLIENT_CHOICES = {
    "kind": ch.KIND,
    "level": ch.LEVEL,
    "stage": ch.STAGE,
    "nature": ch.NATURE,
    "weight": ch.WEIGHT,
    "company_type": ch.COMPANY_TYPE,
    "market": ch.MARKET,
    "trade_mode": ch.TRADE_MODE,
    "gender": ch.GENDER,
    "satisfaction": ch.SATISFACTION,
}


def _owner_options():
    """Account managers the signed-in user may filter or assign by (their scope, no wider);
    cached per process and scope (crm/admin/optioncache.py)."""
    actor = current_actor()
    if actor is access.SYSTEM or actor is None:  # start-up: options are asked per request
        return []

    def read():
        stmt = select(User.id, User.full_name).where(User.role == access.ACCOUNT_MANAGER)
        if actor.role == access.ACCOUNT_MANAGER:
            stmt = stmt.where(User.id == actor.id)
        elif actor.role == REGIONAL_MANAGER:
            stmt = stmt.where(User.region_id == actor.region_id)
        return [(str(i), n) for i, n in db.session.execute(stmt.order_by(User.full_name))]

    return optioncache.cached_options("owners", actor, read)


def _region_options():
    actor = current_actor()
    if actor is access.SYSTEM or actor is None:
        return []

    def read():
        stmt = select(Region.id, Region.name)
        if actor.role in access.FIELD_SALES:
            stmt = stmt.where(Region.id == actor.region_id)
        return [(str(i), n) for i, n in db.session.execute(stmt.order_by(Region.name))]

    return optioncache.cached_options("regions", actor, read)


optioncache.watch(User, Region)


def _owners_query():
    return services.assignable_owners(db.session, current_actor())


def _name_required(form, field):
    # The service's words instead of a bare "This field is required."; a str, because
    # Flask-Admin's template does not print a lazy string among a field's errors.
    if not (field.data or "").strip():
        raise StopValidation(str(_l("The customer's full name is required.")))


def _choice_formatters(mapping):
    return {
        name: (lambda v, c, m, p, ch_=opts: ch.label(ch_, getattr(m, p)))
        for name, opts in mapping.items()
    }


# The create and edit forms in sections (issue 14): a kind's own section is shown only for
# that kind (static/client_form.js; the server clears the other kind's fields).
FORM_SECTIONS = (
    ("identity", _l("Identity"), None, ("name", "short_name", "kind")),
    ("organisation", _l("Organisation"), "organisation", services.KIND_FIELDS["organisation"]),
    (
        "individual",
        _l("Individual"),
        "individual",
        ("gender", "birth_date", "occupation", "id_number"),
    ),
    (
        "classification",
        _l("Classification and owner"),
        None,
        ("level", "stage", "nature", "weight", "owner", "region"),
    ),
    (
        "contact",
        _l("Address and contact"),
        None,
        ("province", "city", "street", "postcode", "phone", "fax", "mobile", "email", "website"),
    ),
    (
        "relationship",
        _l("Relationship with us"),
        None,
        ("first_contact_date", "first_deal_date", "consumption_kinds", "satisfaction", "attitude"),
    ),
    (
        "characteristics",
        _l("Characteristics"),
        None,
        (
            "market_region",
            "sales_capacity",
            "development_potential",
            "business_philosophy",
            "policy_notes",
        ),
    ),
    ("change", _l("The change"), None, ("change_reason", "happened_on")),
)
CARD_ROWS = 20  # newest cards, complaints and documents shown on the customer card


def form_sections(form, kind: str | None) -> list[dict]:
    """The form's fields grouped for the template; a field no section names goes into the
    last section shown, so that nothing the form has is left off the page."""
    placed, sections = set(), []
    for key, legend, for_kind, names in FORM_SECTIONS:
        fields = [form[n] for n in names if n in form]
        placed.update(names)
        if fields:
            sections.append(
                {
                    "key": key,
                    "legend": legend,
                    "kind": for_kind,
                    "fields": fields,
                    "hidden": for_kind is not None and for_kind != (kind or "organisation"),
                }
            )
    rest = [
        f
        for f in form
        if f.name not in placed
        and f.name != "csrf_token"
        and getattr(f.widget, "input_type", None) != "hidden"
    ]
    if rest and sections:
        sections[-1]["fields"].extend(rest)
    return sections


class ClientView(XlsxExportMixin, ScopedModelView):
    area = "clients"
    details_template = "admin/crm/client_details.html"
    create_template = "admin/crm/client_create.html"
    edit_template = "admin/crm/client_edit.html"
    column_list = (
        "code",
        "name",
        "short_name",
        "level",
        "stage",
        "nature",
        "weight",
        "owner",
        "region",
        "phone",
        "mobile",
        "id_number_mask",
        "created_at",
    )
    column_details_list = (
        "code",
        "name",
        "short_name",
        "kind",
        "credit_code",
        "company_type",
        "registered_capital",
        "staff_count",
        "gender",
        "birth_date",
        "id_number_mask",
        "province",
        "city",
        "street",
        "postcode",
        "phone",
        "mobile",
        "fax",
        "email",
        "website",
        "level",
        "stage",
        "nature",
        "weight",
        "owner",
        "region",
        "first_contact_date",
        "first_deal_date",
        "satisfaction",
        "business_scope",
        "main_products",
        "created_at",
    )
    column_export_list = column_list
    column_labels = CLIENT_LABELS
    column_formatters = {
        **_choice_formatters(CLIENT_CHOICES),
        "name": name_link,
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    column_formatters_export = _choice_formatters(CLIENT_CHOICES)
    column_searchable_list = ("name", "short_name", "code", "phone", "mobile")
    column_sortable_list = ("code", "name", "level", "created_at")
    column_default_sort = ("created_at", True)
    column_filters = (
        FilterEqual(Client.level, _l("Customer level"), options=ch.LEVEL),
        FilterEqual(Client.nature, _l("Nature"), options=ch.NATURE),
        FilterEqual(Client.stage, _l("Stage"), options=ch.STAGE),
        FilterEqual(Client.weight, _l("Weight"), options=ch.WEIGHT),
        # Integer filters: a plain FilterEqual compares the id as text, which PostgreSQL refuses.
        IntEqualFilter(Client.owner_id, _l("Account manager"), options=_owner_options),
        IntEqualFilter(Client.region_id, _l("Region"), options=_region_options),
    )
    form_choices = CLIENT_CHOICES
    form_excluded_columns = (
        "code",
        "id_number_enc",
        "id_number_hash",
        "id_number_mask",
        "created_at",
        "updated_at",
        "version",
        "deleted_at",
        "deleted_by",
        "deleted_by_id",
        "key_persons",
        "contact_logs",
    )
    form_args = {
        "owner": {"query_factory": _owners_query, "allow_blank": True},
        "name": {"validators": [_name_required]},
    }
    form_extra_fields = {
        "id_number": StringField(
            _l("ID number"),
            validators=[Optional(), Length(max=18)],
            description=_l("Stored encrypted; leave empty to keep it."),
        ),
        "change_reason": TextAreaField(
            _l("Reason for the change"), validators=[Optional(), Length(max=500)]
        ),
        "happened_on": _happened_on_field(),
    }
    extra_form_fields = ("id_number", "change_reason", "happened_on")
    form_widget_args = {"id_number": {"autocomplete": "off"}}

    def adjust_form(self, form) -> None:
        role = current_actor().role
        if role == access.ACCOUNT_MANAGER:
            del form.owner, form.region
        elif role == REGIONAL_MANAGER:
            del form.region
        if request.endpoint and request.endpoint.endswith("create_view"):
            del form.change_reason, form.happened_on
            if request.method == "GET":  # the kind asked for, the nature following it
                kind = request.args.get("kind")
                if kind in services.DEFAULT_NATURE:
                    form.kind.data = kind
                form.nature.data = services.DEFAULT_NATURE.get(form.kind.data or "organisation")
        _default_today(form)

    @property
    def extra_js(self):
        return [url_for("static", filename="client_form.js")]

    def field_errors(self, form) -> dict:
        # the other kind's fields are hidden and cleared: their values are not checked
        errors = services.client_field_errors(services.applicable_data(form.data))
        if request.endpoint and request.endpoint.endswith("create_view"):
            errors.update(intake_admin.duplicate_errors(form.data))  # R12: one card each
        return errors

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        # R12: a customer already registered is shown instead of being entered twice.
        return intake_admin.show_existing_card(self) or super().create_view()

    def create_record(self, form, model) -> None:
        id_number = services.clear_other_kind(model, form.id_number.data)
        services.register_client(db.session, model, id_number)

    def update_record(self, form, model) -> None:
        id_number = services.clear_other_kind(model, form.id_number.data)
        services.update_client(
            db.session, model, id_number, form.change_reason.data, form.happened_on.data
        )

    def delete_record(self, model, reason: str) -> None:
        services.delete_client(db.session, model, reason)

    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.details_template and model is not None:
            kwargs["details_columns"] = self._kind_columns(model, kwargs.get("details_columns"))
            kwargs.update(self._card_context(model))
        elif template in (self.create_template, self.edit_template) and "form" in kwargs:
            form = kwargs["form"]
            kind = form.kind.data if "kind" in form else getattr(model, "kind", None)
            kwargs["form_sections"] = form_sections(form, kind)
        return super().render(template, **kwargs)

    @staticmethod
    def _kind_columns(client, columns):
        """Only the rows that apply to this kind of customer (no empty 性别 on a company)."""
        skip = set(services.fields_not_applying(client.kind))
        return [c for c in columns or () if c[0] not in skip]

    def _card_context(self, client) -> dict:
        actor = current_actor()
        # one statement says which sections this user reads (and whether they may edit);
        # the checks below are answered from it
        readable = access.readable_models(actor, client.id, (KeyPerson, *_section_models()))
        detail = can(actor, "view", KeyPerson(client_id=client.id))
        staff = services.contact_staff(db.session, client.id)
        context = {
            "show_detail": detail,
            "id_number_full": None,
            "contact_staff": staff,
            "short_of_staff": services.short_of_staff(client, staff),
            "may_edit_staff": can(actor, "edit", client),
        }
        if detail:
            context.update(self._card_lists(client))
            context["history"] = db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.client_id == client.id)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .limit(100)
            ).all()
        context.update(self._card_sections(client, readable))
        if client.id_number_enc and can(actor, "see_id_number", client):
            context["id_number_full"] = services.reveal_id_number(client)
            # Recorded in the request's transaction: the details view commits it (base).
            record(db.session, "view_sensitive", client, {"field": "id_number"})
        return context

    @staticmethod
    def _card_sections(client, readable) -> dict:
        """The card's member cards, complaints, next revisit and archive documents, each only
        for who may read that part of this customer's archive (None otherwise); a fixed
        number of statements whatever their length."""
        from crm.archives.models import ArchiveDocument
        from crm.cards import rules as card_rules
        from crm.cards.models import MemberCard
        from crm.complaints.models import HANDLING, OPEN, Complaint
        from crm.revisits.models import Revisit

        cid = client.id
        from crm.archives import rules as archive_rules
        from crm.complaints.models import CATEGORIES as COMPLAINT_CATEGORIES
        from crm.complaints.models import STATUSES as COMPLAINT_STATUSES

        out = {
            "member_cards": None,
            "live_cards": None,
            "complaints": None,
            "open_complaints": None,
            "next_revisit": None,
            "may_read_revisits": False,
            "documents": None,
            "card_section_labels": {
                "card_status": card_rules.STATUSES,
                "complaint_status": dict(COMPLAINT_STATUSES),
                "complaint_category": dict(COMPLAINT_CATEGORIES),
                "document_category": {k: v[1] for k, v in archive_rules.CATEGORIES.items()},
                "document_status": archive_rules.STATUSES,
            },
        }
        if MemberCard in readable:
            out["member_cards"] = db.session.scalars(
                select(MemberCard)
                .where(MemberCard.client_id == cid)
                .order_by(MemberCard.issue_date.desc(), MemberCard.id.desc())
                .limit(CARD_ROWS)
            ).all()
            out["live_cards"] = _count_of(
                out["member_cards"], "status", card_rules.LIVE, MemberCard, cid
            )
        if Complaint in readable:
            out["complaints"] = db.session.scalars(
                select(Complaint)
                .where(Complaint.client_id == cid)
                .order_by(Complaint.received_at.desc(), Complaint.id.desc())
                .limit(CARD_ROWS)
            ).all()
            out["open_complaints"] = _count_of(
                out["complaints"], "status", (OPEN, HANDLING), Complaint, cid
            )
        if Revisit in readable:
            out["may_read_revisits"] = True
            out["next_revisit"] = db.session.scalar(
                select(func.min(Revisit.due_date)).where(
                    Revisit.client_id == cid, Revisit.status == "open"
                )
            )
        if ArchiveDocument in readable:
            out["documents"] = db.session.scalars(
                select(ArchiveDocument)
                .where(ArchiveDocument.client_id == cid)
                .order_by(ArchiveDocument.doc_date.desc(), ArchiveDocument.id.desc())
                .limit(CARD_ROWS)
            ).all()
        return out

    @staticmethod
    def _card_lists(client) -> dict:
        return {
            "key_persons": db.session.scalars(
                select(KeyPerson).where(KeyPerson.client_id == client.id).order_by(KeyPerson.id)
            ).all(),
            "contact_logs": db.session.scalars(
                select(ContactLog)
                .where(ContactLog.client_id == client.id)
                .order_by(ContactLog.seq.desc())
                .limit(50)
            ).all(),
        }

    @expose("/card.pdf")
    def card_pdf_view(self):
        """The customer's card on A4: the fields this user sees on the screen (sensitive ones
        by role, the ID number masked), and the key persons and contact log when they may."""
        client = self.get_one(request.args.get("id"))
        actor = current_actor()
        columns = screen_details(
            db.session, actor, client, self._kind_columns(client, self._details_columns)
        )
        fields = [
            (label, self.get_detail_value(None, client, name) or "") for name, label in columns
        ]
        sections = [("fields", "", [(str(k), str(v)) for k, v in fields])]
        if can(actor, "view", KeyPerson(client_id=client.id)):
            lists = self._card_lists(client)
            sections.append(
                (
                    "table",
                    _("Key persons"),
                    [
                        _("Position"),
                        pgettext("person", "Name"),
                        pgettext("person", "Title"),
                        _("Phone"),
                        _("Mobile"),
                    ],
                    [
                        [
                            ch.label(ch.KEY_PERSON_ROLE, p.position),
                            p.name,
                            p.title or "",
                            p.phone or "",
                            p.mobile or "",
                        ]
                        for p in lists["key_persons"]
                    ],
                )
            )
            sections.append(
                (
                    "table",
                    _("Contact log"),
                    [
                        _("No."),
                        _("Date"),
                        _("Way of contact"),
                        _("Person met"),
                        _("Record"),
                        _("Conclusion"),
                    ],
                    [
                        [
                            log.seq,
                            log.contact_date,
                            ch.label(ch.CONTACT_WAY, log.way),
                            log.person_met,
                            log.record,
                            log.conclusion or "",
                        ]
                        for log in lists["contact_logs"]
                    ],
                    (5, 12, 12, 14, 40, 25),
                )
            )
        pdf = printing.document_pdf(
            _("Customer card") + " " + client.name,
            sections,
            subtitle=client.code or "",
            footer=client.code or "",
        )
        db.session.commit()  # what screen_details recorded of this read (R5, R17)
        return send_file(
            io.BytesIO(pdf),
            mimetype=printing.PDF_MIMETYPE,
            as_attachment=True,
            download_name=f"{client.code or client.id}.pdf",
        )


def _section_models() -> tuple:
    """The models of the card's sections besides the key persons and contact log."""
    from crm.archives.models import ArchiveDocument
    from crm.cards.models import MemberCard
    from crm.complaints.models import Complaint
    from crm.revisits.models import Revisit

    return (MemberCard, Complaint, Revisit, ArchiveDocument)


def _count_of(rows, field: str, values, model, client_id: int) -> int:
    """How many of a customer's rows have `field` in `values`: counted from the newest rows
    read when they are all of them, else asked of the database (one statement more)."""
    if len(rows) < CARD_ROWS:
        return sum(1 for r in rows if getattr(r, field) in values)
    return db.session.scalar(
        select(func.count(model.id)).where(
            model.client_id == client_id, getattr(model, field).in_(tuple(values))
        )
    )


class ArchiveDetailView(ScopedModelView):
    """Rows under a customer's card. Everyone in scope may add (R6)."""

    area = "archive_detail"
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    column_formatters = {"client": client_link}
    form_excluded_columns = ("deleted_at", "deleted_by", "deleted_by_id", "created_at")
    # R6: a change keeps its reason, here as on the card.
    form_extra_fields = {
        "change_reason": TextAreaField(
            _l("Reason for the change"), validators=[Optional(), Length(max=500)]
        )
    }
    extra_form_fields = ("change_reason",)

    def adjust_form(self, form) -> None:
        if request.endpoint and request.endpoint.endswith("create_view"):
            del form.change_reason
        # "Add" on a customer's card opens this form for that customer (if in scope).
        client_id = request.args.get("client", type=id_arg)
        if client_id and request.method == "GET" and form.client.data is None:
            form.client.data = select_one(Client, client_id)


class KeyPersonView(ArchiveDetailView):
    column_list = ("client", "position", "name", "title", "gender", "phone", "mobile")
    column_labels = {
        "client": _l("Customer"),
        "position": _l("Position"),
        "name": lazy_pgettext("person", "Name"),
        "gender": _l("Gender"),
        "title": lazy_pgettext("person", "Title"),
        "birth_date": _l("Date of birth"),
        "native_place": _l("Native place"),
        "education": _l("Education"),
        "religion": _l("Religion"),
        "hobbies": _l("Hobbies"),
        "character": _l("Character"),
        "family_notes": _l("Family notes"),
        "phone": _l("Phone"),
        "mobile": _l("Mobile"),
    }
    column_searchable_list = ("name", "mobile")
    column_filters = customer_filters(KeyPerson.client_id)
    column_sortable_list = ("name",)
    form_choices = {"position": ch.KEY_PERSON_ROLE, "gender": ch.GENDER}
    column_formatters = {
        **ArchiveDetailView.column_formatters,
        **_choice_formatters({"position": ch.KEY_PERSON_ROLE, "gender": ch.GENDER}),
    }

    def field_errors(self, form) -> dict:
        from crm.clients import identifiers as ids

        errors = {}
        for name, check in (("phone", ids.check_phone), ("mobile", ids.check_mobile)):
            if form[name].data and (message := check(form[name].data)):
                errors[name] = message
        return errors

    form_extra_fields = {**ArchiveDetailView.form_extra_fields, "happened_on": _happened_on_field()}
    extra_form_fields = ("change_reason", "happened_on")

    def adjust_form(self, form) -> None:
        super().adjust_form(form)
        _default_today(form)

    def create_record(self, form, model) -> None:
        services.add_key_person(db.session, model, form.happened_on.data)

    def update_record(self, form, model) -> None:
        services.update_key_person(
            db.session, model, form.change_reason.data, form.happened_on.data
        )


class ContactLogView(ArchiveDetailView):
    column_list = (
        "client",
        "seq",
        "contact_date",
        "way",
        "person_met",
        "person_role",
        "level",
        "conclusion",
        "recorded_by",
    )
    column_labels = {
        "client": _l("Customer"),
        "seq": _l("No."),
        "contact_date": _l("Date"),
        "way": _l("Way of contact"),
        "person_met": _l("Person met"),
        "person_role": _l("Their role"),
        "level": _l("Customer level"),
        "record": _l("Record"),
        "special_points": _l("Special points"),
        "conclusion": _l("Conclusion"),
        "recorded_by": _l("Recorded by"),
    }
    column_searchable_list = ("person_met",)
    column_sortable_list = ("contact_date",)
    column_default_sort = ("contact_date", True)
    column_filters = (
        *customer_filters(ContactLog.client_id),
        FilterEqual(ContactLog.way, _l("Way of contact"), options=ch.CONTACT_WAY),
        FilterEqual(ContactLog.level, _l("Customer level"), options=ch.LEVEL),
    )
    form_choices = {"way": ch.CONTACT_WAY, "person_role": ch.PERSON_ROLE, "level": ch.LEVEL}
    form_excluded_columns = (*ArchiveDetailView.form_excluded_columns, "seq", "recorded_by")
    column_formatters = {
        **ArchiveDetailView.column_formatters,
        **_choice_formatters({"way": ch.CONTACT_WAY, "person_role": ch.PERSON_ROLE}),
    }

    def create_record(self, form, model) -> None:
        services.add_contact_log(db.session, model)


def _staff_users():
    """Active staff who can be in contact with a customer."""
    return db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.role != access.ADMIN)
        .order_by(User.full_name)
    ).all()


class ClientStaffView(ScopedModelView):
    """R12: the staff in contact with a customer besides its owner; the owner and the managers
    over the customer add and remove them (audited)."""

    screen = "client_staff"
    area = "clients"
    can_edit = False
    can_view_details = False
    column_list = ("client", "user", "role", "created_at")
    column_labels = {
        "client": _l("Customer"),
        "user": _l("Member of staff"),
        "role": _l("Role with the customer"),
        "created_at": _l("Since"),
    }
    column_formatters = {
        "client": client_link,
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    form_columns = ("client", "user", "role")
    form_ajax_refs = {"client": {"fields": ("name", "code"), "page_size": 10}}
    form_args = {"user": {"query_factory": _staff_users}}

    def adjust_form(self, form) -> None:
        client_id = request.args.get("client", type=int)
        if client_id and request.method == "GET" and form.client.data is None:
            form.client.data = select_one(Client, client_id)

    def create_record(self, form, model) -> None:
        services.add_contact_staff(db.session, model)

    def delete_record(self, model, reason: str) -> None:
        services.remove_contact_staff(db.session, model, reason)


class SituationChangeView(ScopedModelView):
    """R12: changes of customers' situation with the day they happened and were registered;
    the late ones filtered, counted per account manager. Read-only; the scope is the reader's
    customers (a regional manager: their region)."""

    screen = "situation_changes"
    area = "clients"
    list_template = "admin/crm/situation_changes.html"
    can_create = can_edit = can_delete = False
    can_view_details = False
    column_list = (
        "client",
        "kinds",
        "happened_on",
        "registered_on",
        "due_on",
        "late",
        "owner",
        "recorded_by",
    )
    column_labels = {
        "client": _l("Customer"),
        "kinds": _l("What changed"),
        "happened_on": _l("Happened on"),
        "registered_on": _l("Registered on"),
        "due_on": _l("Due by"),
        "late": _l("Late"),
        "owner": _l("Account manager"),
        "recorded_by": _l("Recorded by"),
    }
    column_formatters = {
        "client": client_link,
        "kinds": lambda v, c, m, p: ", ".join(
            str(services.SITUATION_KINDS.get(k, k)) for k in m.kinds.split(",")
        ),
    }
    column_default_sort = ("registered_on", True)
    column_filters = (
        BooleanEqualFilter(SituationChange.late, _l("Late")),
        IntEqualFilter(SituationChange.owner_id, _l("Account manager"), options=_owner_options),
    )

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["late_counts"] = services.late_changes_per_manager(db.session)
        return super().render(template, **kwargs)


HISTORY_LABELS = {
    "clients": CLIENT_LABELS,
    "key_persons": KeyPersonView.column_labels,
    "contact_logs": ContactLogView.column_labels,
}
HISTORY_CHOICES = {
    **CLIENT_CHOICES,
    "position": ch.KEY_PERSON_ROLE,
    "way": ch.CONTACT_WAY,
    "person_role": ch.PERSON_ROLE,
}
ENTITY_LABELS = {
    "clients": Client.__label__,
    "key_persons": KeyPerson.__label__,
    "contact_logs": ContactLog.__label__,
}


# Bookkeeping columns that say nothing to the reader of a card's history.
HISTORY_HIDDEN = {"client_id", "created_at", "recorded_by_id", "deleted_by_id"}
REFERENCE_LABELS = {"owner_id": CLIENT_LABELS["owner"], "region_id": CLIENT_LABELS["region"]}


def history_items(changes: dict | None) -> list:
    return [
        (k, pair)
        for k, pair in (changes or {}).items()
        if k not in HISTORY_HIDDEN and not words.internal(k)
    ]


def history_field(entity: str, field: str) -> str:
    """The staff's word for a changed field on the card's history (falls back to the column)."""
    label = (
        HISTORY_LABELS.get(entity, {}).get(field)
        or REFERENCE_LABELS.get(field)
        or words.field_label(entity, field)
        or field
    )
    return str(label)


def history_value(field: str, value, entity: str | None = None) -> str:
    """A stored value in words: a choice by its label, a reference by the record's name, a
    time in the company's zone, a yes/no as 是/否."""
    if value is None:
        return "—"
    if field in HISTORY_CHOICES and isinstance(value, str):
        return ch.label(HISTORY_CHOICES[field], value)
    if entity is None:
        entity = "clients" if field in REFERENCE_LABELS else ""
    return words.field_value(entity, field, value)


def entity_label(entity: str) -> str:
    label = ENTITY_LABELS.get(entity)
    return str(label) if label else words.record_type(entity)


# Events that record a read, not a change: their "changes" say what was read
# ({"fields": [...]}, {"storage_path": ...}), never [old, new] pairs.
READ_ACTIONS = {"view_sensitive", "read_file", "read_under_grant"}


def change_lines(event) -> list[str]:
    """An audit event's or change request's changes in words, one line a field ("field: old →
    new"); a recorded read lists what was read."""
    lines = []
    for k, value in history_items(event.changes):
        if getattr(event, "action", None) in READ_ACTIONS:  # what was read: field names, a path
            read = value if isinstance(value, (list, tuple)) else [value]
            lines.append("、".join(history_field(event.entity, str(v)) for v in read))
        else:
            old, new = value
            lines.append(
                f"{history_field(event.entity, k)}: "
                f"{history_value(k, old, event.entity)} → "
                f"{history_value(k, new, event.entity)}"
            )
    return lines


def changes_formatter(view, context, model, name):
    """A list column showing an audit event's or change request's field changes in words."""
    return Markup("".join(f"<div>{escape(line)}</div>" for line in change_lines(model)))
