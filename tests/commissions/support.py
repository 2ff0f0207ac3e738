"""The commission fixture: two promoters, a scheme, c1 invited by the external promoter."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crm.commissions import rules, services
from crm.commissions.models import CommissionStatement, Promoter, PromotionScheme, SalesRecord
from crm.extensions import db
from crm.timeutil import local_today


def months():
    """Two months ago, last month and this month, with a day in each."""
    this = local_today().replace(day=1)
    last = (this - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    return before + timedelta(days=9), last + timedelta(days=9), this


@pytest.fixture
def shop(world):
    s = SimpleNamespace(world=world)
    s.before, s.last, s.this = months()
    s.staff = services.save_promoter(
        db.session, Promoter(name="", kind="internal", user_id=world.am1.id)
    )
    s.outside = services.save_promoter(db.session, Promoter(name="外联 老周", kind="external"))
    s.scheme = services.save_scheme(
        db.session,
        PromotionScheme(
            name="秋季会籍推广",
            starts_on=s.before - timedelta(days=30),
            ends_on=s.this + timedelta(days=60),
            rule_kind=rules.BY_PRODUCT,
            target="新会员",
        ),
        "membership=10%\ncatering=5%",
    )
    services.set_inviter(db.session, world.c1.id, s.outside, s.before)
    db.session.commit()
    return s


def sell(shop, amount, day, kind="membership", client=None, **kw) -> SalesRecord:
    sale = services.record_sale(
        db.session,
        SalesRecord(
            client_id=(client or shop.world.c1).id,
            scheme_id=shop.scheme.id,
            product_kind=kind,
            amount=Decimal(amount),
            sold_on=day,
            **kw,
        ),
    )
    db.session.commit()
    return sale


def statement(shop, promoter, month) -> CommissionStatement:
    """The stored statement, whoever the test acts as (statements are scoped to their
    promoter's member of staff)."""
    return db.session.scalars(
        select(CommissionStatement)
        .where(CommissionStatement.promoter_id == promoter.id, CommissionStatement.month == month)
        .execution_options(crm_unscoped=True)
    ).one()
