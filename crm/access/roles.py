"""Role names, their labels, and the groups the policy and the scope are written with.

Nothing outside crm/access names a set of roles: a permission is asked of crm.access.policy
(`can`, `roles_for`), a reach of crm.access.scope.
"""

from flask_babel import lazy_gettext as _l

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
EVERYONE = frozenset(ROLES)

# The department's managers: they read every customer and decide what waits for approval.
MANAGERS = frozenset({SALES_MANAGER, GENERAL_MANAGER})
READ_ALL = MANAGERS
# The sales force that owns customers, by person or by region; both have a region (R12).
FIELD_SALES = frozenset({ACCOUNT_MANAGER, REGIONAL_MANAGER})
# Those who work on the customers they own: the field sales and the managers.
SALES = FIELD_SALES | MANAGERS

# Beyond their own customers, some roles work on one level of EVERY customer's archive.
# A model names its level in `__scope__`; reads check the level, writes its WRITE_LEVELS entry.
ALL_CUSTOMERS_AT = {
    # R1 identity and contact of the card, nothing deeper
    "basic": frozenset({FINANCE, CLERK, SERVICE}),
    # R15: the clerk enters and codes every customer's cards; service and finance read them
    "cards": frozenset({CLERK, SERVICE, FINANCE}),
    "cards_write": frozenset({CLERK}),
    # R11: finance reads and keeps every customer's credit and ledger (and reads contracts)
    "credit": frozenset({FINANCE}),
    # R14: customer service takes every customer's complaints and keeps their revisits
    "complaints": frozenset({SERVICE}),
    "revisits": frozenset({SERVICE}),
    # R3, R9: the archivist reads catalogues and locations of all; content is 'detail' level
    "archive": frozenset({ARCHIVIST}),
    # R3 cat. 6: finance pays commissions and reads every promoter's statement
    "statements": frozenset({FINANCE}),
}
# The scope level a write checks, for areas whose writers reach wider than "write".
WRITE_LEVELS = {
    "cards": "cards_write",
    "credit": "credit",
    "complaints": "complaints",
    "archive": "archive",
    "revisits": "revisits",
}

# Row policies of models that belong to no customer (a model's `__scope__`).
# Rows of no customer (industry notes, daily records) that only their author and READ_ALL see.
AUTHOR_POLICY = "author"
# The archive office's own records (disposal lists): the archivist and the managers. The same
# roles, and no others, see an archive document kept past its destroyed customer (R3, R6):
# such a row has no customer, so the customer condition hides it from everyone whose reach is
# not all customers at the "archive" level.
ARCHIVE_OFFICE_POLICY = "archive_office"
# First contacts (R12) exist before any customer: their owner and region's manager see them.
OWNER_POLICY = "owner"
# A person's own inbox: nobody else's notifications, ever.
RECIPIENT_POLICY = "recipient"
# A promoter's monthly statement (R3 cat. 6): the promoter's own member of staff reads it;
# the managers and finance read every one.
PROMOTER_POLICY = "promoter"
# Figures summed over many customers (crm.reviews consumption rollups): the account manager
# and region they count for say who reads them; managers and finance read them all.
ROLLUP_POLICY = "rollup"
ROLLUP_READ_ALL = frozenset({*READ_ALL, FINANCE})


def role_of(user) -> str | None:
    return getattr(user, "role", None)
