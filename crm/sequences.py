"""Gapless, stable counters (customer codes, …) allocated inside the caller's transaction."""

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db


class Counter(db.Model):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def next_value(session, name: str, count: int = 1) -> int:
    """Reserve `count` values and return the first. The row lock serialises concurrent callers."""
    stmt = (
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + count)
        .returning(Counter.value)
        .execution_options(synchronize_session=False)
    )
    last = session.execute(stmt).scalar()
    if last is None:
        session.add(Counter(name=name, value=count))
        session.flush()
        last = count
    return last - count + 1


def current_value(session, name: str) -> int:
    return session.execute(select(Counter.value).where(Counter.name == name)).scalar() or 0
