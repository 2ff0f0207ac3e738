"""Issue 18: one permission policy. Every registered screen's gate is the policy's answer
(crm.access.ACTIONS[gate]["view"] asked through access.can), for every role; the table has a
"view" entry for every screen; and no set of roles is written outside crm/access."""

import ast
from pathlib import Path

import pytest
from flask_admin import BaseView

from crm import access
from crm.access import set_actor
from crm.auth.models import User

CRM = Path(__file__).resolve().parents[2] / "crm"


def registered_views(app):
    admin = app.extensions["admin"][0]
    return [admin.index_view, *admin._views]


def gate_of(view) -> str:
    assert isinstance(getattr(view, "gate", None), str) and view.gate, (
        f"{type(view).__name__} ({view.endpoint}) names no policy area"
    )
    return view.gate


def test_the_policy_has_a_view_entry_for_every_registered_screen(app):
    missing = [
        (type(v).__name__, gate_of(v))
        for v in registered_views(app)
        if "view" not in access.ACTIONS.get(gate_of(v), {})
    ]
    assert missing == []
    for area, actions in access.ACTIONS.items():
        for action, roles in actions.items():
            assert roles <= access.EVERYONE, (area, action, roles - access.EVERYONE)


def _accessible(app, view, user) -> bool:
    with app.test_request_context("/admin/"):
        set_actor(user)
        return bool(view.is_accessible())


@pytest.mark.parametrize("role", sorted(access.ROLES))
def test_every_screen_opens_exactly_for_the_roles_the_policy_names(app, role):
    user = User(id=1, username=role, role=role, active=True)
    wrong = [
        (v.endpoint, _accessible(app, v, user))
        for v in registered_views(app)
        if _accessible(app, v, user) != access.allowed(role, v.gate, "view")
        or _accessible(app, v, user) != access.can(user, "view", area=v.gate)
    ]
    assert wrong == [], role


def test_the_gate_reads_the_table_itself_not_a_copy(app, monkeypatch):
    """Emptying an area's "view" closes its screens to everyone; opening it to everyone opens
    them: the views hold no roles of their own."""
    users = [
        User(id=i, username=r, role=r, active=True)
        for i, r in enumerate(sorted(access.ROLES), start=1)
    ]
    for view in registered_views(app):
        entry = access.ACTIONS[view.gate]
        monkeypatch.setitem(entry, "view", frozenset())
        assert not any(_accessible(app, view, u) for u in users), view.endpoint
        monkeypatch.setitem(entry, "view", access.EVERYONE)
        assert all(_accessible(app, view, u) for u in users), view.endpoint
        monkeypatch.undo()


def test_no_screen_opens_to_an_anonymous_visitor(app):
    assert [v.endpoint for v in registered_views(app) if _accessible(app, v, None)] == []


def test_every_view_class_has_no_roles_attribute(app):
    for view in registered_views(app):
        assert not any(
            "roles" in vars(cls) for cls in type(view).__mro__ if cls.__module__.startswith("crm.")
        ), type(view).__name__
        assert isinstance(view, BaseView)


# --- no role set outside crm/access ----------------------------------------------------------
ROLE_CONSTANTS = {
    "ACCOUNT_MANAGER",
    "REGIONAL_MANAGER",
    "SALES_MANAGER",
    "GENERAL_MANAGER",
    "FINANCE",
    "CLERK",
    "ARCHIVIST",
    "SERVICE",
    "ADMIN",
}
ROLE_GROUPS = {"MANAGERS", "READ_ALL", "FIELD_SALES", "SALES", "EVERYONE", "ROLES"}
# Role values that are no other word of the code ("finance", "service", "admin" are also user
# names, complaint categories and translation domains).
ROLE_WORDS = {"account_manager", "regional_manager", "sales_manager"}


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _group(node) -> bool:
    name = _name(node) or ""
    return name in ROLE_GROUPS or name.endswith(("_ROLES", "READERS"))


def _role_items(elements) -> int:
    """How many of the elements name a role (or, starred, a group of roles)."""
    count = 0
    for el in elements:
        if isinstance(el, ast.Starred):
            count += 2 if _group(el.value) else 0
        elif _name(el) in ROLE_CONSTANTS or isinstance(el, ast.Constant) and el.value in ROLE_WORDS:
            count += 1
    return count


def role_sets(source: str) -> list[tuple[int, str]]:
    """Where `source` writes a set of roles: a literal set, tuple or list of two or more roles
    (or a group spread into one), frozenset/set of a group, a `roles = …` attribute, a union
    with a group."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Set | ast.Tuple | ast.List) and _role_items(node.elts) >= 2:
            found.append((node.lineno, "literal set of roles"))
        elif (
            isinstance(node, ast.Call)
            and _name(node.func) in ("frozenset", "set")
            and node.args
            and (_group(node.args[0]) or _role_items(getattr(node.args[0], "elts", ())) >= 2)
        ):
            found.append((node.lineno, "frozenset of roles"))
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.BitOr)
            and (_group(node.left) or _group(node.right))
        ):
            found.append((node.lineno, "union with a group of roles"))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = _name(target) or ""
                if name == "roles" or name.endswith("_ROLES") or name.endswith("READERS"):
                    found.append((node.lineno, f"role attribute {name}"))
    return found


def test_the_check_finds_the_shapes_it_forbids():
    for bad in (
        "roles = frozenset({access.ADMIN})",
        "READERS = frozenset({access.ACCOUNT_MANAGER, REGIONAL_MANAGER, *MANAGERS})",
        "X = {ACCOUNT_MANAGER, REGIONAL_MANAGER}",
        "if actor.role in (access.ACCOUNT_MANAGER, REGIONAL_MANAGER): pass",
        "ok = role in {'account_manager', 'sales_manager'}",
        "A = frozenset(MANAGERS)",
        "B = SALES_ROLES | {FINANCE}",
        "C = {*access.MANAGERS, access.ADMIN}",
    ):
        assert role_sets(bad), bad
    for fine in (
        'USERS = [("finance", access.FINANCE, None, "财务")]',
        "if can(actor, 'view', area='credit'): pass",
        'CHOICES = [("general_manager", "General manager")]',
    ):
        assert not role_sets(fine), fine


def test_no_role_set_is_written_outside_the_access_package():
    found = []
    for path in sorted(CRM.rglob("*.py")):
        if path.is_relative_to(CRM / "access"):
            continue
        found += [
            f"{path.relative_to(CRM.parent)}:{line}: {what}"
            for line, what in role_sets(path.read_text(encoding="utf-8"))
        ]
    assert found == []
