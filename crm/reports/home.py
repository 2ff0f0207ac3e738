"""The figures of the home pages (issue 15 point 5): one function per chart, each an ORM
query run under the signed-in user's scope (crm.access narrows every statement), bounded by
an index or read from a summary table — never a scan of the ledger or of every sale:

* consumption: ``consumption_by_manager`` (the rollups summed per account manager,
  crm.reviews), 12 months;
* credit: use, overdue and aging from ``credit_exposure`` (crm.credit.exposure, counted every
  hour and after the nightly check; the charts say when), the 20 largest exposures from the
  balances by their amount index, the collections of this month by (kind, entry_date) of the
  ledger;
* cards, complaints, commissions, archives: their own indexed tables.

Each chart is a `Chart`: categories × series with, for every figure, the URL of the list it
counts (a Flask-Admin list with the matching filter), or None where no list counts it. Which
role sees which chart is `crm.access.ACTIONS["home"]`; `charts_for(user)` lists them.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from crm import access
from crm.timeutil import local_today

TITLES = {
    "consumption_trend": _l("Consumption by month and product kind"),
    "consumption_by_manager": _l("Consumption of the last 12 months by account manager"),
    "credit_use": _l("Customers by credit use"),
    "credit_aging": _l("Receivables by age"),
    "top_exposures": _l("The 20 largest exposures"),
    "collections": _l("Collections this month"),
    "card_expiries": _l("Cards expiring by month"),
    "complaints": _l("Complaints by category and state"),
    "commissions": _l("Commissions by month"),
    "archive_waiting": _l("Documents waiting to be bound"),
    "archive_flags": _l("Integrity problems"),
    "users_by_role": _l("Active users by role"),
}


@dataclass
class Chart:
    name: str
    kind: str  # bar, line, pie, hbar
    category_label: str
    categories: list = field(default_factory=list)
    series: list = field(default_factory=list)  # [(name, [values])]
    links: list = field(default_factory=list)  # per series: [url | None per category]
    money: bool = False
    stack: bool = False
    note: str = ""  # e.g. when summed figures were counted

    @property
    def title(self) -> str:
        return str(TITLES[self.name])

    def add(self, name, values, links=None) -> None:
        self.series.append((str(name), [_number(v) for v in values]))
        self.links.append(links or [None] * len(values))

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "title": str(self.title),
            "kind": self.kind,
            "category_label": str(self.category_label),
            "categories": [str(c) for c in self.categories],
            "money": self.money,
            "stack": self.stack,
            "series": [{"name": n, "data": d} for n, d in self.series],
            "links": self.links,
            "note": str(self.note),
        }

    def table(self) -> tuple[list, list]:
        """(header, rows): the figures as the table under the chart and the .xlsx show them."""
        header = [str(self.category_label), *(n for n, _d in self.series)]
        rows = [[str(c), *(d[i] for _n, d in self.series)] for i, c in enumerate(self.categories)]
        return header, rows


def _number(value):
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.01")))
    return value or 0


def _months_back(today: date, n: int) -> list[date]:
    first = today.replace(day=1)
    index = first.year * 12 + first.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(n - 1, -1, -1)]


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def list_url(endpoint: str, *conditions, **args) -> str | None:
    """The list of admin view `endpoint` with its filters set: each condition is
    (column name or label, filter class, value) — Flask-Admin names a filter's argument by
    its position in the view. None when the view or one of the filters is not there."""
    from flask import current_app

    for admin in current_app.extensions.get("admin", []):
        for view in admin._views:
            if getattr(view, "endpoint", None) != endpoint:
                continue
            params = dict(args)
            for n, (column, filter_type, value) in enumerate(conditions):
                arg = _filter_arg(view, column, filter_type)
                if arg is None:
                    return None
                params[f"flt{n}_{arg}"] = value
            return url_for(f"{endpoint}.index_view", **params)
    return None


def _filter_arg(view, column, filter_type):
    for i, flt in enumerate(getattr(view, "_filters", None) or ()):
        key = getattr(getattr(flt, "column", None), "key", None)
        if isinstance(flt, filter_type) and (column is None or key == column):
            return view.get_filter_arg(i, flt)
    return None


# --- consumption (rollups) --------------------------------------------------------------------
def consumption_trend(session, today: date) -> Chart:
    """Consumption per month of the last 12, by product kind (and card uses): the user's own
    customers', region's or the company's, as the rollups' scope gives them."""
    from crm.commissions.rules import PRODUCT_KINDS
    from crm.reviews.consumption import ALL, CARD
    from crm.reviews.models import ConsumptionByManager as R

    months = _months_back(today, 12)
    rows = session.execute(
        select(R.month, R.kind, func.sum(R.amount))
        .where(R.month >= months[0], R.month <= months[-1], R.kind != ALL)
        .group_by(R.month, R.kind)
    ).all()
    chart = Chart(
        "consumption_trend",
        "bar",
        _l("Month"),
        [m.strftime("%Y-%m") for m in months],
        money=True,
        stack=True,
    )
    found = {(m, k): a for m, k, a in rows}
    labels = dict(PRODUCT_KINDS) | {CARD: _l("Card uses")}
    kinds = [k for k in labels if any((m, k) in found for m in months)]
    kinds += sorted({k for _m, k in found} - set(kinds))
    for kind in kinds:
        chart.add(
            labels.get(kind, kind),
            [found.get((m, kind), 0) for m in months],
            [_consumption_list(kind, m) for m in months],
        )
    if not kinds:
        chart.add(_l("Consumption"), [0] * len(months))
    return chart


def _consumption_list(kind: str, month: date) -> str | None:
    """The list a consumption bar counts: the month's sales of the product kind, or its
    accepted card uses."""
    from flask_admin.contrib.sqla.filters import FilterEqual

    from crm.admin.formatters import InMonthFilter
    from crm.reviews.consumption import CARD

    value = month.strftime("%Y-%m")
    if kind == CARD:
        return list_url(
            "card_use", ("accepted", FilterEqual, "1"), ("used_at", InMonthFilter, value)
        )
    return list_url(
        "sale",
        ("product_kind", FilterEqual, kind),
        ("sold_on", InMonthFilter, value),
    )


def consumption_by_manager(session, today: date) -> Chart:
    """The last 12 months' consumption of each account manager's customers, side by side."""
    from crm.auth.models import User
    from crm.reviews.consumption import ALL
    from crm.reviews.models import ConsumptionByManager as R

    months = _months_back(today, 12)
    total = func.sum(R.amount)
    rows = session.execute(
        select(R.account_manager_id, total, func.sum(R.customers))
        .where(R.month >= months[0], R.month <= months[-1], R.kind == ALL)
        .group_by(R.account_manager_id)
        .order_by(total.desc())
    ).all()
    names = (
        dict(
            session.execute(
                select(User.id, User.full_name).where(
                    User.id.in_([r[0] for r in rows if r[0] is not None])
                )
            ).all()
        )
        if rows
        else {}
    )
    chart = Chart(
        "consumption_by_manager",
        "bar",
        _l("Account manager"),
        [names.get(r[0]) or _("No account manager") for r in rows],
        money=True,
    )
    chart.add(_l("Consumption"), [r[1] for r in rows])
    return chart


# --- credit ------------------------------------------------------------------------------------
def _counted(session) -> str:
    from crm.credit import exposure
    from crm.timeutil import format_local

    at = exposure.counted_at(session)
    return _("Counted at %(time)s", time=format_local(at)) if at else _("Not counted yet")


def credit_use(session, today: date) -> Chart:
    """How many customers owe at least each threshold of their limit, more than it, and have
    overdue debts — the credit check's counts, from the exposure summary (crm.credit.exposure),
    each a link to the credit profiles it counts."""
    from crm.admin.credit import OverdueFilter, UtilisationFilter
    from crm.credit import checks as cs
    from crm.credit import exposure

    totals = exposure.totals(session)
    levels = [str(t) for t in cs.thresholds()] + [cs.OVER_LIMIT]
    chart = Chart(
        "credit_use",
        "bar",
        _l("Credit use"),
        [f"≥ {lv}%" for lv in levels[:-1]] + [_("Over the limit"), _("With overdue debts")],
        note=_counted(session),
    )
    measures = [exposure.use_measure(lv) for lv in levels] + [exposure.OVERDUE]
    chart.add(
        _l("Customers"),
        [totals.get(m, (0, 0))[0] for m in measures],
        [list_url("credit_profile", (None, UtilisationFilter, lv)) for lv in levels]
        + [list_url("credit_profile", (None, OverdueFilter, "1"))],
    )
    return chart


def credit_aging(session, today: date) -> Chart:
    """Open charges by age past due, per region, stacked by bucket (the aging report's
    buckets), from the exposure summary."""
    from crm.admin.credit import BUCKET_LABELS
    from crm.auth.models import Region
    from crm.credit import exposure, rules

    measures = {exposure.age_measure(b): b for b in rules.AGING_BUCKETS}
    regions = exposure.by_region(session, measures)
    names = dict(session.execute(select(Region.id, Region.name)).all()) if regions else {}
    keys = sorted(regions, key=lambda r: -sum(regions[r].values()))
    chart = Chart(
        "credit_aging",
        "bar",
        _l("Region"),
        [names.get(r) or _("No region") for r in keys],
        money=True,
        stack=True,
        note=_counted(session),
    )
    report = url_for("credit_aging.index")
    for measure, bucket in measures.items():
        chart.add(
            BUCKET_LABELS[bucket],
            [regions[r].get(measure, 0) for r in keys],
            [report] * len(keys),
        )
    return chart


def top_exposures(session, today: date) -> Chart:
    """The 20 customers who owe most (per-customer balances, by an index on the amount)."""
    from crm.admin.formatters import CustomerFilter
    from crm.clients.models import Client
    from crm.credit.models import CreditBalance

    rows = session.execute(
        select(
            CreditBalance.client_id,
            Client.name,
            CreditBalance.outstanding,
            CreditBalance.credit_limit,
        )
        .join(Client, Client.id == CreditBalance.client_id)
        .where(CreditBalance.outstanding > 0)
        .order_by(CreditBalance.outstanding.desc(), CreditBalance.client_id)
        .limit(20)
    ).all()
    chart = Chart("top_exposures", "hbar", _l("Customer"), [r.name for r in rows], money=True)
    links = [list_url("credit_profile", (None, CustomerFilter, r.client_id)) for r in rows]
    chart.add(_l("Outstanding"), [r.outstanding for r in rows], links)
    chart.add(_l("Credit limit"), [r.credit_limit or 0 for r in rows], links)
    return chart


def collections(session, today: date) -> Chart:
    """Payments received this month, day by day (the ledger's (kind, entry_date) index)."""
    from crm.credit.models import PAYMENT, LedgerEntry

    first = today.replace(day=1)
    rows = dict(
        session.execute(
            select(LedgerEntry.entry_date, func.sum(LedgerEntry.amount))
            .where(
                LedgerEntry.kind == PAYMENT,
                LedgerEntry.entry_date >= first,
                LedgerEntry.entry_date <= today,
            )
            .group_by(LedgerEntry.entry_date)
        ).all()
    )
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    chart = Chart("collections", "bar", _l("Date"), [d.isoformat() for d in days], money=True)
    chart.add(_l("Collected"), [rows.get(d, 0) for d in days])
    return chart


# --- cards, complaints, commissions ----------------------------------------------------------
def card_expiries(session, today: date) -> Chart:
    """Active cards by the month their validity ends, this month and the next 11."""
    from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual

    from crm.cards.models import MemberCard
    from crm.cards.rules import ACTIVE

    months = [today.replace(day=1)]
    for _i in range(11):
        months.append(_next_month(months[-1]))
    end = _next_month(months[-1])
    rows = session.execute(
        select(MemberCard.expiry_date, func.count())
        .where(
            MemberCard.status == ACTIVE,
            MemberCard.expiry_date >= months[0],
            MemberCard.expiry_date < end,
        )
        .group_by(MemberCard.expiry_date)
    ).all()
    counts = dict.fromkeys(months, 0)
    for day, n in rows:
        counts[day.replace(day=1)] += n
    chart = Chart("card_expiries", "bar", _l("Month"), [m.strftime("%Y-%m") for m in months])
    links = [
        list_url(
            "card",
            ("status", FilterEqual, ACTIVE),
            (
                "expiry_date",
                DateBetweenFilter,
                f"{m.isoformat()} to {(_next_month(m) - timedelta(days=1)).isoformat()}",
            ),
        )
        for m in months
    ]
    chart.add(_l("Cards"), [counts[m] for m in months], links)
    return chart


def complaints(session, today: date) -> Chart:
    """Complaints by category, stacked by state."""
    from flask_admin.contrib.sqla.filters import FilterEqual

    from crm.complaints.models import CATEGORIES, STATUSES, Complaint

    rows = session.execute(
        select(Complaint.category, Complaint.status, func.count()).group_by(
            Complaint.category, Complaint.status
        )
    ).all()
    found = {(c, s): n for c, s, n in rows}
    categories = [k for k, _l2 in CATEGORIES]
    categories += sorted({c for c, _s in found} - set(categories))
    labels = dict(CATEGORIES)
    chart = Chart(
        "complaints", "bar", _l("Category"), [labels.get(c, c) for c in categories], stack=True
    )
    for status, label in STATUSES:
        chart.add(
            label,
            [found.get((c, status), 0) for c in categories],
            [
                list_url("complaint", ("category", FilterEqual, c), ("status", FilterEqual, status))
                for c in categories
            ],
        )
    return chart


def commissions(session, today: date) -> Chart:
    """Commission statements' totals by month, the last 12 months."""
    from flask_admin.contrib.sqla.filters import FilterEqual

    from crm.commissions.models import CommissionStatement as S

    months = [m.strftime("%Y-%m") for m in _months_back(today, 12)]
    rows = dict(
        session.execute(
            select(S.month, func.sum(S.total))
            .where(S.month >= months[0], S.month <= months[-1])
            .group_by(S.month)
        ).all()
    )
    chart = Chart("commissions", "bar", _l("Month"), months, money=True)
    chart.add(
        _l("Commissions"),
        [rows.get(m, 0) for m in months],
        [list_url("commission_statement", ("month", FilterEqual, m)) for m in months],
    )
    return chart


# --- archives, users ---------------------------------------------------------------------------
def archive_waiting(session, today: date) -> Chart:
    """Filed documents waiting to be indexed and bound, by archive category."""
    from flask_admin.contrib.sqla.filters import FilterEqual

    from crm.archives import rules
    from crm.archives.models import ArchiveDocument

    rows = dict(
        session.execute(
            select(ArchiveDocument.category, func.count())
            .where(ArchiveDocument.status == rules.FILED)
            .group_by(ArchiveDocument.category)
        ).all()
    )
    cats = _archive_categories()
    keys = [k for k in cats if k in rows] + sorted(set(rows) - set(cats))
    chart = Chart("archive_waiting", "bar", _l("Category"), [cats.get(k, k) for k in keys])
    chart.add(
        _l("Documents"),
        [rows[k] for k in keys],
        [
            list_url(
                "archive_document",
                ("category", FilterEqual, k),
                ("status", FilterEqual, rules.FILED),
            )
            for k in keys
        ],
    )
    return chart


def _archive_categories() -> dict:
    from crm.archives import rules

    return {k: str(v) for k, v in getattr(rules, "CATEGORIES", {}).items()}


def archive_flags(session, today: date) -> Chart:
    """Integrity problems not yet resolved, by kind."""
    from flask_admin.contrib.sqla.filters import FilterEmpty, FilterEqual

    from crm.archives import rules
    from crm.archives.models import ArchiveFlag

    rows = dict(
        session.execute(
            select(ArchiveFlag.kind, func.count())
            .where(ArchiveFlag.resolved_at.is_(None))
            .group_by(ArchiveFlag.kind)
        ).all()
    )
    kinds = list(rules.FLAG_KINDS)
    chart = Chart("archive_flags", "bar", _l("Problem"), [rules.FLAG_KINDS[k] for k in kinds])
    chart.add(
        _l("Open problems"),
        [rows.get(k, 0) for k in kinds],
        [
            list_url("archive_flag", ("kind", FilterEqual, k), ("resolved_at", FilterEmpty, "1"))
            for k in kinds
        ],
    )
    return chart


def users_by_role(session, today: date) -> Chart:
    """Active users by role."""
    from flask_admin.contrib.sqla.filters import FilterEqual

    from crm.auth.models import User

    rows = dict(
        session.execute(
            select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)
        ).all()
    )
    codes = list(access.ROLES)
    chart = Chart("users_by_role", "bar", _l("Role"), [access.ROLES[r] for r in codes])
    chart.add(
        _l("Users"),
        [rows.get(r, 0) for r in codes],
        [list_url("user", ("role", FilterEqual, r), ("active", FilterEqual, "1")) for r in codes],
    )
    return chart


CHARTS = {
    f.__name__: f
    for f in (
        consumption_trend,
        consumption_by_manager,
        credit_use,
        credit_aging,
        top_exposures,
        collections,
        card_expiries,
        complaints,
        commissions,
        archive_waiting,
        archive_flags,
        users_by_role,
    )
}


def allowed(user, name: str) -> bool:
    return name in CHARTS and access.can(user, name, area="home")


def charts_for(user) -> list[str]:
    """The charts of `user`'s home page, in the page's order."""
    return [name for name in CHARTS if allowed(user, name)]


def chart(session, name: str, today: date | None = None) -> Chart:
    return CHARTS[name](session, today or local_today())


# --- today's work (the account manager's tiles) ----------------------------------------------
def today_work(session, user, today: date | None = None) -> list[tuple]:
    """[(label, count, url | None)]: what is due today for the signed-in account manager,
    each count over her scope and a link to the list it counts."""
    from flask_admin.contrib.sqla.filters import DateSmallerFilter, FilterEmpty, FilterEqual

    from crm.admin.credit import OverdueFilter, UtilisationFilter
    from crm.cards.models import MemberCard
    from crm.cards.rules import ACTIVE
    from crm.complaints.models import OPEN, Complaint
    from crm.credit import checks as cs
    from crm.credit import exposure
    from crm.governance.models import PENDING, ChangeRequest
    from crm.intake.models import FirstContact
    from crm.notifications.models import Notification
    from crm.revisits.models import Revisit

    today = today or local_today()

    def count(stmt):
        return session.execute(stmt).scalar() or 0

    n = select(func.count())
    tomorrow = today + timedelta(days=1)
    threshold = str(cs.thresholds()[0]) if cs.thresholds() else "80"
    credit = exposure.totals(session)  # summed hourly: her tens of thousands at 1M
    return [
        (
            _l("Revisits due"),
            count(
                n.select_from(Revisit).where(Revisit.status == "open", Revisit.due_date <= today)
            ),
            list_url(
                "revisit",
                ("status", FilterEqual, "open"),
                ("due_date", DateSmallerFilter, tomorrow.isoformat()),
            ),
        ),
        (
            _l("Greetings due"),
            count(
                n.select_from(Notification).where(
                    Notification.kind == "greeting", Notification.read_at.is_(None)
                )
            ),
            list_url("inbox", ("kind", FilterEqual, "greeting"), ("read_at", FilterEmpty, "1")),
        ),
        (
            _l("Registrations due"),
            count(n.select_from(FirstContact).where(FirstContact.client_id.is_(None))),
            list_url("first_contact", ("client_id", FilterEmpty, "1")),
        ),
        (
            _l("Pending requests"),
            count(n.select_from(ChangeRequest).where(ChangeRequest.status == PENDING)),
            list_url("change_request", ("status", FilterEqual, PENDING)),
        ),
        (
            _l("Customers at %(t)s%% of their limit or more", t=threshold),
            credit.get(exposure.use_measure(threshold), (0, 0))[0],
            list_url("credit_profile", (None, UtilisationFilter, threshold)),
        ),
        (
            _l("Customers with overdue debts"),
            credit.get(exposure.OVERDUE, (0, 0))[0],
            list_url("credit_profile", (None, OverdueFilter, "1")),
        ),
        (
            _l("Cards expiring in 30 days"),
            count(
                n.select_from(MemberCard).where(
                    MemberCard.status == ACTIVE,
                    MemberCard.expiry_date >= today,
                    MemberCard.expiry_date <= today + timedelta(days=30),
                )
            ),
            url_for("card_expiring.index_view"),
        ),
        (
            _l("Open complaints"),
            count(n.select_from(Complaint).where(Complaint.status == OPEN)),
            list_url("complaint", ("status", FilterEqual, OPEN)),
        ),
    ]
