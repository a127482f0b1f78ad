"""policy versions, tax modes, invoiced totals, refunds with idempotency keys, store credit, exchanges

Revision ID: 0002
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import returnflow.adapters.db.tables

revision = '0002'
down_revision = '0003'
branch_labels = None
depends_on = None

MONEY = returnflow.adapters.db.tables.ExactDecimal(precision=18, scale=6)
UTC = returnflow.adapters.db.tables.UTCDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('orders', sa.Column('prices_include_tax', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('orders', sa.Column('fulfilled_at', UTC, nullable=True))
    op.add_column('orders', sa.Column('delivered_at', UTC, nullable=True))
    op.add_column('order_lines', sa.Column('tax_rate', MONEY, nullable=False, server_default='0'))
    op.add_column('order_lines', sa.Column('invoiced_total', MONEY, nullable=True))
    op.add_column('order_lines', sa.Column('category', sa.String(length=64), nullable=False, server_default=''))
    op.add_column('order_lines', sa.Column('tags', sa.JSON(), nullable=True))
    op.create_table('policy_versions',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions')),
        sa.UniqueConstraint('version', name=op.f('uq_policy_versions_version')))
    op.create_table('refunds',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('order_id', ID, nullable=False),
        sa.Column('rma_id', ID, nullable=True),
        sa.Column('idempotency_key', sa.String(length=128), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('bonus', MONEY, nullable=False),
        sa.Column('breakdown', sa.JSON(), nullable=False),
        sa.Column('policy_version', sa.String(length=64), nullable=True),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
        sa.ForeignKeyConstraint(['rma_id'], ['return_authorizations.id'],
                                name=op.f('fk_refunds_rma_id_return_authorizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_refunds_idempotency_key')))
    op.create_index(op.f('ix_refunds_order_id'), 'refunds', ['order_id'])
    op.create_index(op.f('ix_refunds_rma_id'), 'refunds', ['rma_id'])
    op.create_table('store_credit_entries',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('expires_at', UTC, nullable=True),
        sa.Column('source_entry_id', ID, nullable=True),
        sa.Column('refund_id', ID, nullable=True),
        sa.Column('reference', sa.String(length=128), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['source_entry_id'], ['store_credit_entries.id'],
                                name=op.f('fk_store_credit_entries_source_entry_id_store_credit_entries')),
        sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_store_credit_entries_refund_id_refunds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_credit_entries')))
    op.create_index('ix_store_credit_entries_customer_currency', 'store_credit_entries', ['customer_id', 'currency'])
    op.create_table('products',
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('product_group', sa.String(length=64), nullable=False),
        sa.Column('price', MONEY, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint('sku', name=op.f('pk_products')))
    op.create_table('exchanges',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('idempotency_key', sa.String(length=128), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('rma_id', ID, nullable=False),
        sa.Column('return_line_id', ID, nullable=False),
        sa.Column('new_sku', sa.String(length=64), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('location_code', sa.String(length=32), nullable=False),
        sa.Column('returned_value', MONEY, nullable=False),
        sa.Column('new_value', MONEY, nullable=False),
        sa.Column('price_difference', MONEY, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('instant', sa.Boolean(), nullable=False),
        sa.Column('hold_amount', MONEY, nullable=False),
        sa.Column('hold_due_at', UTC, nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['rma_id'], ['return_authorizations.id'],
                                name=op.f('fk_exchanges_rma_id_return_authorizations')),
        sa.ForeignKeyConstraint(['return_line_id'], ['return_lines.id'],
                                name=op.f('fk_exchanges_return_line_id_return_lines')),
        sa.ForeignKeyConstraint(['location_code'], ['return_centers.code'],
                                name=op.f('fk_exchanges_location_code_return_centers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exchanges')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_exchanges_idempotency_key')))
    op.create_index(op.f('ix_exchanges_rma_id'), 'exchanges', ['rma_id'])


def downgrade() -> None:
    op.drop_table('exchanges')
    op.drop_table('products')
    op.drop_table('store_credit_entries')
    op.drop_table('refunds')
    op.drop_table('policy_versions')
    with op.batch_alter_table('order_lines') as batch:
        for name in ('tags', 'category', 'invoiced_total', 'tax_rate'):
            batch.drop_column(name)
    with op.batch_alter_table('orders') as batch:
        for name in ('delivered_at', 'fulfilled_at', 'prices_include_tax'):
            batch.drop_column(name)
