"""What a column can hold, checked before the database is asked to hold it.

PostgreSQL answers a value its column cannot hold with an error (a 500 to the user), and SQLite
stores it anyway (`1e30` as a contract amount). One rule per column type, used by every path:

- `value_error(type, value)`: integers within the column's size (32-bit `Integer`, 64-bit
  `BigInteger`), money (`Numeric(p, s)`) finite, below 10^(p-s) and with at most s decimals,
  text no longer than its column;
- `install(Session)`: a flush check of every new or changed value of every model, so a domain
  service, an importer or a task cannot store what its column cannot hold (a DomainError with
  the field's message, shown beside the field on a form);
- `FormBounds`: WTForms validators for the model forms (crm.admin.base's converter adds them);
- `bounded_id`: the id in a URL, filter or select field, as an int its column can hold or None.
"""

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Integer, Numeric, SmallInteger, String, event, inspect
from sqlalchemy.orm import attributes
from werkzeug.routing import IntegerConverter
from wtforms.validators import StopValidation

from crm.errors import DomainError

INT32 = 2**31 - 1
INT64 = 2**63 - 1


def int_limit(type_) -> int:
    if isinstance(type_, BigInteger):
        return INT64
    if isinstance(type_, SmallInteger):
        return 2**15 - 1
    return INT32


def bounded_id(value, type_=None) -> int | None:
    """A primary or foreign key from outside (URL, form, filter): an int its column can hold."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    limit = int_limit(type_) if type_ is not None else INT32
    return number if -limit - 1 <= number <= limit else None


def id_arg(value) -> int:
    """`request.args.get(name, type=id_arg)`: a 32-bit int, or the default (ValueError)."""
    number = bounded_id(value)
    if number is None:
        raise ValueError(value)
    return number


def id_list(values) -> list[int]:
    """The ids an action was given (rowid checkboxes), without any no column holds."""
    return [n for n in (bounded_id(v) for v in values) if n is not None]


def integer_error(value, type_):
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    limit = int_limit(type_)
    if not -limit - 1 <= value <= limit:
        shown = f"{limit:,}"
        return _l("Out of range: at most %(max)s.", max=shown)
    return None


def numeric_error(value, type_):
    """Money and rates: finite, fewer integer digits than the column has, its decimals."""
    if isinstance(value, bool) or not isinstance(value, Decimal | float | int):
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        return _l("This is not a number.")
    if not number.is_finite():
        return _l("This is not a number.")
    precision, scale = type_.precision, type_.scale
    if precision is None:
        return None
    scale = scale or 0
    if abs(number) >= Decimal(10) ** (precision - scale):
        shown = f"{10 ** (precision - scale):,}"
        return _l("Too large: the value must be below %(limit)s.", limit=shown)
    if number != number.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_DOWN"):
        return _l("At most %(places)d decimal places.", places=scale)
    return None


def string_error(value, type_):
    length = getattr(type_, "length", None)
    if isinstance(value, str) and length and len(value) > length:
        return _l("At most %(max)d characters.", max=length)
    return None


def value_error(type_, value):
    """The reason a column of `type_` cannot hold `value`, or None."""
    if value is None:
        return None
    if isinstance(type_, Integer):
        return integer_error(value, type_)
    if isinstance(type_, Numeric) and getattr(type_, "asdecimal", True):
        return numeric_error(value, type_)
    if isinstance(type_, String):
        return string_error(value, type_)
    return None


# --- every flush -----------------------------------------------------------------------------
def _changed_values(obj):
    state = inspect(obj)
    for prop in state.mapper.column_attrs:
        if len(prop.columns) != 1 or not hasattr(prop.columns[0], "type"):
            continue
        if state.pending or state.transient:
            value = state.dict.get(prop.key)
        else:
            history = attributes.get_history(
                obj, prop.key, passive=attributes.PASSIVE_NO_INITIALIZE
            )
            if not history.added:
                continue
            value = history.added[0]
        yield prop.key, prop.columns[0].type, value


def check_flush(session, flush_context=None, instances=None) -> None:
    errors = {}
    for obj in (*session.new, *session.dirty):
        for key, type_, value in _changed_values(obj):
            message = value_error(type_, value)
            if message is not None:
                errors.setdefault(key, message)
    if errors:
        raise DomainError(_l("Some values are out of range; nothing was saved."), errors)


def install(session_class) -> None:
    if not event.contains(session_class, "before_flush", check_flush):
        event.listen(session_class, "before_flush", check_flush)


# --- URLs ----------------------------------------------------------------------------------
class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in a route: a number no id column holds is no page (404), not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT32)  # every id column is a 32-bit integer
        super().__init__(map, *args, **kwargs)


# --- forms -----------------------------------------------------------------------------------
class FormBounds:
    """A WTForms validator: the field's data must fit the column's type."""

    def __init__(self, type_):
        self.type_ = type_

    def __call__(self, form, field):
        message = value_error(self.type_, field.data)
        if message is not None:
            field.errors[:] = []
            raise StopValidation(str(message))
