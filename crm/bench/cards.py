"""`flask --app wsgi crm bench cards --cards N`.

Generates member cards (bulk inserts: COPY on PostgreSQL) with expiry dates spread over the
coming year, sends the backlog of reminders once (yesterday's run), then times today's daily
expiry-and-reminder run — set-based as in production — against the same day done card by card
through the ORM. Each timed run is rolled back, so re-runs of the command measure the same day.
Use a database of its own: the data stays for re-runs.
"""

import random
import time
from datetime import timedelta
from decimal import Decimal

import click
from sqlalchemy import func, select, text

from crm import access
from crm.auth.models import User
from crm.bench import bench, report, timed
from crm.bench.credit import _bulk
from crm.cards import rules, services
from crm.cards.models import CardType, MemberCard
from crm.clients.models import Client
from crm.extensions import db
from crm.notifications.services import notify
from crm.sequences import next_value
from crm.timeutil import local_today, utcnow

PREFIX = "BK"
MANAGERS = 20
CARDS_PER_HOLDER = 4


def _types() -> list[CardType]:
    types = db.session.scalars(select(CardType).order_by(CardType.id)).all()
    if not types:
        from crm.cards.demo import TYPES

        for code, name, rate, privileges, issue, renewal, replacement, months in TYPES:
            types.append(services.save_card_type(db.session, CardType(
                code=code, name=name, discount_rate=Decimal(rate), privileges=privileges,
                issue_fee=Decimal(issue), renewal_fee=Decimal(renewal),
                replacement_fee=Decimal(replacement), validity_months=months)))
        db.session.flush()
    return types


def _managers() -> list[int]:
    ids = db.session.scalars(select(User.id).where(User.username.like("bench_card_am%"))).all()
    if not ids:
        from crm.auth.models import Region
        from crm.auth.services import create_user

        if not db.session.scalar(select(Region.id).where(Region.code == "BENCH")):
            db.session.add(Region(code="BENCH", name="基准大区"))
            db.session.flush()
        ids = [create_user(db.session, f"bench_card_am{i}", "bench-pass-2026",
                           access.ACCOUNT_MANAGER, "BENCH", f"基准客户经理{i}").id
               for i in range(MANAGERS)]
        db.session.execute(User.__table__.update().where(User.id.in_(ids))
                           .values(email=User.username + "@example.com"))
    return ids


def _generate(n_cards: int, rng: random.Random) -> dict:
    """Active cards expiring evenly from yesterday to a year on (one day's worth due each day),
    and a tenth in the other statuses; a holder in four has an e-mail address."""
    now, today = utcnow(), local_today()
    types, managers = _types(), _managers()
    start = db.session.scalar(select(func.count()).select_from(Client)
                              .where(Client.code.like(f"{PREFIX}%")))
    n_holders = -(-n_cards // CARDS_PER_HOLDER)
    _bulk(Client.__table__, ["code", "name", "kind", "level", "stage", "nature", "weight",
                             "owner_id", "email", "created_at", "updated_at", "version"],
          ((f"{PREFIX}{i:08d}", f"基准持卡客户{i}", "organisation", "B", "active", "ordinary",
            "general", managers[i % len(managers)],
            f"holder{i}@example.com" if i % 4 == 0 else None, now, now, 1)
           for i in range(start, start + n_holders)))
    holders = db.session.scalars(select(Client.id).where(Client.code.like(f"{PREFIX}%"))
                                 .order_by(Client.id).offset(start)).all()
    first = next_value(db.session, "card_number", n_cards)
    others = [rules.EXPIRED, rules.CANCELLED, rules.LOST, rules.REPLACED, rules.RENEWED]

    def rows():
        for k in range(n_cards):
            card_type = types[k % len(types)]
            expiry = today + timedelta(days=rng.randrange(-1, 365))
            status = rules.ACTIVE if k % 10 else others[(k // 10) % len(others)]
            if status == rules.EXPIRED:
                expiry = today - timedelta(days=rng.randrange(1, 365))
            issued = rules.add_months(expiry, -card_type.validity_months)
            yield (rules.make_number(first + k), holders[k // CARDS_PER_HOLDER], card_type.id,
                   issued, expiry, status, now)

    _bulk(MemberCard.__table__, ["number", "client_id", "card_type_id", "issue_date",
                                 "expiry_date", "status", "created_at"], rows())
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("clients", "member_cards", "notifications", "outbox_mail"):
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    return {"holders": len(holders), "cards": n_cards}


def naive_daily(session, today) -> dict:
    """The same day card by card through the ORM: what the set-based statements replace."""
    reminded, lower = 0, 0
    for days in services.reminder_days():
        cards = session.scalars(select(MemberCard).where(
            MemberCard.status == rules.ACTIVE,
            MemberCard.expiry_date >= today + timedelta(days=lower),
            MemberCard.expiry_date <= today + timedelta(days=days))).all()
        for card in cards:
            holder = card.client
            if holder.deleted_at is not None:
                continue
            owner = session.get(User, holder.owner_id) if holder.owner_id else None
            reminded += notify(
                session, [owner] if owner else [], f"card:{card.id}:expiry:{days}",
                "card_expiry", f"Member card expires within {days} days",
                f"Card {card.number}, {holder.name}, expiry date {card.expiry_date}",
                client_id=holder.id, link=f"/admin/card/details/?id={card.id}",
                addresses=[holder.email] if holder.email else [])
        lower = days + 1
    expired = 0
    for card in session.scalars(select(MemberCard).where(MemberCard.status == rules.ACTIVE,
                                                         MemberCard.expiry_date < today)):
        services.expire_card(session, card, today)
        expired += 1
    session.flush()
    return {"reminded": reminded, "expired": expired}


def _rolled_back(fn):
    def run():
        try:
            return fn()
        finally:
            db.session.rollback()
    return run


@bench.command("cards")
@click.option("--cards", "n_cards", default=100000, show_default=True)
@click.option("--repeat", default=3, show_default=True)
@click.option("--out", default=None, help="Append the figures to this JSON file.")
def cards_bench(n_cards, repeat, out):
    """Time the daily expiry-and-reminder task, set-based, against a per-card ORM loop."""
    rng = random.Random(15)
    present = db.session.scalar(select(func.count()).select_from(MemberCard))
    today = local_today()
    if present < n_cards:
        start = time.perf_counter()
        made = _generate(n_cards - present, rng)
        click.echo(f"generated {made} in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        backlog = services.run_daily(db.session, today - timedelta(days=1))
        db.session.commit()
        click.echo(f"yesterday's run (the whole reminder backlog): {backlog} in "
                   f"{time.perf_counter() - start:.1f} s")
    total = db.session.scalar(select(func.count()).select_from(MemberCard))
    results = {}

    def set_based():
        results["set"] = services.run_daily(db.session, today)

    def set_based_twice():
        services.run_daily(db.session, today)
        start = time.perf_counter()
        results["again"] = services.run_daily(db.session, today)
        results["again_ms"] = (time.perf_counter() - start) * 1000

    def naive():
        results["naive"] = naive_daily(db.session, today)

    fast = timed(_rolled_back(set_based), repeat=repeat, warmup=1)
    _rolled_back(set_based_twice)()
    slow = timed(_rolled_back(naive), repeat=1, warmup=0)
    report(f"cards daily task: {total} cards ({db.session.get_bind().dialect.name})", {
        "day's work (set-based)": results["set"],
        "day's work (per-card loop)": results["naive"],
        "set-based daily run (median)": f"{fast['median_ms']:.0f} ms",
        "set-based daily run (p95)": f"{fast['p95_ms']:.0f} ms",
        "re-run of the same day (sends nothing)": f"{results['again_ms']:.0f} ms, "
        f"{results['again']}",
        "per-card ORM loop, same day": f"{slow['median_ms']:.0f} ms",
        "ratio (loop ÷ set-based)": f"{slow['median_ms'] / max(fast['median_ms'], 0.01):.1f}×",
    }, out)
