"""List mechanics that stay fast at a million rows (issue 8), for every scoped list screen.

Flask-Admin's stock list counts every matching row on every page and reads deep pages with
OFFSET over whole rows. Here:

- the count stops at a cap (`SELECT count(*) FROM (SELECT id … LIMIT cap + 1)`; a search in
  steps of `search_count_cap`, counted with its hits: see `_hits`); beyond it
  the screen says "10000+". The cap is the first multiple of `count_cap` that reaches ten
  pages past the one being read, so the pager always offers the pages after it;
- a page is read as a deferred join: the ids of the page are picked first
  (`SELECT id … ORDER BY <sort>, id LIMIT n OFFSET m`, an index-only scan on the partial
  composite indexes of migration 0009), then only those rows are loaded with their joins;
- the primary key breaks ties in the sort, so pages neither repeat nor skip rows.

Filters and each view's own `get_query` narrowing are Flask-Admin's; so is the search, but
for the condition on each column, which crm.admin.search writes so that an index serves it.
The role scope is added by crm.access in the query layer to the count, the id query and the
row query alike.
"""

from decimal import Decimal

from flask import request
from sqlalchemy import any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload

from crm.admin import search as searching
from crm.extensions import db


class AtLeast(int):
    """A capped count: behaves as the cap in the pager's arithmetic, prints as "cap+"."""

    def __str__(self) -> str:
        return f"{int(self)}+"


def _among(pk, ids: list):
    """`pk IN ids`; on PostgreSQL as one array parameter (`= ANY(:ids)`): two thousand
    parameters of an IN list cost more to send than the page costs to read."""
    if db.session.get_bind().dialect.name == "postgresql":
        return pk == any_(bindparam("crm_ids", ids, type_=ARRAY(pk.type)))
    return pk.in_(ids)


class BoundedListMixin:
    bounded_list = True  # a view whose query cannot be paged by its key sets this False
    count_cap = 10000
    pages_ahead = 10  # the pager offers at least this many pages after the current one
    few_hits = 2000  # a search finding no more is paged from its hits (see _hits)
    # A search is counted in steps of few_hits ("2000+"): its count reads the rows it finds
    # (a common character: 10,000 rows, 50 ms at a million customers), a list's count an index.
    search_count_cap = few_hits

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        pk = self._list_key()
        if not self.bounded_list or pk is None:
            return super().get_list(
                page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size
            )
        query, joins = self.get_query(), {}
        if self._search_supported and search:
            query, _count, joins, _cj = self._apply_search(query, None, joins, {}, search)
        if filters and self._filters:
            query, _count, joins, _cj = self._apply_filters(query, None, joins, {}, filters)
        size = self.page_size if page_size is None else page_size
        offset = (page or 0) * size if size else 0
        if search:  # counted with the hits themselves: the search runs once (see _hits)
            count, hits = self._hits(query, self._count_bound(offset, size, self.search_count_cap))
            if hits is not None:  # the hits stand for the search and filters
                query, joins = self.get_query().filter(_among(pk, hits)), {}
        else:
            count = self.capped_count(query, self._count_bound(offset, size))
        ids, _joins = self._list_order(query, joins, sort_column, sort_desc, pk)
        if size:
            ids = ids.limit(size).offset(offset)
        rows, _joins = self._list_order(
            self.get_query().filter(pk.in_(ids.with_entities(pk).scalar_subquery())),
            {},
            sort_column,
            sort_desc,
            pk,
        )
        for relation in self._auto_joins:
            rows = rows.options(joinedload(relation))
        return count, (rows.all() if execute else rows)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Flask-Admin's search (each word in any searchable column, the words all required),
        the condition on each column from crm.admin.search."""
        dialect = db.session.get_bind().dialect.name
        for word in search.split():
            found, count_found = [], []
            for field, path in self._search_fields:
                query, joins, alias = self._apply_path_joins(query, joins, path, inner_join=False)
                found.append(self._search_condition(field, alias, word, dialect))
                if count_query is not None:
                    count_query, count_joins, alias = self._apply_path_joins(
                        count_query, count_joins, path, inner_join=False
                    )
                    count_found.append(self._search_condition(field, alias, word, dialect))
            query = query.filter(or_(*found))
            if count_query is not None:
                count_query = count_query.filter(or_(*count_found))
        return query, count_query, joins, count_joins

    @staticmethod
    def _search_condition(field, alias, word, dialect):
        column = field if alias is None else getattr(alias, field.key)
        return searching.condition(field, column, word, dialect)

    def _count_bound(self, offset: int, size: int, step: int | None = None) -> int | None:
        """A round multiple of the cap that reaches `pages_ahead` pages past this one."""
        if not size:
            return None
        need = offset + size * self.pages_ahead
        step = step or self.count_cap
        return -(-need // step) * step

    def _hits(self, query, cap: int | None) -> tuple[int, list | None]:
        """A search's capped count and, when they are no more than `few_hits`, its hits' ids,
        in one statement. The database cannot tell how many rows a search term matches, and
        for the sorted page it guesses many: it walks the sort's index and tests every row,
        which for a rare term reads most of the table (0.5 s at a million customers). Found
        first (through the search indexes), the few hits are sorted in a moment; a common term
        still takes the walk, which ends quickly. Counting and finding them apart ran the
        search's index scans twice (a one-character search, half the page's time)."""
        pk = self._list_key()
        found = query.with_entities(pk.label("hit")).order_by(None)
        if cap is not None:
            found = found.limit(cap + 1)
        found = found.subquery()
        ranked = select(
            found.c.hit,
            func.count().over().label("n"),
            func.row_number().over().label("r"),
        ).subquery()
        stmt = select(ranked.c.hit, ranked.c.n).where(
            or_(ranked.c.n <= self.few_hits, ranked.c.r == 1)
        )
        rows = db.session.execute(stmt.execution_options(**query.get_execution_options())).all()
        total = rows[0].n if rows else 0
        if cap is not None and total > cap:
            return AtLeast(cap), None
        if total > self.few_hits:
            return total, None
        return total, [row.hit for row in rows]

    def capped_count(self, query, cap: int | None) -> int:
        """The number of rows of `query`, counted up to `cap` (no cap: all of them)."""
        pk = self._list_key()
        ids = query.with_entities(pk).order_by(None)
        if cap is not None:
            ids = ids.limit(cap + 1)
        stmt = select(func.count()).select_from(ids.subquery())
        found = db.session.execute(stmt.execution_options(**query.get_execution_options())).scalar()
        return AtLeast(cap) if cap is not None and found > cap else found

    def _list_key(self):
        keys = self.model.__mapper__.primary_key
        return (
            getattr(self.model, self.model.__mapper__.get_property_by_column(keys[0]).key)
            if len(keys) == 1
            else None
        )

    def _list_order(self, query, joins, sort_column, sort_desc, pk):
        """The view's sort (Flask-Admin's), then the key in the same direction."""
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        if sort_column is None:
            first = next(iter(self._get_default_order()), None)
            sort_desc = bool(first and first[2])
        return query.order_by(pk.desc() if sort_desc else pk), joins


class ListTotalsMixin:
    """A totals row under a list (issue 14 point 5): the columns of `total_columns` summed over
    every row the list's search and filters select — all pages, not the page shown — in one
    aggregate statement (the scope narrows it as it narrows the list). With `total_group` the
    sums are given per value of that column (the ledger: per kind of entry)."""

    total_columns: tuple = ()
    total_group: str | None = None

    def filtered_query(self):
        """The list's query with the request's search and filters, as get_list builds it."""
        query, joins = self.get_query(), {}
        search = request.args.get("search", type=str)
        if self._search_supported and search:
            query, _c, joins, _cj = self._apply_search(query, None, joins, {}, search)
        filters = self._get_list_filter_args()
        if filters and self._filters:
            query, _c, joins, _cj = self._apply_filters(query, None, joins, {}, filters)
        return query

    def list_totals(self) -> list[tuple]:
        """[(group value or None, {column: sum})] over the filtered rows."""
        sums = [func.coalesce(func.sum(getattr(self.model, c)), 0) for c in self.total_columns]
        query = self.filtered_query().order_by(None)
        if self.total_group:
            group = getattr(self.model, self.total_group)
            rows = query.with_entities(group, *sums).group_by(group).order_by(group).all()
            return [(row[0], dict(zip(self.total_columns, row[1:], strict=True))) for row in rows]
        row = query.with_entities(*sums).one()
        return [(None, dict(zip(self.total_columns, row, strict=True)))]

    def render(self, template, **kwargs):
        if template == self.list_template and self.total_columns:
            kwargs["list_totals"] = [
                (
                    self.total_label(group),
                    [(self.get_column_name(c), self.total_value(v)) for c, v in sums.items()],
                )
                for group, sums in self.list_totals()
            ]
        return super().render(template, **kwargs)

    def total_label(self, group) -> str:
        return "" if group is None else str(group)

    def total_value(self, value) -> str:
        return f"{Decimal(value or 0).quantize(Decimal('0.01')):,}"
