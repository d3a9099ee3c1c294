"""Tables of the catalogue domain."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ebrcs.db.base import Base, UUIDPrimaryKey, string_enum, utcnow


class Product(UUIDPrimaryKey, Base):
    """Something the shop sells."""

    __tablename__ = "products"

    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    is_active: Mapped[bool] = mapped_column(default=True, index=True)

    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProductImage.embedding_id",
    )

    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("length(name) >= 1", name="name_not_empty"),
    )


class ProductImage(UUIDPrimaryKey, Base):
    """One reference photo of a product and the embedding vector made from it."""

    __tablename__ = "product_images"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    image_path: Mapped[str] = mapped_column(String(500))
    embedding_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_dim: Mapped[int]
    embedder_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")

    __table_args__ = (
        CheckConstraint("embedding_id > 0", name="embedding_id_positive"),
        CheckConstraint("embedding_dim > 0", name="embedding_dim_positive"),
    )


class IdCounter(Base):
    """A named counter handing out ids that only grow and are never reused.

    Allocation updates this row inside the caller's transaction, so ids become visible in
    commit order: a reader that has seen id ``n`` will never later see a smaller new id.
    """

    __tablename__ = "id_counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class AdapterStatus(enum.StrEnum):
    """Whether a stored adapter may be in force."""

    ACTIVE = "active"
    RETIRED = "retired"


class StoredAdapter(Base):
    """One fitted recognition adapter: its parameters and the catalogue it was fitted on.

    A row is written only once its fit has finished, in the transaction that retires the
    adapter before it, so a fit that dies half-way leaves the old one in force. The newest
    active row of an embedder is the one every server process uses; ``version`` only grows.
    """

    __tablename__ = "adapters"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    embedder_id: Mapped[str] = mapped_column(String(100), index=True)
    input_dim: Mapped[int]
    output_dim: Mapped[int]
    format: Mapped[str] = mapped_column(String(50))
    parameters: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[AdapterStatus] = mapped_column(
        string_enum(AdapterStatus, "adapter_status"), default=AdapterStatus.ACTIVE
    )
    catalogue_products: Mapped[int]
    catalogue_vectors: Mapped[int]
    catalogue_watermark: Mapped[int] = mapped_column(BigInteger)
    fit_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("input_dim > 0 AND output_dim > 0", name="dims_positive"),
        {"sqlite_autoincrement": True},
    )
