"""Fault reports (故障报告, R14): time, place, symptom, plan and who; the fault analysis that
follows; the complaint it answers, when there is one."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.clients.models import Client
from crm.complaints.models import Complaint
from crm.extensions import db
from crm.timeutil import utcnow

REPORTED, ANALYSED = "reported", "analysed"
STATUSES = [(REPORTED, _l("Reported")), (ANALYSED, _l("Analysed"))]


class FaultReport(db.Model):
    __tablename__ = "fault_reports"
    __audited__ = True
    __label__ = _l("Fault report")
    # Scoped like complaints: customer service takes every customer's, the others their scope.
    __scope__ = "complaints"
    __scope_area__ = "faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    occurred_at: Mapped[datetime]  # UTC, shown in the company's zone
    place: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)
    handled_by: Mapped[str] = mapped_column(String(200))  # who deals with it (names)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=REPORTED)
    # The fault analysis (故障分析) that follows.
    cause: Mapped[str | None] = mapped_column(Text)
    analysis: Mapped[str | None] = mapped_column(Text)
    prevention: Mapped[str | None] = mapped_column(Text)
    analysed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    analysed_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(lazy="joined")
    complaint: Mapped[Complaint | None] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    analysed_by: Mapped[User | None] = relationship(foreign_keys=[analysed_by_id])

    def __str__(self) -> str:
        return f"#{self.id} {self.client.name if self.client else ''}"
