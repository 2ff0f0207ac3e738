from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.access import set_actor
from crm.cards import rules, services
from crm.cards.models import CardEvent, CardUse, MemberCard
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.notifications.models import Notification, OutboxMail
from tests import factories
from tests.cards.conftest import TODAY


def events(card):
    return db.session.scalars(
        select(CardEvent).where(CardEvent.card_id == card.id).order_by(CardEvent.id)
    ).all()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- issue -----------------------------------------------------------------------------------
def test_issue_charges_the_issue_fee_and_sets_validity(cards):
    card = cards.card
    assert rules.check_number(card.number) is None
    assert (card.status, card.issue_date, card.expiry_date) == (
        "active",
        date(2026, 1, 31),
        date(2027, 1, 31),
    )
    [issue] = events(card)
    assert (issue.kind, issue.to_status, issue.fee) == ("issue", "active", Decimal("500.00"))


def test_issue_needs_the_holders_real_id(cards):
    with pytest.raises(DomainError, match="not the holder"):
        services.issue_card(
            db.session, cards.person, cards.normal, factories.valid_id_number(seq=999), today=TODAY
        )
    nobody = factories.create_client(
        cards.world.am1, name="无证件", kind="individual", credit_code=None
    )
    with pytest.raises(DomainError, match="ID number must be on"):
        services.issue_card(db.session, nobody, cards.normal, None, today=TODAY)


def test_one_live_card_per_type_and_cancelled_holders_pay_again(cards):
    with pytest.raises(DomainError, match="already has a live card"):
        services.issue_card(db.session, cards.person, cards.gold, cards.id_number, today=TODAY)
    services.cancel_card(db.session, cards.card, "客户要求")
    again = services.issue_card(db.session, cards.person, cards.gold, cards.id_number, today=TODAY)
    assert again.number != cards.card.number
    assert events(again)[0].fee == Decimal("500.00")


def test_organisations_are_issued_on_their_credit_code(cards):
    card = services.issue_card(db.session, cards.world.c1, cards.normal, today=TODAY)
    assert card.expiry_date == date(2027, 11, 25)


# --- the state machine ---------------------------------------------------------------------
def test_report_lost_blocks_at_once_and_records_the_time(cards):
    services.report_lost(db.session, cards.card, "钱包被盗")
    db.session.commit()
    assert db.session.get(MemberCard, cards.card.id).status == "lost"
    assert cards.card.lost_reported_at is not None
    assert events(cards.card)[-1].kind == "report_lost"


def test_replacement_carries_the_remaining_validity_and_charges_the_fee(cards):
    services.report_lost(db.session, cards.card)
    new = services.replace_card(db.session, cards.card, "补卡", today=TODAY)
    db.session.commit()
    assert cards.card.status == "replaced"
    assert (new.status, new.issue_date, new.expiry_date) == ("active", TODAY, date(2027, 1, 31))
    assert new.previous_id == cards.card.id and new.number != cards.card.number
    replace = events(cards.card)[-1]
    assert (replace.kind, replace.fee, replace.related_card_id) == (
        "replace",
        Decimal("50.00"),
        new.id,
    )


def test_the_old_number_of_a_replaced_card_is_blocked_for_ever(cards):
    services.report_lost(db.session, cards.card)
    services.replace_card(db.session, cards.card, today=TODAY)
    for move in (
        lambda c: services.report_lost(db.session, c),
        lambda c: services.cancel_card(db.session, c, "x"),
        lambda c: services.replace_card(db.session, c, today=TODAY),
        lambda c: services.extend_card(db.session, c, today=TODAY),
    ):
        with pytest.raises(DomainError):
            move(cards.card)
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "前台", "10", today=TODAY
    )
    assert not use.accepted and "blocked" in use.refusal


def test_cancel_needs_a_reason_and_ends_the_card(cards):
    with pytest.raises(DomainError, match="needs a reason"):
        services.cancel_card(db.session, cards.card, " ")
    services.cancel_card(db.session, cards.card, "客户退卡")
    assert cards.card.status == "cancelled"
    assert events(cards.card)[-1].reason == "客户退卡"


def test_renewal_before_expiry_extends_from_the_old_expiry_and_charges_the_fee(cards):
    services.extend_card(db.session, cards.card, today=date(2027, 1, 10))
    assert cards.card.expiry_date == date(2028, 1, 31)
    assert events(cards.card)[-1].fee == Decimal("400.00")


def test_month_end_renewal_lands_on_the_shorter_months_last_day(cards):
    monthly = factories_type(cards, months=1)
    card = services.issue_card(db.session, cards.world.c1, monthly, today=date(2027, 12, 31))
    services.extend_card(db.session, card, today=date(2028, 1, 2))  # Jan 31 → Feb 29 (leap)
    assert card.expiry_date == date(2028, 2, 29)
    services.extend_card(db.session, card, today=date(2028, 2, 1))
    assert card.expiry_date == date(2028, 3, 29)


def factories_type(cards, months):
    from tests.cards.conftest import make_type

    return make_type("MONTH", "月卡", "1", ("1", "1", "1"), months=months)


def test_an_expired_card_is_not_extended_but_renewed_with_a_new_card(cards):
    after = date(2027, 2, 1)
    with pytest.raises(DomainError, match="new card is issued"):
        services.extend_card(db.session, cards.card, today=after)
    with pytest.raises(DomainError, match="old card must be presented"):
        services.renew_expired_card(
            db.session, cards.card, cards.id_number, rules.make_number(999), today=after
        )
    with pytest.raises(DomainError, match="not the holder"):
        services.renew_expired_card(
            db.session, cards.card, factories.valid_id_number(seq=5), cards.card.number, today=after
        )
    new = services.renew_expired_card(
        db.session, cards.card, cards.id_number, cards.card.number, today=after
    )
    assert cards.card.status == "renewed"
    assert (new.issue_date, new.expiry_date, new.previous_id) == (
        after,
        date(2028, 2, 1),
        cards.card.id,
    )
    kinds = [(e.kind, e.from_status, e.to_status, e.fee) for e in events(cards.card)]
    assert kinds[-2:] == [
        ("expire", "active", "expired", Decimal("0.00")),
        ("renew", "expired", "renewed", Decimal("400.00")),
    ]


def test_an_active_card_cannot_be_renewed_as_expired_nor_expired_early(cards):
    with pytest.raises(DomainError, match="cannot become"):
        services.renew_expired_card(
            db.session, cards.card, cards.id_number, cards.card.number, today=TODAY
        )
    with pytest.raises(DomainError, match="valid until"):
        services.expire_card(db.session, cards.card, today=date(2027, 1, 31))
    services.expire_card(db.session, cards.card, today=date(2027, 2, 1))
    assert cards.card.status == "expired"


@pytest.mark.parametrize("status", ["expired", "lost", "cancelled", "renewed", "replaced"])
def test_moves_out_of_a_state_the_machine_forbids_are_refused(cards, status):
    cards.card.status = status
    allowed = {t for (f, t) in rules.TRANSITIONS if f == status}
    attempts = {
        "lost": lambda: services.report_lost(db.session, cards.card),
        "cancelled": lambda: services.cancel_card(db.session, cards.card, "x"),
        "replaced": lambda: services.replace_card(db.session, cards.card, today=TODAY),
        "renewed": lambda: services.renew_expired_card(
            db.session, cards.card, cards.id_number, cards.card.number, today=TODAY
        ),
    }
    for target, attempt in attempts.items():
        if target in allowed:
            continue
        with pytest.raises(DomainError, match="cannot become"):
            attempt()
        assert cards.card.status == status
    with pytest.raises(DomainError):
        services.extend_card(db.session, cards.card, today=TODAY)


# --- use -----------------------------------------------------------------------------------
def test_a_use_by_the_holder_is_logged(cards):
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "餐厅", "388.50", today=TODAY
    )
    assert use.accepted and use.list_price == Decimal("388.50") and use.place == "餐厅"


def test_a_gold_cards_use_records_the_list_price_the_benefit_and_the_discounted_amount(cards):
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "餐厅", "1000", today=TODAY
    )
    db.session.commit()
    db.session.expire_all()
    use = db.session.get(CardUse, use.id)
    assert (use.list_price, use.discount_rate, use.benefit, use.paid) == (
        Decimal("1000.00"),
        Decimal("0.900"),
        Decimal("100.00"),
        Decimal("900.00"),
    )


def test_the_amount_paid_is_rounded_half_up_to_the_fen(cards):
    # 388.45 x 0.90 = 349.605 -> 349.61 (half-up; banker's rounding would give 349.60)
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "餐厅", "388.45", today=TODAY
    )
    assert (use.benefit, use.paid) == (Decimal("38.84"), Decimal("349.61"))
    assert use.benefit + use.paid == use.list_price


def test_the_benefit_follows_the_card_types_rate_at_the_time_of_use(cards):
    cards.gold.discount_rate = Decimal("0.85")
    services.save_card_type(db.session, cards.gold)
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "餐厅", "200", today=TODAY
    )
    assert (use.discount_rate, use.benefit, use.paid) == (
        Decimal("0.85"),
        Decimal("30.00"),
        Decimal("170.00"),
    )


@pytest.mark.parametrize("fate", ["expired", "cancelled", "lost"])
def test_an_expired_cancelled_or_lost_card_gives_no_benefit(cards, fate):
    today = TODAY
    if fate == "expired":
        today = date(2027, 2, 1)
    elif fate == "cancelled":
        services.cancel_card(db.session, cards.card, "客户退卡")
    else:
        services.report_lost(db.session, cards.card)
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "餐厅", "500", today=today
    )
    assert not use.accepted and use.discount_rate is None
    assert (use.list_price, use.benefit, use.paid) == (
        Decimal("500.00"),
        Decimal("0.00"),
        Decimal("500.00"),
    )


def test_a_mistyped_or_unknown_number_is_refused(cards):
    typo = cards.card.number[:-2] + cards.card.number[-1] + cards.card.number[-2]
    if typo == cards.card.number:
        typo = (
            cards.card.number[:5]
            + str((int(cards.card.number[5]) + 1) % 10)
            + cards.card.number[6:]
        )
    with pytest.raises(DomainError, match="check digit"):
        services.record_use(db.session, typo, cards.id_number, "前台", 0, today=TODAY)
    with pytest.raises(DomainError, match="No card"):
        services.record_use(
            db.session, rules.make_number(99999), cards.id_number, "前台", 0, today=TODAY
        )


def test_cards_are_not_transferable(cards):
    use = services.record_use(
        db.session, cards.card.number, factories.valid_id_number(seq=7), "前台", "1", today=TODAY
    )
    assert not use.accepted and "not the card's holder" in use.refusal
    org = services.issue_card(db.session, cards.world.c1, cards.normal, today=TODAY)
    assert services.record_use(
        db.session, org.number, cards.world.c1.name, "前台", 1, today=TODAY
    ).accepted
    assert not services.record_use(
        db.session, org.number, "别的公司", "前台", 1, today=TODAY
    ).accepted


def test_a_use_after_expiry_is_refused_even_before_the_nightly_sweep(cards):
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "前台", 1, today=date(2027, 2, 1)
    )
    assert not use.accepted and "expired" in use.refusal
    assert count(Notification) == 0  # expired, not blocked: no alert


def test_a_blocked_cards_use_is_an_attempt_that_alerts_the_account_manager(cards):
    services.report_lost(db.session, cards.card)
    use = services.record_use(
        db.session, cards.card.number, cards.id_number, "前台", 50, today=TODAY
    )
    db.session.commit()
    assert not use.accepted and count(CardUse, CardUse.accepted.is_(False)) == 1
    [alert] = db.session.scalars(select(Notification)).all()
    assert alert.recipient_id == cards.world.am1.id and alert.kind == "card_attempt"
    assert cards.card.number in alert.title


# --- benefits ------------------------------------------------------------------------------
def test_changing_benefits_tells_live_holders_once(cards):
    world = cards.world
    world.am2.email = "am2@example.com"
    c2_card = services.issue_card(db.session, world.c2, cards.gold, today=TODAY)
    gone = services.issue_card(db.session, world.c3, cards.gold, today=TODAY)
    services.cancel_card(db.session, gone, "x")
    services.issue_card(db.session, world.c1, cards.normal, today=TODAY)
    db.session.commit()
    cards.gold.renewal_fee = Decimal("450")  # a fee is not a benefit: nobody is told
    services.save_card_type(db.session, cards.gold)
    assert count(Notification) == 0
    cards.gold.discount_rate = Decimal("0.85")
    services.save_card_type(db.session, cards.gold)
    services.save_card_type(db.session, cards.gold)  # saved again unchanged: nothing new
    db.session.commit()
    recipients = sorted(db.session.scalars(select(Notification.recipient_id)))
    assert recipients == sorted([world.am1.id, world.am2.id])
    assert cards.gold.benefits_version == 2
    mails = set(db.session.scalars(select(OutboxMail.to_address)))
    assert mails == {"wxm@example.com", "am2@example.com"}
    services.record_benefit_decision(db.session, c2_card, keep=False, reason="不接受新权益")
    services.record_benefit_decision(db.session, cards.card, keep=True)
    assert c2_card.status == "cancelled" and cards.card.status == "active"
    assert events(cards.card)[-1].kind == "benefits_kept"


def test_only_managers_set_card_types(cards):
    set_actor(cards.world.clerk)
    cards.gold.privileges = "x"
    with pytest.raises(NotAllowed):
        services.save_card_type(db.session, cards.gold)


def test_card_type_values_are_checked(cards):
    cards.gold.discount_rate = Decimal("1.5")
    cards.gold.issue_fee = Decimal("-1")
    with pytest.raises(DomainError) as exc:
        services.save_card_type(db.session, cards.gold)
    assert set(exc.value.field_errors) == {"discount_rate", "issue_fee"}


# --- who may move which card ----------------------------------------------------------------
def test_account_managers_move_their_own_customers_cards_only(cards):
    world = cards.world
    set_actor(world.am2)
    with pytest.raises(NotAllowed):
        services.report_lost(db.session, cards.card)
    set_actor(world.am1)
    services.report_lost(db.session, cards.card)
    assert events(cards.card)[-1].actor_id == world.am1.id


def test_the_clerk_issues_cards_to_any_customer_but_service_only_reads(cards):
    world = cards.world
    set_actor(world.clerk)
    card = services.issue_card(db.session, world.c3, cards.normal, today=TODAY)
    assert card.client_id == world.c3.id
    set_actor(world.service)
    with pytest.raises(NotAllowed):
        services.cancel_card(db.session, card, "x")
