"""Issue 18: one answer to "who can a customer be assigned to" (R12), which the customer form
and the first-contact form both offer."""

import pytest

from crm.access import set_actor
from crm.admin import clients as client_screens
from crm.admin import intake as intake_screens
from crm.clients.services import assignable_owners
from crm.extensions import db
from tests import factories


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("am1", {"am1"}),
        ("rm_east", {"am1", "am2"}),
        ("rm_north", {"am3"}),
        ("sales_manager", {"am1", "am2", "am3"}),
        ("general_manager", {"am1", "am2", "am3"}),
    ],
)
def test_both_forms_offer_the_domain_answer(app, world, who, expected):
    gone = factories.create_user("account_manager", world.east, "am_left")
    gone.active = False  # a leaver is nobody's new owner
    db.session.commit()
    actor = getattr(world, who)
    with app.test_request_context("/admin/"):
        set_actor(actor)
        domain = assignable_owners(db.session, actor)
        assert {u.username for u in domain} == expected
        assert client_screens._owners_query() == domain
        assert intake_screens._account_managers() == domain
