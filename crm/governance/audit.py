"""Moved to crm.audit (infrastructure, not governance). Kept for branches written before the
move; new code imports crm.audit."""

from crm.audit import (  # noqa: F401
    MASK,
    AuditEvent,
    actor_label,
    audit_reason,
    client_id_of,
    event_row,
    install,
    record,
)

_client_id = client_id_of
