"""Contracts and agreements (RULES R3 cat. 2)."""
