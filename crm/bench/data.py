"""`flask --app wsgi crm bench-data --clients N --seed S` (also `crm bench data`).

Loads a large, realistic and deterministic archive for the screen benchmarks: ten regions,
200 account managers (their books skewed, as in life: the largest holds some 37,000 customers
of a million, the smallest 2,500), a regional manager per region, a sales manager and a general
manager; customers with identity, contact and classification; key persons and contact logs.
Rows go in with COPY on PostgreSQL (the secondary indexes of the three tables are dropped and
rebuilt in the same transaction, which is several times faster than maintaining them row by
row) and executemany on SQLite. Customer codes are reserved from the `client_code` counter in
one step, so the codes stay unique and gapless with customers entered later.

The customers in business also get contracts, a credit profile and receivables ledger, member
cards and archive scans waiting for indexing (crm/bench/business.py), and a year of sales
records and card uses with the consumption tables rebuilt from them (crm/bench/reviews.py), so
that one data set serves every measurement of `crm bench`.
"""

import bisect
import io
import random
import time
from datetime import date, datetime, timedelta

import click
from sqlalchemy import func, select, text

from crm import access
from crm.auth.models import Region, User
from crm.auth.passwords import hash_password
from crm.bench import bench, business, reviews
from crm.clients import identifiers as ids
from crm.clients.models import Client
from crm.clients.services import CODE_PREFIX
from crm.credit import exposure
from crm.credit.models import LedgerEntry
from crm.crypto import encrypt, lookup_hash
from crm.demo import GIVEN, SURNAMES, make_credit_code, make_id_number
from crm.extensions import db
from crm.sequences import next_value
from crm.timeutil import local_today, utcnow

PASSWORD = "bench-pass-2026"
N_MANAGERS = 200
REGIONS = [
    ("S01", "华东大区", "上海市", "上海市", "021", "310101"),
    ("S02", "华北大区", "北京市", "北京市", "010", "110101"),
    ("S03", "华南大区", "广东省", "广州市", "020", "440103"),
    ("S04", "华中大区", "湖北省", "武汉市", "027", "420102"),
    ("S05", "西南大区", "四川省", "成都市", "028", "510104"),
    ("S06", "西北大区", "陕西省", "西安市", "029", "610102"),
    ("S07", "东北大区", "辽宁省", "沈阳市", "024", "210102"),
    ("S08", "山东大区", "山东省", "济南市", "0531", "370102"),
    ("S09", "江浙大区", "浙江省", "杭州市", "0571", "330102"),
    ("S10", "闽赣大区", "福建省", "福州市", "0591", "350102"),
]
BRAND = "华鑫盛达恒泰瑞丰宏远嘉和兴隆昌顺通利永安康宁金源聚汇博创新天宇海正信德诚中元泓凯锦"
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
    "机械",
    "服饰",
    "食品",
    "化工",
    "家居",
    "汽车服务",
    "教育咨询",
    "农业",
]
SUFFIX = ["有限公司", "有限公司", "股份有限公司", "集团有限公司", "商行"]
STREETS = ["人民路", "中山路", "解放大道", "建国路", "南京西路", "长江路", "和平街", "新华路"]
RECORDS = [
    "介绍会馆会员权益及场地服务",
    "回访上次活动反馈，客户满意",
    "商谈年度合作方案",
    "客户询问团体会员价格",
    "送达节日贺卡及活动邀请",
]
CONCLUSIONS = ["客户有意向，约定下次回访", "等待客户内部审批", "已签约", "暂无需求", None]
# (value, weight): how the archive's classification is spread
LEVELS = [("K", 1), ("A", 9), ("B", 25), ("C", 35), ("D", 30)]
# most of an archive is customers in business; prospects are the rest
STAGES = [("prospect", 15), ("active", 70), ("former", 15)]
NATURES = [("government", 3), ("special", 5), ("ordinary", 80), ("partner", 12)]
WEIGHTS = [("key", 10), ("general", 60), ("scattered", 30)]
INDIVIDUAL_SHARE = 0.02
START = datetime(2018, 1, 1)

CLIENT_COLUMNS = [
    "id",
    "code",
    "name",
    "short_name",
    "kind",
    "credit_code",
    "company_type",
    "registered_capital",
    "staff_count",
    "gender",
    "birth_date",
    "id_number_enc",
    "id_number_hash",
    "id_number_mask",
    "province",
    "city",
    "street",
    "postcode",
    "phone",
    "mobile",
    "level",
    "stage",
    "nature",
    "weight",
    "owner_id",
    "region_id",
    "first_contact_date",
    "created_at",
    "updated_at",
    "version",
]
PERSON_COLUMNS = ["client_id", "position", "name", "gender", "title", "mobile"]
LOG_COLUMNS = [
    "client_id",
    "seq",
    "contact_date",
    "way",
    "person_met",
    "person_role",
    "level",
    "record",
    "conclusion",
    "recorded_by_id",
    "created_at",
]


def _picker(rng, pairs):
    values = [v for v, _w in pairs]
    cum, total = [], 0
    for _v, w in pairs:
        total += w
        cum.append(total)
    return lambda: values[bisect.bisect_right(cum, rng.random() * total)]


def _person(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


# --- the people ---------------------------------------------------------------------------
def ensure_people(session) -> dict:
    """Regions and users of the bench (usernames scale_*), made once; one password hash."""
    users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.like("scale\\_%", escape="\\")))
    }
    if users:
        return users
    regions = []
    for code, name, *_rest in REGIONS:
        region = session.scalar(select(Region).where(Region.code == code))
        if region is None:
            region = Region(code=code, name=name)
            session.add(region)
        regions.append(region)
    session.flush()
    pw = hash_password(PASSWORD)
    rows = [
        dict(username="scale_sales", full_name="销售部经理 基准", role=access.SALES_MANAGER),
        dict(username="scale_gm", full_name="总经理 基准", role=access.GENERAL_MANAGER),
    ]
    rows += [
        dict(
            username=f"scale_rm{r + 1:02d}",
            full_name=f"{REGIONS[r][1]}经理",
            role=access.REGIONAL_MANAGER,
            region_id=regions[r].id,
        )
        for r in range(10)
    ]
    rng = random.Random(7)
    rows += [
        dict(
            username=f"scale_am{i + 1:03d}",
            full_name=f"{_person(rng)}{i + 1:03d}",
            role=access.ACCOUNT_MANAGER,
            region_id=regions[i % 10].id,
        )
        for i in range(N_MANAGERS)
    ]
    for row in rows:  # users are audited models: through the ORM, a few hundred rows
        session.add(User(password_hash=pw, **row))
    session.flush()
    return {
        u.username: u
        for u in session.scalars(select(User).where(User.username.like("scale\\_%", escape="\\")))
    }


# --- the rows ------------------------------------------------------------------------------
def _client_rows(rng, first_id, first_code, n, managers, regions):
    level, stage = _picker(rng, LEVELS), _picker(rng, STAGES)
    nature, weight = _picker(rng, NATURES), _picker(rng, WEIGHTS)
    # The largest book is ~14 times the smallest (weight k^-0.5 for the k-th manager).
    owner = _picker(rng, [(m, (k + 1) ** -0.5) for k, m in enumerate(managers)])
    span = (datetime(2026, 11, 1) - START).total_seconds()
    place = {region.id: REGIONS[i] for i, region in enumerate(regions)}
    for k in range(n):
        cid = first_id + k
        am = owner() if rng.random() > 0.01 else None  # 1%: waiting for an assignment (R12)
        region_id = am.region_id if am else regions[rng.randrange(10)].id
        _code, _name, province, city, area, admin_code = place[region_id]
        # registered in order, so later ids are later customers (as with real entry)
        created = START + timedelta(seconds=span * (k + rng.random()) / n)
        first_contact = (created - timedelta(days=rng.randrange(0, 400))).date()
        common = (
            province,
            city,
            f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号",
            f"{rng.randrange(100000, 999999)}",
            f"{area}-{rng.randrange(2, 9)}{rng.randrange(0, 10**7):07d}",
            f"1{rng.choice('3589')}{rng.randrange(0, 10**9):09d}",
        )
        if rng.random() < INDIVIDUAL_SHARE:
            male = rng.random() < 0.5
            birth = date(rng.randrange(1960, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
            number = make_id_number(rng, admin_code, birth, male)
            identity = (
                _person(rng),
                None,
                "individual",
                None,
                None,
                None,
                None,
                "male" if male else "female",
                birth,
                encrypt(number),
                lookup_hash(number),
                ids.mask_id_number(number),
            )
            nat = "individual"
        else:
            brand = rng.choice(BRAND) + rng.choice(BRAND)
            trade = rng.choice(TRADES)
            identity = (
                f"{city.removesuffix('市')}{brand}{trade}{rng.choice(SUFFIX)}",
                f"{brand}{trade}",
                "organisation",
                make_credit_code(rng, admin_code),
                rng.choice(["state_owned", "private", "private", "joint_venture", "foreign"]),
                rng.randrange(50, 5000) * 10000,
                rng.randrange(5, 800),
                None,
                None,
                None,
                None,
                None,
            )
            nat = nature()
        yield (
            cid,
            f"{CODE_PREFIX}{first_code + k:07d}",
            *identity,
            *common,
            level(),
            stage(),
            nat,
            weight(),
            am.id if am else None,
            region_id,
            first_contact,
            created,
            created,
            1,
        )


def _person_rows(rng, first_id, n):
    for cid in range(first_id, first_id + n):
        for position, title in (("legal_rep", "董事长"), ("purchasing_head", "采购总监"))[
            : rng.choice((0, 1, 1, 2))
        ]:
            yield (
                cid,
                position,
                _person(rng),
                rng.choice(("male", "female")),
                title,
                f"13{rng.randrange(0, 10**9):09d}",
            )


def _log_rows(rng, first_id, n, owners):
    for k, cid in enumerate(range(first_id, first_id + n)):
        day = (START + timedelta(days=rng.randrange(0, 3000))).date()
        for seq in range(1, rng.randrange(0, 7) + 1):
            day += timedelta(days=rng.randrange(7, 120))
            yield (
                cid,
                seq,
                day,
                rng.choice(("visit", "phone", "came_to_us", "exhibition")),
                _person(rng),
                rng.choice(("decision_maker", "influencer", "user")),
                rng.choice("KABCD"),
                rng.choice(RECORDS),
                rng.choice(CONCLUSIONS),
                owners[k],
                datetime.combine(day, datetime.min.time()),
            )


# --- loading ------------------------------------------------------------------------------
def _text(value) -> str:
    if value is None:
        return "\\N"
    return str(value)  # generated values hold no tab, newline or backslash


def load(conn, table: str, columns: list[str], rows) -> int:
    """COPY on PostgreSQL (text format, written in chunks); executemany elsewhere."""
    count = 0
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            buf = io.StringIO()
            for row in rows:
                buf.write("\t".join(map(_text, row)))
                buf.write("\n")
                count += 1
                if count % 20000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        return count
    stmt = db.metadata.tables[table].insert()  # typed: Money, dates and times bind as such
    batch = []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        count += 1
        if len(batch) == 10000:
            conn.execute(stmt, batch)
            batch = []
    if batch:
        conn.execute(stmt, batch)
    return count


def _secondary_indexes(conn, tables) -> list[tuple[str, str]]:
    """(name, definition) of the indexes not backing a constraint (PostgreSQL)."""
    return list(
        conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname)"
            ),
            {"tables": list(tables)},
        )
    )


def _region(regions, manager):
    return next(r for r in regions if r.id == manager.region_id)


def generate(session, n: int, seed: int, echo=lambda *_: None, on_customer=None) -> dict:
    """Add `n` customers with key persons, contact logs and their business (contracts,
    ledger, cards, archive scans); returns what was loaded."""
    rng = random.Random(seed)
    people = ensure_people(session)
    managers = sorted(
        (u for u in people.values() if u.role == access.ACCOUNT_MANAGER), key=lambda u: u.username
    )
    regions = session.scalars(
        select(Region).where(Region.code.in_([r[0] for r in REGIONS])).order_by(Region.code)
    ).all()
    first_code = next_value(session, "client_code", n)
    first_id = (session.scalar(select(func.max(Client.id))) or 0) + 1
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    tables = ("clients", "key_persons", "contact_logs", *business.TABLES, *reviews.TABLES)
    rebuilt = []
    if postgres and n >= 50000:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        rebuilt = _secondary_indexes(conn, tables)
        for name, _definition in rebuilt:
            conn.execute(text(f'DROP INDEX "{name}"'))
    timings, owners, customers, names = {}, [], [], {}
    col = {name: k for k, name in enumerate(CLIENT_COLUMNS)}

    def clients():
        for row in _client_rows(rng, first_id, first_code, n, managers, regions):
            owners.append(row[col["owner_id"]])
            customers.append(
                business.Customer(
                    row[0], row[col["owner_id"]], row[col["stage"]], row[col["created_at"]]
                )
            )
            names[row[0]] = row[col["name"]]
            if on_customer and len(customers) % 1000 == 0:
                on_customer(len(customers), n)
            yield row

    start = time.perf_counter()
    counts = {"clients": load(conn, "clients", CLIENT_COLUMNS, clients())}
    timings["clients"] = time.perf_counter() - start
    echo(f"  customers: {counts['clients']} in {timings['clients']:.0f} s")
    start = time.perf_counter()
    counts["key_persons"] = load(
        conn, "key_persons", PERSON_COLUMNS, _person_rows(rng, first_id, n)
    )
    counts["contact_logs"] = load(
        conn, "contact_logs", LOG_COLUMNS, _log_rows(rng, first_id, n, owners)
    )
    timings["details"] = time.perf_counter() - start
    echo(
        f"  key persons and contact logs: {counts['key_persons']} + "
        f"{counts['contact_logs']} in {timings['details']:.0f} s"
    )
    start = time.perf_counter()
    approvers = {
        m.id: people[f"scale_rm{regions.index(_region(regions, m)) + 1:02d}"].id for m in managers
    }
    first_entry = (session.scalar(select(func.max(LedgerEntry.id))) or 0) + 1

    def timed_load(table, columns, rows):
        began = time.perf_counter()
        count = load(conn, table, columns, rows)
        echo(f"    {table}: {count} in {time.perf_counter() - began:.0f} s")
        return count

    counts.update(
        business.generate(
            session,
            timed_load,
            rng,
            customers,
            names,
            approvers,
            local_today(),
            utcnow(),
            first_entry,
        )
    )
    timings["business"] = time.perf_counter() - start
    echo(f"  contracts, ledger, cards and scans in {timings['business']:.0f} s")
    start = time.perf_counter()
    counts.update(reviews.history(session, timed_load, rng, first_id, local_today()))
    timings["history"] = time.perf_counter() - start
    echo(f"  a year of sales and card uses in {timings['history']:.0f} s")
    if postgres:
        for table in ("clients", "ledger_entries"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        start = time.perf_counter()
        for _name, definition in rebuilt:
            conn.execute(text(definition))
        timings["indexes"] = time.perf_counter() - start
        echo(f"  {len(rebuilt)} indexes rebuilt in {timings['indexes']:.0f} s")
    session.commit()
    if postgres:  # statistics, and the visibility map that index-only scans need
        start = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in (*tables, "users", "regions"):
                auto.execute(text(f"VACUUM ANALYZE {table}"))
        timings["vacuum"] = time.perf_counter() - start
    made = reviews.rebuild_consumption(session, echo)
    counts["consumption_months"] = made["consumption_months"]
    timings["consumption"] = made["rebuild_s"]
    start = time.perf_counter()
    counts["credit_exposure"] = exposure.refresh(session)  # what the hourly task would count
    session.commit()
    timings["exposure"] = time.perf_counter() - start
    if postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in ("consumption_months", "consumption_rollups"):
                auto.execute(text(f"VACUUM ANALYZE {table}"))
    return {**counts, "seconds": {k: round(v, 1) for k, v in timings.items()}}


def add_history(session, seed: int, echo=lambda *_: None) -> dict:
    """A year of sales and card uses for the customers already loaded, on a bench database
    made before the reviews existed (it has no sales yet); then consumption is rebuilt. The
    same rows `generate` gives new customers, with their indexes dropped and rebuilt around
    the COPY on PostgreSQL."""
    from crm.commissions.models import SalesRecord

    if session.scalar(select(func.count()).select_from(SalesRecord)):
        raise click.ClickException(
            "this database already has sales records: --history-only "
            "is for a bench data set loaded without them"
        )
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    rebuilt = _secondary_indexes(conn, reviews.TABLES) if postgres else []
    for name, _definition in rebuilt:
        conn.execute(text(f'DROP INDEX "{name}"'))
    start = time.perf_counter()
    counts = reviews.history(
        session, lambda *a: load(conn, *a), random.Random(seed), 1, local_today()
    )
    for _name, definition in rebuilt:
        conn.execute(text(definition))
    session.commit()
    echo(f"  a year of sales and card uses: {counts} in {time.perf_counter() - start:.0f} s")
    if postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            for table in reviews.TABLES:
                auto.execute(text(f"VACUUM ANALYZE {table}"))
    counts.update(reviews.rebuild_consumption(session, echo))
    return counts


@click.command("bench-data")
@click.option(
    "--clients",
    "n_clients",
    default=10000,
    show_default=True,
    help="Customers to add (each run adds this many).",
)
@click.option("--seed", default=2026, show_default=True)
@click.option(
    "--history-only",
    is_flag=True,
    help="Add no customers: give those already "
    "loaded (a data set made before the reviews) a year of sales and card uses.",
)
def bench_data(n_clients, seed, history_only):
    """Load a large deterministic archive for `crm bench screens` (adds to what is there)."""
    start = time.perf_counter()
    from crm.cli import progress

    if history_only:
        made = add_history(db.session, seed, echo=click.echo)
        click.echo(f"loaded {made} in {time.perf_counter() - start:.0f} s")
        return
    with progress("customers", n_clients, unit="customers") as bar:
        made = generate(db.session, n_clients, seed, echo=click.echo, on_customer=bar.to)
    click.echo(
        f"loaded {made} in {time.perf_counter() - start:.0f} s; every scale_* user's "
        f"password is {PASSWORD}"
    )


bench.add_command(bench_data, "data")


def register_alias() -> None:
    """The issue's spelling, `crm bench-data`, beside `crm bench data`."""
    from crm.cli import crm_cli

    if "bench-data" not in crm_cli.commands:
        crm_cli.add_command(bench_data, "bench-data")


register_alias()
