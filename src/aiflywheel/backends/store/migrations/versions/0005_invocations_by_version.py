"""invocations indexed by model version

A predictor with ``replay`` (fraud's entity history) is handed, when it loads, every input
its model version answered; without this index that read scans the whole prediction log.

Revision ID: 0005_invocations_by_version
Revises: 0004_vision
Create Date: 2026-11-24
"""

from alembic import op

revision = "0005_invocations_by_version"
down_revision = "0004_vision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invocations_model_version_id"), ["model_version_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invocations_model_version_id"))
