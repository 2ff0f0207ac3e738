"""Statements every area writes the same way."""

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(session, target):
    """An INSERT on `target` in the dialect of the session's database (PostgreSQL or SQLite),
    which has `on_conflict_do_nothing` and `on_conflict_do_update`."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


def insert_or_ignore(session, target, conflict_columns):
    """`INSERT … ON CONFLICT (conflict_columns) DO NOTHING` on `target` (a model or a table) in
    the dialect of the session's database (PostgreSQL or SQLite). The caller adds `.values()`,
    `.from_select()` or `.returning()` and executes it; a row whose key is already there is
    skipped, which is what makes the tasks that use it safe to run twice."""
    return dialect_insert(session, target).on_conflict_do_nothing(
        index_elements=list(conflict_columns)
    )


def unscoped(reason: str, *, deleted: bool = False) -> dict:
    """Execution options that read past the signed-in user's row scope (crm.access's query
    hook honours `crm_unscoped`), for a sweep, a duplicate check or a look-up that must see
    every customer. `reason` says why, in the code and in the option's value; `deleted=True`
    also opens soft-deleted rows (the recycle bin, retention). Use as
    `stmt.execution_options(**unscoped("duplicate check"))`."""
    if not reason or not reason.strip():
        raise ValueError("unscoped() needs the reason the scope is passed")
    options = {"crm_unscoped": reason}
    if deleted:
        options["crm_include_deleted"] = True
    return options


def without_jit(session) -> None:
    """For the rest of the caller's transaction, PostgreSQL compiles no statement to machine
    code (JIT). A sweep of many short index look-ups (a sub-select per row) is costed high
    enough to trigger it, and the compiling then takes longer than the look-ups: 330 ms of a
    900 ms statement in the card daily task at a million customers. Nothing on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
