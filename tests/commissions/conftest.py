from tests.commissions.support import shop  # noqa: F401
from tests.records.support import _english, act  # noqa: F401
