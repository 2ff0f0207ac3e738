"""archives: volumes, documents, catalogue lines of both sets, integrity flags

Revision ID: 0005_archives
Revises: 0002_notifications
Create Date: 2026-11-25 16:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0005_archives"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('archive_volumes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('retention', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_archive_volumes_closed_by_id_users')),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_archive_volumes_manager_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_volumes')),
    sa.UniqueConstraint('year', 'category', 'manager_id', name='uq_archive_volumes_owner'),
    sa.UniqueConstraint('year', 'category', 'number', name='uq_archive_volumes_number')
    )
    with op.batch_alter_table('archive_volumes', schema=None) as batch_op:
        batch_op.create_index('ix_archive_volumes_year_status', ['year', 'status'], unique=False)

    op.create_table('archive_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('client_name', sa.String(length=200), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('retention', sa.String(length=4), nullable=False),
    sa.Column('form', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('customer_signed', sa.Boolean(), nullable=False),
    sa.Column('handler', sa.String(length=100), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('filed_at', sa.DateTime(), nullable=True),
    sa.Column('volume_id', sa.Integer(), nullable=True),
    sa.Column('item_no', sa.Integer(), nullable=True),
    sa.Column('archive_no', sa.String(length=40), nullable=True),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('room', sa.String(length=30), nullable=True),
    sa.Column('cabinet', sa.String(length=30), nullable=True),
    sa.Column('shelf', sa.String(length=30), nullable=True),
    sa.Column('box', sa.String(length=30), nullable=True),
    sa.Column('incoming_path', sa.String(length=300), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('storage_path', sa.String(length=300), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_archive_documents_approved_by_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_archive_documents_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_archive_documents_created_by_id_users')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_archive_documents_deleted_by_id_users')),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_archive_documents_manager_id_users')),
    sa.ForeignKeyConstraint(['volume_id'], ['archive_volumes.id'], name=op.f('fk_archive_documents_volume_id_archive_volumes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_documents')),
    sa.UniqueConstraint('archive_no', name=op.f('uq_archive_documents_archive_no')),
    sa.UniqueConstraint('volume_id', 'item_no', name='uq_archive_documents_volume_item')
    )
    with op.batch_alter_table('archive_documents', schema=None) as batch_op:
        batch_op.create_index('ix_archive_documents_category_date', ['category', 'doc_date'], unique=False)
        batch_op.create_index('ix_archive_documents_checked', ['checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_documents_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_documents_client_name'), ['client_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_documents_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_documents_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_documents_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_documents_title'), ['title'], unique=False)

    op.create_table('archive_catalogue_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volume_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('set_kind', sa.String(length=12), nullable=False),
    sa.Column('item_no', sa.Integer(), nullable=False),
    sa.Column('archive_no', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('responsible', sa.String(length=100), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_archive_catalogue_lines_client_id_clients')),
    sa.ForeignKeyConstraint(['document_id'], ['archive_documents.id'], name=op.f('fk_archive_catalogue_lines_document_id_archive_documents')),
    sa.ForeignKeyConstraint(['volume_id'], ['archive_volumes.id'], name=op.f('fk_archive_catalogue_lines_volume_id_archive_volumes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_catalogue_lines')),
    sa.UniqueConstraint('document_id', 'set_kind', name='uq_archive_catalogue_lines_doc_set'),
    sa.UniqueConstraint('volume_id', 'set_kind', 'item_no', name='uq_archive_catalogue_lines_item')
    )
    with op.batch_alter_table('archive_catalogue_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_catalogue_lines_client_id'), ['client_id'], unique=False)

    op.create_table('archive_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('detected_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_archive_flags_client_id_clients')),
    sa.ForeignKeyConstraint(['document_id'], ['archive_documents.id'], name=op.f('fk_archive_flags_document_id_archive_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_flags')),
    sa.UniqueConstraint('key', name=op.f('uq_archive_flags_key'))
    )
    with op.batch_alter_table('archive_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_flags_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_flags_document_id'), ['document_id'], unique=False)


def downgrade():
    op.drop_table('archive_flags')
    op.drop_table('archive_catalogue_lines')
    op.drop_table('archive_documents')
    op.drop_table('archive_volumes')
