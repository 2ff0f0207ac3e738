"""`flask --app wsgi crm bench cards`: the member-card daily expiry-and-reminder task.

On the cards of `crm bench-data`: yesterday's run is done first (the first time, it sends the
whole reminder backlog of the generated cards), then today's run — set-based, as in production
— is timed against the same day done card by card through the ORM, run on a sample of the
day's cards and scaled to all of them. Each timed run is rolled back, so re-runs of the command
measure the same day.
"""

import random
import time
from datetime import timedelta

import click
from sqlalchemy import func, select

from crm.auth.models import User
from crm.bench import bench, report, timed
from crm.cards import rules, services
from crm.cards.models import MemberCard
from crm.extensions import db
from crm.notifications.services import Target, notify
from crm.timeutil import local_today


def _day_windows(today):
    """(reminder days or None for the expiry, condition) of each part of the day's work."""
    lower, parts = 0, []
    for days in services.reminder_days():
        parts.append(
            (
                days,
                (
                    MemberCard.status == rules.ACTIVE,
                    MemberCard.expiry_date >= today + timedelta(days=lower),
                    MemberCard.expiry_date <= today + timedelta(days=days),
                ),
            )
        )
        lower = days + 1
    parts.append((None, (MemberCard.status == rules.ACTIVE, MemberCard.expiry_date < today)))
    return parts


def naive_daily(session, today, share: float, rng: random.Random) -> dict:
    """The same day card by card through the ORM — what the set-based statements replace —
    on a random `share` of the cards it visits."""
    reminded = expired = visited = 0
    for days, window in _day_windows(today):
        ids = session.scalars(select(MemberCard.id).where(*window)).all()
        picked = rng.sample(ids, round(len(ids) * share)) if share < 1 else ids
        for card in session.scalars(select(MemberCard).where(MemberCard.id.in_(picked))):
            visited += 1
            if days is None:
                services.expire_card(session, card, today)
                expired += 1
                continue
            holder = card.client
            if holder.deleted_at is not None:
                continue
            owner = session.get(User, holder.owner_id) if holder.owner_id else None
            key = f"card:{card.id}:expiry:{card.expiry_date}:{days}"  # the set-based run's key
            reminded += notify(
                session,
                [owner] if owner else [],
                key,
                "card_expiry",
                f"Member card expires within {days} days",
                f"Card {card.number}, {holder.name}, expiry date {card.expiry_date}",
                client_id=holder.id,
                target=Target("card.details_view", card.id),
                addresses=[holder.email] if holder.email else [],
            )
    session.flush()
    return {"reminded": reminded, "expired": expired, "visited": visited}


def _rolled_back(fn):
    def run():
        try:
            return fn()
        finally:
            db.session.rollback()

    return run


def run(repeat: int, sample: int, out: str | None) -> dict:
    total = db.session.scalar(select(func.count()).select_from(MemberCard))
    if not total:
        raise click.ClickException("no member cards: load them with `crm bench-data` first")
    today = local_today()
    start = time.perf_counter()
    yesterday = services.run_daily(db.session, today - timedelta(days=1))
    db.session.commit()
    backlog_s = time.perf_counter() - start
    day_cards = sum(
        db.session.scalar(select(func.count()).select_from(MemberCard).where(*w))
        for _d, w in _day_windows(today)
    )
    share = min(1.0, sample / max(day_cards, 1))
    results = {}

    def set_based():
        results["set"] = services.run_daily(db.session, today)

    def set_based_twice():
        services.run_daily(db.session, today)
        start = time.perf_counter()
        results["again"] = services.run_daily(db.session, today)
        results["again_ms"] = (time.perf_counter() - start) * 1000

    def naive():
        results["naive"] = naive_daily(db.session, today, share, random.Random(15))

    fast = timed(_rolled_back(set_based), repeat=repeat, warmup=1)
    _rolled_back(set_based_twice)()
    slow = timed(_rolled_back(naive), repeat=1, warmup=0)
    scaled_ms = slow["median_ms"] / max(results["naive"]["visited"], 1) * day_cards
    figures = {
        "yesterday's run first (the backlog, committed)": f"{backlog_s:.1f} s, {yesterday}",
        "day's work (set-based)": results["set"],
        "set-based daily run, median": f"{fast['median_ms']:.0f} ms",
        "set-based daily run, p95": f"{fast['p95_ms']:.0f} ms",
        "re-run of the same day (sends nothing)": f"{results['again_ms']:.0f} ms, "
        f"{results['again']}",
        f"per-card ORM loop over {results['naive']['visited']} of the day's {day_cards} "
        "cards": f"{slow['median_ms']:.0f} ms",
        "per-card ORM loop, scaled to the whole day"
        + ("" if share >= 1 else " (not run whole)"): f"{scaled_ms / 1000:.1f} s",
        "ratio (loop ÷ set-based)": f"{scaled_ms / max(fast['median_ms'], 0.01):.0f}×",
    }
    report(f"cards daily task: {total} cards ({db.session.get_bind().dialect.name})", figures, out)
    return figures


@bench.command("cards")
@click.option("--repeat", default=3, show_default=True)
@click.option(
    "--sample",
    default=2000,
    show_default=True,
    help="Cards of the day's work run through the per-card loop; scaled up.",
)
@click.option("--out", default=None, help="Append the figures to this JSON file.")
def cards_bench(repeat, sample, out):
    """Time the daily expiry-and-reminder task, set-based, against a per-card ORM loop."""
    run(repeat, sample, out)
