"""Demo data for the embedded install: a user per role, two regions, customers with key persons
and contact logs. Deterministic, so every new user sees the same archive."""

import random
from datetime import date, timedelta

from sqlalchemy import func, select

from crm import access
from crm.auth.models import Region, User
from crm.auth.services import create_user
from crm.clients import identifiers as ids
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.clients.services import add_contact_log, register_client

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志明晓东海燕红梅"
CITIES = [
    ("上海市", "上海市", "200"),
    ("江苏省", "南京市", "210"),
    ("浙江省", "杭州市", "310"),
    ("北京市", "北京市", "100"),
    ("天津市", "天津市", "300"),
    ("河北省", "石家庄市", "050"),
]
AREA = {
    "上海市": "021",
    "南京市": "025",
    "杭州市": "0571",
    "北京市": "010",
    "天津市": "022",
    "石家庄市": "0311",
}
TRADES = [
    "贸易",
    "科技",
    "实业",
    "酒店管理",
    "餐饮",
    "文化传媒",
    "建设工程",
    "医药",
    "物流",
    "电子",
]
SUFFIX = ["有限公司", "股份有限公司", "集团有限公司"]
REGION_CODES = {
    "上海市": "110101",
    "南京市": "320102",
    "杭州市": "330102",
    "北京市": "110101",
    "天津市": "120101",
    "石家庄市": "130102",
}

DEMO_USERS = [
    ("gm", access.GENERAL_MANAGER, None, "总经理 周总"),
    ("sales_mgr", access.SALES_MANAGER, None, "销售部经理 吴经理"),
    ("rm_east", access.REGIONAL_MANAGER, "EAST", "华东大区经理 陈立"),
    ("rm_north", access.REGIONAL_MANAGER, "NORTH", "华北大区经理 赵敏"),
    ("am_east1", access.ACCOUNT_MANAGER, "EAST", "王芳"),
    ("am_east2", access.ACCOUNT_MANAGER, "EAST", "李强"),
    ("am_north1", access.ACCOUNT_MANAGER, "NORTH", "张伟"),
    ("am_north2", access.ACCOUNT_MANAGER, "NORTH", "刘洋"),
    ("finance", access.FINANCE, None, "财务 孙静"),
    ("clerk", access.CLERK, None, "销售内勤 何丽"),
    ("archivist", access.ARCHIVIST, None, "档案员 郭明"),
    ("service", access.SERVICE, None, "客服 林霞"),
    ("admin", access.ADMIN, None, "系统管理员"),
]


def make_credit_code(rng: random.Random, region_code: str) -> str:
    body = "91" + region_code + "".join(rng.choice(ids.USCC_ALPHABET[:10]) for _ in range(9))
    return body + ids.credit_code_check_char(body)


def make_id_number(rng: random.Random, region_code: str, birth: date, male: bool) -> str:
    seq = rng.randrange(0, 50) * 2 + (1 if male else 0)
    body = f"{region_code}{birth:%Y%m%d}{rng.randrange(0, 10)}{seq % 100:02d}"
    body = body[:16] + str(int(body[16]) // 2 * 2 + (1 if male else 0))
    return body + ids.id_number_check_char(body)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def seed_demo(session, n_clients: int = 240, password: str = "demo-pass-2026") -> str:
    if session.execute(select(func.count()).select_from(User)).scalar():
        return "demo data already present: nothing loaded"
    rng = random.Random(20261125)
    session.add_all([Region(code="EAST", name="华东大区"), Region(code="NORTH", name="华北大区")])
    session.flush()
    users = {
        u: create_user(session, u, password, role, region, name)
        for u, role, region, name in DEMO_USERS
    }
    managers = [users[u] for u in ("am_east1", "am_east2", "am_north1", "am_north2")]
    for i in range(n_clients):
        _demo_client(session, rng, i, managers[i % len(managers)])
    # A few customers without an owner wait for their regional manager's assignment (R12).
    for i in range(4):
        _demo_client(session, rng, n_clients + i, None, region=users["rm_east"].region)
    from crm.credit.demo import seed_credit

    seed_credit(session, rng)
    from crm.cards.demo import seed_cards

    seed_cards(session, rng)
    from crm.archives.demo import seed_archives

    seed_archives(session, rng)
    from crm.records.demo import seed_records

    seed_records(session, rng)
    from crm.intake.demo import seed_intake

    seed_intake(session, rng)
    from crm.surveys.demo import seed_surveys

    seed_surveys(session, rng)
    from crm.governance.demo import seed_governance

    seed_governance(session, rng)
    from crm.archives.demo import seed_disposal

    seed_disposal(session)
    from crm.reviews.demo import seed_reviews

    seed_reviews(session, rng)
    return (
        f"loaded {len(DEMO_USERS)} users and {n_clients + 4} customers; "
        f"every demo user's password is {password}"
    )


def _demo_client(session, rng, i, owner, region=None):
    province, city, post = CITIES[
        (i // 4) % 3 + (0 if (owner and owner.region.code == "EAST") or region else 3)
    ]
    individual = i % 7 == 0
    today = date(2026, 11, 1)
    first = today - timedelta(days=rng.randrange(20, 1500))
    client = Client(
        kind="individual" if individual else "organisation",
        level=rng.choice("KAABBBCCCD"),
        stage=rng.choice(["prospect", "active", "active", "active", "former"]),
        nature=rng.choice(["government", "special", "ordinary", "ordinary", "partner"]),
        weight=rng.choice(["key", "general", "general", "scattered"]),
        province=province,
        city=city,
        postcode=post + f"{rng.randrange(0, 1000):03d}",
        street=f"{rng.choice(['人民路', '中山路', '解放大道', '建国路', '南京西路'])}{rng.randrange(1, 999)}号",
        phone=f"{AREA[city]}-{rng.randrange(2, 9)}{rng.randrange(0, 10**7):07d}",
        mobile=f"1{rng.choice('3589')}{rng.randrange(0, 10**9):09d}",
        first_contact_date=first,
        first_deal_date=first + timedelta(days=rng.randrange(5, 90)),
        satisfaction=rng.choice(["very_satisfied", "satisfied", "neutral"]),
        owner_id=owner.id if owner else None,
        region_id=(owner.region_id if owner else region.id),
    )
    id_number = None
    if individual:
        male = rng.random() < 0.5
        birth = date(rng.randrange(1960, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
        client.name = person_name(rng)
        client.nature = "individual"
        client.occupation = rng.choice(["企业主", "律师", "医生", "教师", "设计师"])
        id_number = make_id_number(rng, REGION_CODES[city], birth, male)
    else:
        trade = rng.choice(TRADES)
        brand = "".join(rng.choice("华鑫盛达恒泰瑞丰宏远嘉和") for _ in range(2))
        client.name = f"{city.removesuffix('市')}{brand}{trade}{rng.choice(SUFFIX)}"
        if session.execute(select(Client.id).where(Client.name == client.name)).first():
            client.name = client.name.replace("有限", f"第{i}有限", 1)
        client.short_name = f"{brand}{trade}"
        client.credit_code = make_credit_code(rng, REGION_CODES[city])
        client.company_type = rng.choice(
            ["state_owned", "private", "private", "joint_venture", "foreign"]
        )
        client.registered_capital = rng.randrange(50, 5000) * 10000
        client.staff_count = rng.randrange(5, 800)
        client.business_scope = f"{trade}相关业务"
    register_client(session, client, id_number)
    for position in ["legal_rep", "purchasing_head"] if not individual else []:
        session.add(
            KeyPerson(
                client_id=client.id,
                position=position,
                name=person_name(rng),
                title={"legal_rep": "董事长", "purchasing_head": "采购总监"}[position],
                gender=rng.choice(["male", "female"]),
                mobile=f"13{rng.randrange(0, 10**9):09d}",
                hobbies=rng.choice(["高尔夫", "茶艺", "书法", "钓鱼"]),
            )
        )
    for k in range(rng.randrange(1, 4)):
        add_contact_log(
            session,
            ContactLog(
                client_id=client.id,
                contact_date=first + timedelta(days=30 * k),
                way=rng.choice(["visit", "phone", "came_to_us", "exhibition"]),
                person_met=person_name(rng),
                person_role=rng.choice(["decision_maker", "influencer", "user", "gatekeeper"]),
                level=client.level,
                record="介绍会馆会员权益及场地服务",
                conclusion="客户有意向，约定下次回访",
                recorded_by_id=owner.id if owner else None,
            ),
        )
