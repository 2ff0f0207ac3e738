"""R13: two divisions invite the same customers — cut-off, first confirmed wins, late loses."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.intake import services
from crm.intake.models import InvitationClaim
from crm.settings import Setting
from tests.intake.support import acting


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 given in company time (Asia/Shanghai, UTC+8)."""
    return datetime(2026, 11, day, hour - 8, minute)


def confirmed(client, division, at):
    claim = services.claim_invitation(db.session, client, division, at=at)
    return services.confirm_invitation(db.session, claim, at)


def test_first_confirmed_claim_wins_and_the_other_division_loses(world):
    pending = services.claim_invitation(db.session, world.c1, "two", at=utc(25, 9))
    first = confirmed(world.c1, "one", utc(25, 10))
    second = services.confirm_invitation(db.session, pending, utc(25, 11))
    assert (first.status, second.status) == ("confirmed", "lost")
    assert services.current_inviter(db.session, world.c1.id).id == first.id


def test_a_customer_confirmed_on_time_cannot_be_claimed_by_the_other_division(world):
    confirmed(world.c1, "one", utc(25, 10))
    with pytest.raises(DomainError):
        services.claim_invitation(db.session, world.c1, "two", at=utc(25, 11))


def test_after_a_late_confirmation_the_other_division_may_still_claim(world):
    confirmed(world.c1, "one", utc(25, 19))  # counts for the 26th, late
    assert services.claim_invitation(db.session, world.c1, "two", at=utc(26, 8)).id
    # …but not once its own confirmation could only count for a later day.
    confirmed(world.c2, "one", utc(25, 19))
    with pytest.raises(DomainError):
        services.claim_invitation(db.session, world.c2, "two", at=utc(26, 18, 30))


def test_a_claim_counts_only_once_confirmed(world):
    services.claim_invitation(db.session, world.c1, "one", at=utc(25, 8))
    assert services.current_inviter(db.session, world.c1.id) is None
    second = confirmed(world.c1, "two", utc(25, 12))
    assert services.current_inviter(db.session, world.c1.id).id == second.id


def test_after_the_cut_off_a_confirmation_counts_for_the_next_day(world):
    claim = confirmed(world.c1, "one", utc(25, 18, 1))
    assert claim.count_day == date(2026, 11, 26) and claim.late
    on_time = confirmed(world.c2, "one", utc(25, 17, 59))
    assert on_time.count_day == date(2026, 11, 25) and not on_time.late


def test_a_late_claim_loses_to_the_other_division_s_confirmation(world):
    late = confirmed(world.c1, "one", utc(25, 19))  # counts for the 26th, late
    other = confirmed(world.c1, "two", utc(26, 9))  # the 26th, on time
    db.session.refresh(late)
    assert (late.status, other.status) == ("lost", "confirmed")
    assert services.current_inviter(db.session, world.c1.id).division == "two"


def test_a_late_claim_still_beats_a_confirmation_of_a_later_day(world):
    pending = services.claim_invitation(db.session, world.c1, "two", at=utc(25, 8))
    late = confirmed(world.c1, "one", utc(25, 19))  # the 26th
    later = services.confirm_invitation(db.session, pending, utc(26, 18, 30))  # the 27th
    assert (late.status, later.status) == ("confirmed", "lost")


def test_the_cut_off_hour_is_a_setting(world):
    db.session.add(Setting(key="invitation_cutoff_hour", value=20))
    db.session.flush()
    assert not confirmed(world.c1, "one", utc(25, 19)).late


def test_the_same_division_cannot_claim_twice(world):
    services.claim_invitation(db.session, world.c1, "one", at=utc(25, 9))
    with pytest.raises(DomainError):
        services.claim_invitation(db.session, world.c1, "one", at=utc(25, 10))


def test_unknown_divisions_and_roles_are_refused(world):
    with pytest.raises(DomainError):
        services.claim_invitation(db.session, world.c1, "three")
    with acting(world.service), pytest.raises(NotAllowed):
        services.claim_invitation(db.session, world.c1, "one")


def test_the_screen_confirms_and_reports_the_loser(world, login_as):
    claim = services.claim_invitation(db.session, world.c1, "one", at=utc(25, 8))
    confirmed(world.c1, "two", utc(25, 9))
    db.session.commit()
    clerk = login_as(world.clerk)
    r = clerk.post(
        "/admin/invitation/action/",
        data={"action": "confirm", "rowid": [claim.id]},
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(InvitationClaim, claim.id).status == "lost"
    # An account manager sees the claims of their own customers only.
    page = login_as(world.am2).get("/admin/invitation/").get_data(as_text=True)
    assert world.c1.name not in page
    assert db.session.scalars(
        select(InvitationClaim.status).order_by(InvitationClaim.id)
    ).all() == ["lost", "confirmed"]
