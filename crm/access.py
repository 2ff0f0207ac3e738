"""The one place that says which records a user may see or touch (RULES R5, R12; DESIGN roles).

Reading is enforced in the query layer: while someone is signed in, every ORM SELECT over a
customer-owned model is narrowed by `scope_condition` (a `do_orm_execute` hook adding
`with_loader_criteria`). Lists, counts, search, filters, exports, look-ups, relationship loads
and reports are therefore covered by construction. Soft-deleted rows are hidden from everyone.

Ways out are explicit execution options: ``crm_unscoped`` (a named sweep or a duplicate check
that must see every customer) and ``crm_include_deleted`` (the recycle bin). An unscoped
statement opens only its own rows: lazy loads from them are narrowed for the user again, so a
sweep that needs children unscoped asks for them explicitly. Outside a request
(CLI, Celery tasks) the actor is the system and sees everything, and its writes are audited
as such.
"""

from flask import g, has_app_context, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, event, false, func, literal, or_, select
from sqlalchemy.orm import with_loader_criteria

ACCOUNT_MANAGER = "account_manager"
REGIONAL_MANAGER = "regional_manager"
SALES_MANAGER = "sales_manager"
GENERAL_MANAGER = "general_manager"
FINANCE = "finance"
CLERK = "clerk"
ARCHIVIST = "archivist"
SERVICE = "service"
ADMIN = "admin"

ROLES = {
    ACCOUNT_MANAGER: _l("Account manager"),
    REGIONAL_MANAGER: _l("Regional manager"),
    SALES_MANAGER: _l("Sales manager"),
    GENERAL_MANAGER: _l("General manager"),
    FINANCE: _l("Finance"),
    CLERK: _l("Sales clerk"),
    ARCHIVIST: _l("Archivist"),
    SERVICE: _l("Customer service"),
    ADMIN: _l("System administrator"),
}

READ_ALL = {SALES_MANAGER, GENERAL_MANAGER}
MANAGERS = {SALES_MANAGER, GENERAL_MANAGER}
# Beyond their own customers, some roles work on one level of EVERY customer's archive.
# A model names its level in `__scope__`; reads check the level, writes its WRITE_LEVELS entry.
ALL_CUSTOMERS_AT = {
    # R1 identity and contact of the card, nothing deeper
    "basic": {FINANCE, CLERK, SERVICE},
    # R15: the clerk enters and codes every customer's cards; service and finance read them
    "cards": {CLERK, SERVICE, FINANCE},
    "cards_write": {CLERK},
    # R11: finance reads and keeps every customer's credit and ledger (and reads contracts)
    "credit": {FINANCE},
    # R14: customer service takes every customer's complaints and keeps their revisits
    "complaints": {SERVICE},
    "revisits": {SERVICE},
    # R3, R9: the archivist reads catalogues and locations of all; content is 'detail' level
    "archive": {ARCHIVIST},
}
# The scope level a write checks, for areas whose writers reach wider than "write".
WRITE_LEVELS = {"cards": "cards_write", "credit": "credit", "complaints": "complaints",
                "archive": "archive", "revisits": "revisits"}
# Rows of no customer (industry notes, daily records) that only their author and READ_ALL see.
AUTHOR_POLICY = "author"
# The archive office's own records (disposal lists): the archivist and the managers. The same
# roles, and no others, see an archive document kept past its destroyed customer (R3, R6):
# such a row has no customer, so the customer condition below hides it from everyone whose
# reach is not all customers at the "archive" level.
ARCHIVE_OFFICE_POLICY = "archive_office"
# First contacts (R12) exist before any customer: their owner and region's manager see them.
OWNER_POLICY = "owner"
# Figures summed over many customers (crm.reviews consumption rollups): the account manager
# and region they count for say who reads them; managers and finance read them all.
ROLLUP_POLICY = "rollup"
ROLLUP_READ_ALL = {*READ_ALL, FINANCE}

# Which roles may do what, before the row-level scope is asked (R6: deleting needs a manager).
ACTIONS = {
    "clients": {
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        # R6: anyone in scope may ask; only the sales manager's deletion takes effect at once.
        "delete": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "see_id_number": {ACCOUNT_MANAGER, *MANAGERS},
    },
    "archive_detail": {  # key persons and contact logs: everyone in scope may add (R6)
        # R17: a key person's family, religion and character, for those who deal with them.
        "see_sensitive": {ACCOUNT_MANAGER, *MANAGERS},
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "delete": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},  # R6: asks
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
    },
    "cards": {  # issue, move and use member cards; account managers their own customers'
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, CLERK},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, CLERK},
        "use": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, CLERK},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, CLERK},
    },
    "card_types": {"create": MANAGERS, "edit": MANAGERS},
    # The WeCom / DingTalk group robots and the notice kinds each takes (crm.notifications).
    "notice_robots": {"create": {ADMIN, *MANAGERS}, "edit": {ADMIN, *MANAGERS}},
    "credit": {  # R11: finance keeps the ledger; the customer's people charge and propose
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
        "charge": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
        "payment": {FINANCE},
        "reverse": {FINANCE},
        "override": {REGIONAL_MANAGER, *MANAGERS},
        "defer": {REGIONAL_MANAGER, *MANAGERS},
        "plan": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
        "propose": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "check": {FINANCE, *MANAGERS},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
    },
    "credit_review": {  # the customer's people propose; the R11 chain decides step by step
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {REGIONAL_MANAGER, *MANAGERS},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
    },
    "contracts": {  # R3 cat. 2; finance reads them all (the "credit" level)
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "delete": MANAGERS,
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
    },
    "complaints": {  # R14: whoever takes it owns it; discounts count after a manager's yes
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "approve": MANAGERS,
        "delete": MANAGERS,
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
    },
    "commissions": {  # R3 cat. 6: sales are entered in scope; a manager confirms each month
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "confirm": MANAGERS,
        "export": {REGIONAL_MANAGER, *MANAGERS, FINANCE},
    },
    "commission_setup": {"create": MANAGERS, "edit": MANAGERS},  # schemes and promoters
    "industry": {  # R3 cat. 5
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "delete": MANAGERS,
        "export": MANAGERS,
    },
    "archives": {  # R4: the customer's people file, the leader approves, the archivist binds
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, ARCHIVIST},
        "file": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "approve": {REGIONAL_MANAGER, *MANAGERS},
        "bind": {ARCHIVIST, *MANAGERS},
        "delete": MANAGERS,
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, ARCHIVIST},
    },
    "disposals": {  # R3, R6: lists of documents past retention; the sales manager decides
        "create": {ARCHIVIST, *MANAGERS},
        "approve": {SALES_MANAGER},
        "carry_out": {ARCHIVIST, SALES_MANAGER},
    },
    "daily_records": {  # R8; promoting one files it in a customer's category archive
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE, CLERK},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE, CLERK},
        "promote": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "delete": MANAGERS,
        "export": MANAGERS,
    },
    "intake": {  # R12: first contacts, the assignment queue, a leaver's hand-over
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "assign": {REGIONAL_MANAGER, *MANAGERS},
        "handover": {SALES_MANAGER},
        "import": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
    },
    "invitations": {  # R13: the two divisions claim and confirm invitations
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, CLERK},
        "confirm": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, CLERK},
        "export": {REGIONAL_MANAGER, *MANAGERS, CLERK},
    },
    "consents": {  # R17: the customer's consent to each use of their information
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "export": {REGIONAL_MANAGER, *MANAGERS},
    },
    "revisits": {  # R14
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
    },
    # R14: the new-year needs survey. Managers set and launch it; answers are written in
    # scope at the "revisits" level (customer service asks every customer).
    "survey_setup": {"create": MANAGERS, "edit": MANAGERS, "launch": MANAGERS},
    "surveys": {
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "export": {REGIONAL_MANAGER, *MANAGERS, SERVICE},
    },
    "reviews": {  # R7: consumption and its half-year / yearly analyses, in scope
        "view": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, FINANCE},
    },
    "watch_list": {  # R7: the monthly list; the owner (or her leaders) records what was done
        "view": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "run": MANAGERS,  # make this month's list now
    },
    "reclass": {  # R7, R2: the quarterly proposals; a class changes only with this yes
        "view": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "approve": {SALES_MANAGER},
    },
    # Issue 15: the charts of the home pages (crm.reports.home), each for the roles whose
    # lists it counts; the figures themselves are narrowed by the scope like the lists.
    "home": {
        "view": set(ROLES),
        "today": {ACCOUNT_MANAGER},
        "consumption_trend": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "consumption_by_manager": {REGIONAL_MANAGER, *MANAGERS},
        "watch": {REGIONAL_MANAGER},
        "credit_use": {*MANAGERS, FINANCE},
        "credit_aging": {*MANAGERS, FINANCE},
        "top_exposures": {*MANAGERS, FINANCE},
        "collections": {FINANCE},
        "card_expiries": {*MANAGERS, CLERK},
        "complaints": {*MANAGERS, SERVICE},
        "commissions": MANAGERS,
        "archive_waiting": {ARCHIVIST},
        "archive_flags": {ARCHIVIST},
        "users_by_role": {ADMIN},
    },
    "faults": {  # R14: fault reports and their analysis, scoped like complaints
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS, SERVICE},
    },
}


class SYSTEM:
    """The actor of CLI commands and background tasks."""

    id = None
    role = "system"
    is_authenticated = False

    def __str__(self) -> str:
        return "system"


def current_actor():
    """The signed-in user of this request, None for an anonymous request, SYSTEM elsewhere."""
    if has_request_context():
        return g.get("crm_actor")
    if has_app_context() and g.get("crm_actor") is not None:
        return g.crm_actor
    return SYSTEM


def set_actor(user) -> None:
    g.crm_actor = user


def request_cache() -> dict:
    """A dict that lives exactly as long as the current request (an empty, throw-away one
    outside requests). Kept as an attribute of the request object: an app context (and its g)
    may outlive one request, and the WSGI environ takes only string keys (PEP 3333; gunicorn's
    access log lower-cases every key)."""
    if not has_request_context():
        return {}
    req = request._get_current_object()
    try:
        return req.crm_cache
    except AttributeError:
        req.crm_cache = {}
        return req.crm_cache


def _client_condition(user, level: str, grants: bool = True):
    """Condition on Client for `user` at `level` ('detail', 'write' or a key of
    ALL_CUSTOMERS_AT); None means all. `grants`: a read, which live view grants widen (R5)."""
    from crm.clients.models import Client

    role = getattr(user, "role", None)
    if role in READ_ALL:
        return None
    if role in (ACCOUNT_MANAGER, REGIONAL_MANAGER):
        if role == ACCOUNT_MANAGER:
            own = Client.owner_id == user.id
        else:
            own = (Client.region_id == user.region_id
                   if user.region_id and _regional_reads_region() else false())
        if grants and level not in ("write", "cards_write"):
            return _or_granted(own, user)
        return own
    if role in ALL_CUSTOMERS_AT.get(level, ()):
        return None
    return false()


def _regional_reads_region() -> bool:
    """Setting `regional_manager_reads_region` (seed 002 篇七 1.5), asked once per request."""
    from crm.extensions import db
    from crm.settings import DEFAULTS, Setting

    cache = request_cache()
    if "crm.rm_reads_region" not in cache:
        stmt = select(Setting.value).where(Setting.key == "regional_manager_reads_region")
        row = db.session.execute(stmt.execution_options(crm_unscoped=True)).first()
        cache["crm.rm_reads_region"] = bool(
            row[0] if row else DEFAULTS["regional_manager_reads_region"][0])
    return cache["crm.rm_reads_region"]


def _or_granted(own, user):
    """A live view grant (crm.governance.grants) adds read-only access to that customer."""
    from crm.clients.models import Client
    from crm.governance.grants import live_client_ids

    ids = live_client_ids(user)
    return or_(own, Client.id.in_(ids)) if ids else own


def scope_condition(user, model):
    """The condition narrowing reads of `model` for `user`; None when nothing is hidden."""
    from crm.clients.models import Client

    if user is SYSTEM:
        return None
    policy = getattr(model, "__scope__", None)
    if policy is None:
        return None
    if policy == AUTHOR_POLICY:
        return _author_condition(user, model)
    if policy == OWNER_POLICY:
        return _owner_condition(user, model)
    if policy == ARCHIVE_OFFICE_POLICY:
        role = getattr(user, "role", None)
        return None if role in READ_ALL | ALL_CUSTOMERS_AT["archive"] else false()
    if policy == ROLLUP_POLICY:
        return _rollup_condition(user, model)
    if policy == "recipient":  # a person's own inbox: nobody else's notifications, ever
        return model.recipient_id == user.id if user is not None else false()
    cond = false() if user is None else _client_condition(user, policy)
    if model is Client or cond is None:
        return cond
    visible = select(Client.id).where(cond, Client.deleted_at.is_(None))
    return model.client_id.in_(visible)


def scoped_models():
    from crm.extensions import db

    return [m.class_ for m in db.Model.registry.mappers if getattr(m.class_, "__scope__", None)]


def can(user, action: str, obj=None, area: str | None = None) -> bool:
    """May `user` do `action` ('view', 'create', 'edit', 'delete', 'export', …) on `obj`?"""
    if user is SYSTEM:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    area = area or getattr(obj, "__scope_area__", None)
    if action != "view" and user.role not in ACTIONS.get(area, {}).get(action, set()):
        return False
    if obj is None:
        return True
    # A view grant opens reading only: no write, no sensitive field in full (R5, R17).
    return in_scope(user, obj, write=action not in ("view", "export", "see_id_number",
                                                    "see_sensitive"),
                    grants=action in ("view", "export"))


def in_scope(user, obj, write: bool = False, level: str | None = None,
             grants: bool = True) -> bool:
    """Ask the database, with the condition the query layer uses, whether obj is in scope
    (at its model's level, or at `level` when a deeper read than the row's is asked).
    `grants=False` leaves out what only a view grant opens."""
    from crm.clients.models import Client
    from crm.extensions import db

    if isinstance(obj, Client) and obj.id is None:
        return _new_client_allowed(user, obj)
    if getattr(type(obj), "__scope__", None) is None:
        return True  # a table with no row scope (settings, robots): the area's roles decide
    if type(obj).__scope__ == AUTHOR_POLICY:
        return user.role in READ_ALL or obj.author_id == user.id
    if type(obj).__scope__ == ROLLUP_POLICY:
        return not write and _rollup_in_scope(user, obj)
    client_ids = _client_ids(obj)
    level = level or type(obj).__scope__
    if not client_ids:
        return _kept_past_customer(user, obj, write, level)
    cond = _client_condition(user, WRITE_LEVELS.get(level, "write") if write else level,
                             grants=grants and not write)
    stmt = select(func.count()).where(Client.id.in_(client_ids), Client.deleted_at.is_(None))
    if cond is not None:
        stmt = stmt.where(cond)
    return db.session.execute(stmt.execution_options(crm_unscoped=True)).scalar() == len(
        client_ids)


def readable_models(user, client_id: int, models) -> set:
    """Which of `models` (row-scoped classes with a customer) `user` may read of one customer:
    what can(user, "view", Model(client_id=client_id)) says for each, in one statement (the
    customer card asks it for each of its sections)."""
    from crm.clients.models import Client
    from crm.extensions import db

    if user is SYSTEM:
        return set(models)
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    models = list(models)
    columns = []
    for model in models:
        cond = _client_condition(user, model.__scope__)
        columns.append(case((cond, 1), else_=0) if cond is not None else literal(1))
    row = db.session.execute(
        select(*columns).where(Client.id == client_id, Client.deleted_at.is_(None))
        .execution_options(crm_unscoped=True)).first()
    return {m for m, ok in zip(models, row or (), strict=False) if ok}


def _kept_past_customer(user, obj, write: bool, level: str) -> bool:
    """A record kept after its customer's destruction (an archive document under retention)
    belongs to no customer: the managers read it whole, the archivist its catalogue entry;
    nobody changes it. Any other row of no customer is nobody's."""
    if write or getattr(obj, "destruction_id", None) is None:
        return False
    role = getattr(user, "role", None)
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
    role = getattr(user, "role", None)
    if role in read_all:
        return None
    if role == ACCOUNT_MANAGER:
        return person_column == user.id
    if role == REGIONAL_MANAGER and user.region_id:
        return region_column == user.region_id
    return false()


def _rollup_condition(user, model):
    """Summed figures: an account manager's own, a regional manager's region's, or all."""
    return _person_or_region(user, model.account_manager_id, model.region_id, ROLLUP_READ_ALL)


def _rollup_in_scope(user, obj) -> bool:
    role = getattr(user, "role", None)
    if role in ROLLUP_READ_ALL:
        return True
    if role == ACCOUNT_MANAGER:
        return obj.account_manager_id == user.id
    return role == REGIONAL_MANAGER and bool(user.region_id) and obj.region_id == user.region_id


def _client_ids(obj) -> set:
    """The customers `obj` belongs to: the one stored, and the one a form has just put in its
    `client` relationship, which reaches `client_id` only at the flush. Empty when it would
    belong to none."""
    from crm.clients.models import Client

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


def _soft_delete_filter(cls):
    return cls.deleted_at.is_(None)


def _deleted_customer_criteria() -> list:
    """Rows of a soft-deleted customer are hidden from everyone, the system's sweeps included,
    as the customer is (R6: a deleted customer leaves every list, count, report and task).
    Written on the Core table, so that no loader criterion on Client reaches the sub-select;
    the deleted customers are few (the recycle bin), so the NOT IN stays small."""
    global _DELETED_CUSTOMER_CRITERIA
    if _DELETED_CUSTOMER_CRITERIA is not None:
        return _DELETED_CUSTOMER_CRITERIA
    from crm.clients.models import Client

    table = Client.__table__
    deleted = select(table.c.id).where(table.c.deleted_at.is_not(None))
    _DELETED_CUSTOMER_CRITERIA = [with_loader_criteria(
        model, or_(model.client_id.is_(None), model.client_id.not_in(deleted)),
        include_aliases=True)
        for model in scoped_models() if model is not Client and hasattr(model, "client_id")]
    return _DELETED_CUSTOMER_CRITERIA


_DELETED_CUSTOMER_CRITERIA = None


def _narrow(state) -> None:
    if not state.is_select or state.is_column_load:
        return
    from crm.clients.models import SoftDeleted

    options = []
    # A lazy load inherits the soft-delete criterion (or, from the recycle bin, its absence)
    # from the query that loaded its parent. The user's scope is added to it all the same:
    # the parent may come from an unscoped duplicate check, and its children must not.
    if not state.is_relationship_load and not state.execution_options.get("crm_include_deleted"):
        options.append(with_loader_criteria(SoftDeleted, _soft_delete_filter, include_aliases=True))
        options.extend(_deleted_customer_criteria())
    if not state.execution_options.get("crm_unscoped"):
        actor = current_actor()
        if actor is not SYSTEM:
            options.extend(_scope_options(actor))
    if options:
        state.statement = state.statement.options(*_present(state.statement, options))


def _present(statement, options) -> list:
    """The options whose class the statement can load: SQLAlchemy builds a cache key of every
    option on every execution, and the scope holds one per scoped model (a third of a page's
    Python time). Kept whenever it cannot be told: loader options of the statement's own."""
    classes = _classes_in(statement)
    if classes is None:
        return options
    return [o for o in options if _applies(o, classes)]


def _applies(option, classes) -> bool:
    if option.entity is not None:  # a mapped class
        return option.entity.class_ in classes
    return any(issubclass(c, option.root_entity) for c in classes)  # a mixin: SoftDeleted


def _classes_in(statement) -> set | None:
    """The mapped classes of every table the statement reads (FROM, joins, subqueries), and
    those their eager joined relationships bring along; None if it has loader options or
    reads a table the map does not know."""
    from sqlalchemy import Table
    from sqlalchemy.sql.selectable import Alias
    from sqlalchemy.sql.util import find_tables

    from crm.extensions import db

    if any(not getattr(o, "_is_criteria_option", False) for o in statement._with_options):
        return None
    by_table = _classes_by_table(db.Model.registry)
    found, todo = set(), []
    for table in find_tables(statement, check_columns=True, include_aliases=True,
                             include_joins=True):
        if isinstance(table, Alias):  # aliased(Model)
            table = table.element
        if isinstance(table, Table):
            if table.name not in by_table:  # mapped after the map was made: keep them all
                return None
            todo += by_table[table.name]
    while todo:
        cls = todo.pop()
        if cls in found:
            continue
        found.add(cls)
        todo += [r.mapper.class_ for r in cls.__mapper__.relationships if r.lazy == "joined"]
    return found


_BY_TABLE = {}


def _classes_by_table(registry) -> dict:
    if not _BY_TABLE:
        for mapper in registry.mappers:
            for table in mapper.tables:
                _BY_TABLE.setdefault(table.name, []).append(mapper.class_)
    return _BY_TABLE


def _scope_options(actor) -> list:
    """The actor's loader criteria, built once per request and reused by each of its
    statements: rebuilt per statement they cost more than a list page's SQL (issue 8)."""
    cache = request_cache()
    key = ("crm.scope_options", id(actor))
    if key not in cache:
        cache[key] = [with_loader_criteria(model, cond, include_aliases=True)
                      for model in scoped_models()
                      if (cond := scope_condition(actor, model)) is not None]
    return cache[key]


def install(session_class) -> None:
    """Hook the scope into every ORM SELECT made through sessions of `session_class`."""
    if not event.contains(session_class, "do_orm_execute", _narrow):
        event.listen(session_class, "do_orm_execute", _narrow)
