"""Issue 8: `crm bench-data` loads a consistent archive with its business, and `crm bench`
measures every area over it and files the figures as JSON (small N here; no timings are
asserted, only that each measurement ran on the data and reported)."""

import json
import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from crm.archives import rules as archive_rules
from crm.archives.models import ArchiveDocument
from crm.bench import business
from crm.cards import rules as card_rules
from crm.cards.models import MemberCard
from crm.clients.models import Client
from crm.contracts.models import Contract
from crm.credit import ledger
from crm.credit.models import CreditBalance, CreditProfile, LedgerEntry, OpenItem
from crm.extensions import db

N = 400


@pytest.fixture
def loaded(app, ctx):
    result = app.test_cli_runner().invoke(
        args=["crm", "bench-data", "--clients", str(N), "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _signing_ids() -> set[int]:
    return set(db.session.scalars(select(Client.id).where(Client.stage.in_(business.IN_BUSINESS))))


def test_bench_data_gives_every_customer_in_business_contracts_credit_and_cards(loaded):
    assert db.session.scalar(select(func.count()).select_from(Client)) == N
    signing = _signing_ids()
    assert 0.7 * N < len(signing) < N  # most customers are in business, some are prospects
    contracts = db.session.execute(select(Contract.client_id, Contract.seq)).all()
    per_client = Counter(cid for cid, _seq in contracts)
    assert set(per_client) == signing and set(per_client.values()) <= {1, 2, 3}
    for cid, count in per_client.items():
        assert sorted(s for c, s in contracts if c == cid) == list(range(1, count + 1))
    assert set(db.session.scalars(select(CreditProfile.client_id))) == signing
    rows = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    assert 10 * len(signing) < rows < 14 * len(signing)  # "about ten rows" a customer
    holders = Counter(db.session.scalars(select(MemberCard.client_id)))
    assert set(holders) == signing and set(holders.values()) <= {1, 2}
    numbers = db.session.scalars(select(MemberCard.number)).all()
    assert all(card_rules.check_number(n) is None for n in numbers)


def test_bench_data_ledger_agrees_with_balances_and_open_items(loaded):
    assert ledger.reconcile_balances(db.session) == []
    open_sum = dict(
        db.session.execute(
            select(OpenItem.client_id, func.sum(OpenItem.open_amount)).group_by(OpenItem.client_id)
        ).all()
    )
    for cid, outstanding in db.session.execute(
        select(CreditBalance.client_id, CreditBalance.outstanding)
    ):
        assert open_sum.get(cid, 0) == outstanding


def test_bench_data_files_scans_waiting_for_indexing_with_their_files(loaded):
    docs = db.session.scalars(select(ArchiveDocument)).all()
    assert docs and all(d.status == archive_rules.FILED and d.archive_no is None for d in docs)
    root = Path(current_app.config["ARCHIVE_ROOT"])
    assert all((root / d.incoming_path).stat().st_size >= 2048 for d in docs)


def test_a_customers_ledger_is_the_same_for_the_same_seed_and_consistent():
    today, now = date(2026, 11, 25), datetime(2026, 11, 25, 8)
    first = business.customer_ledger(random.Random(3), 9, 100, today, now)
    again = business.customer_ledger(random.Random(3), 9, 100, today, now)
    assert first == again
    charges = {e[0]: e[6] for e in first.entries if e[2] == "charge"}
    paid = {a[2] for a in first.allocations}
    assert {o[0] for o in first.open_items} == set(charges) - paid
    assert first.balance[1] == sum(charges[i] for i in set(charges) - paid)
    assert [e[0] for e in first.entries] == list(range(100, 100 + len(first.entries)))
    assert all(e[4] <= today for e in first.entries)
    assert all(o[4] == o[3] + timedelta(days=first.profile[3]) for o in first.open_items)


def test_bench_data_adds_a_year_of_consumption(loaded):
    from crm.cards.models import CardUse
    from crm.commissions.models import SalesRecord
    from crm.reviews import consumption
    from crm.reviews.models import ConsumptionMonth, ConsumptionRollup

    sales = db.session.scalar(select(func.count()).select_from(SalesRecord))
    uses = db.session.scalar(select(func.count()).select_from(CardUse))
    assert sales > N and uses > 0 and "consumption_months" in loaded
    buyers = set(db.session.scalars(select(SalesRecord.client_id).distinct()))
    assert buyers <= _signing_ids()
    maintained = db.session.execute(
        select(
            ConsumptionMonth.client_id,
            ConsumptionMonth.month,
            ConsumptionMonth.kind,
            ConsumptionMonth.amount,
        ).order_by(ConsumptionMonth.id)
    ).all()
    rolled = db.session.scalar(
        select(func.sum(ConsumptionRollup.amount)).where(ConsumptionRollup.kind == consumption.ALL)
    )
    assert rolled == sum(row.amount for row in maintained)
    consumption.rebuild(db.session)
    again = db.session.execute(
        select(
            ConsumptionMonth.client_id,
            ConsumptionMonth.month,
            ConsumptionMonth.kind,
            ConsumptionMonth.amount,
        ).order_by(ConsumptionMonth.id)
    ).all()
    assert sorted(again) == sorted(maintained)


def test_bench_measures_every_area_and_files_the_figures(app, loaded, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # the bench turns it off
    out = tmp_path / "bench.json"
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "bench",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--sample",
            "20",
            "--index-docs",
            "4",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    titles = list(figures)
    indexing = f"archive indexing of waiting scans ({db.engine.dialect.name})"
    assert [t.split(":")[0] for t in titles] == [
        "screens",
        "home pages",
        "credit check",
        "cards daily task",
        indexing,
        titles[5].split(":")[0],
    ]
    assert titles[5].startswith("quarterly analysis ")
    reviews = figures[titles[5]]
    assert reviews["proposals it makes"] > 0 and "not run whole" in " ".join(reviews)
    home = figures[titles[1]]
    assert {k.split(" | ")[0] for k in home} >= {"account_manager", "sales_manager", "finance"}
    screens = figures[titles[0]]
    for role in ("account manager", "regional manager", "sales manager"):
        cases = [k for k in screens if k.startswith(role + " |")]
        # 9 list requests (the deep page at offset 800,000 too) and the card page, then the
        # lists of a customer's records filtered by its name (contracts and the contact log at
        # least; the others as the role may)
        assert len([k for k in cases if "filtered by customer name" not in k]) == 10
        assert f"{role} | list: offset 800,000" in cases
        assert {
            f"{role} | contract: filtered by customer name",
            f"{role} | contactlog: filtered by customer name",
        } <= set(cases)
        assert all(screens[k]["queries"] > 0 and screens[k]["median_ms"] > 0 for k in cases)
    credit = figures[titles[2]]
    assert credit["result"]["customers"] == db.session.scalar(
        select(func.count()).select_from(CreditBalance).where(CreditBalance.outstanding != 0)
    )
    assert "not run whole" in " ".join(credit)  # the loop ran on a sample and was scaled
    indexed = db.session.scalars(
        select(ArchiveDocument).where(ArchiveDocument.status == archive_rules.ARCHIVED)
    ).all()
    assert len(indexed) == 4 and all(d.archive_no and d.storage_path for d in indexed)
    assert figures[titles[4]]["documents bound"] == 4


def test_bench_data_history_only_gives_loaded_customers_their_year_once(app, loaded):
    """A bench database loaded before the reviews (no sales) gains a year of sales and card
    uses for the customers in business, and consumption rebuilt from them; a second run is
    refused and adds nothing."""
    from crm.cards.models import CardUse
    from crm.commissions.models import SalesRecord
    from crm.reviews.models import ConsumptionMonth

    for model in (CardUse, SalesRecord, ConsumptionMonth):
        db.session.execute(model.__table__.delete())
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "bench-data", "--history-only", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Client)) == N  # none added
    buyers = set(db.session.scalars(select(SalesRecord.client_id).distinct()))
    assert len(buyers) > N // 4 and buyers <= _signing_ids()
    sales = db.session.scalar(select(func.count()).select_from(SalesRecord))
    bought = db.session.scalar(select(func.sum(SalesRecord.amount))) + db.session.scalar(
        select(func.sum(CardUse.paid)).where(CardUse.accepted)
    )
    assert db.session.scalar(select(func.sum(ConsumptionMonth.amount))) == bought
    again = runner.invoke(args=["crm", "bench-data", "--history-only", "--seed", "7"])
    assert again.exit_code != 0 and "already has sales records" in again.output
    assert db.session.scalar(select(func.count()).select_from(SalesRecord)) == sales
