"""The half-year and yearly analyses' numbers on crafted data, in the reader's scope."""

from datetime import date, datetime
from decimal import Decimal

from crm import access
from crm.extensions import db
from crm.reviews import analysis, consumption
from crm.reviews.consumption import Period
from tests.reviews.support import Shop

H2 = Period.parse("2025H2")


def _crafted(world):
    """H1: c1 100, c3 40. H2: c1 300 (membership 200 + card 100), c2 50 (new). Earlier (2024):
    c3 10. So in H2: c1 growth 200%, c2 new, c3 lost."""
    shop = Shop()
    world.c2.level, world.c2.weight = "K", "key"
    shop.sell(world.c3, date(2024, 6, 1), "10.00")
    shop.sell(world.c1, date(2025, 3, 1), "100.00")
    shop.sell(world.c3, date(2025, 4, 1), "40.00")
    shop.sell(world.c1, date(2025, 8, 1), "200.00")
    shop.use(world.c1, datetime(2025, 12, 31, 15, 0), "100.00")  # 23:00 on 31 Dec: H2
    shop.use(world.c1, datetime(2025, 12, 31, 16, 0), "999.00")  # 00:00 on 1 Jan: next year
    shop.sell(world.c2, date(2025, 9, 1), "50.00")
    db.session.commit()
    consumption.rebuild(db.session)
    db.session.commit()


def test_the_figures_by_every_dimension(world):
    _crafted(world)
    result = analysis.analyse(db.session, H2)
    assert (result.total, result.previous_total, result.growth) == (
        Decimal("350"),
        Decimal("140"),
        Decimal("150.0"),
    )
    assert result.customers == 2
    managers = {
        line.label: (line.amount, line.previous, line.growth, line.customers)
        for line in result.by["account_manager"]
    }
    assert managers == {
        "am1": (Decimal("300"), Decimal("100"), Decimal("200.0"), 1),
        "am2": (Decimal("50"), Decimal("0"), None, 1),
        "am3": (Decimal("0"), Decimal("40"), Decimal("-100.0"), 0),
    }
    kinds = {line.key: line.amount for line in result.by["kind"]}
    assert kinds == {"membership": Decimal("250"), "card": Decimal("100")}
    levels = {line.key: (line.amount, line.customers) for line in result.by["level"]}
    assert levels == {"B": (Decimal("300"), 1), "K": (Decimal("50"), 1)}
    regions = {line.label: line.amount for line in result.by["region"]}
    assert regions == {"华东大区": Decimal("350"), "华北大区": Decimal("0")}
    assert [(cid, amount) for cid, _, amount in result.top] == [
        (world.c1.id, Decimal("300")),
        (world.c2.id, Decimal("50")),
    ]
    assert [cid for cid, _, _ in result.bottom] == [world.c2.id, world.c1.id]
    assert result.movement == {
        "new": (1, Decimal("50")),
        "lost": (1, Decimal("40")),
        "returning": (0, Decimal("0")),
    }


def test_returning_customers(world):
    _crafted(world)
    Shop().sell(world.c3, date(2026, 2, 1), "5.00")  # none in 2025H2, some earlier
    db.session.commit()
    consumption.rebuild(db.session)
    result = analysis.movement(db.session, Period.parse("2026H1"))
    assert result["returning"] == (1, Decimal("5"))
    assert result["new"] == (0, Decimal("0"))


def test_an_account_manager_sees_only_her_figures(world):
    _crafted(world)
    access.set_actor(world.am1)
    try:
        mine = analysis.analyse(db.session, H2)
    finally:
        access.set_actor(None)
    assert (mine.total, mine.previous_total, mine.customers) == (Decimal("300"), Decimal("100"), 1)
    assert [line.label for line in mine.by["account_manager"]] == ["am1"]
    assert [cid for cid, _, _ in mine.top] == [world.c1.id]
    assert mine.movement["lost"] == (0, Decimal("0"))
    access.set_actor(world.rm_north)
    try:
        north = analysis.analyse(db.session, H2)
    finally:
        access.set_actor(None)
    assert (north.total, north.previous_total) == (Decimal("0"), Decimal("40"))
    assert north.movement["lost"] == (1, Decimal("40"))
