"""Industry notes (R3 cat. 5) and daily records (R8)."""
