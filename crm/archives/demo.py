"""Demo archive: last year's volumes closed, this year's open, documents of every category in
every dual-set state (small generated files), and a changed and a missing file flagged; two
former customers destroyed long after their documents were filed: one disposal list carried
out, one awaiting the sales manager, and a contract kept under retention."""

import io
import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from crm.archives import rules, services
from crm.archives.models import ArchiveDocument
from crm.auth.models import User
from crm.clients.models import Client
from crm.storage import get_storage
from crm.timeutil import local_today, utcnow

TITLES = {
    "basic": ["会员登记表", "身份证复印件及授权签字人名单", "初访调查报告"],
    "contracts": ["会员服务合同", "场地租赁协议", "补充协议"],
    "debts": ["还款计划", "延期付款审批单", "还款协议"],
    "complaints": ["折扣审批单", "投诉责任认定书", "退会申请及原因"],
    "industry": ["同档次会所促销方案调研", "同业佣金制度对比"],
    "promotion": ["外联促销提成结算单", "季度销售记录"],
}
# (form, signed, indexed, has paper location, has file): every dual-set state and the drafts
STATES = [
    ("both", True, True, True, True),  # both sets, linked
    ("paper", True, True, True, False),  # paper only
    ("electronic", True, True, False, True),  # electronic only
    ("both", True, True, False, True),  # paper set missing
    ("both", True, True, True, False),  # electronic set missing
    ("both", False, False, True, True),  # draft: sign-off incomplete
    ("both", True, False, True, True),  # filed, waiting for indexing
]


def _pdf(rng, title: str) -> bytes:
    """A small stand-in for a scan: a few KB, different for every document."""
    body = rng.randbytes(rng.randrange(1000, 3000)).hex()
    return f"%PDF-1.4\n% {title}\n{body}\n%%EOF\n".encode()


def _document(session, rng, client, leader, category, on, state, n) -> ArchiveDocument:
    form, signed, indexed, paper, electronic = state
    title = TITLES[category][n % len(TITLES[category])]
    doc = services.new_document(
        session,
        ArchiveDocument(
            client_id=client.id,
            category=category,
            title=title,
            doc_date=on,
            form=form,
            pages=rng.randrange(1, 12),
        ),
    )
    if paper and form != "electronic":
        doc.room, doc.cabinet = f"A{rng.randrange(101, 104)}", str(rng.randrange(1, 9))
        doc.shelf, doc.box = str(rng.randrange(1, 6)), str(rng.randrange(1, 40))
    if electronic and form != "paper":
        services.attach_file(
            session, doc, io.BytesIO(_pdf(rng, title)), f"{title}.pdf", "application/pdf"
        )
    if signed:
        doc.customer_signed, doc.handler = True, client.owner.full_name
        doc.approved_by_id, doc.approved_at = leader.id, utcnow()
        services.file_document(session, doc)
    if indexed:
        services.index_document(session, doc.id)
    return doc


def seed_archives(session, rng) -> int:
    users = {u.username: u for u in session.scalars(select(User))}
    leaders = {"EAST": users["rm_east"], "NORTH": users["rm_north"]}
    clients = {}
    for name in ("am_east1", "am_east2", "am_north1"):
        clients[name] = session.scalars(
            select(Client).where(Client.owner_id == users[name].id).order_by(Client.id).limit(6)
        ).all()
    this_year = local_today().year
    made = []
    for year in (this_year - 1, this_year):
        for m, (name, owned) in enumerate(clients.items()):
            leader = leaders[users[name].region.code]
            for c, category in enumerate(rules.CATEGORIES):
                # last year: everything was filed and indexed before the closing
                states = STATES[:5] if year < this_year else STATES
                for n, state in enumerate(states if m == 0 else states[:2]):
                    on = date(year, 1 + (c * 2 + n) % 11, 1 + (m * 7 + n) % 27)
                    if year == this_year and on > local_today():
                        on = date(year, 1, 1 + n)
                    made.append(
                        _document(
                            session,
                            rng,
                            owned[(c + n) % len(owned)],
                            leader,
                            category,
                            on,
                            state,
                            n,
                        )
                    )
        if year < this_year:
            services.close_year(session, year)
    session.flush()
    _damage(made)
    services.check_integrity(session, share_percent=100)
    return len(made)


def _damage(docs) -> None:
    """One archived file altered and one lost, so the integrity flags have something to show."""
    stored = [d for d in docs if d.has_file]
    storage = get_storage()
    storage.put(stored[0].storage_path, io.BytesIO(b"altered after archiving"))
    storage.delete(stored[1].storage_path)


# Former customers destroyed after the recycle bin: documents (category, date) of which the
# 10-year ones have run out and the 30-year contract is kept.
FORMER = [
    ("上海旧日商贸有限公司", [("complaints", date(2012, 3, 1)), ("contracts", date(2014, 6, 1))]),
    ("北京往昔实业有限公司", [("industry", date(2013, 5, 2))]),
]


def seed_disposal(session) -> None:
    """Through the same services as the screens and the tasks: file the old documents, close
    their years, delete and destroy the customer, propose the disposal list, and for the first
    have the sales manager approve it and the archivist carry it out."""
    from flask import g

    from crm.archives import disposal
    from crm.governance import retention

    rng = random.Random(16)
    users = {u.username: u for u in session.scalars(select(User))}
    am, leader = users["am_north1"], users["rm_north"]
    for n, (name, documents) in enumerate(FORMER):
        client = Client(
            name=name, kind="organisation", stage="former", owner_id=am.id, region_id=am.region_id
        )
        session.add(client)
        session.flush()
        docs = [
            _document(session, rng, client, leader, category, on, STATES[0], i)
            for i, (category, on) in enumerate(documents)
        ]
        for year in sorted({d.doc_date.year for d in docs}):
            services.close_year(session, year)
        # Deleted and destroyed in 2020, when the 10-year documents were still kept.
        request = retention.ask_deletion(session, [client], "客户已退会多年")
        request.deleted_at = datetime(2020, 6, 1, 2, 0)
        retention.destroy(
            session, request, request.deleted_at + timedelta(days=retention.retention_days() + 1)
        )
        listed = disposal.propose_disposal(session)
        if n == 0:
            try:
                g.crm_actor = users["sales_mgr"]
                disposal.decide_disposal(session, listed.id, True, "保管期满，经鉴定无继续保存价值")
                g.crm_actor = users["archivist"]
                disposal.carry_out_disposal(session, listed.id)
            finally:
                g.pop("crm_actor", None)
    session.flush()
