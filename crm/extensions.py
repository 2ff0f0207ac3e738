"""Extensions, created unbound; crm.create_app binds them."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic migrations work the same on SQLite (batch mode) and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


HAND_WRITTEN_INDEXES = (
    "ix_clients_live_",
    "ix_clients_trgm_",
    "ix_clients_grams_",
    "ix_clients_owner_grams_",  # h29_0030: an account manager's short search
)


# The constraints crm.kernel.bulk_reference declares, as SQLite's database still has them.
BULK_REFERENCES = (
    "fk_notifications_client_id_clients",
    "fk_notifications_recipient_id_users",
    "fk_credit_crossings_client_id_clients",
    "fk_reclass_proposals_client_id_clients",
)


def migration_include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate filter: the list screens' partial (live rows) and trigram indexes of
    0009_scale and the short-term search indexes of 0011_search and h29_0030 are written by
    hand; the models don't declare them, so never propose dropping them."""
    if type_ == "index" and reflected and compare_to is None:
        return not name.startswith(HAND_WRITTEN_INDEXES)
    if type_ == "foreign_key_constraint":  # crm.kernel.bulk_reference: declared, not enforced
        declared = obj if not reflected else compare_to
        if declared is not None and any(
            fk.info.get("bulk_reference") for fk in getattr(declared, "elements", ())
        ):
            return False
        if reflected and compare_to is None and name in BULK_REFERENCES:
            return False
    return True


migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
