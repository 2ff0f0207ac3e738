"""Consumption, defined once: sales by product kind plus accepted card uses (paid), counted
in the company's calendar; the maintained table equals the set-based rebuild."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.credit import models as credit_models
from crm.extensions import db
from crm.reviews import consumption
from crm.reviews.consumption import ALL, CARD, Period
from crm.reviews.models import ConsumptionMonth, ConsumptionRollup
from tests.reviews.support import Shop


def _table():
    rows = db.session.execute(
        select(
            ConsumptionMonth.client_id,
            ConsumptionMonth.month,
            ConsumptionMonth.kind,
            ConsumptionMonth.amount,
            ConsumptionMonth.uses,
        )
    ).all()
    return sorted((r[0], r[1], r[2], Decimal(r[3]).quantize(Decimal("0.01")), r[4]) for r in rows)


@pytest.mark.parametrize(
    "text,kind,start,end,back",
    [
        ("2026-03", "month", date(2026, 3, 1), date(2026, 4, 1), "2026-02"),
        ("2026Q1", "quarter", date(2026, 1, 1), date(2026, 4, 1), "2025Q4"),
        ("2026H2", "half-year", date(2026, 7, 1), date(2027, 1, 1), "2026H1"),
        ("2026", "year", date(2026, 1, 1), date(2027, 1, 1), "2025"),
    ],
)
def test_periods_parse_and_print(text, kind, start, end, back):
    period = Period.parse(text)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert str(period) == text and str(period.previous()) == back
    assert str(period.year_before().next().previous()) == str(period.year_before())


@pytest.mark.parametrize("bad", ["2026-13", "2026Q5", "2026H3", "26", "", "2026-1-1", "abc"])
def test_periods_refuse_what_they_cannot_read(bad):
    with pytest.raises(ValueError):
        Period.parse(bad)


def test_sales_and_accepted_uses_count_in_the_company_calendar(world):
    shop = Shop()
    c1, c2 = world.c1, world.c2
    shop.sell(c1, date(2026, 3, 31), "1000.00")  # the last day of March
    shop.sell(c1, date(2026, 4, 1), "200.00", kind="catering")  # the first of April
    # 15:59 UTC on 31 March is 23:59 in Shanghai: March; 16:30 UTC is 00:30 on 1 April.
    shop.use(c1, datetime(2026, 3, 31, 15, 59), "90.00")
    shop.use(c1, datetime(2026, 3, 31, 16, 30), "45.50")
    shop.use(c1, datetime(2026, 3, 20, 8, 0), "999.00", accepted=False)  # refused: nothing
    shop.sell(c2, date(2025, 12, 31), "300.00")
    db.session.commit()

    assert _table() == sorted(
        [
            (c1.id, date(2026, 3, 1), "membership", Decimal("1000.00"), 1),
            (c1.id, date(2026, 3, 1), CARD, Decimal("90.00"), 1),
            (c1.id, date(2026, 4, 1), "catering", Decimal("200.00"), 1),
            (c1.id, date(2026, 4, 1), CARD, Decimal("45.50"), 1),
            (c2.id, date(2025, 12, 1), "membership", Decimal("300.00"), 1),
        ]
    )
    assert consumption.total_of(db.session, c1.id, Period.parse("2026Q1")) == Decimal("1090")
    assert consumption.total_of(db.session, c1.id, Period.parse("2026Q2")) == Decimal("245.5")
    assert consumption.total_of(db.session, c1.id, Period.parse("2026H1")) == Decimal("1335.5")
    assert consumption.total_of(db.session, c2.id, Period.parse("2026")) == 0
    assert consumption.total_of(db.session, c2.id, Period.parse("2025")) == Decimal("300")


def test_a_credit_charge_is_not_a_second_purchase(world):
    shop = Shop()
    shop.sell(world.c1, date(2026, 5, 5), "500.00")
    names = (
        {c.name for c in credit_models.CreditLedgerEntry.__table__.columns}
        if hasattr(credit_models, "CreditLedgerEntry")
        else set()
    )
    db.session.commit()
    # The definition reads sales records and card uses only: nothing of crm.credit.
    source = str(consumption.source_rows(db.session).compile())
    assert "sales_records" in source and "card_uses" in source
    assert "credit" not in source and not (names & {"consumption"})
    assert _table() == [(world.c1.id, date(2026, 5, 1), "membership", Decimal("500.00"), 1)]


def test_changes_and_deletions_move_the_figures(world):
    shop = Shop()
    sale = shop.sell(world.c1, date(2026, 3, 31), "1000.00")
    use = shop.use(world.c1, datetime(2026, 3, 10, 2, 0), "80.00")
    refused = shop.use(world.c1, datetime(2026, 3, 11, 2, 0), "70.00", accepted=False)
    db.session.commit()
    sale.amount, sale.sold_on, sale.product_kind = Decimal("700.00"), date(2026, 4, 2), "rooms"
    use.accepted = False  # made invalid afterwards
    refused.accepted = True  # and the other way
    db.session.commit()
    assert _table() == sorted(
        [
            (world.c1.id, date(2026, 3, 1), CARD, Decimal("70.00"), 1),
            (world.c1.id, date(2026, 4, 1), "rooms", Decimal("700.00"), 1),
        ]
    )
    db.session.delete(sale)
    db.session.commit()
    assert _table() == [(world.c1.id, date(2026, 3, 1), CARD, Decimal("70.00"), 1)]


def test_the_maintained_table_equals_the_rebuild(world):
    shop = Shop()
    for i, client in enumerate((world.c1, world.c2, world.c3)):
        for month in range(1, 13):
            shop.sell(
                client,
                date(2025, month, 28),
                f"{100 * month + i}.10",
                kind=("membership", "catering", "rooms")[month % 3],
            )
            shop.use(client, datetime(2025, month, 1, 3, 0), f"{month}.25")
            shop.use(client, datetime(2025, month, 2, 3, 0), "5.00", accepted=False)
    sale = shop.sell(world.c1, date(2025, 6, 15), "10.00")
    db.session.commit()
    sale.amount = Decimal("20.00")
    db.session.commit()
    maintained = _table()
    assert len(maintained) == 3 * 12 * 2
    consumption.rebuild(db.session)
    db.session.commit()
    assert _table() == maintained
    consumption.rebuild(db.session, since_month=date(2025, 7, 1))
    db.session.commit()
    assert _table() == maintained


def test_rollups_sum_per_manager_and_count_customers_once(world):
    shop = Shop()
    shop.sell(world.c1, date(2026, 3, 3), "100.00")
    shop.sell(world.c1, date(2026, 3, 4), "50.00", kind="catering")
    shop.use(world.c1, datetime(2026, 3, 5, 1, 0), "10.00")
    shop.sell(world.c2, date(2026, 3, 3), "7.00")
    shop.sell(world.c3, date(2026, 2, 3), "1.00")
    db.session.commit()
    consumption.rollup(db.session, [date(2026, 3, 1), date(2026, 2, 1)])
    consumption.rollup(db.session, [date(2026, 3, 1)])  # again: the same rows, not twice
    db.session.commit()
    rows = db.session.execute(
        select(
            ConsumptionRollup.account_manager_id,
            ConsumptionRollup.month,
            ConsumptionRollup.kind,
            ConsumptionRollup.amount,
            ConsumptionRollup.customers,
        ).where(ConsumptionRollup.kind == ALL)
    ).all()
    got = sorted((r[0], r[1], Decimal(r[3]).quantize(Decimal("0.01")), r[4]) for r in rows)
    assert got == sorted(
        [
            (world.am1.id, date(2026, 3, 1), Decimal("160.00"), 1),
            (world.am2.id, date(2026, 3, 1), Decimal("7.00"), 1),
            (world.am3.id, date(2026, 2, 1), Decimal("1.00"), 1),
        ]
    )
    kinds = db.session.scalars(
        select(ConsumptionRollup.kind).where(ConsumptionRollup.account_manager_id == world.am1.id)
    ).all()
    assert sorted(kinds) == sorted([ALL, CARD, "catering", "membership"])


def test_an_account_manager_reads_only_her_rollups_and_months(world):
    from crm import access

    shop = Shop()
    shop.sell(world.c1, date(2026, 3, 3), "100.00")
    shop.sell(world.c2, date(2026, 3, 3), "7.00")
    shop.sell(world.c3, date(2026, 3, 3), "1.00")
    db.session.commit()
    consumption.rollup(db.session, [date(2026, 3, 1)])
    db.session.commit()

    def seen(user):
        access.set_actor(user)
        try:
            roll = db.session.scalars(
                select(ConsumptionRollup).where(ConsumptionRollup.kind == ALL)
            ).all()
            months = db.session.scalars(select(ConsumptionMonth)).all()
            return (
                sorted(Decimal(r.amount) for r in roll),
                sorted(Decimal(m.amount) for m in months),
            )
        finally:
            access.set_actor(None)

    assert seen(world.am1) == ([Decimal("100")], [Decimal("100")])
    assert seen(world.rm_east) == ([Decimal("7"), Decimal("100")], [Decimal("7"), Decimal("100")])
    assert seen(world.finance)[0] == [Decimal("1"), Decimal("7"), Decimal("100")]
    assert seen(world.sales_manager)[0] == [Decimal("1"), Decimal("7"), Decimal("100")]
    assert seen(world.clerk)[0] == []


def test_the_rebuild_command_is_safe_twice(app, world):
    shop = Shop()
    shop.sell(world.c1, date(2026, 3, 3), "100.00")
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "review", "rebuild-consumption"])
    second = runner.invoke(args=["crm", "review", "rebuild-consumption", "--since", "2026-03"])
    assert first.exit_code == 0 and "1 customer-month rows" in first.output
    assert second.exit_code == 0 and "1 customer-month rows" in second.output
    assert _table() == [(world.c1.id, date(2026, 3, 1), "membership", Decimal("100.00"), 1)]
    bad = runner.invoke(args=["crm", "review", "rebuild-consumption", "--since", "march"])
    assert bad.exit_code != 0
