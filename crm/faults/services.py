"""The rules of fault reports (R14): a report with time, place, symptom, plan and who; the
fault analysis that follows; a link to the customer's complaint when there is one.
Writes are audited by the model's ``__audited__``; the caller commits."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.access import can, current_actor
from crm.complaints.models import Complaint
from crm.errors import DomainError, NotAllowed
from crm.faults.models import ANALYSED, REPORTED, FaultReport
from crm.timeutil import utcnow

REPORT_FIELDS = ("occurred_at", "place", "symptom", "plan", "handled_by")
ANALYSIS_FIELDS = ("cause", "analysis", "prevention")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def report_errors(session, report: FaultReport) -> dict:
    errors = {f: _l("Required.") for f in REPORT_FIELDS if _blank(getattr(report, f))}
    if isinstance(report.occurred_at, datetime) and report.occurred_at > utcnow():
        errors["occurred_at"] = _l("A fault is reported after it happens.")
    if report.complaint_id is not None:
        owner = session.scalar(
            select(Complaint.client_id).where(Complaint.id == report.complaint_id)
        )
        if owner is None:
            errors["complaint"] = _l("No such complaint.")
        elif owner != report.client_id:
            errors["complaint"] = _l("The complaint is another customer's.")
    return errors


def _check(session, report: FaultReport) -> None:
    errors = report_errors(session, report)
    if errors:
        raise DomainError(_l("The fault report is incomplete."), errors)
    for f in ("place", "symptom", "plan", "handled_by"):
        setattr(report, f, getattr(report, f).strip())


def report_fault(session, report: FaultReport) -> FaultReport:
    """Record a fault of a customer in scope; the complaint, if given, must be theirs (and
    visible to the reporter)."""
    if not can(current_actor(), "create", report):
        raise NotAllowed(_l("You may not report faults for this customer."))
    _check(session, report)
    report.status = REPORTED
    report.reported_by_id = getattr(current_actor(), "id", None)
    report.reported_at = utcnow()
    session.add(report)
    session.flush()
    return report


def update_fault(session, report: FaultReport) -> FaultReport:
    if not can(current_actor(), "edit", report):
        raise NotAllowed(_l("You may not change this customer's fault reports."))
    _check(session, report)
    if report.status == ANALYSED:
        _analysis_check(report)
    session.flush()
    return report


def _analysis_check(report, values: dict | None = None) -> None:
    values = values or {f: getattr(report, f) for f in ("cause", "analysis")}
    missing = {f: _l("Required.") for f in ("cause", "analysis") if _blank(values.get(f))}
    if missing:
        raise DomainError(_l("A fault analysis states the cause and the analysis."), missing)


def analyse_fault(
    session, report: FaultReport, cause: str, analysis: str, prevention: str = ""
) -> FaultReport:
    """The follow-up fault analysis (故障分析): cause, analysis, what prevents it again."""
    if not can(current_actor(), "edit", report):
        raise NotAllowed(_l("You may not change this customer's fault reports."))
    _analysis_check(report, {"cause": cause, "analysis": analysis})  # before any change
    report.cause, report.analysis = cause.strip(), analysis.strip()
    report.prevention = (prevention or "").strip() or None
    report.status = ANALYSED
    report.analysed_by_id = getattr(current_actor(), "id", None)
    report.analysed_at = utcnow()
    session.flush()
    return report


def faults_of(session, client_id: int) -> list[FaultReport]:
    return session.scalars(
        select(FaultReport)
        .where(FaultReport.client_id == client_id)
        .order_by(FaultReport.occurred_at.desc())
    ).all()


def faults_of_complaint(session, complaint_id: int) -> list[FaultReport]:
    return session.scalars(
        select(FaultReport)
        .where(FaultReport.complaint_id == complaint_id)
        .order_by(FaultReport.occurred_at)
    ).all()
