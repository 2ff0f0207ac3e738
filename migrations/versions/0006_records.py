"""records: contracts, complaints and discounts, withdrawals, commissions, industry notes,
daily records

Revision ID: 0006_records
Revises: 0002_notifications
Create Date: 2026-11-25 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0006_records"
down_revision = "0002_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('promotion_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('target_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('rule_kind', sa.String(length=12), nullable=False),
    sa.Column('rates', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_schemes')),
    sa.UniqueConstraint('name', name=op.f('uq_promotion_schemes_name'))
    )
    op.create_table('daily_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('record_date', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=12), nullable=True),
    sa.Column('counterpart', sa.String(length=200), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('handling', sa.Text(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_daily_records_author_id_users')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_daily_records_deleted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_records'))
    )
    with op.batch_alter_table('daily_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_records_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_daily_records_date', ['record_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_daily_records_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_daily_records_kind_date', ['kind', 'record_date'], unique=False)

    op.create_table('industry_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competitor', sa.String(length=200), nullable=False),
    sa.Column('competitor_class', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('noted_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_industry_notes_author_id_users')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_industry_notes_deleted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_industry_notes'))
    )
    with op.batch_alter_table('industry_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_industry_notes_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_industry_notes_competitor'), ['competitor'], unique=False)
        batch_op.create_index(batch_op.f('ix_industry_notes_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_industry_notes_noted_on'), ['noted_on'], unique=False)
        batch_op.create_index('ix_industry_notes_topic_noted', ['topic', 'noted_on'], unique=False)

    op.create_table('promoters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_promoters_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promoters')),
    sa.UniqueConstraint('user_id', name=op.f('uq_promoters_user_id'))
    )
    op.create_table('client_inviters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('promoter_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_inviters_client_id_clients')),
    sa.ForeignKeyConstraint(['promoter_id'], ['promoters.id'], name=op.f('fk_client_inviters_promoter_id_promoters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_inviters')),
    sa.UniqueConstraint('client_id', name=op.f('uq_client_inviters_client_id'))
    )
    op.create_table('commission_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promoter_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_commission_statements_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['promoter_id'], ['promoters.id'], name=op.f('fk_commission_statements_promoter_id_promoters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_statements')),
    sa.UniqueConstraint('promoter_id', 'month', name='uq_statements_promoter_month')
    )
    with op.batch_alter_table('commission_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_statements_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_statements_status'), ['status'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('first_responder_id', sa.Integer(), nullable=True),
    sa.Column('responder_id', sa.Integer(), nullable=True),
    sa.Column('liability', sa.String(length=20), nullable=True),
    sa.Column('liability_notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('satisfaction', sa.String(length=20), nullable=True),
    sa.Column('solved_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_complaints_client_id_clients')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_complaints_deleted_by_id_users')),
    sa.ForeignKeyConstraint(['first_responder_id'], ['users.id'], name=op.f('fk_complaints_first_responder_id_users')),
    sa.ForeignKeyConstraint(['responder_id'], ['users.id'], name=op.f('fk_complaints_responder_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_category_received', ['category', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_complaints_received', ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_responder_id'), ['responder_id'], unique=False)
        batch_op.create_index('ix_complaints_status_received', ['status', 'received_at'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('our_signer', sa.String(length=100), nullable=True),
    sa.Column('customer_signer', sa.String(length=100), nullable=True),
    sa.Column('file_path', sa.String(length=300), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_contracts_client_id_clients')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_contracts_created_by_id_users')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_contracts_deleted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('client_id', 'seq', name='uq_contracts_client_seq'),
    sa.UniqueConstraint('number', name=op.f('uq_contracts_number'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index('ix_contracts_client_signed', ['client_id', 'signed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index('ix_contracts_kind_signed', ['kind', 'signed_on'], unique=False)
        batch_op.create_index('ix_contracts_signed_on', ['signed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_status'), ['status'], unique=False)

    op.create_table('record_promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('record_date', sa.Date(), nullable=False),
    sa.Column('archive_document_id', sa.Integer(), nullable=True),
    sa.Column('promoted_by_id', sa.Integer(), nullable=True),
    sa.Column('promoted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_record_promotions_client_id_clients')),
    sa.ForeignKeyConstraint(['promoted_by_id'], ['users.id'], name=op.f('fk_record_promotions_promoted_by_id_users')),
    sa.ForeignKeyConstraint(['record_id'], ['daily_records.id'], name=op.f('fk_record_promotions_record_id_daily_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_promotions'))
    )
    with op.batch_alter_table('record_promotions', schema=None) as batch_op:
        batch_op.create_index('ix_record_promotions_category_at', ['category', 'promoted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_promotions_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_promotions_promoted_at'), ['promoted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_promotions_record_id'), ['record_id'], unique=False)

    op.create_table('sales_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('promoter_id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('product_kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('sold_on', sa.Date(), nullable=False),
    sa.Column('commission', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_sales_records_client_id_clients')),
    sa.ForeignKeyConstraint(['promoter_id'], ['promoters.id'], name=op.f('fk_sales_records_promoter_id_promoters')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_sales_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['scheme_id'], ['promotion_schemes.id'], name=op.f('fk_sales_records_scheme_id_promotion_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_records'))
    )
    with op.batch_alter_table('sales_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_records_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_sales_records_promoter_sold', ['promoter_id', 'sold_on'], unique=False)
        batch_op.create_index('ix_sales_records_sold_on', ['sold_on'], unique=False)

    op.create_table('withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('previous_stage', sa.String(length=20), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_withdrawals_client_id_clients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_withdrawals_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawals'))
    )
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_withdrawals_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_withdrawals_withdrawn_on'), ['withdrawn_on'], unique=False)

    op.create_table('commission_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('sale_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['sale_id'], ['sales_records.id'], name=op.f('fk_commission_lines_sale_id_sales_records')),
    sa.ForeignKeyConstraint(['statement_id'], ['commission_statements.id'], name=op.f('fk_commission_lines_statement_id_commission_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_lines'))
    )
    with op.batch_alter_table('commission_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_lines_sale_id'), ['sale_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_lines_statement_id'), ['statement_id'], unique=False)

    op.create_table('complaint_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_complaint_handovers_client_id_clients')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_handovers_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_complaint_handovers_from_user_id_users')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_complaint_handovers_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_handovers'))
    )
    with op.batch_alter_table('complaint_handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_handovers_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_handovers_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('discounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_discounts_client_id_clients')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_discounts_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_discounts_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_discounts_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discounts'))
    )
    with op.batch_alter_table('discounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discounts_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_discounts_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_discounts_requested', ['requested_at'], unique=False)
        batch_op.create_index('ix_discounts_status_requested', ['status', 'requested_at'], unique=False)


    # Like client_code: the counter exists so that concurrent first allocations only UPDATE.
    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))
    op.bulk_insert(counters, [{'name': 'contract_number', 'value': 0}])


def downgrade():
    op.execute("DELETE FROM counters WHERE name = 'contract_number'")
    with op.batch_alter_table('discounts', schema=None) as batch_op:
        batch_op.drop_index('ix_discounts_status_requested')
        batch_op.drop_index('ix_discounts_requested')
        batch_op.drop_index(batch_op.f('ix_discounts_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_discounts_client_id'))

    op.drop_table('discounts')
    with op.batch_alter_table('complaint_handovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_handovers_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_complaint_handovers_client_id'))

    op.drop_table('complaint_handovers')
    with op.batch_alter_table('commission_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commission_lines_statement_id'))
        batch_op.drop_index(batch_op.f('ix_commission_lines_sale_id'))

    op.drop_table('commission_lines')
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_withdrawals_withdrawn_on'))
        batch_op.drop_index(batch_op.f('ix_withdrawals_client_id'))

    op.drop_table('withdrawals')
    with op.batch_alter_table('sales_records', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_records_sold_on')
        batch_op.drop_index('ix_sales_records_promoter_sold')
        batch_op.drop_index(batch_op.f('ix_sales_records_client_id'))

    op.drop_table('sales_records')
    with op.batch_alter_table('record_promotions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_promotions_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_promotions_promoted_at'))
        batch_op.drop_index(batch_op.f('ix_record_promotions_client_id'))
        batch_op.drop_index('ix_record_promotions_category_at')

    op.drop_table('record_promotions')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_status'))
        batch_op.drop_index('ix_contracts_signed_on')
        batch_op.drop_index('ix_contracts_kind_signed')
        batch_op.drop_index(batch_op.f('ix_contracts_deleted_at'))
        batch_op.drop_index('ix_contracts_client_signed')

    op.drop_table('contracts')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_status_received')
        batch_op.drop_index(batch_op.f('ix_complaints_responder_id'))
        batch_op.drop_index('ix_complaints_received')
        batch_op.drop_index(batch_op.f('ix_complaints_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_complaints_client_id'))
        batch_op.drop_index('ix_complaints_category_received')

    op.drop_table('complaints')
    with op.batch_alter_table('commission_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commission_statements_status'))
        batch_op.drop_index(batch_op.f('ix_commission_statements_month'))

    op.drop_table('commission_statements')
    op.drop_table('client_inviters')
    op.drop_table('promoters')
    with op.batch_alter_table('industry_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_industry_notes_topic_noted')
        batch_op.drop_index(batch_op.f('ix_industry_notes_noted_on'))
        batch_op.drop_index(batch_op.f('ix_industry_notes_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_industry_notes_competitor'))
        batch_op.drop_index(batch_op.f('ix_industry_notes_author_id'))

    op.drop_table('industry_notes')
    with op.batch_alter_table('daily_records', schema=None) as batch_op:
        batch_op.drop_index('ix_daily_records_kind_date')
        batch_op.drop_index(batch_op.f('ix_daily_records_deleted_at'))
        batch_op.drop_index('ix_daily_records_date')
        batch_op.drop_index(batch_op.f('ix_daily_records_author_id'))

    op.drop_table('daily_records')
    op.drop_table('promotion_schemes')
