"""Filter options cached per process: the account managers and regions a list's filters
offer were read on every list request (two statements of a list page's six).

A cached list is dropped when this process writes a user or a region (any flush that adds,
changes or deletes one) and after `TTL` seconds, so a change made by another process (another
web machine) shows within that time. Keys hold the signed-in user's scope (role, id, region),
so nobody is offered what their scope would not show them.
"""

import threading
import time

from sqlalchemy import event
from sqlalchemy.orm import Session

TTL = 60.0  # seconds a list may lag a change made in another process

_lock = threading.Lock()
_cache: dict[tuple, tuple[float, list]] = {}
_WATCHED: tuple[type, ...] = ()


def cached_options(name: str, actor, compute) -> list:
    """`compute()` for `name` and the actor's scope, at most TTL seconds old."""
    key = (
        name,
        getattr(actor, "role", None),
        getattr(actor, "id", None),
        getattr(actor, "region_id", None),
    )
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < TTL:
        return hit[1]
    value = compute()
    with _lock:
        _cache[key] = (now, value)
    return value


def clear() -> None:
    with _lock:
        _cache.clear()


def _after_flush(session, _context) -> None:
    if not _WATCHED:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _WATCHED):
            clear()
            return


def watch(*models: type) -> None:
    """Drop every cached list when a row of these models is written in this process."""
    global _WATCHED
    _WATCHED = tuple({*_WATCHED, *models})
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
