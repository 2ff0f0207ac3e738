from tests.records.support import _english, act  # noqa: F401
