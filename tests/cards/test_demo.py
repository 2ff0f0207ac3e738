from datetime import timedelta

from sqlalchemy import func, select

from crm.cards import rules
from crm.cards.models import CardType, CardUse, MemberCard
from crm.demo import seed_demo
from crm.extensions import db
from crm.timeutil import local_today


def test_demo_has_cards_of_every_type_and_status(ctx):
    seed_demo(db.session, n_clients=40)
    db.session.commit()
    rows = db.session.execute(
        select(CardType.name, MemberCard.status).join(
            CardType, CardType.id == MemberCard.card_type_id
        )
    ).all()
    assert {name for name, _ in rows} == {"普通卡", "金卡", "白金卡"}
    assert {status for _, status in rows} == set(rules.STATUSES)
    week = local_today() + timedelta(days=7)
    expiring = db.session.scalar(
        select(func.count())
        .select_from(MemberCard)
        .where(MemberCard.status == rules.ACTIVE, MemberCard.expiry_date <= week)
    )
    assert expiring >= 3
    assert db.session.scalar(select(func.count()).select_from(CardUse)) > 0
