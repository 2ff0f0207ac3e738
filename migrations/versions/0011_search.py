"""search: an index for one- and two-character searches of customer names; redundant indexes out

Revision ID: 0011_search
Revises: 0010_merge
Create Date: 2026-11-25 18:30:00

The customer list searches by substring (ILIKE '%term%'). The trigram indexes of 0009 serve
terms of three characters or more; a term of one or two characters (a surname "王", a brand
"华为") yields no trigram, and the search fell back to reading the whole table. On PostgreSQL
`crm_short_grams(text)` lists every substring of one and two characters of its (lower-cased)
argument, so that "lower(name) contains t" is "crm_short_grams(name) @> ARRAY[lower(t)]" for
any t of one or two characters — the very rows ILIKE finds, since PostgreSQL's ILIKE compares
the lower-cased text — and a GIN index over it answers that. crm/admin/search.py writes the
search that way.

Only the names get it. Codes (KH + seven digits), phones and mobiles are digits: any one or two
of them occur in nearly every number, so a short fragment of a number only means something at
its start (an area code, a mobile prefix); crm/admin/search.py matches it there, and the
trigram indexes of 0009 serve a prefix of one or two characters already. Not indexing them
saves three GIN indexes of ~30 MB each at a million customers and their cost on every write.

The grams indexes are not partial on live rows, though the list reads nothing else: the planner
takes the statistics of an index expression only from a whole-table index, and without them
it guesses 0.5% for any word. Measured at a million customers: that guess made it read the
newest customers one by one, filtering each, for a word found in none (11 s instead of 1 ms).

The composite indexes of 0001 (owner/region + name, owner + created_at) are covered by the
partial indexes of 0009 for every screen, which read live rows only; a query by owner or region
over all rows (the hand-over, the least-loaded account manager) still has the single-column
ix_clients_owner_id and ix_clients_region_id.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_search"
down_revision = "0010_merge"
branch_labels = None
depends_on = None

GRAMMED = ("name", "short_name")
DROPPED = {
    "ix_clients_owner_name": ["owner_id", "name"],
    "ix_clients_region_name": ["region_id", "name"],
    "ix_clients_owner_created": ["owner_id", "created_at"],
}

# PL/pgSQL, not SQL: the SQL form (generate_series + array_agg) costs ~50 us a call, this one
# ~6 us; it matters when a plan filters rows with it instead of using the index, and for the
# index build. Duplicates are left in: GIN keeps each key once, and @> ignores them.
# COST 1000 (the default is 100) tells the planner what filtering with it costs: at the default,
# measured at a million customers, a rare word ("许", 401 customers) was looked for by reading
# the newest customers one by one and filtering each (8 s); at 1000 it takes the index (20 ms),
# while a common word ("华", 5%) is still best found by that walk, and still is.
SHORT_GRAMS = """
CREATE FUNCTION crm_short_grams(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$
DECLARE
    s text := lower(value);
    grams text[] := string_to_array(s, NULL);
BEGIN
    FOR i IN 1 .. char_length(s) - 1 LOOP
        grams := grams || substr(s, i, 2);
    END LOOP;
    RETURN grams;
END
$$
"""


def upgrade():
    for name in DROPPED:
        op.drop_index(name, table_name="clients")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(SHORT_GRAMS)
    for column in GRAMMED:
        op.execute(f"CREATE INDEX ix_clients_grams_{column} ON clients "
                   f"USING gin (crm_short_grams({column}))")
    # the statistics of the index expressions exist only after an ANALYZE
    op.execute("ANALYZE clients")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in GRAMMED:
            op.execute(f"DROP INDEX IF EXISTS ix_clients_grams_{column}")
        op.execute("DROP FUNCTION IF EXISTS crm_short_grams(text)")
    for name, columns in DROPPED.items():
        op.create_index(name, "clients", columns)

