"""`flask --app wsgi crm bench <area>`: measurements on the configured database.

Each area module registers a subcommand on `bench`; results print as a table and are written
to a JSON file so runs can be compared. Measure here, never in the test suite.
"""

import json
import statistics
import time
from pathlib import Path

import click
from flask.cli import AppGroup

bench = AppGroup("bench", help="Measure the product on the configured database.")
# each defines a @bench.command
AREA_MODULES = ["crm.bench.credit", "crm.bench.cards", "crm.bench.archives", "crm.bench.data",
                "crm.bench.screens"]


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
    return {"median_ms": round(statistics.median(samples), 2), "p95_ms": round(p95, 2),
            "runs": repeat}


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
