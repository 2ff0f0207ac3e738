"""Demo data of R14's service records: the coming year's needs survey over the active
customers, a third of them answered; one fault report, linked to a complaint, analysed."""

from datetime import timedelta

from sqlalchemy import select

from crm.complaints.models import Complaint
from crm.faults import services as faults
from crm.faults.models import FaultReport
from crm.surveys import services
from crm.surveys.models import SurveyResponse
from crm.timeutil import local_today, utcnow

QUESTIONS = [
    "明年预计的采购或消费规模？",
    "明年计划举办的会议、宴会或活动？",
    "对我们的产品或服务最希望改进的一点？",
]
ANSWERS = [
    ("约80万元，与今年持平", "年会一场、季度客户答谢会四场", "希望缩短宴会上菜时间"),
    ("预计增长两成", "春季新品发布会", "希望提供发票电子化"),
    ("暂无明确计划", "无", "停车位不足"),
]


def seed_surveys(session, rng) -> None:
    today = local_today()
    year = today.year + 1 if today.month >= 10 else today.year
    campaign = services.create_campaign(session, year, f"{year}年度客户需求调查", QUESTIONS)
    services.launch_campaign(session, campaign)
    responses = session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.campaign_id == campaign.id)
        .order_by(SurveyResponse.id)
    ).all()
    for i, response in enumerate(responses[::3]):
        texts = ANSWERS[i % len(ANSWERS)]
        services.answer_survey(
            session,
            response,
            {str(q.id): t for q, t in zip(campaign.questions, texts, strict=True)},
        )
    complaint = session.scalars(
        select(Complaint).where(Complaint.category == "facility").order_by(Complaint.id)
    ).first()
    if complaint is None:
        return
    fault = faults.report_fault(
        session,
        FaultReport(
            client_id=complaint.client_id,
            complaint_id=complaint.id,
            occurred_at=utcnow() - timedelta(days=rng.randrange(3, 10)),
            place="室内游泳池",
            symptom="池水温度降至22度，加热系统报警",
            plan="当日关闭泳池，更换加热泵循环阀，次日复测水温",
            handled_by="工程部 刘师傅、周师傅",
        ),
    )
    faults.analyse_fault(
        session,
        fault,
        "加热泵循环阀老化卡滞",
        "阀门已使用六年，未列入年度保养计划；报警后未及时通知前台，客人投诉",
        "阀门列入季度保养；设备报警同步通知前台和客户经理",
    )
