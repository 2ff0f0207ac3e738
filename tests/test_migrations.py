from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm.extensions import db, migration_include_object


def test_the_migrated_schema_is_exactly_the_models(app):
    """Schema changes go through migrations only: a model change without one turns this red."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": migration_include_object, "compare_type": True}
        )
        assert compare_metadata(context, db.metadata) == []


def test_the_migrations_have_one_head():
    """Branches each add a migration on today's head; merged, they must be chained again (a
    second head would make `db upgrade` ask which one to follow)."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    folder = Path(__file__).parent.parent / "migrations"
    config = Config(str(folder / "alembic.ini"))
    config.set_main_option("script_location", str(folder))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"more than one migration head: {sorted(heads)}"
