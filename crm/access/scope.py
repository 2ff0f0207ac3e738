"""Which records a user may see or touch (RULES R5, R12; DESIGN roles): the conditions the
query hook (crm.access.hook) adds to every read, and the same conditions asked of one row.

A customer-owned model names its level in `__scope__` ('detail', 'basic', 'credit', …, see
crm.access.roles.ALL_CUSTOMERS_AT); models of no customer name a row policy instead
(author, owner, recipient, promoter, archive office).
"""

from flask import has_request_context
from sqlalchemy import case, event, false, func, literal, or_, select
from sqlalchemy.orm import Session

from crm.access.actor import SYSTEM, request_cache
from crm.access.roles import (
    ACCOUNT_MANAGER,
    ALL_CUSTOMERS_AT,
    ARCHIVE_OFFICE_POLICY,
    AUTHOR_POLICY,
    MANAGERS,
    OWNER_POLICY,
    PROMOTER_POLICY,
    READ_ALL,
    RECIPIENT_POLICY,
    REGIONAL_MANAGER,
    ROLLUP_POLICY,
    ROLLUP_READ_ALL,
    WRITE_LEVELS,
    role_of,
)
from crm.clients.models import Client
from crm.extensions import db
from crm.governance.models import APPROVED, ViewGrant
from crm.kernel import unscoped
from crm.settings import DEFAULTS, Setting
from crm.timeutil import utcnow

# The scope's own look-ups read past the scope they compute.
_SETTING = unscoped("a setting everyone's scope depends on")
_GRANTS = unscoped("the user's own live view grants")
_CHECK = unscoped("the scope check asks the database itself")


def _reach(user, level: str, grants: bool = True) -> str:
    """How far `user` reads or writes at `level`: "all" customers, their "own" (an account
    manager's, a regional manager's region), "own+grants" (a read widened by live view grants,
    R5) or "none"."""
    role = role_of(user)
    if role in READ_ALL:
        return "all"
    if role in (ACCOUNT_MANAGER, REGIONAL_MANAGER):
        return "own+grants" if grants and level not in ("write", "cards_write") else "own"
    if role in ALL_CUSTOMERS_AT.get(level, ()):
        return "all"
    return "none"


def _client_condition(user, level: str, grants: bool = True):
    """Condition on Client for `user` at `level` ('detail', 'write' or a key of
    ALL_CUSTOMERS_AT); None means all. `grants`: a read, which live view grants widen (R5)."""
    reach = _reach(user, level, grants)
    if reach == "all":
        return None
    if reach == "none":
        return false()
    if role_of(user) == ACCOUNT_MANAGER:
        own = Client.owner_id == user.id
    else:
        own = (
            Client.region_id == user.region_id
            if user.region_id and _regional_reads_region()
            else false()
        )
    return _or_granted(own, user) if reach == "own+grants" else own


def _regional_reads_region() -> bool:
    """Setting `regional_manager_reads_region` (seed 002 篇七 1.5), asked once per request."""
    cache = request_cache()
    if "crm.rm_reads_region" not in cache:
        stmt = select(Setting.value).where(Setting.key == "regional_manager_reads_region")
        row = db.session.execute(stmt.execution_options(**_SETTING)).first()
        cache["crm.rm_reads_region"] = bool(
            row[0] if row else DEFAULTS["regional_manager_reads_region"][0]
        )
    return cache["crm.rm_reads_region"]


def live_client_ids(user) -> list[int]:
    """The customers `user` reads under a live view grant now (R5; asked once per request).
    The grant ends by itself: its end is compared with the current time here."""
    cache = request_cache().setdefault("crm.grant_ids", {})
    if user.id not in cache:
        t = ViewGrant.__table__
        stmt = select(t.c.client_id).where(
            t.c.author_id == user.id, t.c.status == APPROVED, t.c.ends_at > utcnow()
        )
        cache[user.id] = list(db.session.execute(stmt.execution_options(**_GRANTS)).scalars())
    return cache[user.id]


def forget_grants() -> None:
    """A grant was decided in this request: the next read asks again."""
    request_cache().pop("crm.grant_ids", None)
    request_cache().pop(_ANSWERS, None)


def _or_granted(own, user):
    """A live view grant adds read-only access to that customer."""
    ids = live_client_ids(user)
    return or_(own, Client.id.in_(ids)) if ids else own


def scope_key(user) -> tuple:
    """Everything scope_condition(user, …) depends on, as a key: two users (or one user at
    two moments) with the same key get the same conditions. The live grants and the regional
    setting are read once per request (they change without a restart)."""
    role = role_of(user)
    key = (role, getattr(user, "id", None), getattr(user, "region_id", None))
    if role in (ACCOUNT_MANAGER, REGIONAL_MANAGER):
        key += (tuple(live_client_ids(user)),)
        if role == REGIONAL_MANAGER:
            key += (bool(user.region_id) and _regional_reads_region(),)
    return key


def scope_condition(user, model):
    """The condition narrowing reads of `model` for `user`; None when nothing is hidden."""
    if user is SYSTEM:
        return None
    policy = getattr(model, "__scope__", None)
    if policy is None:
        return None
    if policy == AUTHOR_POLICY:
        return _author_condition(user, model)
    if policy == OWNER_POLICY:
        return _owner_condition(user, model)
    if policy == PROMOTER_POLICY:
        return _promoter_condition(user, model)
    if policy == ARCHIVE_OFFICE_POLICY:
        return None if role_of(user) in READ_ALL | ALL_CUSTOMERS_AT["archive"] else false()
    if policy == RECIPIENT_POLICY:
        return model.recipient_id == user.id if user is not None else false()
    if policy == ROLLUP_POLICY:
        return _person_or_region(user, model.account_manager_id, model.region_id, ROLLUP_READ_ALL)
    cond = false() if user is None else _client_condition(user, policy)
    if model is Client or cond is None:
        return cond
    visible = select(Client.id).where(cond, Client.deleted_at.is_(None))
    return model.client_id.in_(visible)


def scoped_models():
    return [m.class_ for m in db.Model.registry.mappers if getattr(m.class_, "__scope__", None)]


def in_scope(user, obj, write: bool = False, level: str | None = None, grants: bool = True) -> bool:
    """Ask the database, with the condition the query layer uses, whether obj is in scope
    (at its model's level, or at `level` when a deeper read than the row's is asked).
    `grants=False` leaves out what only a view grant opens."""
    if isinstance(obj, Client) and obj.id is None:
        return _new_client_allowed(user, obj)
    policy = getattr(type(obj), "__scope__", None)
    if policy is None:
        return True  # a table with no row scope (settings, robots): the area's roles decide
    if policy == AUTHOR_POLICY:
        return role_of(user) in READ_ALL or obj.author_id == user.id
    if policy in (PROMOTER_POLICY, ROLLUP_POLICY):
        return not write and _row_visible(user, obj)
    client_ids = _client_ids(obj)
    level = level or policy
    if not client_ids:
        return _kept_past_customer(user, obj, write, level)
    level = WRITE_LEVELS.get(level, "write") if write else level
    grants = grants and not write
    reach = _reach(user, level, grants)
    if reach == "none":
        return False
    # The card asks this of one customer for each of its sections: one statement per reach,
    # remembered for the request until the session writes (scope_checks_changed below).
    answers = request_cache().setdefault(_ANSWERS, {})
    key = (getattr(user, "id", None), reach, frozenset(client_ids))
    if key not in answers:
        cond = _client_condition(user, level, grants=grants)
        stmt = select(func.count()).where(Client.id.in_(client_ids), Client.deleted_at.is_(None))
        if cond is not None:
            stmt = stmt.where(cond)
        count = db.session.execute(stmt.execution_options(**_CHECK)).scalar()
        answers[key] = count == len(client_ids)
    return answers[key]


_ANSWERS = "crm.scope_answers"


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_soft_rollback")
def scope_checks_changed(*_args) -> None:
    """A flush (or its undoing) may move a customer in or out of a scope: ask again."""
    if has_request_context():
        request_cache().pop(_ANSWERS, None)


def _row_visible(user, obj) -> bool:
    """A stored row of a model of no customer, read through its own condition."""
    model = type(obj)
    cond = scope_condition(user, model)
    if cond is None:
        return True
    if obj.id is None:
        return False
    stmt = select(func.count()).select_from(model).where(model.id == obj.id, cond)
    return db.session.execute(stmt.execution_options(**_CHECK)).scalar() == 1


def readable_models(user, client_id: int, models) -> set:
    """Which of `models` (row-scoped classes with a customer) `user` may read of one customer:
    what can(user, "view", Model(client_id=client_id)) says for each, in one statement (the
    customer card asks it for each of its sections). The same statement answers whether the
    user may change the customer: the checks that follow in the request (can(user, "view" or
    "edit", …) of this customer) are answered from it."""
    if user is SYSTEM:
        return set(models)
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    asked = [(m.__scope__, True) for m in models] + [("write", False)]
    columns = []
    for level, grants in asked:
        cond = _client_condition(user, level, grants=grants)
        columns.append(case((cond, 1), else_=0) if cond is not None else literal(1))
    row = db.session.execute(
        select(*columns)
        .where(Client.id == client_id, Client.deleted_at.is_(None))
        .execution_options(**_CHECK)
    ).first()
    answers = request_cache().setdefault(_ANSWERS, {})
    for (level, grants), ok in zip(asked, row or [0] * len(asked), strict=True):
        key = (getattr(user, "id", None), _reach(user, level, grants), frozenset({client_id}))
        answers[key] = bool(ok)
    return {m for m, ok in zip(models, row or (), strict=False) if ok}


def _kept_past_customer(user, obj, write: bool, level: str) -> bool:
    """A record kept after its customer's destruction (an archive document under retention)
    belongs to no customer: the managers read it whole, the archivist its catalogue entry;
    nobody changes it. Any other row of no customer is nobody's."""
    if write or getattr(obj, "destruction_id", None) is None:
        return False
    role = role_of(user)
    return role in READ_ALL or (role in ALL_CUSTOMERS_AT["archive"] and level == "archive")


def _author_condition(user, model):
    if user is None:
        return false()
    return None if user.role in READ_ALL else model.author_id == user.id


def _owner_condition(user, model):
    """Rows kept by a person before a customer exists: theirs, their region's, or all."""
    return _person_or_region(user, model.owner_id, model.region_id, READ_ALL)


def _person_or_region(user, person_column, region_column, read_all):
    """An account manager's own rows, a regional manager's region's, all for `read_all`."""
    role = role_of(user)
    if role in read_all:
        return None
    if role == ACCOUNT_MANAGER:
        return person_column == user.id
    if role == REGIONAL_MANAGER and user.region_id:
        return region_column == user.region_id
    return false()


def _promoter_condition(user, model):
    """A promoter's statements: the promoter's own member of staff; the managers and finance
    read all (R3 cat. 6)."""
    role = role_of(user)
    if role in READ_ALL | ALL_CUSTOMERS_AT["statements"]:
        return None
    if user is None or getattr(user, "id", None) is None:
        return false()
    promoter = model.promoter.property.mapper.class_
    return model.promoter_id.in_(select(promoter.id).where(promoter.user_id == user.id))


def _client_ids(obj) -> set:
    """The customers `obj` belongs to: the one stored, and the one a form has just put in its
    `client` relationship, which reaches `client_id` only at the flush. Empty when it would
    belong to none."""
    if isinstance(obj, Client):
        return {obj.id}
    ids = {obj.client_id} - {None}
    if "client" in obj.__dict__:
        pending = getattr(obj.__dict__["client"], "id", None)
        if pending is None:
            return set()
        ids.add(pending)
    return ids


def _new_client_allowed(user, client) -> bool:
    if user.role in MANAGERS:
        return True
    if user.role == ACCOUNT_MANAGER:
        return client.owner_id == user.id
    if user.role == REGIONAL_MANAGER:
        return client.region_id == user.region_id
    return False
