"""R14: the new-year needs survey (campaigns, questions, answers per customer) and fault
reports with their analysis

Revision ID: h11_0016
Revises: h11_0015
Create Date: 2026-11-30 15:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "h11_0016"
down_revision = "h11_0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "survey_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year"),
    )
    op.create_table(
        "survey_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["survey_campaigns.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "seq", name="uq_survey_questions_seq"),
    )
    op.create_index("ix_survey_questions_campaign_id", "survey_questions", ["campaign_id"])
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["answered_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["survey_campaigns.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "client_id", name="uq_survey_responses_client"),
    )
    op.create_index("ix_survey_responses_client_id", "survey_responses", ["client_id"])
    op.create_table(
        "fault_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("symptom", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("handled_by", sa.String(length=200), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("analysis", sa.Text(), nullable=True),
        sa.Column("prevention", sa.Text(), nullable=True),
        sa.Column("analysed_by_id", sa.Integer(), nullable=True),
        sa.Column("analysed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["analysed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"]),
        sa.ForeignKeyConstraint(["reported_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fault_reports_client_id", "fault_reports", ["client_id"])
    op.create_index("ix_fault_reports_complaint_id", "fault_reports", ["complaint_id"])


def downgrade():
    op.drop_index("ix_fault_reports_complaint_id", table_name="fault_reports")
    op.drop_index("ix_fault_reports_client_id", table_name="fault_reports")
    op.drop_table("fault_reports")
    op.drop_index("ix_survey_responses_client_id", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index("ix_survey_questions_campaign_id", table_name="survey_questions")
    op.drop_table("survey_questions")
    op.drop_table("survey_campaigns")
