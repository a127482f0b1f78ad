"""staff users, return reasons, portal choices, photos, unexpected parcels (issue 4: pages)

Revision ID: 0003
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import returnflow.adapters.db.tables

revision = '0003'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTC = returnflow.adapters.db.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'staff_users',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('session_version', sa.Integer(), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
        sa.UniqueConstraint('username', name=op.f('uq_staff_users_username')),
    )
    op.create_table(
        'return_reasons',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('label', sa.String(length=128), nullable=False),
        sa.Column('parent_code', sa.String(length=64), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_return_reasons')),
    )
    op.create_table(
        'return_preferences',
        sa.Column('rma_id', ID, nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('exchange_note', sa.String(length=255), nullable=False),
        sa.Column('shipping_method', sa.String(length=32), nullable=False),
        sa.Column('pickup_window', sa.String(length=64), nullable=False),
        sa.Column('customer_email', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['rma_id'], ['return_authorizations.id'], ondelete='CASCADE',
                                name=op.f('fk_return_preferences_rma_id_return_authorizations')),
        sa.PrimaryKeyConstraint('rma_id', name=op.f('pk_return_preferences')),
    )
    op.create_table(
        'return_photos',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('rma_id', ID, nullable=True),
        sa.Column('parcel_id', ID, nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('uploaded_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['rma_id'], ['return_authorizations.id'], ondelete='CASCADE',
                                name=op.f('fk_return_photos_rma_id_return_authorizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_return_photos')),
    )
    op.create_index(op.f('ix_return_photos_rma_id'), 'return_photos', ['rma_id'], unique=False)
    op.create_table(
        'unexpected_parcels',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('return_center_code', sa.String(length=32), nullable=False),
        sa.Column('tracking_code', sa.String(length=64), nullable=False),
        sa.Column('sender', sa.String(length=255), nullable=False),
        sa.Column('contents', sa.Text(), nullable=False),
        sa.Column('received_by', sa.String(length=64), nullable=False),
        sa.Column('received_at', UTC, nullable=False),
        sa.Column('rma_number', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['return_center_code'], ['return_centers.code'],
                                name=op.f('fk_unexpected_parcels_return_center_code_return_centers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unexpected_parcels')),
    )
    op.create_index(op.f('ix_unexpected_parcels_rma_number'), 'unexpected_parcels', ['rma_number'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_unexpected_parcels_rma_number'), table_name='unexpected_parcels')
    op.drop_table('unexpected_parcels')
    op.drop_index(op.f('ix_return_photos_rma_id'), table_name='return_photos')
    op.drop_table('return_photos')
    op.drop_table('return_preferences')
    op.drop_table('return_reasons')
    op.drop_table('staff_users')
