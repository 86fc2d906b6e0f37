"""conversation sessions

Revision ID: 0004_bots
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_bots"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_conversation_sessions_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_sessions")),
        sa.UniqueConstraint("project_id", "endpoint", "session_id", name=op.f("uq_conversation_sessions_project_id")),
    )
    op.create_index(op.f("ix_conversation_sessions_updated_at"), "conversation_sessions", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_sessions_updated_at"), table_name="conversation_sessions")
    op.drop_table("conversation_sessions")
