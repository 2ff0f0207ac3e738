"""Promotion schemes, promoters, sales and commissions (RULES R3 cat. 6, R13)."""
