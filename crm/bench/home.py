"""`flask --app wsgi crm bench home`: each role's home page and its chart endpoints (issue 15).

Through the real views with Flask's test client, as crm.bench.screens measures the lists: for
every role, the page itself (today's work, the tiles, the notices; the charts are placeholders
that fetch their figures), then each chart's JSON endpoint, and the whole page as a browser
loads it (the page plus all its charts, one after the other). The account manager is the one
with the largest book; the roles `crm bench-data` does not create (finance, clerk, archivist,
service, admin) get a bench user of their own here. Load the data first:
`flask --app wsgi crm bench-data --clients 50000`.
"""

import os

import click
from flask import current_app
from sqlalchemy import select

from crm import access
from crm.auth.models import User
from crm.auth.passwords import hash_password
from crm.bench import bench, report
from crm.bench.data import PASSWORD
from crm.bench.screens import measure, pick_people, sign_in
from crm.extensions import db
from crm.reports import home


def _bench_users() -> dict:
    """{role: username} for every role, the bench-data people first."""
    people = pick_people()
    found = {
        access.ACCOUNT_MANAGER: people["account manager"][0],
        access.REGIONAL_MANAGER: people["regional manager"][0],
        access.SALES_MANAGER: people["sales manager"][0],
    }
    gm = db.session.scalar(
        select(User.username)
        .where(User.role == access.GENERAL_MANAGER)
        .order_by(User.username.like("scale_%").desc(), User.id)
    )
    if gm:
        found[access.GENERAL_MANAGER] = gm
    for role in [r for r in access.ROLES if r not in found]:  # the roles bench-data has not
        name = f"scale_{role}"
        if db.session.scalar(select(User.id).where(User.username == name)) is None:
            db.session.add(
                User(
                    username=name,
                    full_name=f"{access.ROLES[role]} 基准",
                    role=role,
                    password_hash=hash_password(PASSWORD),
                )
            )
            db.session.commit()
        found[role] = name
    return found


@bench.command("home")
@click.option("--repeat", default=20, show_default=True)
@click.option("--warmup", default=3, show_default=True)
@click.option("--out", default=None, help="Append the figures to this JSON file.")
def home_bench(repeat, warmup, out):
    """Time each role's home page and its chart endpoints through the real views."""
    run(repeat, warmup, out)


def run(repeat: int, warmup: int, out: str | None) -> dict:
    app = current_app._get_current_object()
    app.config["WTF_CSRF_ENABLED"] = False  # this process only signs in its own bench users
    rows, figures = {}, {}
    for role, username in _bench_users().items():
        charts = [n for n in home.CHARTS if role in access.ACTIONS["home"].get(n, ())]
        web = sign_in(app, username)
        urls = {"page": "/admin/"} | {f"chart {n}": f"/admin/chart/{n}.json" for n in charts}
        whole = 0.0
        for case, url in urls.items():
            result = measure(web, url, repeat, warmup)
            whole += result["median_ms"]
            figures[f"{role} | {case}"] = {**result, "url": url}
            rows[f"{role} | {case}"] = (
                f"median {result['median_ms']:6.1f} ms  p95 "
                f"{result['p95_ms']:6.1f} ms  cpu {result['cpu_ms']:5.1f}"
                f" ms  {result['queries']:2d} queries"
            )
        rows[f"{role} | page + {len(charts)} charts (sum of medians)"] = f"{whole:6.1f} ms"
    title = (
        f"home pages: {repeat} runs after {warmup} warm-up ({db.engine.dialect.name}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    report(title, rows, out)
    return figures
