"""R12: situation changes registered within the working days; contact staff of a customer

Revision ID: h8_0014
Revises: h3_0013
Create Date: 2026-11-30 14:37:47

situation_changes: a change of contact, key person, address or status, with the day it
happened, the day it was registered, its due day and whether it came late.
client_staff: the staff in contact with a customer beyond its owner.
staff_shortfalls: the weekly check's finding, unique per (customer, week), so a K or A customer
with fewer than two staff is reported once a week.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'h8_0014'
down_revision = 'h3_0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('client_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_staff_client_id_clients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_client_staff_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_staff')),
    sa.UniqueConstraint('client_id', 'user_id', name='uq_client_staff')
    )
    with op.batch_alter_table('client_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_staff_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_client_staff_user_id'), ['user_id'], unique=False)

    op.create_table('situation_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kinds', sa.String(length=60), nullable=False),
    sa.Column('happened_on', sa.Date(), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_situation_changes_client_id_clients')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_situation_changes_owner_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_situation_changes_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_situation_changes'))
    )
    with op.batch_alter_table('situation_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_situation_changes_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_situation_changes_late'), ['late'], unique=False)
        batch_op.create_index(batch_op.f('ix_situation_changes_owner_id'), ['owner_id'], unique=False)

    op.create_table('staff_shortfalls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('staff_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_staff_shortfalls_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_shortfalls')),
    sa.UniqueConstraint('client_id', 'week_start', name='uq_staff_shortfalls_client_week')
    )


def downgrade():
    op.drop_table('staff_shortfalls')
    with op.batch_alter_table('situation_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_situation_changes_owner_id'))
        batch_op.drop_index(batch_op.f('ix_situation_changes_late'))
        batch_op.drop_index(batch_op.f('ix_situation_changes_client_id'))

    op.drop_table('situation_changes')
    with op.batch_alter_table('client_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_client_staff_client_id'))

    op.drop_table('client_staff')
