"""One message per action, saying what actually happened (issue 14): an edit or a deletion
that waits for the sales manager says so and nothing else; a refused move says why once."""

from sqlalchemy import select

from crm.extensions import db
from crm.governance.models import ChangeRequest, DeletionRequest
from tests.governance.test_changes import card_form


def flashes(c) -> list:
    with c.session_transaction() as s:
        return list(s.get("_flashes", []))


def test_an_edit_that_waits_says_only_that_it_waits(world, login_as):
    c = login_as(world.am1)
    r = c.post(
        f"/admin/client/edit/?id={world.c1.id}",
        data=card_form(world.c1, short_name="甲贸易", change_reason="客户更名"),
    )
    assert r.status_code == 302
    assert db.session.scalars(select(ChangeRequest)).one().status == "pending"
    said = flashes(c)
    assert [category for category, _ in said] == ["info"]
    assert "审批" in said[0][1] and "成功" not in said[0][1]


def test_an_edit_that_applies_says_it_was_saved(world, login_as):
    c = login_as(world.sales_manager)
    c.post(
        f"/admin/client/edit/?id={world.c1.id}",
        data=card_form(world.c1, short_name="甲贸易", change_reason="客户更名"),
    )
    assert flashes(c) == [("success", "已保存。")]


def test_a_deletion_that_waits_says_only_that_it_waits(world, login_as):
    c = login_as(world.general_manager)
    r = c.post("/admin/client/delete/", data={"id": world.c2.id, "reason": "客户注销"})
    assert r.status_code == 302
    assert db.session.scalars(select(DeletionRequest)).one().deleted_at is None
    said = flashes(c)
    assert [category for category, _ in said] == ["info"]
    assert "审批" in said[0][1] and "删除" in said[0][1] and "成功" not in said[0][1]


def test_a_batch_of_deletions_that_wait_is_one_message_with_its_count(world, login_as):
    c = login_as(world.general_manager)
    c.post(
        "/admin/client/action/",
        data={"action": "delete", "reason": "批量", "rowid": [world.c1.id, world.c2.id]},
    )
    said = flashes(c)
    assert len(said) == 1 and said[0][0] == "info"
    assert "2" in said[0][1] and "审批" in said[0][1] and "成功" not in said[0][1]


def test_a_deletion_by_the_sales_manager_says_it_was_deleted(world, login_as):
    c = login_as(world.sales_manager)
    c.post("/admin/client/delete/", data={"id": world.c2.id, "reason": "重复建档"})
    [(category, text)] = flashes(c)
    assert category == "success" and "删除" in text and "审批" not in text
