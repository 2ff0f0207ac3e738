"""The demo shows intake and revisits filled: overdue registrations, a queue, today's work."""

from sqlalchemy import func, select

from crm.auth.models import User
from crm.clients.models import Client
from crm.demo import seed_demo
from crm.extensions import db
from crm.intake.models import FirstContact, InvitationClaim
from crm.notifications.models import Notification
from crm.revisits.models import Revisit
from crm.timeutil import local_today


def kinds(username) -> set:
    user = db.session.scalars(select(User).where(User.username == username)).one()
    return set(
        db.session.scalars(select(Notification.kind).where(Notification.recipient_id == user.id))
    )


def test_demo_has_intake_and_revisit_work(ctx):
    seed_demo(db.session, n_clients=40)
    db.session.commit()
    count = lambda stmt: db.session.execute(stmt).scalar()  # noqa: E731
    assert count(select(func.count()).select_from(FirstContact)) == 4
    assert count(select(func.count()).select_from(Client).where(Client.owner_id.is_(None))) >= 6
    assert (
        count(select(func.count()).select_from(Revisit).where(Revisit.due_date == local_today()))
        >= 8
    )
    assert set(db.session.scalars(select(InvitationClaim.status))) == {
        "confirmed",
        "lost",
        "pending",
    }
    assert "registration_late" in kinds("rm_east") and "registration_late" in kinds("rm_north")
    assert "revisit_due" in kinds("am_east1")
