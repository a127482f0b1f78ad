"""a claim's idempotency key on its RMA (unique: a retried or concurrent claim finds the first one)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("return_authorizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_key", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_return_authorizations_claim_key"), ["claim_key"])


def downgrade() -> None:
    with op.batch_alter_table("return_authorizations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_return_authorizations_claim_key"), type_="unique")
        batch_op.drop_column("claim_key")
