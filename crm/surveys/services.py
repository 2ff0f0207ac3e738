"""The rules of the new-year needs survey (R14) as functions the admin, the CLI and the demo
call. Writes are audited by the models' ``__audited__``; the caller commits."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, select

from crm.access import can, current_actor
from crm.auth.models import User
from crm.clients.models import Client
from crm.errors import DomainError, NotAllowed
from crm.surveys.models import (
    ANSWERED,
    DRAFT,
    LAUNCHED,
    PENDING,
    SurveyCampaign,
    SurveyQuestion,
    SurveyResponse,
)
from crm.timeutil import utcnow

ACTIVE_STAGE = "active"


def _require(action: str, message, obj=None, area: str | None = None) -> None:
    if not can(current_actor(), action, obj, area=area):
        raise NotAllowed(message)


def parse_questions(text: str) -> list[str]:
    """One question a line; blank lines and surrounding spaces left out."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def create_campaign(session, year: int, title: str, questions: list[str]) -> SurveyCampaign:
    """A manager sets the year's survey and its questions (a draft until launched)."""
    _require(
        "create",
        _l("Only the sales manager or the general manager sets the survey."),
        area="survey_setup",
    )
    errors = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = _l("Give the survey's year.")
    elif session.scalar(select(SurveyCampaign.id).where(SurveyCampaign.year == year)):
        errors["year"] = _l("This year already has its survey.")
    if not (title or "").strip():
        errors["title"] = _l("Give the survey a title.")
    if not questions:
        errors["questions"] = _l("Write at least one question, one a line.")
    if errors:
        raise DomainError(_l("The survey has errors."), errors)
    campaign = SurveyCampaign(
        year=year,
        title=title.strip(),
        status=DRAFT,
        created_by_id=getattr(current_actor(), "id", None),
    )
    session.add(campaign)
    session.flush()
    session.add_all(
        SurveyQuestion(campaign_id=campaign.id, seq=i, text=q) for i, q in enumerate(questions, 1)
    )
    session.flush()
    return campaign


def launch_campaign(session, campaign: SurveyCampaign) -> int:
    """Open the survey to every active customer: one response row each, in one
    INSERT … SELECT. Safe to re-run: customers who became active since are added, none twice.
    Returns the number added."""
    _require(
        "launch",
        _l("Only the sales manager or the general manager launches the survey."),
        area="survey_setup",
    )
    if not campaign.questions:
        raise DomainError(_l("The survey has no questions."))
    now = utcnow()
    table = SurveyResponse.__table__
    clients = Client.__table__
    already = select(table.c.client_id).where(table.c.campaign_id == campaign.id)
    query = select(literal(campaign.id), clients.c.id, literal(PENDING), literal(now)).where(
        clients.c.stage == ACTIVE_STAGE,
        clients.c.deleted_at.is_(None),
        clients.c.id.not_in(already),
    )
    added = session.execute(
        table.insert()
        .from_select(["campaign_id", "client_id", "status", "created_at"], query)
        .execution_options(preserve_rowcount=True)
    ).rowcount
    if campaign.status != LAUNCHED:
        campaign.status, campaign.launched_at = LAUNCHED, now
    session.flush()
    return added


def answer_survey(session, response: SurveyResponse, answers: dict) -> SurveyResponse:
    """Keep a customer's answers: every question answered (write 无 where there is none)."""
    _require("edit", _l("You may not record this customer's survey answers."), response)
    questions = response.campaign.questions
    given = {
        str(q.id): (answers.get(str(q.id)) or answers.get(q.id) or "").strip() for q in questions
    }
    missing = {f"q_{q.id}": _l("Answer this question.") for q in questions if not given[str(q.id)]}
    if missing:
        raise DomainError(
            _l("Every question needs an answer (write 无 where there is none)."), missing
        )
    response.answers = given
    response.status = ANSWERED
    response.answered_by_id = getattr(current_actor(), "id", None)
    response.answered_at = utcnow()
    session.flush()
    return response


def progress(session, campaign_id: int) -> list[dict]:
    """Per account manager (the customer's owner now): customers to ask, answered, open.
    Read through the scoped query layer: each user counts the customers they see."""
    answered = func.count(case((SurveyResponse.status == ANSWERED, 1)))
    rows = session.execute(
        select(User.id, User.full_name, User.username, func.count(SurveyResponse.id), answered)
        .select_from(SurveyResponse)
        .join(Client, Client.id == SurveyResponse.client_id)
        .outerjoin(User, User.id == Client.owner_id)
        .where(SurveyResponse.campaign_id == campaign_id)
        .group_by(User.id, User.full_name, User.username)
        .order_by(User.username)
    ).all()
    return [
        {
            "user_id": uid,
            "name": full or username or "",
            "total": total,
            "answered": done,
            "open": total - done,
        }
        for uid, full, username, total, done in rows
    ]


def answers_of(session, client_id: int) -> list[dict]:
    """The customer's answers, newest year first, question by question (for the card)."""
    out = []
    for response in session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.client_id == client_id)
        .join(SurveyCampaign)
        .order_by(SurveyCampaign.year.desc())
    ):
        pairs = [
            (q.text, (response.answers or {}).get(str(q.id), ""))
            for q in response.campaign.questions
        ]
        out.append({"response": response, "pairs": pairs})
    return out
