"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Every table of the original design, plus the PostgreSQL views, the session cleanup
function and the triggers that keep ``updated_at`` current on both backends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UPDATED_AT_TABLES = ("products", "billing_items")

POSTGRES_UPGRADE = [
    """
    CREATE FUNCTION set_updated_at() RETURNS trigger AS $$
    BEGIN
        NEW.updated_at = now();
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    *(
        f"CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        for table in UPDATED_AT_TABLES
    ),
    """
    CREATE VIEW v_active_sessions AS
    SELECT s.id AS session_id, s.user_id, u.username, s.created_at, s.last_active,
           COUNT(b.id) AS item_lines, COALESCE(SUM(b.quantity), 0) AS total_items
    FROM checkout_sessions s
    JOIN users u ON u.id = s.user_id
    LEFT JOIN billing_items b ON b.session_id = s.id
    WHERE s.status = 'active'
    GROUP BY s.id, s.user_id, u.username, s.created_at, s.last_active
    """,
    """
    CREATE VIEW v_order_history AS
    SELECT o.id AS order_id, o.user_id, u.username, o.confirmed_at, o.total_items,
           o.total_amount, o.payment_status, oi.product_id, p.name AS product_name,
           oi.quantity, oi.unit_price, oi.avg_score, oi.quantity * oi.unit_price AS line_total
    FROM orders o
    JOIN users u ON u.id = o.user_id
    JOIN order_items oi ON oi.order_id = o.id
    JOIN products p ON p.id = oi.product_id
    """,
    """
    CREATE FUNCTION cleanup_expired_sessions(expire_after_hours integer DEFAULT 24)
    RETURNS integer AS $$
    DECLARE
        expired_count integer;
    BEGIN
        UPDATE checkout_sessions SET status = 'expired'
        WHERE status = 'active'
          AND last_active < now() - make_interval(hours => expire_after_hours);
        GET DIAGNOSTICS expired_count = ROW_COUNT;
        RETURN expired_count;
    END;
    $$ LANGUAGE plpgsql
    """,
]

POSTGRES_DOWNGRADE = [
    "DROP FUNCTION IF EXISTS cleanup_expired_sessions(integer)",
    "DROP VIEW IF EXISTS v_order_history",
    "DROP VIEW IF EXISTS v_active_sessions",
    *(f"DROP TRIGGER IF EXISTS trg_{table}_updated_at ON {table}" for table in UPDATED_AT_TABLES),
    "DROP FUNCTION IF EXISTS set_updated_at()",
]

# The ORM sets updated_at itself; these cover updates made with plain SQL.
SQLITE_UPGRADE = [
    f"""
    CREATE TRIGGER trg_{table}_updated_at AFTER UPDATE ON {table}
    FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
    BEGIN
        UPDATE {table} SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = NEW.id;
    END
    """
    for table in UPDATED_AT_TABLES
]

SQLITE_DOWNGRADE = [f"DROP TRIGGER IF EXISTS trg_{table}_updated_at" for table in UPDATED_AT_TABLES]


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "id_counters",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_id_counters")),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "user",
                "admin",
                name="user_role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("length(username) >= 3", name=op.f("ck_users_username_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_username"), ["username"], unique=True)

    op.create_table(
        "checkout_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "completed",
                "expired",
                name="session_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_checkout_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkout_sessions")),
    )
    with op.batch_alter_table("checkout_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkout_sessions_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkout_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("length(name) >= 1", name=op.f("ck_products_name_not_empty")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price_non_negative")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_products_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_is_active"), ["is_active"], unique=False)
        batch_op.create_index(batch_op.f("ix_products_name"), ["name"], unique=False)

    op.create_table(
        "billing_items",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("avg_score", sa.Float(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "avg_score >= 0 AND avg_score <= 1", name=op.f("ck_billing_items_avg_score_range")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_billing_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_billing_items_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_billing_items_session_id_checkout_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_items")),
        sa.UniqueConstraint("session_id", "product_id", name="uq_billing_items_session_product"),
    )
    with op.batch_alter_table("billing_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_items_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("total_items", sa.Integer(), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "payment_status",
            sa.Enum(
                "mock_paid",
                "pending",
                "completed",
                "failed",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("total_amount >= 0", name=op.f("ck_orders_total_amount_non_negative")),
        sa.CheckConstraint("total_items > 0", name=op.f("ck_orders_total_items_positive")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_orders_session_id_checkout_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_orders_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("session_id", name=op.f("uq_orders_session_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_confirmed_at"), ["confirmed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_user_id"), ["user_id"], unique=False)

    op.create_table(
        "product_images",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("image_path", sa.String(length=500), nullable=False),
        sa.Column("embedding_id", sa.BigInteger(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_dim", sa.Integer(), nullable=False),
        sa.Column("embedder_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "embedding_dim > 0", name=op.f("ck_product_images_embedding_dim_positive")
        ),
        sa.CheckConstraint(
            "embedding_id > 0", name=op.f("ck_product_images_embedding_id_positive")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_images_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_images")),
        sa.UniqueConstraint("embedding_id", name=op.f("uq_product_images_embedding_id")),
    )
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_images_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "recognition_events",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "ADD",
                "REMOVE",
                "UNRECOGNISED",
                name="event_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_recognition_events_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["checkout_sessions.id"],
            name=op.f("fk_recognition_events_session_id_checkout_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_events")),
    )
    with op.batch_alter_table("recognition_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recognition_events_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recognition_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "order_items",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("avg_score", sa.Float(), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_items_unit_price_non_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_items_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_items_order_id"), ["order_id"], unique=False)

    op.bulk_insert(
        sa.table(
            "id_counters", sa.column("name", sa.String), sa.column("last_value", sa.BigInteger)
        ),
        [{"name": "embedding_id", "last_value": 0}],
    )
    statements = POSTGRES_UPGRADE if op.get_bind().dialect.name == "postgresql" else SQLITE_UPGRADE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = (
        POSTGRES_DOWNGRADE if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWNGRADE
    )
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_items_order_id"))

    op.drop_table("order_items")
    with op.batch_alter_table("recognition_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recognition_events_session_id"))
        batch_op.drop_index(batch_op.f("ix_recognition_events_created_at"))

    op.drop_table("recognition_events")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_images_product_id"))

    op.drop_table("product_images")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_user_id"))
        batch_op.drop_index(batch_op.f("ix_orders_confirmed_at"))

    op.drop_table("orders")
    with op.batch_alter_table("billing_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_items_session_id"))

    op.drop_table("billing_items")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_name"))
        batch_op.drop_index(batch_op.f("ix_products_is_active"))

    op.drop_table("products")
    with op.batch_alter_table("checkout_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkout_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_checkout_sessions_status"))

    op.drop_table("checkout_sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_username"))

    op.drop_table("users")
    op.drop_table("login_throttle")
    op.drop_table("id_counters")
