"""Crafted sales and card uses for the review tests, written through the ORM (the flush hook
keeps consumption_months) without the commission rules in the way."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from crm.cards.models import CardType, CardUse, MemberCard
from crm.commissions.models import Promoter, PromotionScheme, SalesRecord
from crm.extensions import db


class Shop:
    def __init__(self):
        self.scheme = db.session.scalars(select(PromotionScheme).filter_by(name="全年")).first()
        if self.scheme is None:
            self.promoter = Promoter(name="外联 老周", kind="external")
            self.scheme = PromotionScheme(
                name="全年",
                starts_on=date(2020, 1, 1),
                ends_on=date(2030, 12, 31),
                rule_kind="by_product",
                rates=[["*", "0.01"]],
            )
            self.card_type = CardType(code="GOLD", name="金卡", discount_rate=Decimal("0.9"))
            db.session.add_all([self.promoter, self.scheme, self.card_type])
            db.session.flush()
        else:
            self.promoter = db.session.scalars(select(Promoter)).first()
            self.card_type = db.session.scalars(select(CardType).filter_by(code="GOLD")).one()
        self.cards = {card.client_id: card for card in db.session.scalars(select(MemberCard))}

    def sell(self, client, day: date, amount, kind="membership") -> SalesRecord:
        sale = SalesRecord(
            client_id=client.id,
            promoter_id=self.promoter.id,
            scheme_id=self.scheme.id,
            product_kind=kind,
            amount=Decimal(amount),
            sold_on=day,
            commission=Decimal("0"),
        )
        db.session.add(sale)
        db.session.flush()
        return sale

    def card_of(self, client) -> MemberCard:
        if client.id not in self.cards:
            card = MemberCard(
                number=f"G{client.id:06d}",
                client_id=client.id,
                card_type_id=self.card_type.id,
                issue_date=date(2020, 1, 1),
                expiry_date=date(2030, 1, 1),
                status="active",
            )
            db.session.add(card)
            db.session.flush()
            self.cards[client.id] = card
        return self.cards[client.id]

    def use(self, client, at_utc: datetime, paid, accepted=True) -> CardUse:
        paid = Decimal(paid)
        use = CardUse(
            card_id=self.card_of(client).id,
            client_id=client.id,
            used_at=at_utc,
            place="餐厅",
            list_price=paid,
            benefit=Decimal("0"),
            paid=paid,
            accepted=accepted,
            refusal=None if accepted else "过期",
        )
        db.session.add(use)
        db.session.flush()
        return use
