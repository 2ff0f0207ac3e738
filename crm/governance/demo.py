"""Demo governance: a change and a deletion awaiting the sales manager, an item in the recycle
bin, a live view grant and a few consents — made through the same services as the screens."""

from flask import g
from sqlalchemy import select

from crm.auth.models import User
from crm.clients.models import Client
from crm.clients.services import delete_client
from crm.governance import grants
from crm.governance.consent import record_consent
from crm.governance.models import Consent
from crm.governance.services import change_record


def _as(user):
    g.crm_actor = user


def seed_governance(session, rng) -> None:
    users = {u.username: u for u in session.scalars(select(User))}
    am, sm = users["am_east1"], users["sales_mgr"]
    own = session.scalars(
        select(Client).where(Client.owner_id == am.id).order_by(Client.id).limit(4)
    ).all()
    if len(own) < 4:
        return
    try:
        _as(am)  # an account manager's change waits for approval
        with session.no_autoflush:
            own[0].short_name = f"{own[0].name[:4]}（新简称）"
            change_record(session, own[0], "客户更名后简称随之调整")
        _as(users["gm"])  # the general manager's deletion waits for the sales manager
        delete_client(session, own[1], "与另一份档案重复")
        _as(sm)  # the sales manager's own deletion goes straight to the recycle bin
        delete_client(session, own[2], "客户已注销，资料录入有误")
        _as(users["am_east2"])  # a colleague covering a visit asks to read, and is granted
        grant = grants.request_grant(session, own[3].code, "代为拜访，需了解客户背景")
        _as(sm)
        grants.approve_grant(session, grant.id, comment="拜访期间可查阅")
        _as(am)
        for client in own[:4:3]:
            record_consent(
                session,
                Consent(
                    client_id=client.id,
                    purpose="marketing",
                    given_how="written",
                    notes="入会登记表勾选",
                ),
            )
    finally:
        g.pop("crm_actor", None)
    session.flush()
