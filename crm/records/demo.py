"""Demo data of issue 3's archive screens: contracts, complaints with hand-overs, discounts
(approved and pending), withdrawals, promotion schemes, promoters, sales over three months
(the month before last confirmed), industry notes and daily records (one filed)."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.auth.models import User
from crm.clients.models import Client
from crm.commissions import rules as crules
from crm.commissions import services as commissions
from crm.commissions.models import CommissionStatement, Promoter, PromotionScheme, SalesRecord
from crm.complaints import services as complaints
from crm.complaints.models import Complaint
from crm.contracts import services as contracts
from crm.contracts.models import Contract
from crm.records import services as records
from crm.records.models import DailyRecord, IndustryNote
from crm.timeutil import local_today

TITLES = {
    "membership": "会籍协议",
    "contract": "场地租赁合同",
    "agreement": "年度合作协议",
    "repayment": "还款协议",
}
COMPLAINTS = [
    ("phone", "service", "宴会上菜速度慢，客人等候四十分钟"),
    ("walk_in", "facility", "游泳池水温偏低"),
    ("letter", "billing", "账单重复收取服务费"),
    ("email", "staff", "前台接待态度冷淡"),
    ("visit", "product", "客房床品有污渍"),
]


def seed_records(session, rng, n_clients: int = 60) -> None:
    today = local_today()
    users = {u.username: u for u in session.scalars(select(User))}
    clients = session.scalars(
        select(Client).where(Client.owner_id.is_not(None)).order_by(Client.id).limit(n_clients)
    ).all()
    _contracts(session, rng, clients, today)
    _complaints(session, rng, clients, users, today)
    _commissions(session, rng, clients, users, today)
    _notes_and_records(session, clients, users, today)
    session.flush()


def _contracts(session, rng, clients, today):
    for i, client in enumerate(clients[:40]):
        for k in range(1 + i % 2):
            kind = ("membership", "contract", "agreement", "repayment")[(i + k) % 4]
            signed = today - timedelta(days=rng.randrange(30, 700))
            contract = contracts.add_contract(
                session,
                Contract(
                    client_id=client.id,
                    kind=kind,
                    title=TITLES[kind],
                    amount=Decimal(rng.randrange(5, 300) * 1000),
                    starts_on=signed,
                    ends_on=signed + timedelta(days=365 * (1 + k)),
                ),
            )
            fate = (i + k) % 6
            if fate == 0:
                continue  # a draft still being negotiated
            contracts.move_contract(
                session,
                contract,
                "signed",
                signed_on=signed,
                our_signer="销售部经理 吴经理",
                customer_signer=client.name[:6] + "法人代表",
            )
            if fate == 1:
                continue
            if fate == 5:
                contracts.move_contract(session, contract, "cancelled", "客户取消合作")
                continue
            contracts.move_contract(session, contract, "in_force")
            if fate == 4 or contract.ends_on < today:
                contracts.move_contract(session, contract, "ended")


def _complaints(session, rng, clients, users, today):
    service, manager = users["service"], users["sales_mgr"]
    for i, client in enumerate(clients[:15]):
        channel, category, text = COMPLAINTS[i % len(COMPLAINTS)]
        complaint = complaints.record_complaint(
            session,
            Complaint(
                client_id=client.id,
                channel=channel,
                category=category,
                description=text,
                first_responder_id=service.id,
            ),
        )
        if i % 3:
            complaints.hand_over(session, complaint, client.owner, "转客户经理跟进")
        if i % 4 == 0:
            complaint.status, complaint.liability = "solved", "ours"
            complaint.resolution, complaint.satisfaction = "致歉并赠送消费券", "satisfied"
            complaints.update_complaint(session, complaint, "open")
        if i % 2 == 0:
            discount = complaints.request_discount(
                session, complaint, Decimal(rng.randrange(2, 20) * 50), "投诉折价补偿"
            )
            if i % 4 == 0:
                complaints.decide_discount(
                    session, discount, True, "同意折价", on_behalf_of=manager
                )
    # A small demo's last customers may be former customers already (they cannot withdraw).
    for client in [c for c in clients if c.stage != "former"][-3:]:
        complaints.withdraw_member(
            session, client, "会员迁居外地，申请退会", today - timedelta(days=20)
        )


def _commissions(session, rng, clients, users, today):
    outside = [
        commissions.save_promoter(session, Promoter(name=n, kind="external", phone="13900001111"))
        for n in ("外联 周明", "外联 钱芳")
    ]
    staff = [
        commissions.save_promoter(session, Promoter(name="", kind="internal", user_id=users[u].id))
        for u in ("am_east1", "am_east2", "am_north1", "am_north2")
    ]
    this = today.replace(day=1)
    last = (this - timedelta(days=1)).replace(day=1)
    before = (last - timedelta(days=1)).replace(day=1)
    by_kind = commissions.save_scheme(
        session,
        PromotionScheme(
            name="会籍推广计划",
            starts_on=before,
            ends_on=this + timedelta(days=90),
            target="新会员与续会会员",
            target_amount=Decimal("2000000"),
            rule_kind=crules.BY_PRODUCT,
        ),
        "membership=10%\ncatering=5%\nrooms=6%\n*=3%",
    )
    tiered = commissions.save_scheme(
        session,
        PromotionScheme(
            name="大客户阶梯提成",
            starts_on=before,
            ends_on=this + timedelta(days=90),
            target="团体客户",
            rule_kind=crules.TIERED,
        ),
        "0=2%\n50000=4%\n200000=6%",
    )
    promoters = outside + staff
    kinds = [k for k, _ in crules.PRODUCT_KINDS]
    for i, client in enumerate(clients[:30]):
        commissions.set_inviter(session, client.id, promoters[i % len(promoters)], before)
        for month_start in (before, last, this):
            day = month_start + timedelta(
                days=rng.randrange(
                    0, max(1, (today - month_start).days if month_start == this else 27)
                )
            )
            commissions.record_sale(
                session,
                SalesRecord(
                    client_id=client.id,
                    scheme_id=(tiered if i % 5 == 0 else by_kind).id,
                    product_kind=kinds[(i + day.day) % len(kinds)],
                    amount=Decimal(rng.randrange(10, 3000) * 100),
                    sold_on=day,
                ),
            )
    commissions.ensure_month(session, crules.month_of(before))
    for statement in session.scalars(
        select(CommissionStatement).where(CommissionStatement.month == crules.month_of(before))
    ):
        commissions.confirm_statement(session, statement, on_behalf_of=users["sales_mgr"])
    # A correction after the freeze lands in last month as an adjustment line.
    first = session.scalars(
        select(SalesRecord).where(SalesRecord.sold_on < last).order_by(SalesRecord.id)
    ).first()
    commissions.correct_sale(session, first, "合同金额更正", amount=first.amount + 1000)


def _notes_and_records(session, clients, users, today):
    notes = [
        ("金陵会所", "club", "commission", "外联提成上调至12%", "同业交流会"),
        ("钟山国际俱乐部", "club", "promotion", "新会员首年会费八折", "官网公告"),
        ("紫金山庄", "resort", "pricing", "周末客房价上调10%", "携程价格监测"),
        ("华东大酒店", "hotel", "promotion", "年末宴会套餐送红酒", "客户转告"),
    ]
    authors = [users[u] for u in ("am_east1", "am_east2", "am_north1", "rm_east")]
    for k, (competitor, cls, topic, title, source) in enumerate(notes):
        records.add_note(
            session,
            IndustryNote(
                competitor=competitor,
                competitor_class=cls,
                topic=topic,
                title=title,
                content=title + "，需关注对我方会员的影响",
                source=source,
                noted_on=today - timedelta(days=7 * k),
                author_id=authors[k].id,
            ),
        )
    daily = [
        ("minutes", "销售部周例会纪要", None, "am_east1"),
        ("sales_report", "十一月销售周报", "weekly", "am_east1"),
        ("walk_in_complaint", "散客投诉停车收费", None, "service"),
        ("walk_in_praise", "散客表扬餐厅服务", None, "service"),
        ("event_plan", "年末会员答谢晚宴方案", None, "sales_mgr"),
        ("fax", "客户传真：宴会预订确认", None, "am_east2"),
        ("booking", "会议室预订：周五下午", None, "am_east2"),
    ]
    made = []
    for k, (kind, title, period, author) in enumerate(daily):
        made.append(
            records.add_daily_record(
                session,
                DailyRecord(
                    kind=kind,
                    title=title,
                    period=period,
                    record_date=today - timedelta(days=k),
                    content=title + "。详细内容见附件。",
                    author_id=users[author].id,
                    handling="值班经理当场处理" if kind.startswith("walk_in") else None,
                ),
            )
        )
    # The customer's fax is filed in their contracts archive (R8: moved into the category).
    owned = [c for c in clients if c.owner_id == users["am_east2"].id]
    if owned:
        records.promote_record(session, made[5], owned[0], "contracts")
