from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm.extensions import db, migration_include_object


def test_the_migrated_schema_is_exactly_the_models(app):
    """Schema changes go through migrations only: a model change without one turns this red."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": migration_include_object, "compare_type": True})
        assert compare_metadata(context, db.metadata) == []
