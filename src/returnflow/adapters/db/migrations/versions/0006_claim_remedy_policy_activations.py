"""a claim's chosen remedy; policy activations (rollback to an older version)

Revision ID: 0006
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import returnflow.adapters.db.tables

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = returnflow.adapters.db.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("return_authorizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_remedy", sa.String(length=16), nullable=True))
    op.create_table(
        "policy_activations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("activated_at", UTC, nullable=False),
        sa.Column("activated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_activations")),
    )
    # Until now the latest stored row was the active policy; keep the latest one staff stored active.
    op.execute("INSERT INTO policy_activations (version, activated_at, activated_by) "
               "SELECT version, created_at, created_by FROM policy_versions WHERE id = "
               "(SELECT MAX(id) FROM policy_versions WHERE created_by <> 'system')")


def downgrade() -> None:
    op.drop_table("policy_activations")
    with op.batch_alter_table("return_authorizations", schema=None) as batch_op:
        batch_op.drop_column("claim_remedy")
