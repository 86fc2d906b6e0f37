"""flywheel policies and events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flywheel_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["endpoints.id"], name=op.f("fk_flywheel_policies_endpoint_id_endpoints")
        ),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_flywheel_policies_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flywheel_policies")),
        sa.UniqueConstraint("endpoint_id", name=op.f("uq_flywheel_policies_endpoint_id")),
    )
    op.create_table(
        "flywheel_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("champion_version_id", sa.Integer(), nullable=True),
        sa.Column("challenger_version_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_flywheel_events_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flywheel_events")),
    )
    op.create_index(op.f("ix_flywheel_events_endpoint_id"), "flywheel_events", ["endpoint_id"], unique=False)
    op.create_index(op.f("ix_flywheel_events_job_id"), "flywheel_events", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_flywheel_events_job_id"), table_name="flywheel_events")
    op.drop_index(op.f("ix_flywheel_events_endpoint_id"), table_name="flywheel_events")
    op.drop_table("flywheel_events")
    op.drop_table("flywheel_policies")
