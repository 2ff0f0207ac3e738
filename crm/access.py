"""The one place that says which records a user may see or touch (RULES R5, R12; DESIGN roles).

Reading is enforced in the query layer: while someone is signed in, every ORM SELECT over a
customer-owned model is narrowed by `scope_condition` (a `do_orm_execute` hook adding
`with_loader_criteria`). Lists, counts, search, filters, exports, look-ups, relationship loads
and reports are therefore covered by construction. Soft-deleted rows are hidden from everyone.

Ways out are explicit execution options: ``crm_unscoped`` (a named sweep or a duplicate check
that must see every customer) and ``crm_include_deleted`` (the recycle bin). Outside a request
(CLI, Celery tasks) the actor is the system and sees everything, and its writes are audited
as such.
"""

from flask import g, has_app_context, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, false, select
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
# Roles that read every customer's basic card (R1 identity and contact) but nothing deeper.
READ_BASIC = {FINANCE, CLERK, SERVICE}
MANAGERS = {SALES_MANAGER, GENERAL_MANAGER}

# Which roles may do what, before the row-level scope is asked (R6: deleting needs a manager).
ACTIONS = {
    "clients": {
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "delete": MANAGERS,
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "see_id_number": {ACCOUNT_MANAGER, *MANAGERS},
    },
    "archive_detail": {  # key persons and contact logs: everyone in scope may add (R6)
        "create": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "edit": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
        "delete": MANAGERS,
        "export": {ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS},
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


def _client_condition(user, level: str):
    """Condition on Client for `user` at `level` ('basic', 'detail', 'write'); None means all."""
    from crm.clients.models import Client

    role = getattr(user, "role", None)
    if role in READ_ALL:
        return None
    if role == ACCOUNT_MANAGER:
        return Client.owner_id == user.id
    if role == REGIONAL_MANAGER:
        return Client.region_id == user.region_id if user.region_id else false()
    if level == "basic" and role in READ_BASIC:
        return None
    return false()


def scope_condition(user, model):
    """The condition narrowing reads of `model` for `user`; None when nothing is hidden."""
    from crm.clients.models import Client

    if user is SYSTEM:
        return None
    policy = getattr(model, "__scope__", None)
    if policy is None:
        return None
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
    return in_scope(user, obj, write=action not in ("view", "export", "see_id_number"))


def in_scope(user, obj, write: bool = False) -> bool:
    """Ask the database, with the condition the query layer uses, whether obj is in scope."""
    from crm.clients.models import Client
    from crm.extensions import db

    if isinstance(obj, Client) and obj.id is None:
        return _new_client_allowed(user, obj)
    client_id = obj.id if isinstance(obj, Client) else obj.client_id
    if client_id is None:
        return False
    cond = _client_condition(user, "write" if write else type(obj).__scope__)
    stmt = select(Client.id).where(Client.id == client_id, Client.deleted_at.is_(None))
    if cond is not None:
        stmt = stmt.where(cond)
    return db.session.execute(stmt.execution_options(crm_unscoped=True)).first() is not None


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


def _narrow(state) -> None:
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    from crm.clients.models import SoftDeleted

    options = []
    if not state.execution_options.get("crm_include_deleted"):
        options.append(with_loader_criteria(SoftDeleted, _soft_delete_filter, include_aliases=True))
    if not state.execution_options.get("crm_unscoped"):
        actor = current_actor()
        if actor is not SYSTEM:
            for model in scoped_models():
                cond = scope_condition(actor, model)
                if cond is not None:
                    options.append(with_loader_criteria(model, cond, include_aliases=True))
    if options:
        state.statement = state.statement.options(*options)


def install(session_class) -> None:
    """Hook the scope into every ORM SELECT made through sessions of `session_class`."""
    if not event.contains(session_class, "do_orm_execute", _narrow):
        event.listen(session_class, "do_orm_execute", _narrow)
