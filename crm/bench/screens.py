"""`flask --app wsgi crm bench screens`: the customer list and card as staff see them.

Each request goes through the real Flask-Admin view with Flask's test client, templates
included, as an account manager (the largest book), their regional manager and the sales
manager: the first page, page 500, the page at offset 800,000, sorted by name, filtered by
level, searched by name (and by its first two and first character, which trigrams cannot
serve) and by phone, and a customer's card page with its contracts, ledger, contact log and
history; and every list of a customer's records (contracts, ledger, cards, …) filtered by the
customer's name, where the role may open it. Every request starts with an
empty session, as a real request does. Figures are the median and 95th percentile over
`--repeat` runs after a warm-up, with this process's CPU time and the SQL statements of a
request (on a busy machine the CPU time is the steadier figure). `--stock` measures the same
list requests again with Flask-Admin's own count and paging (BoundedListMixin switched off),
for comparison.

Load the data first: `flask --app wsgi crm bench-data --clients 1000000`.
"""

import json
import os
import time
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import event, func, select

from crm import access
from crm.auth.models import User
from crm.bench import bench, report, timed
from crm.bench.data import PASSWORD
from crm.clients.models import Client, ContactLog
from crm.credit.models import CreditBalance
from crm.extensions import db

LIST = "/admin/client/"
CARD = "/admin/client/details/?id={id}"


class QueryCounter:
    """Counts the SQL statements sent to the database while active."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _count(self, *_args):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def pick_people() -> dict:
    """The account manager with the most customers, their regional manager, a sales manager."""
    owner_id = db.session.execute(
        select(Client.owner_id)
        .where(Client.owner_id.is_not(None), Client.deleted_at.is_(None))
        .group_by(Client.owner_id)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar()
    if owner_id is None:
        raise click.ClickException("no customers: run `flask --app wsgi crm bench-data` first")
    am = db.session.get(User, owner_id)
    rm = db.session.scalar(
        select(User)
        .where(User.role == access.REGIONAL_MANAGER, User.region_id == am.region_id)
        .order_by(User.id)
    )
    sm = db.session.scalar(
        select(User)
        .where(User.role == access.SALES_MANAGER)
        .order_by(User.username.like("scale_%").desc(), User.id)
    )
    # plain names: the requests below commit and clear the shared session
    return {
        "account manager": (am.username, am.id),
        "regional manager": (rm.username, rm.id),
        "sales manager": (sm.username, sm.id),
    }


def sample_customer(owner_id: int) -> Client:
    """The owner's customer in business with the longest contact log (ties: the newest)."""
    cid = db.session.execute(
        select(ContactLog.client_id)
        .join(Client, Client.id == ContactLog.client_id)
        .join(CreditBalance, CreditBalance.client_id == Client.id)
        .where(
            Client.owner_id == owner_id,
            Client.deleted_at.is_(None),
            Client.kind == "organisation",
            Client.mobile.is_not(None),
        )
        .group_by(ContactLog.client_id)
        .order_by(func.count().desc(), ContactLog.client_id.desc())
        .limit(1)
    ).scalar()
    return db.session.get(Client, cid)


def list_cases(name_term: str, phone_term: str) -> dict:
    return {
        "list: first page": LIST,
        "list: page 500": f"{LIST}?page=499",
        # issue 17: the deep page, 20 rows at offset 800,000 (past the end of a smaller book)
        "list: offset 800,000": f"{LIST}?page=40000",
        "list: sorted by name": f"{LIST}?sort=1",
        "list: filtered by level A": f"{LIST}?flt0_0=A",
        "list: searched by name": f"{LIST}?search={name_term}",
        "list: searched by 2 characters": f"{LIST}?search={name_term[:2]}",
        "list: searched by 1 character": f"{LIST}?search={name_term[:1]}",
        "list: searched by phone": f"{LIST}?search={phone_term}",
    }


def record_cases(app, name_term: str) -> dict:
    """Each list of a customer's records filtered by the customer's name (issue 14: these
    filters must keep the list targets): one case per list that has the customer filter."""
    from crm.admin.formatters import CustomerFilter, filter_url

    endpoints = [
        view.endpoint
        for admin in app.extensions.get("admin", [])
        for view in admin._views
        if any(isinstance(f, CustomerFilter) for f in getattr(view, "_filters", None) or ())
    ]
    with app.test_request_context():
        return {
            f"{endpoint}: filtered by customer name": filter_url(
                endpoint, CustomerFilter, name_term
            )
            for endpoint in endpoints
        }


def sign_in(app, username: str):
    web = app.test_client()
    response = web.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise click.ClickException(
            f"cannot sign in as {username} (the bench-data users' password is {PASSWORD})"
        )
    return web


def measure(web, url: str, repeat: int, warmup: int, profile: int = 0) -> dict | None:
    """The figures of `url`, None when this role may not open that list at all (403)."""
    counter = QueryCounter(db.engine)
    db.session.remove()
    if web.get(url).status_code == 403:
        return None

    def get():
        db.session.remove()  # every request starts from an empty session, as in production
        with counter:
            response = web.get(url)
        if response.status_code != 200:
            raise click.ClickException(f"{url}: HTTP {response.status_code}")
        get.size = len(response.data)

    start = time.process_time()
    figures = timed(get, repeat=repeat, warmup=warmup)
    # this process's own CPU time a request: what the page costs in Python, whatever the load
    cpu = (time.process_time() - start) * 1000 / (repeat + warmup)
    if profile:
        from crm.bench.profile import profile_requests

        figures["profile"] = profile_requests(get, runs=profile)
    return {
        **figures,
        "cpu_ms": round(cpu, 1),
        "queries": counter.count,
        "kb": round(get.size / 1024),
    }


@bench.command("screens")
@click.option("--repeat", default=20, show_default=True)
@click.option("--warmup", default=3, show_default=True)
@click.option(
    "--stock",
    is_flag=True,
    help="Also measure the lists with Flask-Admin's own count and OFFSET paging.",
)
@click.option("--out", default=None, help="Append the figures to this JSON file.")
@click.option(
    "--profile",
    "profile",
    is_flag=True,
    help="Also profile each case (cProfile) and print its top cumulative functions.",
)
@click.option(
    "--profile-runs",
    default=5,
    show_default=True,
    help="Requests profiled per case with --profile.",
)
@click.option(
    "--case",
    "only",
    default=None,
    help="Only the cases whose name contains this text (e.g. 'first page', 'card').",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["account manager", "regional manager", "sales manager"]),
    help="Only these roles (repeatable).",
)
def screens_bench(repeat, warmup, stock, out, profile, profile_runs, only, roles):
    """Time the customer list and card pages through the real views, per role."""
    run(repeat, warmup, stock, out, profile=profile_runs if profile else 0, only=only, roles=roles)


def run(
    repeat: int,
    warmup: int,
    stock: bool,
    out: str | None,
    profile: int = 0,
    only: str | None = None,
    roles=(),
) -> dict:
    from crm.admin.clients import ClientView

    app = current_app._get_current_object()
    app.config["WTF_CSRF_ENABLED"] = False  # this process only signs in its own bench users
    people = pick_people()
    card = sample_customer(people["account manager"][1])
    card_url = CARD.format(id=card.id)
    cases = list_cases(card.short_name or card.name[:4], card.mobile[-8:])
    total = db.session.scalar(
        select(func.count()).select_from(Client).where(Client.deleted_at.is_(None))
    )
    records = record_cases(app, card.short_name or card.name[:4])
    rows, figures = {}, {}
    for role, (username, _id) in people.items():
        if roles and role not in roles:
            continue
        web = sign_in(app, username)
        runs = {**cases, "card page (contracts, ledger, contact log, history)": card_url, **records}
        for case, url in runs.items():
            if only and only not in case:
                continue
            result = measure(web, url, repeat, warmup, profile)
            if result is None:
                continue
            if profile:
                click.echo(f"\nprofile: {role} | {case}\n{result.pop('profile')}")
            figures[f"{role} | {case}"] = {**result, "url": url}
            rows[f"{role} | {case}"] = (
                f"median {result['median_ms']:6.1f} ms  p95 "
                f"{result['p95_ms']:6.1f} ms  cpu {result['cpu_ms']:5.1f}"
                f" ms  {result['queries']:2d} queries  {result['kb']} KB"
            )
        if stock:
            ClientView.bounded_list = False
            try:
                for case, url in cases.items():
                    result = measure(web, url, max(3, repeat // 4), 1)
                    figures[f"{role} | stock {case}"] = {**result, "url": url}
                    rows[f"{role} | stock {case}"] = (
                        f"median {result['median_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms"
                        f"  {result['queries']:2d} queries"
                    )
            finally:
                ClientView.bounded_list = True
    title = (
        f"screens: {total} live customers, {repeat} runs after {warmup} warm-up "
        f"({db.engine.dialect.name}; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores)"
    )
    report(title, rows, None)
    if out:  # the figures themselves, as crm.bench.report files them
        path = Path(out)
        previous = json.loads(path.read_text()) if path.exists() else {}
        previous[title] = figures
        path.write_text(json.dumps(previous, indent=2, ensure_ascii=False))
        click.echo(f"  (written to {path})")
    return figures
