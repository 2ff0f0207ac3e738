"""The access package (being split by concern; see policy.py)."""

from crm.access.policy import *  # noqa: F403
from crm.access.policy import (  # noqa: F401
    _client_condition,
    _narrow,
    _or_granted,
    _regional_reads_region,
    _scope_options,
)
