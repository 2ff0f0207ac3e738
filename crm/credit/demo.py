"""Demo credit: profiles set through the R11 chain, and ledgers that put customers at about
50%, 85%, 95% and over their limit, with overdue debts — so the credit screens, the aging
report and the 80%/90% notifications have something to show at once."""

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.auth.models import User
from crm.clients.models import Client
from crm.credit import exposure, ledger, reviews
from crm.timeutil import local_today

# (share of the limit signed recently, an older debt left overdue, days it is past due)
PATTERNS = [
    (Decimal("0.50"), 0, 0),
    (Decimal("0.85"), 0, 0),
    (Decimal("0.95"), 0, 0),
    (Decimal("1.10"), 0, 0),
    (Decimal("0.30"), Decimal("0.15"), 45),
    (Decimal("0.40"), Decimal("0.10"), 100),
    (Decimal("0.20"), Decimal("0.05"), 12),
    (Decimal("0"), 0, 0),
]
GRADES = [("AA", 200000), ("A", 100000), ("B", 50000), ("C", 20000)]


def seed_credit(session, shared_rng=None, count: int = 40) -> int:
    # A generator of our own: drawing from the shared one would shift every demo seeded after.
    rng = random.Random(11)
    users = {u.username: u for u in session.scalars(select(User))}
    chain = [users[u] for u in ("sales_mgr", "gm")]
    clients = session.scalars(
        select(Client).where(Client.owner_id.is_not(None)).order_by(Client.id).limit(count + 3)
    ).all()
    today = local_today()
    for i, client in enumerate(clients[:count]):
        grade, limit = GRADES[i % len(GRADES)]
        review = reviews.propose_credit(
            session,
            client.id,
            {
                "grade": grade,
                "credit_limit": limit,
                "period_days": 30,
                "payment_terms": "月结30天",
                "payment_method": rng.choice(["转账", "支票", "承兑汇票"]),
                "direct_export": client.market == "export",
            },
            "客户经营正常，申请授信",
        )
        region_manager = next(
            u
            for u in users.values()
            if u.role == "regional_manager" and u.region_id == client.region_id
        )
        for actor, opinion in (
            (region_manager, "情况属实，同意"),
            (chain[0], "同意"),
            (chain[1], "同意授信"),
        ):
            reviews.decide_review(session, review.id, True, opinion, actor=actor)
        recent, old, late = PATTERNS[(i + i // 4) % len(PATTERNS)]  # every manager gets each
        if old:
            day = today - timedelta(days=30 + late)
            ledger.record_charge(session, client.id, limit * old * 2, day, f"QD{client.id:05d}A")
            ledger.record_payment(
                session, client.id, limit * old, day + timedelta(days=20), f"SK{client.id:05d}A"
            )
        if recent:
            amount = limit * recent - (limit * old if old else 0)
            over = limit * recent > limit
            day = today - timedelta(days=rng.randrange(3, 20))
            ledger.record_charge(
                session,
                client.id,
                amount,
                day,
                f"QD{client.id:05d}B",
                override_reason="年底大单，销售部经理特批" if over else None,
                override_by=users["sales_mgr"] if over else None,
            )
    # Proposals waiting at each step of the chain.
    for client, steps in zip(clients[count:], (0, 1, 2), strict=False):
        review = reviews.propose_credit(
            session,
            client.id,
            {"grade": "B", "credit_limit": 50000, "period_days": 45},
            "新签单客户，申请授信",
        )
        region_manager = next(
            u
            for u in users.values()
            if u.role == "regional_manager" and u.region_id == client.region_id
        )
        for actor in [region_manager, *chain][:steps]:
            reviews.decide_review(session, review.id, True, "同意", actor=actor)
    session.flush()
    exposure.refresh(session)  # the home pages' credit figures from the first sign-in
    return count
