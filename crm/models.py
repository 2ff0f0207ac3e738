"""Imports every model so that the mappers and Alembic see all tables."""

from crm.auth.models import Region, User  # noqa: F401
from crm.clients.models import Client, ContactLog, KeyPerson  # noqa: F401
from crm.governance.models import AuditEvent, TaskRun  # noqa: F401
from crm.notifications.models import Notification, OutboxMail  # noqa: F401
from crm.sequences import Counter  # noqa: F401
from crm.settings import Setting  # noqa: F401
