from contextlib import contextmanager

from crm.access import set_actor


@contextmanager
def acting(user):
    """Run domain operations as `user` (as a request would), then as the system again."""
    set_actor(user)
    try:
        yield
    finally:
        set_actor(None)
