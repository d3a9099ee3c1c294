"""recognition adapters

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Fitted recognition adapters, versioned: the parameters of each, the embedder whose raw
vectors it maps, and the size of the catalogue it was fitted on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adapters",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("embedder_id", sa.String(length=100), nullable=False),
        sa.Column("input_dim", sa.Integer(), nullable=False),
        sa.Column("output_dim", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=50), nullable=False),
        sa.Column("parameters", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "retired",
                name="adapter_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("catalogue_products", sa.Integer(), nullable=False),
        sa.Column("catalogue_vectors", sa.Integer(), nullable=False),
        sa.Column("catalogue_watermark", sa.BigInteger(), nullable=False),
        sa.Column("fit_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "input_dim > 0 AND output_dim > 0", name=op.f("ck_adapters_dims_positive")
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_adapters")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adapters_embedder_id"), ["embedder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adapters_embedder_id"))
    op.drop_table("adapters")
