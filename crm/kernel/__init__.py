"""The shared kernel: what every area uses and no area owns.

- `columns`: the `Money` column type, soft deletion (`SoftDeleted`) and the approval columns
  (`Approval`, `Decision`, `RequestedBy`) that requests waiting for a decision share;
- `money`: the one reading of an amount someone typed, imported or passed (`parse_money`,
  `to_decimal`);
- `sql`: the dialect-aware insert and insert-or-ignore (`dialect_insert`,
  `insert_or_ignore`), the named way past the row scope (`unscoped(reason)`) and
  `without_jit` for a sweep of short look-ups.

It imports no area: areas import it (`from crm.kernel import Money, SoftDeleted`).
"""

from crm.kernel.columns import (
    Approval,
    Decision,
    Money,
    RequestedBy,
    SoftDeleted,
    bulk_reference,
)
from crm.kernel.money import parse_money, to_decimal
from crm.kernel.sql import dialect_insert, insert_or_ignore, unscoped, without_jit

__all__ = [
    "bulk_reference",
    "Approval",
    "Decision",
    "Money",
    "RequestedBy",
    "SoftDeleted",
    "dialect_insert",
    "insert_or_ignore",
    "parse_money",
    "to_decimal",
    "unscoped",
    "without_jit",
]
