"""`flask --app wsgi crm bench screens` (placeholder while being written)."""
