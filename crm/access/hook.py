"""The query hook: every ORM SELECT made while someone is signed in is narrowed by
crm.access.scope (a `do_orm_execute` hook adding `with_loader_criteria`). Lists, counts,
search, filters, exports, look-ups, relationship loads and reports are therefore covered by
construction. Soft-deleted rows, and the rows of a soft-deleted customer, are hidden from
everyone.

Ways out are explicit execution options: ``crm_unscoped`` (a named sweep or a duplicate check
that must see every customer) and ``crm_include_deleted`` (the recycle bin). An unscoped
statement opens only its own rows: lazy loads from them are narrowed for the user again, so a
sweep that needs children unscoped asks for them explicitly. Outside a request (CLI, Celery
tasks) the actor is the system and sees everything.

The statement-pruning optimiser (`_present`) reads SQLAlchemy internals
(`Select._with_options`, `sql.util.find_tables`, loader options' `entity`/`root_entity`): it is
why pyproject pins SQLAlchemy tightly. tests/clients/test_scope_options.py guards it.
"""

from sqlalchemy import Table, event, or_, select
from sqlalchemy.orm import Mapper, MapperProperty, RelationshipProperty, with_loader_criteria
from sqlalchemy.orm.strategy_options import Load
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import find_tables

from crm.access import scope
from crm.access.actor import SYSTEM, current_actor
from crm.clients.models import Client
from crm.extensions import db
from crm.kernel import SoftDeleted


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
    table = Client.__table__
    deleted = select(table.c.id).where(table.c.deleted_at.is_not(None))
    _DELETED_CUSTOMER_CRITERIA = [
        with_loader_criteria(
            model,
            or_(model.client_id.is_(None), model.client_id.not_in(deleted)),
            include_aliases=True,
        )
        for model in scope.scoped_models()
        if model is not Client and hasattr(model, "client_id")
    ]
    return _DELETED_CUSTOMER_CRITERIA


_DELETED_CUSTOMER_CRITERIA = None


def _narrow(state) -> None:
    if not state.is_select or state.is_column_load:
        return
    statement = state.statement
    classes = _classes_in(statement)
    options = []
    # A lazy load inherits the soft-delete criterion (or, from the recycle bin, its absence)
    # from the query that loaded its parent. The user's scope is added to it all the same:
    # the parent may come from an unscoped duplicate check, and its children must not.
    if not state.is_relationship_load and not state.execution_options.get("crm_include_deleted"):
        options.append(with_loader_criteria(SoftDeleted, _soft_delete_filter, include_aliases=True))
        options.extend(_deleted_customer_criteria())
    if options:
        options = _present(statement, options, classes)
    if not state.execution_options.get("crm_unscoped"):
        actor = current_actor()
        if actor is not SYSTEM:
            options.extend(_scope_options(actor, classes))
    if options:
        state.statement = statement.options(*options)


def _present(statement, options, classes=False) -> list:
    """The options whose class the statement can load: SQLAlchemy builds a cache key of every
    option on every execution, and the scope holds one per scoped model (a third of a page's
    Python time). All of them when it cannot be told: an option of the statement's own whose
    reach is unknown, or a table the map does not know. `classes`: _classes_in(statement),
    when the caller has it."""
    if classes is False:
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
    those their eager joined relationships and its loader options (joinedload(...), …) bring
    along; None if it has an option whose reach cannot be told or reads a table the map does
    not know."""
    todo = _option_classes(statement._with_options)
    if todo is None:
        return None
    by_table = _classes_by_table(db.Model.registry)
    found = set()
    for table in find_tables(
        statement, check_columns=True, include_aliases=True, include_joins=True
    ):
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


def _option_classes(options) -> list | None:
    """The classes the statement's loader options name on their paths (a list page's
    joinedload of the owner: User); None for an option of another kind or a wildcard path."""
    classes = []
    for option in options:
        if getattr(option, "_is_criteria_option", False):
            continue
        if not isinstance(option, Load):
            return None
        for element in option.context:
            for item in element.path:
                if isinstance(item, Mapper):
                    classes.append(item.class_)
                elif isinstance(item, RelationshipProperty) or getattr(
                    item, "is_aliased_class", False
                ):  # the target of a relationship; aliased(Model)
                    classes.append(item.mapper.class_)
                elif not isinstance(item, MapperProperty):  # a wildcard: it may reach anything
                    return None
    return classes


_BY_TABLE = {}


def _classes_by_table(registry) -> dict:
    if not _BY_TABLE:
        for mapper in registry.mappers:
            for table in mapper.tables:
                _BY_TABLE.setdefault(table.name, []).append(mapper.class_)
    return _BY_TABLE


OPTIONS_KEPT = 4096  # users' criteria kept at most; beyond it the cache restarts
_OPTIONS: dict[tuple, dict] = {}


def _scope_options(actor, classes) -> list:
    """The actor's loader criteria for the scoped models among `classes` (all of them when
    None). Rebuilt per statement they cost more than a list page's SQL (issue 8), built for
    every scoped model a sixth of its Python time: each is built once per process for what
    the conditions depend on (scope.scope_key: the user, role, region, live view grants and
    the regional setting, read afresh by each request) and reused by every statement."""
    key = scope.scope_key(actor)
    cache = _OPTIONS.get(key)
    if cache is None:
        if len(_OPTIONS) >= OPTIONS_KEPT:
            _OPTIONS.clear()
        cache = _OPTIONS.setdefault(key, {})
    if classes is None:
        models = scope.scoped_models()
    else:  # in a fixed order: SQLAlchemy's statement cache keys on the options' order
        models = sorted(
            (c for c in classes if getattr(c, "__scope__", None)), key=lambda c: c.__name__
        )
    options = []
    for model in models:
        if model not in cache:
            cond = scope.scope_condition(actor, model)
            cache[model] = (
                None if cond is None else with_loader_criteria(model, cond, include_aliases=True)
            )
        if cache[model] is not None:
            options.append(cache[model])
    return options


def install(session_class) -> None:
    """Hook the scope into every ORM SELECT made through sessions of `session_class`."""
    if not event.contains(session_class, "do_orm_execute", _narrow):
        event.listen(session_class, "do_orm_execute", _narrow)
