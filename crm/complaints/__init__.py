"""Complaints, discounts and withdrawals (RULES R3 cat. 4, R14)."""
