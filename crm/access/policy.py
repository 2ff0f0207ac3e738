"""The one permission table: area → action → roles, and `can`, the one question asked of it.

Every "may this user do X in area Y" is answered here: opening a screen (the "view" action of
the screen's area), a button, a service's own check, a task or a CLI command acting for someone.
Which records within an area a user reaches is the row scope's answer (crm.access.scope);
`can` with a record asks both. Nothing outside crm/access names a set of roles: a query for
"the people who decide" asks `roles_for(area, action)`.
"""

from crm.access.actor import SYSTEM
from crm.access.roles import (
    ACCOUNT_MANAGER,
    ADMIN,
    ARCHIVIST,
    CLERK,
    EVERYONE,
    FIELD_SALES,
    FINANCE,
    MANAGERS,
    REGIONAL_MANAGER,
    SALES,
    SALES_MANAGER,
    SERVICE,
)
from crm.access.scope import in_scope

_ = frozenset

# Which roles may do what, before the row-level scope is asked (R6: deleting needs a manager).
# "view" opens the area's screens; an area that is only a screen has only "view".
ACTIONS = {
    # Issue 15: the home pages; each chart (crm.reports.home) for the roles whose lists it
    # counts, its figures narrowed by the scope like the lists.
    "home": {
        "view": EVERYONE,
        "today": _({ACCOUNT_MANAGER}),
        "consumption_trend": SALES,
        "consumption_by_manager": _({REGIONAL_MANAGER, *MANAGERS}),
        "watch": _({REGIONAL_MANAGER}),
        "credit_use": _({*MANAGERS, FINANCE}),
        "credit_aging": _({*MANAGERS, FINANCE}),
        "top_exposures": _({*MANAGERS, FINANCE}),
        "collections": _({FINANCE}),
        "card_expiries": _({*MANAGERS, CLERK}),
        "complaints": _({*MANAGERS, SERVICE}),
        "commissions": MANAGERS,
        "archive_waiting": _({ARCHIVIST}),
        "archive_flags": _({ARCHIVIST}),
        "users_by_role": _({ADMIN}),
    },
    "clients": {
        "view": _({*SALES, FINANCE, CLERK, SERVICE}),  # R1: the others read the basic level
        "create": SALES,
        "edit": SALES,
        # R6: anyone in scope may ask; only the sales manager's deletion takes effect at once.
        "delete": SALES,
        "export": SALES,
        "see_id_number": _({ACCOUNT_MANAGER, *MANAGERS}),
        # R12: who may be made a customer's account manager, and by whom (clients.services)
        "assign_owner": _({REGIONAL_MANAGER, *MANAGERS}),
    },
    "client_staff": {"view": SALES},  # the customer's contact staff, each listed
    "situation_changes": {"view": SALES},
    "marketing": {"view": SALES},  # R17: who consented to marketing
    "archive_detail": {  # key persons and contact logs: everyone in scope may add (R6)
        "view": SALES,
        # R17: a key person's family, religion and character, for those who deal with them.
        "see_sensitive": _({ACCOUNT_MANAGER, *MANAGERS}),
        "create": SALES,
        "edit": SALES,
        "delete": SALES,  # R6: asks
        "export": SALES,
    },
    "cards": {  # issue, move and use member cards; account managers their own customers'
        "view": _({*SALES, CLERK, SERVICE, FINANCE}),
        "create": _({*SALES, CLERK}),
        "edit": _({*SALES, CLERK}),
        "use": _({*SALES, CLERK}),
        "export": _({*SALES, CLERK}),
    },
    "card_import": {"view": SALES},  # R15: a sheet of cards read in at once
    "card_types": {
        "view": _({*SALES, CLERK, SERVICE, FINANCE}),
        "create": MANAGERS,
        "edit": MANAGERS,
    },
    # The WeCom / DingTalk group robots and the notice kinds each takes (crm.notifications).
    "notice_robots": {
        "view": _({ADMIN, *MANAGERS}),
        "create": _({ADMIN, *MANAGERS}),
        "edit": _({ADMIN, *MANAGERS}),
    },
    "undelivered": {"view": _({ADMIN})},  # mail and robot messages that did not go out
    "inbox": {"view": EVERYONE},
    "notice_preferences": {"view": EVERYONE},
    "credit": {  # R11: finance keeps the ledger; the customer's people charge and propose
        "view": _({*SALES, FINANCE}),
        "create": _({*SALES, FINANCE}),
        "charge": _({*SALES, FINANCE}),
        "payment": _({FINANCE}),
        "reverse": _({FINANCE}),
        "override": _({REGIONAL_MANAGER, *MANAGERS}),
        "defer": _({REGIONAL_MANAGER, *MANAGERS}),
        "plan": _({*SALES, FINANCE}),
        "propose": SALES,
        "check": _({FINANCE, *MANAGERS}),
        "export": _({*SALES, FINANCE}),
    },
    "credit_checks": {"view": _({FINANCE, *MANAGERS})},  # the screen that runs "check"
    "credit_review": {  # the customer's people propose; the R11 chain decides step by step
        "view": _({*SALES, FINANCE}),
        "create": SALES,
        "edit": _({REGIONAL_MANAGER, *MANAGERS}),
        "export": _({*SALES, FINANCE}),
    },
    "contracts": {  # R3 cat. 2; finance reads them all (the "credit" level)
        "view": _({*SALES, FINANCE}),
        "create": SALES,
        "edit": SALES,
        "delete": MANAGERS,
        "export": _({*SALES, FINANCE}),
    },
    "complaints": {  # R14: whoever takes it owns it; discounts count after a manager's yes
        "view": _({*SALES, SERVICE}),
        "create": _({*SALES, SERVICE}),
        "edit": _({*SALES, SERVICE}),
        "approve": MANAGERS,
        "handle_any": MANAGERS,  # change or hand over a complaint another person took
        "delete": MANAGERS,
        "export": _({*SALES, SERVICE}),
    },
    "commissions": {  # R3 cat. 6: sales are entered in scope; a manager confirms each month
        "view": SALES,  # customers' inviters
        "create": SALES,
        "edit": SALES,
        "confirm": MANAGERS,
        "export": _({REGIONAL_MANAGER, *MANAGERS, FINANCE}),
    },
    "commission_sales": {"view": _({*SALES, FINANCE})},  # finance pays from the sales
    # Monthly statements: the managers and finance read all, a promoter on the staff their
    # own (the "promoter" row policy, crm.access.scope).
    "commission_statements": {"view": _({*SALES, FINANCE})},
    "commission_setup": {
        "view": _({REGIONAL_MANAGER, *MANAGERS, FINANCE}),
        "create": MANAGERS,
        "edit": MANAGERS,
    },  # schemes and promoters
    "industry": {  # R3 cat. 5
        "view": SALES,
        "create": SALES,
        "edit": SALES,
        "delete": MANAGERS,
        "export": MANAGERS,
    },
    "archives": {  # R4: the customer's people file, the leader approves, the archivist binds
        "view": _({*SALES, ARCHIVIST}),
        "create": SALES,
        "edit": _({*SALES, ARCHIVIST}),
        "file": SALES,
        "approve": _({REGIONAL_MANAGER, *MANAGERS}),
        "bind": _({ARCHIVIST, *MANAGERS}),
        "delete": MANAGERS,
        "export": _({*SALES, ARCHIVIST}),
    },
    "archive_volumes": {"view": _({ARCHIVIST, *MANAGERS})},  # bound volumes, the office's
    "disposals": {  # R3, R6: lists of documents past retention; the sales manager decides
        "view": _({ARCHIVIST, *MANAGERS}),
        "create": _({ARCHIVIST, *MANAGERS}),
        "approve": _({SALES_MANAGER}),
        "carry_out": _({ARCHIVIST, SALES_MANAGER}),
    },
    "daily_records": {  # R8; promoting one files it in a customer's category archive
        "view": _({*SALES, SERVICE, CLERK}),
        "create": _({*SALES, SERVICE, CLERK}),
        "edit": _({*SALES, SERVICE, CLERK}),
        "promote": SALES,
        "delete": MANAGERS,
        "export": MANAGERS,
    },
    "record_promotions": {"view": SALES},  # the daily records promoted into an archive
    "intake": {  # R12: first contacts, the assignment queue, a leaver's hand-over
        "view": SALES,
        "create": SALES,
        "edit": SALES,
        "assign": _({REGIONAL_MANAGER, *MANAGERS}),
        "handover": _({SALES_MANAGER}),
        "import": SALES,
        "export": SALES,
    },
    "assignment_queue": {"view": _({REGIONAL_MANAGER, *MANAGERS})},  # who does "assign"
    "handover": {"view": _({SALES_MANAGER})},  # who does "handover"
    "invitations": {  # R13: the two divisions claim and confirm invitations
        "view": _({*SALES, CLERK}),
        "create": _({*SALES, CLERK}),
        "confirm": _({*SALES, CLERK}),
        "export": _({REGIONAL_MANAGER, *MANAGERS, CLERK}),
    },
    "consents": {  # R17: the customer's consent to each use of their information
        "view": SALES,
        "create": SALES,
        "edit": SALES,
        "export": _({REGIONAL_MANAGER, *MANAGERS}),
    },
    "revisits": {  # R14
        "view": _({*SALES, SERVICE}),
        "create": _({*SALES, SERVICE}),
        "edit": _({*SALES, SERVICE}),
        "export": _({*SALES, SERVICE}),
    },
    # R14: the new-year needs survey. Managers set and launch it; answers are written in
    # scope at the "revisits" level (customer service asks every customer).
    "survey_setup": {
        "view": _({*SALES, SERVICE}),
        "create": MANAGERS,
        "edit": MANAGERS,
        "launch": MANAGERS,
    },
    "surveys": {
        "view": _({*SALES, SERVICE}),
        "edit": _({*SALES, SERVICE}),
        "export": _({REGIONAL_MANAGER, *MANAGERS, SERVICE}),
    },
    "reviews": {  # R7: consumption and its half-year / yearly analyses, in scope
        "view": _({*SALES, FINANCE}),
        "export": _({*SALES, FINANCE}),
    },
    "watch_list": {  # R7: the monthly list; the owner (or her leaders) records what was done
        "view": SALES,
        "edit": SALES,
        "export": SALES,
        "run": MANAGERS,  # make this month's list now
    },
    "reclass": {  # R7, R2: the quarterly proposals; a class changes only with this yes
        "view": SALES,
        "export": SALES,
        "approve": _({SALES_MANAGER}),
    },
    "faults": {  # R14: fault reports and their analysis, scoped like complaints
        "view": _({*SALES, SERVICE}),
        "create": _({*SALES, SERVICE}),
        "edit": _({*SALES, SERVICE}),
        "export": _({*SALES, SERVICE}),
    },
    # R6: changes of governed records. The field sales' people and the managers edit at once
    # with a reason ("edit_directly" for the regional manager); the managers decide the rest.
    "changes": {
        "view": _({*SALES, SERVICE, FINANCE}),
        "edit_directly": _({REGIONAL_MANAGER, *MANAGERS}),
        "decide": MANAGERS,
    },
    # R6: deletion requests and the recycle bin; the sales manager's deletion takes effect at
    # once, everyone else's waits for her.
    "deletions": {"view": MANAGERS, "decide": _({SALES_MANAGER})},
    "destructions": {"view": MANAGERS},  # 001 客户档案的销毁
    # R5: reading another's customer: the field sales ask, the managers decide.
    "view_grants": {"view": SALES, "ask": FIELD_SALES, "decide": MANAGERS},
    "audit": {"view": MANAGERS, "export": MANAGERS},
    # R16: users, regions and settings; disabling a user is an edit (their names stay).
    "users": {"view": _({ADMIN}), "create": _({ADMIN}), "edit": _({ADMIN}), "export": _({ADMIN})},
    "regions": {"view": _({ADMIN}), "create": _({ADMIN}), "edit": _({ADMIN}), "export": _({ADMIN})},
    "settings": {
        "view": _({ADMIN, *MANAGERS}),
        "edit": _({ADMIN, *MANAGERS}),
        "export": _({ADMIN, *MANAGERS}),
    },
}


def roles_for(area: str, action: str) -> frozenset:
    """The roles the table gives `action` in `area` (for a query of the people who may,
    e.g. the approvers a notice goes to). An unknown area or action gives nobody."""
    return frozenset(ACTIONS.get(area, {}).get(action, ()))


def allowed(role: str | None, area: str, action: str) -> bool:
    """The table's answer for a role, before any row: may `role` do `action` in `area`?"""
    return role in roles_for(area, action)


def can(user, action: str, obj=None, area: str | None = None) -> bool:
    """May `user` do `action` ('view', 'create', 'edit', 'delete', 'export', …) in `area`,
    or on `obj` (its model's `__scope_area__` unless `area` is given)?

    Without a record, the table answers (for "view": may the user open the area's screens).
    With one, the row scope answers as well; reading one record is the scope's question alone
    (a finance clerk reads a customer's card at the basic level without the area's screen).
    """
    if user is SYSTEM:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    area = area or getattr(obj, "__scope_area__", None)
    if (obj is None or action != "view") and not allowed(user.role, area, action):
        return False
    if obj is None:
        return True
    # A view grant opens reading only: no write, no sensitive field in full (R5, R17).
    return in_scope(
        user,
        obj,
        write=action not in ("view", "export", "see_id_number", "see_sensitive"),
        grants=action in ("view", "export"),
    )
