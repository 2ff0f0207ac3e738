"""Industry notes (行业动态, R3 cat. 5) and daily records (日常档案, R8) with their filing into
a customer's category archive.

Thin: every write goes through crm.records.services; reads are narrowed by crm.access (the
author and the managers read a note or a record; a filing is read in the customer's scope)."""

from flask import flash, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform
from crm.admin.contracts import choice
from crm.admin.formatters import client_link
from crm.clients.models import Client
from crm.extensions import db
from crm.records import services
from crm.records.models import (
    ARCHIVE_CATEGORIES,
    COMPETITOR_CLASSES,
    NOTE_TOPICS,
    RECORD_KINDS,
    REPORT_PERIODS,
    DailyRecord,
    IndustryNote,
    RecordPromotion,
)
from crm.timeutil import format_local

LABELS = {
    "competitor": _l("Competitor"),
    "competitor_class": _l("Class"),
    "topic": _l("Topic"),
    "title": lazy_pgettext("document", "Title"),
    "content": _l("Content"),
    "noted_on": _l("Date"),
    "source": _l("Source"),
    "author": _l("Recorded by"),
    "created_at": _l("Entered at"),
    "kind": _l("Kind"),
    "record_date": _l("Date"),
    "period": _l("Period"),
    "counterpart": _l("Counterpart (sender, guest, attendees)"),
    "handling": _l("Handling"),
    "client": _l("Customer"),
    "category": _l("Archive category"),
    "record": _l("Daily record"),
    "archive_document_id": _l("Archive document"),
    "promoted_by": _l("Filed by"),
    "promoted_at": _l("Filed at"),
    "change_reason": _l("Reason for the change"),
}
REASON = {
    "change_reason": TextAreaField(
        _l("Reason for the change"), validators=[Optional(), Length(max=500)]
    )
}


class AuthoredView(ScopedModelView):
    column_labels = LABELS
    form_extra_fields = REASON
    extra_form_fields = ("change_reason",)

    def adjust_form(self, form) -> None:
        if request.endpoint and request.endpoint.endswith("create_view"):
            del form.change_reason


class IndustryNoteView(AuthoredView):
    area = "industry"
    column_list = (
        "noted_on",
        "competitor",
        "competitor_class",
        "topic",
        "title",
        "source",
        "author",
    )
    column_details_list = (
        "noted_on",
        "competitor",
        "competitor_class",
        "topic",
        "title",
        "content",
        "source",
        "author",
        "created_at",
    )
    column_formatters = {
        "competitor_class": choice(COMPETITOR_CLASSES),
        "topic": choice(NOTE_TOPICS),
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    column_searchable_list = ("competitor",)
    column_sortable_list = ("noted_on", "competitor")
    column_default_sort = ("noted_on", True)
    column_filters = (FilterEqual(IndustryNote.topic, _l("Topic"), options=NOTE_TOPICS), "noted_on")
    form_columns = (
        "competitor",
        "competitor_class",
        "topic",
        "title",
        "content",
        "noted_on",
        "source",
        "change_reason",
    )
    form_choices = {"competitor_class": COMPETITOR_CLASSES, "topic": NOTE_TOPICS}

    def create_record(self, form, model) -> None:
        services.add_note(db.session, model)

    def update_record(self, form, model) -> None:
        services.update_note(db.session, model, form.change_reason.data)


class DailyRecordView(AuthoredView):
    area = "daily_records"
    details_template = "admin/crm/record_details.html"
    column_list = ("record_date", "kind", "period", "title", "counterpart", "author")
    column_details_list = (
        "record_date",
        "kind",
        "period",
        "title",
        "counterpart",
        "content",
        "handling",
        "author",
        "created_at",
    )
    column_formatters = {
        "kind": choice(RECORD_KINDS),
        "period": choice(REPORT_PERIODS),
        "created_at": lambda v, c, m, p: format_local(m.created_at),
    }
    column_searchable_list = ("title",)
    column_sortable_list = ("record_date",)
    column_default_sort = ("record_date", True)
    column_filters = (
        FilterEqual(DailyRecord.kind, _l("Kind"), options=RECORD_KINDS),
        "record_date",
    )
    form_columns = (
        "kind",
        "period",
        "record_date",
        "title",
        "counterpart",
        "content",
        "handling",
        "change_reason",
    )
    form_choices = {"kind": RECORD_KINDS, "period": [("", ""), *REPORT_PERIODS]}

    def create_record(self, form, model) -> None:
        model.period = model.period or None
        services.add_daily_record(db.session, model)

    def update_record(self, form, model) -> None:
        model.period = model.period or None
        services.update_daily_record(db.session, model, form.change_reason.data)

    def render(self, template, **kwargs):
        record = kwargs.get("model")
        if template == self.details_template and record is not None:
            kwargs.update(
                promotions=db.session.scalars(
                    select(RecordPromotion).where(RecordPromotion.record_id == record.id)
                ).all(),
                categories=ARCHIVE_CATEGORIES,
                may_promote=can(current_actor(), "promote", record),
            )
        return super().render(template, **kwargs)

    @expose("/promote/", methods=("POST",))
    def promote_view(self):
        record = self.get_one(request.form.get("id"))
        code = (request.form.get("client_code") or "").strip().upper()
        # Looked up through the scoped query layer: a customer out of scope is "not found".
        client = db.session.scalars(select(Client).where(Client.code == code)).first()
        if client is None:
            flash(_("No customer with this code in your archive."), "error")
        else:
            perform(
                lambda: services.promote_record(
                    db.session, record, client, request.form.get("category")
                ),
                _("Filed in %(name)s's archive.", name=client.name),
            )
        return redirect(self.get_url(".details_view", id=record.id))


def _record_link(view, context, model, name):
    url = view.get_url("daily_record.details_view", id=model.record_id)
    return Markup(f'<a href="{escape(url)}">{escape(model.title)}</a>')


class RecordPromotionView(ScopedModelView):
    """Daily records filed in customers' archives, each linking back to its record."""

    screen = "record_promotions"
    area = "daily_records"
    can_create = can_edit = can_delete = False
    column_list = (
        "promoted_at",
        "client",
        "category",
        "kind",
        "record_date",
        "title",
        "archive_document_id",
        "promoted_by",
    )
    column_labels = LABELS
    column_formatters = {
        "client": client_link,
        "category": choice(ARCHIVE_CATEGORIES),
        "kind": choice(RECORD_KINDS),
        "title": _record_link,
        "promoted_at": lambda v, c, m, p: format_local(m.promoted_at),
    }
    column_sortable_list = ("promoted_at",)
    column_default_sort = ("promoted_at", True)
    column_filters = (
        FilterEqual(RecordPromotion.category, _l("Archive category"), options=ARCHIVE_CATEGORIES),
    )


def register(admin) -> None:
    archive = _l("Customer archives")
    daily = _l("Daily records")
    admin.add_view(
        IndustryNoteView(
            IndustryNote, name=_l("Industry notes"), endpoint="industry_note", category=archive
        )
    )
    admin.add_view(
        DailyRecordView(
            DailyRecord, name=_l("Daily records"), endpoint="daily_record", category=daily
        )
    )
    admin.add_view(
        RecordPromotionView(
            RecordPromotion,
            name=_l("Filed in customer archives"),
            endpoint="record_promotion",
            category=daily,
        )
    )
