from sqlalchemy import select

from crm.demo import seed_demo
from crm.extensions import db
from crm.faults.models import ANALYSED, FaultReport
from crm.surveys.models import ANSWERED, PENDING, SurveyCampaign, SurveyResponse


def test_demo_shows_a_survey_with_some_answers_and_an_analysed_fault_report(ctx):
    seed_demo(db.session, n_clients=40)
    db.session.commit()
    [campaign] = db.session.scalars(select(SurveyCampaign)).all()
    statuses = db.session.scalars(
        select(SurveyResponse.status).where(SurveyResponse.campaign_id == campaign.id)
    ).all()
    assert ANSWERED in statuses and PENDING in statuses
    [fault] = db.session.scalars(select(FaultReport)).all()
    assert fault.status == ANALYSED and fault.complaint_id is not None
    assert fault.complaint.client_id == fault.client_id
