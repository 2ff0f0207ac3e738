from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from crm.credit.models import CreditBalance, CreditProfile
from crm.extensions import db

TODAY = date(2026, 11, 25)


def give_profile(client, limit, grade="A", period_days=30) -> CreditProfile:
    """Set-up only: the product sets a profile through the R11 chain (see test_reviews)."""
    profile = CreditProfile(
        client_id=client.id, grade=grade, credit_limit=Decimal(limit), period_days=period_days
    )
    db.session.add(profile)
    db.session.execute(
        update(CreditBalance)
        .where(CreditBalance.client_id == client.id)
        .values(credit_limit=profile.credit_limit)
    )
    db.session.commit()
    return profile


def set_limit_unchecked(client, limit) -> None:
    """Change a limit where no threshold check runs (as an import would), so that the next
    check is the one that finds the crossing."""
    db.session.execute(
        update(CreditProfile)
        .where(CreditProfile.client_id == client.id)
        .values(credit_limit=Decimal(limit))
    )
    db.session.execute(
        update(CreditBalance)
        .where(CreditBalance.client_id == client.id)
        .values(credit_limit=Decimal(limit))
    )
    db.session.commit()


@pytest.fixture
def credit_world(world):
    world.rm_east.email = "rm_east@example.com"
    db.session.commit()
    for c in (world.c1, world.c2, world.c3):
        give_profile(c, "10000.00")
    return world
