"""The list search, written so that an index answers every term at a million customers (issue 8).

Flask-Admin searches each word of the search box in every searchable column with
ILIKE '%word%' (the columns ORed, the words ANDed). On PostgreSQL the trigram indexes of
migration 0009 serve a word of three characters or more. A word of one or two characters — a
surname "王", a brand "华为" — has no trigram, so for it:

- a customer name column (`GRAMMED`) is searched as `crm_short_grams(col) @> ARRAY[lower(w)]`,
  which migration 0011's GIN index answers. It finds exactly the rows ILIKE finds: PostgreSQL's
  ILIKE compares the lower-cased text, and the function lists every substring of one and two
  characters of the lower-cased text;
- a number column (`NUMBERS`: code, phone, mobile) is matched at its start (`ILIKE 'w%'`),
  which the trigram index serves. One or two digits occur inside nearly every number (every
  mobile holds a "1", every code "KH"), so only a prefix means something: an area code, a
  mobile prefix. This holds on SQLite as well, so both databases find the same rows.

Flask-Admin's markers keep their meaning: "^w" (starts with) and "=w" (equals) on a name add
the grams condition to the ILIKE so that the index still serves them. A word holding LIKE's
wildcards (% _ \\) is left to Flask-Admin as it is. Words are split on any white space, the
ideographic space of Chinese input included.
"""

from flask_admin.contrib.sqla.tools import parse_like_term
from sqlalchemy import Text, Unicode, and_, cast, func
from sqlalchemy.dialects.postgresql import ARRAY, array

SHORT = 2  # the longest word without a trigram
GRAMMED = frozenset({("clients", "name"), ("clients", "short_name")})  # migration 0011
NUMBERS = frozenset({("clients", "code"), ("clients", "phone"), ("clients", "mobile")})
WILDCARDS = frozenset("%_\\")


def condition(field, column, word: str, dialect: str):
    """The condition for one searched `word` on `column`: the model's column `field` itself, or
    its copy on the alias of a join."""
    marker = word[:1] if word[:1] in ("^", "=") else ""
    core = word[len(marker) :]
    pattern = parse_like_term(word)
    key = (getattr(getattr(field, "table", None), "name", None), getattr(field, "name", None))
    if not 0 < len(core) <= SHORT or WILDCARDS & set(core):
        return _ilike(column, pattern)
    if key in NUMBERS and not marker:
        return _ilike(column, f"{core}%")
    if key in GRAMMED and dialect == "postgresql":
        grams = func.crm_short_grams(column, type_=ARRAY(Text)).contains(array([func.lower(core)]))
        return and_(_ilike(column, pattern), grams) if marker else grams
    return _ilike(column, pattern)


def _ilike(column, pattern: str):
    return cast(column, Unicode).ilike(pattern)  # as Flask-Admin writes it
