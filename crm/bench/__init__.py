"""`flask --app wsgi crm bench`: measurements on the configured database.

`crm bench` alone measures everything over the data set of `crm bench-data`: the customer list
and card as three roles, each role's home page and its charts (crm/bench/home.py), the credit
check of all customers against a per-customer loop, the member-card daily task against a
per-card loop, archive indexing, and the quarterly consumption analysis of all customers
against a per-customer loop (crm/bench/reviews.py). Each area module also registers a
subcommand (`crm bench screens|home|credit|cards|archives|reviews`). Results print as a table
and are written to a JSON file so runs can be compared. Measure here, never in the test suite.
"""

import json
import statistics
import time
from pathlib import Path

import click
from flask.cli import AppGroup


@click.group("bench", cls=AppGroup, invoke_without_command=True)
@click.option("--repeat", default=20, show_default=True, help="Timed runs of each screen.")
@click.option("--warmup", default=3, show_default=True)
@click.option(
    "--sample",
    default=2000,
    show_default=True,
    help="Customers (and cards) run through the naive loops, scaled to all.",
)
@click.option(
    "--index-docs",
    default=300,
    show_default=True,
    help="Waiting archive scans the indexing measurement binds (they stay bound).",
)
@click.option(
    "--out",
    default="bench-results.json",
    show_default=True,
    help="The JSON file the figures are added to.",
)
@click.pass_context
def bench(ctx, repeat, warmup, sample, index_docs, out):
    """Measure the product on the configured database (alone: every measurement)."""
    if ctx.invoked_subcommand is not None:
        return
    from crm.bench import archives, cards, credit, home, reviews, screens

    started = time.perf_counter()
    screens.run(repeat, warmup, stock=False, out=out)
    home.run(repeat, warmup, out=out)
    credit.run(sample, repeat=3, out=out)
    cards.run(repeat=3, sample=sample, out=out)
    archives.index_waiting(index_docs, workers=1, out=out)
    reviews.run(sample, repeat=3, out=out)
    click.echo(f"\nall measurements in {time.perf_counter() - started:.0f} s")


# each defines a @bench.command
AREA_MODULES = [
    "crm.bench.credit",
    "crm.bench.cards",
    "crm.bench.archives",
    "crm.bench.data",
    "crm.bench.screens",
    "crm.bench.reviews",
    "crm.bench.home",
    "crm.bench.load",
]


def timed(fn, repeat: int = 5, warmup: int = 1) -> dict:
    """Median and 95th percentile in ms over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(p95, 2),
        "runs": repeat,
    }


def report(title: str, rows: dict, out: str | None) -> None:
    click.echo(f"\n{title}")
    width = max(len(k) for k in rows) if rows else 10
    for name, value in rows.items():
        click.echo(f"  {name:<{width}}  {value}")
    if out:
        path = Path(out)
        previous = json.loads(path.read_text()) if path.exists() else {}
        previous[title] = rows
        path.write_text(json.dumps(previous, indent=2, ensure_ascii=False, default=str))
        click.echo(f"  (written to {path})")


def load_areas() -> None:
    import importlib

    for name in AREA_MODULES:
        importlib.import_module(name)
