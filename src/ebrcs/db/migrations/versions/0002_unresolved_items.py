"""unresolved items

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Items the live checkout counted but could not name: each waits on the bill, with its top
candidates and crop, until the shopper says what it is or dismisses it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unresolved_items",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("best_score", sa.Float(), nullable=False),
        sa.Column("crop_path", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "resolved",
                "dismissed",
                name="unsure_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("resolved_product_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resolved_product_id"],
            ["products.id"],
            name=op.f("fk_unresolved_items_resolved_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_unresolved_items_session_id_checkout_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unresolved_items")),
    )
    with op.batch_alter_table("unresolved_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unresolved_items_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unresolved_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unresolved_items_session_id"))
    op.drop_table("unresolved_items")
