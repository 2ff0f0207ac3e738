"""`flask --app wsgi crm …` commands. They act as the system and call the domain functions."""

import logging
import sys
import time
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup

from crm.access import ROLES
from crm.errors import DomainError
from crm.extensions import db

logger = logging.getLogger(__name__)

# Commands of crm/bench (1.2k lines, measurement only): imported when one of them is asked for,
# never at app start (the web app and the workers do not need them).
BENCH_COMMANDS = ("bench", "bench-data")


class CrmGroup(AppGroup):
    """`flask crm …`: the commands below, plus crm/bench's loaded on first use."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *BENCH_COMMANDS})

    def get_command(self, ctx, name):
        if name in BENCH_COMMANDS and name not in self.commands:
            _load_bench()
        return super().get_command(ctx, name)


def _load_bench() -> None:
    from crm.bench import bench, load_areas

    load_areas()  # each area module adds its subcommands (crm.bench.data adds `bench-data`)
    if "bench" not in crm_cli.commands:
        crm_cli.add_command(bench)


crm_cli = CrmGroup("crm", help="Customer-archive commands.")


class Progress:
    """What a long command reports to its bar: `advance(n)` as work is done; `to(done, total)`
    when the work knows where it stands (e.g. a chunk of a run); `total` may come late."""

    def __init__(self, bar, unit: str):
        self.bar, self.unit, self.done, self.started = bar, unit, 0, time.perf_counter()

    def rate(self, _item=None) -> str:
        elapsed = time.perf_counter() - self.started
        return f"{self.done:,} {self.unit}, {self.done / elapsed:,.0f}/s" if elapsed > 0 else ""

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.bar.update(n, self.done)

    def to(self, done: int, total: int | None = None) -> None:
        if total:
            self.bar.length = max(int(total), 1)
        self.advance(max(0, int(done) - self.done))


@contextmanager
def progress(label: str, total: int | None = None, unit: str = "items"):
    """A progress bar with the rate for every long command (credit check, card sweep,
    bench-data, backup): on a terminal it redraws in place (share done, count and rate, time
    left); elsewhere click writes the label once and the bar at the end."""
    holder = {}
    with click.progressbar(
        length=max(int(total or 1), 1),
        label=label,
        show_eta=True,
        show_percent=True,
        file=sys.stderr,
        item_show_func=lambda item: holder["p"].rate(item),
    ) as bar:
        holder["p"] = Progress(bar, unit)
        yield holder["p"]


@crm_cli.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(sorted(ROLES)))
@click.option("--region", default=None, help="Region code or name.")
@click.option("--name", "full_name", default="", help="Display name.")
@click.password_option()
def create_user_cmd(username, role, region, full_name, password):
    """Create a user who can sign in."""
    from crm.auth.services import create_user

    try:
        user = create_user(db.session, username, password, role, region, full_name)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    logger.info("crm create-user: user %s created, role %s", user.id, role)
    click.echo(f"created {user.username} ({role})")


@crm_cli.command("seed-demo")
@click.option("--clients", default=240, show_default=True)
@click.option("--password", default="demo-pass-2026", show_default=True)
def seed_demo_cmd(clients, password):
    """Load demo users and customers (skipped when users already exist)."""
    from crm.demo import seed_demo

    summary = seed_demo(db.session, clients, password)
    db.session.commit()
    logger.info("crm seed-demo: %s", summary)
    click.echo(summary)


@crm_cli.command("credit-check")
@click.option("--all", "check_all", is_flag=True, help="Check every customer (the default).")
@click.option("--client", "code", default=None, help="Check one customer, by code.")
def credit_check_cmd(check_all, code):
    """Finance's credit check: thresholds (notifying each crossing once), limits, overdue."""
    from sqlalchemy import select

    from crm.clients.models import Client
    from crm.credit.checks import check_now

    ids = None
    if code:
        ids = db.session.scalars(select(Client.id).where(Client.code == code)).all()
        if not ids:
            raise click.ClickException(f"no customer with code {code}")
    with progress("credit check", unit="customer ids") as bar:
        result = check_now(db.session, ids, on_chunk=bar.to)
    logger.info("crm credit-check: %s", result)
    click.echo(result)


@crm_cli.command("card-sweep")
@click.option("--today", default=None, help="The day to run for (YYYY-MM-DD; default today).")
def card_sweep_cmd(today):
    """The member cards' daily task: expiry reminders and expiries of the day (what beat runs
    each morning; running it again the same day changes and sends nothing)."""
    from datetime import date

    from crm.cards.services import expire_due_cards, send_expiry_reminders
    from crm.timeutil import local_today

    day = date.fromisoformat(today) if today else local_today()
    with progress("card sweep", 2, unit="steps") as bar:
        reminded = send_expiry_reminders(db.session, day)
        bar.advance()
        expired = expire_due_cards(db.session, day)
        bar.advance()
    db.session.commit()
    result = {"reminded": reminded, "expired": expired}
    logger.info("crm card-sweep: %s", result)
    click.echo(result)


@crm_cli.command("rotate-field-key")
@click.option("--chunk-size", default=500, show_default=True, help="Rows a transaction.")
def rotate_field_key_cmd(chunk_size):
    """Re-encrypt every stored ID number with the newest key of CRM_FIELD_ENCRYPTION_KEY."""
    from crm.clients.services import rotate_id_number_key

    totals = rotate_id_number_key(db.session, chunk_size, echo=click.echo)
    click.echo(
        f"re-encrypted {totals['rotated']}, already on the newest key "
        f"{totals['current']}, unreadable with every key {totals['unreadable']}"
    )
    if totals["unreadable"]:
        raise click.ClickException(
            "these customers' ID numbers no key reads (ids): "
            + ", ".join(map(str, totals["unreadable_ids"][:50]))
        )


@crm_cli.command("backup")
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder to write (new or empty); default instance/backups/crm-<time>.",
)
def backup_cmd(out):
    """Back up the database and the archive files, with a manifest of SHA-256 sums (R17)."""
    from datetime import UTC, datetime
    from pathlib import Path

    from flask import current_app

    from crm.backup import BackupError, backup

    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = Path(current_app.instance_path) / "backups" / f"crm-{stamp}"
    try:
        with progress("archive files", unit="files") as bar:
            backup(Path(out), click.echo, on_file=bar.to)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {out}")


@crm_cli.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
def restore_cmd(folder):
    """Restore a backup into this EMPTY instance, after checking its manifest."""
    from pathlib import Path

    from crm.backup import BackupError, restore

    try:
        restore(Path(folder), click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored from {folder}")


review_cli = AppGroup("review", help="The regular reviews (R7): consumption and analyses.")
crm_cli.add_command(review_cli)


@review_cli.command("rebuild-consumption")
@click.option("--since", default=None, help="First month to rebuild (YYYY-MM); default all.")
def review_rebuild_cmd(since):
    """Recompute consumption per customer and month from the sales and card uses, and the
    rollups; safe to run again."""
    from crm.reviews import consumption

    try:
        since_month = consumption.Period.parse(since).start if since else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = consumption.rebuild(db.session, since_month)
    db.session.commit()
    logger.info("crm review rebuild-consumption: %s rows", rows)
    click.echo(
        f"consumption rebuilt: {rows} customer-month rows" + (f" from {since}" if since else "")
    )


def _review(kind: str, period_text: str | None, run):
    from crm.reviews import runs

    try:
        period = runs.period_for(kind, period_text)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        result = run(period)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    logger.info("crm review %s: %s", kind, result)
    click.echo(" ".join(f"{k}={v}" for k, v in result.items()))


@review_cli.command("monthly")
@click.option("--period", default=None, help="Month (YYYY-MM); default this month.")
def review_monthly_cmd(period):
    """Make the month's watch list (what beat makes on the 1st); a second run adds nobody."""
    from crm.reviews import runs

    _review("month", period, lambda p: runs.monthly(db.session, p))


@review_cli.command("quarterly")
@click.option("--period", default=None, help="Quarter (e.g. 2026Q1); default the last one.")
def review_quarterly_cmd(period):
    """Analyse a quarter and propose reclassifications; a second run proposes nothing new."""
    from crm.reviews import runs

    _review("quarter", period, lambda p: runs.quarterly_run(db.session, p))


@review_cli.command("half-year")
@click.option("--period", default=None, help="Half-year (e.g. 2026H1); default the last one.")
def review_half_year_cmd(period):
    """Refresh a half-year's consumption rollups and print its analysis' headline."""
    from crm.reviews import runs

    _review("half-year", period, lambda p: runs.analysis_run(db.session, "half-year", p))


@review_cli.command("year")
@click.option("--period", default=None, help="Year (e.g. 2026); default the last one.")
def review_year_cmd(period):
    """Refresh a year's consumption rollups and print its analysis' headline."""
    from crm.reviews import runs

    _review("year", period, lambda p: runs.analysis_run(db.session, "year", p))


def register_cli(app: Flask) -> None:
    app.cli.add_command(crm_cli)
