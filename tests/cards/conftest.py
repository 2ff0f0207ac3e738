from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from crm.cards import services
from crm.cards.models import CardType
from crm.extensions import db
from tests import factories

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def _english(request):
    """Messages are asserted in their English msgids, whatever the default locale."""
    if (
        "ctx" not in request.fixturenames
        and "world" not in request.fixturenames
        and "cards" not in request.fixturenames
    ):
        yield
        return
    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


def make_type(code, name, rate, fees, months=12, privileges=""):
    issue, renewal, replacement = (Decimal(f) for f in fees)
    card_type = CardType(
        code=code,
        name=name,
        discount_rate=Decimal(rate),
        privileges=privileges,
        issue_fee=issue,
        renewal_fee=renewal,
        replacement_fee=replacement,
        validity_months=months,
    )
    services.save_card_type(db.session, card_type)
    db.session.commit()
    return card_type


@pytest.fixture
def cards(world):
    """The three standard types and, for am1, an individual holder with an active card."""
    w = SimpleNamespace(world=world)
    w.normal = make_type("NORMAL", "普通卡", "0.95", ("100", "80", "20"))
    w.gold = make_type("GOLD", "金卡", "0.90", ("500", "400", "50"), privileges="贵宾休息室")
    w.platinum = make_type("PLAT", "白金卡", "0.80", ("2000", "1500", "100"), months=24)
    w.id_number = factories.valid_id_number(seq=321)
    w.person = factories.create_client(
        world.am1,
        name="王小明",
        kind="individual",
        credit_code=None,
        id_number=w.id_number,
        email="wxm@example.com",
    )
    w.card = services.issue_card(db.session, w.person, w.gold, w.id_number, today=date(2026, 1, 31))
    db.session.commit()
    return w
