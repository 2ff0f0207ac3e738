"""destruction that destroys, retention and disposal (issue 16 points 8 and 9)

Revision ID: h9_0014
Revises: h8_0014
Create Date: 2026-11-30 14:40:00

An archive document under retention outlives its customer's destruction: its client_id may be
empty (it keeps destruction_id as its reference). A catalogue line may have lost its document
(destroyed) and says where it went (destruction_id, disposal_id). Disposal lists (销毁清册) and
their items are new; a destruction record keeps its detail (counts and archive numbers).
"""
import sqlalchemy as sa
from alembic import op

revision = "h9_0014"
down_revision = "h8_0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "disposal_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("carried_out_by_id", sa.Integer(), nullable=True),
        sa.Column("carried_out_at", sa.DateTime(), nullable=True),
        sa.Column("files_deleted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_disposal_lists_decided_by_id_users")),
        sa.ForeignKeyConstraint(["carried_out_by_id"], ["users.id"],
                                name=op.f("fk_disposal_lists_carried_out_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_lists")),
    )
    op.create_index(op.f("ix_disposal_lists_status"), "disposal_lists", ["status"])
    with op.batch_alter_table("archive_documents") as batch:
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("destruction_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("disposal_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("disposed_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(op.f("fk_archive_documents_disposal_id_disposal_lists"),
                                 "disposal_lists", ["disposal_id"], ["id"])
        batch.create_index(op.f("ix_archive_documents_destruction_id"), ["destruction_id"])
        batch.create_index(op.f("ix_archive_documents_disposal_id"), ["disposal_id"])
    op.create_table(
        "disposal_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disposal_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("archive_no", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("retention", sa.String(length=4), nullable=False),
        sa.Column("doc_date", sa.Date(), nullable=False),
        sa.Column("retention_ended", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["disposal_id"], ["disposal_lists.id"],
                                name=op.f("fk_disposal_items_disposal_id_disposal_lists")),
        sa.ForeignKeyConstraint(["document_id"], ["archive_documents.id"],
                                name=op.f("fk_disposal_items_document_id_archive_documents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_items")),
        sa.UniqueConstraint("disposal_id", "document_id", name="uq_disposal_items_doc"),
    )
    op.create_index(op.f("ix_disposal_items_disposal_id"), "disposal_items", ["disposal_id"])
    op.create_index(op.f("ix_disposal_items_document_id"), "disposal_items", ["document_id"])
    with op.batch_alter_table("archive_catalogue_lines") as batch:
        batch.alter_column("document_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("destruction_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("disposal_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("destruction_records") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("destruction_records") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("archive_catalogue_lines") as batch:
        batch.drop_column("disposal_id")
        batch.drop_column("destruction_id")
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("document_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_disposal_items_document_id"), table_name="disposal_items")
    op.drop_index(op.f("ix_disposal_items_disposal_id"), table_name="disposal_items")
    op.drop_table("disposal_items")
    with op.batch_alter_table("archive_documents") as batch:
        batch.drop_index(op.f("ix_archive_documents_disposal_id"))
        batch.drop_index(op.f("ix_archive_documents_destruction_id"))
        batch.drop_constraint(op.f("fk_archive_documents_disposal_id_disposal_lists"),
                              type_="foreignkey")
        batch.drop_column("disposed_at")
        batch.drop_column("disposal_id")
        batch.drop_column("destruction_id")
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_disposal_lists_status"), table_name="disposal_lists")
    op.drop_table("disposal_lists")
