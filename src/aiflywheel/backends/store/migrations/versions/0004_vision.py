"""face collections

Revision ID: 0004_vision
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_vision"
down_revision = "0004_bots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_face_collections_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_collections")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_face_collections_project_id")),
    )
    op.create_table(
        "collection_faces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["face_collections.id"], name=op.f("fk_collection_faces_collection_id_face_collections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_faces")),
    )
    op.create_index(op.f("ix_collection_faces_collection_id"), "collection_faces", ["collection_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_collection_faces_collection_id"), table_name="collection_faces")
    op.drop_table("collection_faces")
    op.drop_table("face_collections")
