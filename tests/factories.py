"""create_<thing>(**overrides): rows made through the domain functions, acting as the system."""

import itertools
from datetime import date
from types import SimpleNamespace

from crm import access
from crm.auth.models import Region
from crm.auth.services import create_user as _create_user
from crm.clients import identifiers as ids
from crm.clients.models import Client, ContactLog, KeyPerson
from crm.clients.services import add_contact_log, register_client
from crm.extensions import db

PASSWORD = "test-pass-123"
_seq = itertools.count(1)


def valid_credit_code(n: int | None = None) -> str:
    body = f"91110105{(n if n is not None else next(_seq)):09d}"
    return body + ids.credit_code_check_char(body)


def valid_id_number(birth: date = date(1985, 6, 15), seq: int = 123) -> str:
    body = f"110105{birth:%Y%m%d}{seq:03d}"
    return body + ids.id_number_check_char(body)


def create_region(code="EAST", name=None) -> Region:
    region = Region(code=code, name=name or f"{code}大区")
    db.session.add(region)
    db.session.flush()
    return region


def create_user(role=access.ACCOUNT_MANAGER, region=None, username=None, **kw):
    username = username or f"{role}_{next(_seq)}"
    user = _create_user(
        db.session,
        username,
        PASSWORD,
        role,
        region.code if region else None,
        kw.pop("full_name", username),
    )
    for key, value in kw.items():
        setattr(user, key, value)
    db.session.commit()
    return user


def create_client(owner=None, region=None, id_number=None, **overrides) -> Client:
    n = next(_seq)
    values = {
        "name": f"测试客户{n}有限公司",
        "kind": "organisation",
        "level": "B",
        "phone": "010-88886666",
        "credit_code": valid_credit_code(n),
    }
    values.update(overrides)
    client = Client(**values)
    client.owner_id = owner.id if owner else None
    client.region_id = region.id if region else (owner.region_id if owner else None)
    register_client(db.session, client, id_number)
    db.session.commit()
    return client


def create_key_person(client, **overrides) -> KeyPerson:
    person = KeyPerson(
        client_id=client.id,
        name=overrides.pop("name", f"联系人{next(_seq)}"),
        position="legal_rep",
        **overrides,
    )
    db.session.add(person)
    db.session.commit()
    return person


def create_contact_log(client, **overrides) -> ContactLog:
    values = {
        "contact_date": date(2026, 11, 2),
        "way": "visit",
        "person_met": "张总",
        "record": "拜访",
        "level": "B",
    }
    values.update(overrides)
    log = add_contact_log(db.session, ContactLog(client_id=client.id, **values))
    db.session.commit()
    return log


def create_world() -> SimpleNamespace:
    east, north = create_region("EAST", "华东大区"), create_region("NORTH", "华北大区")
    w = SimpleNamespace(east=east, north=north)
    w.am1 = create_user(access.ACCOUNT_MANAGER, east, "am1")
    w.am2 = create_user(access.ACCOUNT_MANAGER, east, "am2")
    w.am3 = create_user(access.ACCOUNT_MANAGER, north, "am3")
    w.rm_east = create_user(access.REGIONAL_MANAGER, east, "rm_east")
    w.rm_north = create_user(access.REGIONAL_MANAGER, north, "rm_north")
    for role in (
        access.SALES_MANAGER,
        access.GENERAL_MANAGER,
        access.FINANCE,
        access.CLERK,
        access.ARCHIVIST,
        access.SERVICE,
        access.ADMIN,
    ):
        setattr(w, role, create_user(role, None, role))
    w.c1 = create_client(w.am1, name="华东甲贸易有限公司", phone="021-66668888")
    w.c2 = create_client(w.am2, name="华东乙科技有限公司", phone="021-55557777")
    w.c3 = create_client(w.am3, name="华北丙实业有限公司", phone="010-44443333")
    for c in (w.c1, w.c2, w.c3):
        create_key_person(c, name=f"{c.name[:2]}法人")
        create_contact_log(c)
    return w
