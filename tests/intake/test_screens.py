"""Every intake, revisit and import screen answers each role: its page, or 403 — never 500."""

from datetime import date

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.intake.models import FirstContact

ROLES = [
    "am1",
    "rm_east",
    "sales_manager",
    "general_manager",
    "finance",
    "clerk",
    "archivist",
    "service",
    "admin",
]
SCREENS = {
    "/admin/first_contact/": {"am1", "rm_east", "sales_manager", "general_manager"},
    "/admin/first_contact/new/": {"am1", "rm_east", "sales_manager", "general_manager"},
    "/admin/assignment/": {"rm_east", "sales_manager", "general_manager"},
    "/admin/handover/": {"sales_manager"},
    "/admin/invitation/": {"am1", "rm_east", "sales_manager", "general_manager", "clerk"},
    "/admin/invitation/new/": {"am1", "rm_east", "sales_manager", "general_manager", "clerk"},
    "/admin/revisit/": {"am1", "rm_east", "sales_manager", "general_manager", "service"},
    "/admin/card_import/": {"am1", "rm_east", "sales_manager", "general_manager"},
}


@pytest.mark.parametrize("who", ROLES)
def test_each_screen_opens_for_its_roles_only(world, login_as, who):
    c = login_as(getattr(world, who))
    for url, allowed in SCREENS.items():
        status = c.get(url).status_code
        assert status == (200 if who in allowed else 403), (url, status)


def test_a_first_contact_is_entered_on_the_screen(world, login_as):
    r = login_as(world.am1).post(
        "/admin/first_contact/new/",
        data={"name": "新接触有限公司", "phone": "021-77778888", "contact_date": "2026-11-25"},
    )
    assert r.status_code == 302
    row = db.session.scalars(select(FirstContact)).one()
    assert (row.owner_id, row.contact_date) == (world.am1.id, date(2026, 11, 25))
    page = login_as(world.am1).get("/admin/first_contact/").get_data(as_text=True)
    assert "2026-12-02" in page  # register by: five working days later
