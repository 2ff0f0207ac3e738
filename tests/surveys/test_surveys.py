"""R14: the new-year needs survey — set by a manager, launched over the active customers,
answers kept per customer and shown on the card, progress per account manager, scoped."""

import pytest
from sqlalchemy import func, select

from crm.audit import AuditEvent
from crm.errors import DomainError, NotAllowed
from crm.extensions import db
from crm.surveys import services
from crm.surveys.models import ANSWERED, LAUNCHED, SurveyCampaign, SurveyResponse
from tests import factories

QUESTIONS = ["明年预计采购量？", "对我们服务最希望改进的一点？"]


@pytest.fixture
def survey(world, act):
    """Active customers: c1, c1b (am1), c2 (am2), c3 (am3); one prospect of am1's."""
    world.c1b = factories.create_client(world.am1, name="华东丁餐饮有限公司")
    world.prospect = factories.create_client(world.am1, name="华东戊潜在客户")
    for c in (world.c1, world.c1b, world.c2, world.c3):
        c.stage = "active"
    db.session.commit()
    act(world.sales_manager)
    campaign = services.create_campaign(db.session, 2027, "2027年度客户需求调查", QUESTIONS)
    added = services.launch_campaign(db.session, campaign)
    db.session.commit()
    act(None)
    world.campaign, world.added = campaign, added
    return world


def response_of(client) -> SurveyResponse:
    return db.session.scalars(
        select(SurveyResponse).where(SurveyResponse.client_id == client.id)
    ).one()


def answer(response, *texts):
    return services.answer_survey(
        db.session,
        response,
        {str(q.id): t for q, t in zip(response.campaign.questions, texts, strict=True)},
    )


def test_a_launch_asks_every_active_customer_once(survey, act):
    assert survey.added == 4 and survey.campaign.status == LAUNCHED
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 4
    assert not db.session.scalars(
        select(SurveyResponse).where(SurveyResponse.client_id == survey.prospect.id)
    ).all()
    act(survey.sales_manager)
    survey.prospect.stage = "active"
    assert services.launch_campaign(db.session, survey.campaign) == 1  # only the newcomer
    assert services.launch_campaign(db.session, survey.campaign) == 0


def test_only_managers_set_and_launch_the_survey(world, act):
    act(world.am1)
    with pytest.raises(NotAllowed):
        services.create_campaign(db.session, 2027, "调查", QUESTIONS)
    act(world.sales_manager)
    with pytest.raises(DomainError) as bad:
        services.create_campaign(db.session, 2027, " ", [])
    assert set(bad.value.field_errors) == {"title", "questions"}


def test_answers_are_kept_per_customer_and_audited(survey, act):
    response, theirs = response_of(survey.c1), response_of(survey.c2)
    act(survey.am1)
    assert (
        db.session.scalars(
            select(SurveyResponse)
            .where(  # the scope hides it
                SurveyResponse.id == theirs.id
            )
            .execution_options(populate_existing=True)
        ).all()
        == []
    )
    with pytest.raises(DomainError):
        answer(response, "约200万元", " ")
    answer(response, "约200万元", "缩短送货时间")
    db.session.commit()
    assert response.status == ANSWERED and response.answered_by_id == survey.am1.id
    kept = services.answers_of(db.session, survey.c1.id)[0]["pairs"]
    assert kept == list(zip(QUESTIONS, ["约200万元", "缩短送货时间"], strict=True))
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "survey_responses",
            AuditEvent.entity_id == response.id,
            AuditEvent.action == "update",
        )
    ).one()
    assert event.actor_id == survey.am1.id
    with pytest.raises(NotAllowed):  # another account manager's customer
        answer(theirs, "无", "无")


def test_progress_per_account_manager(survey, act):
    mine, north = response_of(survey.c1), response_of(survey.c3)
    act(survey.am1)
    answer(mine, "100万", "无")
    act(survey.service)
    answer(north, "50万", "价格")
    db.session.commit()
    act(survey.sales_manager)
    rows = {
        r["user_id"]: (r["total"], r["answered"], r["open"])
        for r in services.progress(db.session, survey.campaign.id)
    }
    assert rows == {survey.am1.id: (2, 1, 1), survey.am2.id: (1, 0, 1), survey.am3.id: (1, 1, 0)}
    act(survey.am1)  # an account manager counts her own customers only
    assert [
        (r["user_id"], r["total"]) for r in services.progress(db.session, survey.campaign.id)
    ] == [(survey.am1.id, 2)]


def test_an_account_manager_cannot_read_another_customers_answers(survey, login_as):
    theirs = response_of(survey.c2)
    c = login_as(survey.am1)
    assert c.get(f"/admin/survey_response/details/?id={theirs.id}").status_code == 404
    assert (
        c.post(
            "/admin/survey_response/answer/",
            data={"id": theirs.id, **{f"q_{q.id}": "x" for q in theirs.campaign.questions}},
        ).status_code
        == 404
    )
    listing = c.get("/admin/survey_response/").get_data(as_text=True)
    assert survey.c1.name in listing and survey.c2.name not in listing
    db.session.expire_all()
    assert response_of(survey.c2).answers is None
    # customer service asks every customer (the revisits level)
    assert (
        login_as(survey.service).get(f"/admin/survey_response/details/?id={theirs.id}").status_code
        == 200
    )


def test_the_screens_record_answers_show_them_on_the_card_and_the_progress(survey, login_as):
    mine = response_of(survey.c1)
    c = login_as(survey.am1)
    c.post(
        "/admin/survey_response/answer/",
        data={"id": mine.id, **{f"q_{q.id}": f"答{q.seq}" for q in mine.campaign.questions}},
    )
    db.session.expire_all()
    assert response_of(survey.c1).status == ANSWERED
    card = c.get(f"/admin/client/details/?id={survey.c1.id}").get_data(as_text=True)
    assert 'id="survey-answers"' in card and QUESTIONS[0] in card and "答1" in card
    page = (
        login_as(survey.sales_manager)
        .get(f"/admin/survey/details/?id={survey.campaign.id}")
        .get_data(as_text=True)
    )
    progress = page[page.index('id="survey-progress"') :]
    assert f'data-user="{survey.am1.id}"><td>am1</td><td>2</td><td>1</td><td>1</td>' in progress
    own = c.get(f"/admin/survey/details/?id={survey.campaign.id}").get_data(as_text=True)
    assert f'data-user="{survey.am2.id}"' not in own


def test_a_manager_sets_and_launches_a_survey_on_screen(world, login_as):
    world.c1.stage = "active"
    db.session.commit()
    c = login_as(world.sales_manager)
    r = c.post(
        "/admin/survey/new/",
        data={"year": "2028", "title": "2028年度需求调查", "questions": "问题一\n\n问题二\n"},
    )
    assert r.status_code == 302
    campaign = db.session.scalars(select(SurveyCampaign)).one()
    assert [q.text for q in campaign.questions] == ["问题一", "问题二"]
    c.post("/admin/survey/launch/", data={"id": campaign.id})
    assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
    assert login_as(world.am1).post(
        "/admin/survey/new/", data={"year": "2029", "title": "x", "questions": "y"}
    ).status_code in (302, 403)
    assert db.session.scalar(select(func.count()).select_from(SurveyCampaign)) == 1
