"""On-site checks (实地考察, R11) on the credit proposal's screen, and their list.

Thin: the rule and the write are crm.credit.onsite's; reads go through the scoped query layer
(a proposal or check outside the user's scope answers 404)."""

from datetime import date

from flask import abort, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.access import can, current_actor
from crm.admin.base import ScopedModelView, perform, select_one
from crm.credit import onsite
from crm.credit.models import CreditReview
from crm.extensions import db
from crm.timeutil import format_local, local_today

LABELS = {
    "review": _l("Credit review"),
    "client": _l("Customer"),
    "checked_by": _l("Checked by"),
    "checked_on": _l("Checked on"),
    "findings": _l("Findings"),
    "recorded_by": _l("Recorded by"),
    "recorded_at": _l("Recorded at"),
}


def review_page(review: CreditReview) -> dict:
    """What the proposal's screen shows of its on-site checks."""
    return {
        "onsite_checks": onsite.checks_of(db.session, review.id),
        "onsite_needed": onsite.needs_check(review),
        "onsite_missing": onsite.missing_check(db.session, review),
        "onsite_may_record": review.status in onsite.OPEN
        and can(current_actor(), "create", review),
        "onsite_labels": LABELS,
        "today": local_today(),
    }


def _parse_day(text: str | None):
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


class OnsiteCheckView(ScopedModelView):
    """Every on-site check in the user's scope; they are recorded on the proposal's screen."""

    area = "credit_review"
    can_create = can_edit = can_delete = False
    column_list = ("review", "checked_by", "checked_on", "findings", "recorded_by", "recorded_at")
    column_labels = LABELS
    column_formatters = {
        "recorded_at": lambda v, c, m, p: format_local(m.recorded_at),
        "review": lambda v, c, m, p: m.review,
    }
    column_default_sort = ("checked_on", True)
    column_sortable_list = ("checked_on",)

    @expose("/record/", methods=("POST",))
    def record_view(self):
        review = select_one(CreditReview, request.form.get("review_id"))
        if review is None:
            abort(404)
        form = request.form
        perform(
            lambda: onsite.record_check(
                db.session,
                review,
                form.get("checked_by", ""),
                _parse_day(form.get("checked_on")),
                form.get("findings", ""),
            ),
            success=_("On-site check recorded."),
        )
        return redirect(self.get_url("credit_review.details_view", id=review.id))


def register(admin, category) -> None:
    view = OnsiteCheckView(
        onsite.OnsiteCheck, name=_l("On-site checks"), endpoint="credit_onsite", category=category
    )
    admin.add_view(view)
