"""Who may do what, and which records they reach (RULES R5, R6, R12; DESIGN roles).

- crm.access.roles   role names, their labels, the groups the table is written with
- crm.access.policy  ACTIONS, the one table area → action → roles, and `can`
- crm.access.actor   the current actor (a signed-in user, or SYSTEM outside requests)
- crm.access.scope   the row scope: conditions per model, `in_scope` for one row
- crm.access.hook    the query hook that narrows every ORM read, and its statement pruning

Import order has no circle: roles and actor import nothing of the application; scope imports
models; policy imports scope; hook imports scope. The names below are the public API.
"""

from crm.access.actor import SYSTEM, current_actor, request_cache, set_actor
from crm.access.hook import install
from crm.access.policy import ACTIONS, allowed, can, roles_for
from crm.access.roles import (
    ACCOUNT_MANAGER,
    ADMIN,
    ALL_CUSTOMERS_AT,
    ARCHIVE_OFFICE_POLICY,
    ARCHIVIST,
    AUTHOR_POLICY,
    CLERK,
    EVERYONE,
    FIELD_SALES,
    FINANCE,
    GENERAL_MANAGER,
    MANAGERS,
    OWNER_POLICY,
    PROMOTER_POLICY,
    READ_ALL,
    RECIPIENT_POLICY,
    REGIONAL_MANAGER,
    ROLES,
    ROLLUP_POLICY,
    ROLLUP_READ_ALL,
    SALES,
    SALES_MANAGER,
    SERVICE,
    WRITE_LEVELS,
)
from crm.access.scope import (
    forget_grants,
    in_scope,
    live_client_ids,
    readable_models,
    scope_condition,
    scoped_models,
)

__all__ = [
    "ACCOUNT_MANAGER",
    "ACTIONS",
    "ADMIN",
    "ALL_CUSTOMERS_AT",
    "ARCHIVE_OFFICE_POLICY",
    "ARCHIVIST",
    "AUTHOR_POLICY",
    "CLERK",
    "EVERYONE",
    "FIELD_SALES",
    "FINANCE",
    "GENERAL_MANAGER",
    "MANAGERS",
    "OWNER_POLICY",
    "PROMOTER_POLICY",
    "READ_ALL",
    "RECIPIENT_POLICY",
    "REGIONAL_MANAGER",
    "ROLLUP_POLICY",
    "ROLLUP_READ_ALL",
    "ROLES",
    "SALES",
    "SALES_MANAGER",
    "SERVICE",
    "SYSTEM",
    "WRITE_LEVELS",
    "allowed",
    "can",
    "current_actor",
    "forget_grants",
    "in_scope",
    "install",
    "live_client_ids",
    "readable_models",
    "request_cache",
    "roles_for",
    "scope_condition",
    "scoped_models",
    "set_actor",
]
