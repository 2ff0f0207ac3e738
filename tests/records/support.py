"""Fixtures shared by the tests of contracts, complaints, commissions and records."""

import pytest
from flask import g
from flask_babel import force_locale

from crm.access import set_actor


@pytest.fixture(autouse=True)
def _english(request):
    """Messages are asserted in their English msgids, whatever the default locale."""
    if "ctx" not in request.fixturenames and "world" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("ctx")
    with force_locale("en"):
        yield


@pytest.fixture
def act(ctx):
    """act(user) makes the service calls that follow run as `user`; act(None) as the system."""

    def _act(user):
        if user is None:
            g.pop("crm_actor", None)
        else:
            set_actor(user)

    yield _act
    g.pop("crm_actor", None)
