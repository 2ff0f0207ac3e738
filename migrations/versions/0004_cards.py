"""cards: member card types, cards, their events and uses

Revision ID: 0004_cards
Revises: 0002_notifications
Create Date: 2026-11-25 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0004_cards"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('discount_rate', sa.Numeric(precision=4, scale=3), nullable=False),
    sa.Column('privileges', sa.Text(), nullable=False),
    sa.Column('issue_fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('renewal_fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('replacement_fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('validity_months', sa.Integer(), nullable=False),
    sa.Column('benefits_version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_types')),
    sa.UniqueConstraint('code', name=op.f('uq_card_types_code')),
    sa.UniqueConstraint('name', name=op.f('uq_card_types_name'))
    )
    op.create_table('member_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('card_type_id', sa.Integer(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('expiry_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('lost_reported_at', sa.DateTime(), nullable=True),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['card_type_id'], ['card_types.id'], name=op.f('fk_member_cards_card_type_id_card_types')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_member_cards_client_id_clients')),
    sa.ForeignKeyConstraint(['previous_id'], ['member_cards.id'], name=op.f('fk_member_cards_previous_id_member_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_cards')),
    sa.UniqueConstraint('number', name=op.f('uq_member_cards_number'))
    )
    with op.batch_alter_table('member_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_cards_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_member_cards_status_expiry', ['status', 'expiry_date'], unique=False)
        batch_op.create_index('ix_member_cards_type_status', ['card_type_id', 'status'], unique=False)

    op.create_table('card_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('fee', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('related_card_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_card_events_actor_id_users')),
    sa.ForeignKeyConstraint(['card_id'], ['member_cards.id'], name=op.f('fk_card_events_card_id_member_cards')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_card_events_client_id_clients')),
    sa.ForeignKeyConstraint(['related_card_id'], ['member_cards.id'], name=op.f('fk_card_events_related_card_id_member_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_events'))
    )
    with op.batch_alter_table('card_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_events_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_events_client_id'), ['client_id'], unique=False)

    op.create_table('card_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('refusal', sa.String(length=300), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['member_cards.id'], name=op.f('fk_card_uses_card_id_member_cards')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_card_uses_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_card_uses_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_uses'))
    )
    with op.batch_alter_table('card_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_uses_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_uses_client_id'), ['client_id'], unique=False)

    # Like client_code: the counter exists so that concurrent first allocations only UPDATE.
    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))
    op.bulk_insert(counters, [{'name': 'card_number', 'value': 0}])


def downgrade():
    op.execute("DELETE FROM counters WHERE name = 'card_number'")
    op.drop_table('card_uses')
    op.drop_table('card_events')
    op.drop_table('member_cards')
    op.drop_table('card_types')
