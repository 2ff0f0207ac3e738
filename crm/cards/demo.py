"""Demo member cards: the three standard types, cards in every status, some expiring this week."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.cards import rules, services
from crm.cards.models import CardType
from crm.clients.models import Client
from crm.clients.services import reveal_id_number
from crm.timeutil import local_today

TYPES = [  # code, name, share of price paid, privileges, issue, renewal, replacement, months
    ("NORMAL", "普通卡", "0.95", "会员价；生日礼遇", "100", "80", "20", 12),
    ("GOLD", "金卡", "0.90", "会员价；贵宾休息室；免费停车", "500", "400", "50", 12),
    ("PLAT", "白金卡", "0.80", "会员价；贵宾休息室；专属客户经理", "2000", "1500", "100", 24),
]


def seed_cards(session, rng, n_cards: int = 80) -> int:
    types = []
    for code, name, rate, privileges, issue, renewal, replacement, months in TYPES:
        types.append(
            services.save_card_type(
                session,
                CardType(
                    code=code,
                    name=name,
                    discount_rate=Decimal(rate),
                    privileges=privileges,
                    issue_fee=Decimal(issue),
                    renewal_fee=Decimal(renewal),
                    replacement_fee=Decimal(replacement),
                    validity_months=months,
                ),
            )
        )
    today = local_today()
    holders = session.scalars(
        select(Client).where(Client.owner_id.is_not(None)).order_by(Client.id).limit(n_cards)
    ).all()
    for i, client in enumerate(holders):
        card_type = types[i % 3]
        id_number = reveal_id_number(client) if client.kind == "individual" else None
        issued = today - timedelta(days=rng.randrange(5, 330))
        card = services.issue_card(session, client, card_type, id_number, today=issued)
        if i % 5 == 0:  # every fifth card expires within the week
            card.expiry_date = today + timedelta(days=i % 7)
        fate = i % 10
        if fate == 1:
            services.report_lost(session, card, "客户来电挂失")
        elif fate == 2:
            services.report_lost(session, card, "钱包遗失")
            services.replace_card(session, card, "补办新卡", today=today)
        elif fate == 3:
            services.cancel_card(session, card, "客户申请退卡")
        elif fate in (4, 6):
            card.expiry_date = today - timedelta(days=rng.randrange(1, 60))
            services.expire_card(session, card, today=today)
            if fate == 6:
                services.renew_expired_card(session, card, id_number, card.number, today=today)
        elif fate == 7 and not rules.is_past_expiry(card.expiry_date, today):
            services.extend_card(session, card, today=today)
        elif fate == 8:
            services.record_use(
                session,
                card.number,
                id_number or client.name,
                "餐厅",
                Decimal(rng.randrange(50, 2000)),
                today=today,
            )
    session.flush()
    return len(holders)
