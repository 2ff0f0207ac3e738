"""intake: first contacts awaiting registration, invitation claims, planned revisits

Revision ID: 0007_intake
Revises: 0002_notifications
Create Date: 2026-11-25 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0007_intake"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('first_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('mobile', sa.String(length=11), nullable=True),
    sa.Column('contact_date', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('registered_late', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_first_contacts_client_id_clients')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_first_contacts_owner_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_first_contacts_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_first_contacts'))
    )
    op.create_index(op.f('ix_first_contacts_client_id'), 'first_contacts', ['client_id'], unique=False)
    op.create_index(op.f('ix_first_contacts_contact_date'), 'first_contacts', ['contact_date'], unique=False)
    op.create_index(op.f('ix_first_contacts_owner_id'), 'first_contacts', ['owner_id'], unique=False)
    op.create_index(op.f('ix_first_contacts_region_id'), 'first_contacts', ['region_id'], unique=False)
    op.create_table('invitation_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('division', sa.String(length=20), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('count_day', sa.Date(), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_invitation_claims_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_invitation_claims_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_claims'))
    )
    op.create_index(op.f('ix_invitation_claims_client_id'), 'invitation_claims', ['client_id'], unique=False)
    op.create_index('ix_invitation_claims_client_status', 'invitation_claims', ['client_id', 'status'], unique=False)
    op.create_index(op.f('ix_invitation_claims_status'), 'invitation_claims', ['status'], unique=False)
    op.create_table('revisits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('way', sa.String(length=20), nullable=True),
    sa.Column('person_met', sa.String(length=100), nullable=True),
    sa.Column('satisfaction', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_revisits_assignee_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_revisits_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_revisits_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revisits')),
    sa.UniqueConstraint('client_id', 'due_date', name='uq_revisits_client_due')
    )
    op.create_index(op.f('ix_revisits_assignee_id'), 'revisits', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_revisits_client_id'), 'revisits', ['client_id'], unique=False)
    op.create_index('ix_revisits_due_status', 'revisits', ['due_date', 'status'], unique=False)


def downgrade():
    op.drop_table('revisits')
    op.drop_table('invitation_claims')
    op.drop_table('first_contacts')
