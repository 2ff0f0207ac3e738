"""Revisits and greetings (R14)."""
