"""The new-year needs survey (年度需求调查, R14): a yearly campaign over the active customers,
the questions a manager sets, and each customer's answers."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.extensions import db
from crm.timeutil import utcnow

DRAFT, LAUNCHED = "draft", "launched"
CAMPAIGN_STATUSES = [(DRAFT, _l("Draft")), (LAUNCHED, _l("Launched"))]
PENDING, ANSWERED = "pending", "answered"
RESPONSE_STATUSES = [(PENDING, _l("Not yet answered")), (ANSWERED, _l("Answered"))]


class SurveyCampaign(db.Model):
    """One year's survey; it belongs to no customer (managers set it, everyone reads it)."""

    __tablename__ = "survey_campaigns"
    __audited__ = True
    __label__ = _l("Needs survey")

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    launched_at: Mapped[datetime | None]

    questions: Mapped[list["SurveyQuestion"]] = relationship(
        order_by="SurveyQuestion.seq", back_populates="campaign"
    )

    def __str__(self) -> str:
        return f"{self.year} {self.title}"


class SurveyQuestion(db.Model):
    __tablename__ = "survey_questions"
    __audited__ = True
    __label__ = _l("Survey question")

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("survey_campaigns.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)

    campaign: Mapped[SurveyCampaign] = relationship(back_populates="questions")

    __table_args__ = (UniqueConstraint("campaign_id", "seq", name="uq_survey_questions_seq"),)


class SurveyResponse(db.Model):
    """One customer's answers to one campaign; created for every active customer at launch."""

    __tablename__ = "survey_responses"
    __audited__ = True
    __label__ = _l("Survey answers")
    # Customer service keeps the revisits of every customer, and so asks the survey too;
    # the others see their own scope (crm.access).
    __scope__ = "revisits"
    __scope_area__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("survey_campaigns.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    # {question id (text): answer}
    answers: Mapped[dict | None] = mapped_column(JSON)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[SurveyCampaign] = relationship(lazy="joined")
    client: Mapped[Client] = relationship(lazy="joined")
    answered_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("campaign_id", "client_id", name="uq_survey_responses_client"),
    )

    def __str__(self) -> str:
        return f"{self.campaign.year} {self.client.name}"
