"""Statements every area writes the same way."""

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
