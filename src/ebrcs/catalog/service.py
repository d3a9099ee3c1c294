"""Catalogue queries and row changes: plain functions taking the database session."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog.models import IdCounter, Product, ProductImage
from ebrcs.errors import ErrorCode, NotFound

EMBEDDING_COUNTER = "embedding_id"


@dataclass(frozen=True)
class StoredVectors:
    """Vectors read from the database, ready for ``ProductIndex.add``."""

    embedding_ids: np.ndarray
    vectors: np.ndarray
    product_ids: list[uuid.UUID]


def encode_vector(vector: np.ndarray) -> bytes:
    """The stored form of one vector: little-endian float32."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def _stored(
    embedding_ids: Sequence[int], blobs: Sequence[bytes], product_ids: Sequence[uuid.UUID]
) -> StoredVectors:
    vectors = [np.frombuffer(blob, dtype="<f4") for blob in blobs]
    return StoredVectors(
        embedding_ids=np.array(embedding_ids, dtype=np.int64),
        vectors=np.stack(vectors).astype(np.float32) if vectors else np.empty((0, 0), np.float32),
        product_ids=list(product_ids),
    )


def vectors_of(images: Sequence[ProductImage]) -> StoredVectors:
    """The vectors of these photo rows."""
    return _stored(
        [image.embedding_id for image in images],
        [image.embedding for image in images],
        [image.product_id for image in images],
    )


def allocate_embedding_ids(*, db: Session, count: int) -> list[int]:
    """Reserve ``count`` new embedding ids inside the caller's transaction.

    The counter row stays locked until that transaction ends, so ids are handed out and
    become visible in commit order, and an id is never reused even after a rollback.
    """
    last = db.execute(
        update(IdCounter)
        .where(IdCounter.name == EMBEDDING_COUNTER)
        .values(last_value=IdCounter.last_value + count)
        .returning(IdCounter.last_value)
    ).scalar_one()
    return list(range(last - count + 1, last + 1))


def get(*, db: Session, product_id: uuid.UUID) -> Product:
    """The product with this id; NotFound otherwise."""
    product = db.get(Product, product_id)
    if product is None:
        raise NotFound("product not found", code=ErrorCode.PRODUCT_NOT_FOUND)
    return product


def get_image(*, db: Session, product_id: uuid.UUID, image_id: uuid.UUID) -> ProductImage:
    """One photo row of a product; NotFound otherwise."""
    image = db.get(ProductImage, image_id)
    if image is None or image.product_id != product_id:
        raise NotFound("product image not found", code=ErrorCode.IMAGE_NOT_FOUND)
    return image


def name_exists(*, db: Session, name: str) -> bool:
    """Whether an active product already has this name."""
    query = select(Product.id).where(Product.name == name, Product.is_active.is_(True))
    return db.scalar(query.limit(1)) is not None


def stored_photo_paths(*, db: Session) -> set[str]:
    """The relative path of every stored photo a row names."""
    return set(db.scalars(select(ProductImage.image_path).where(ProductImage.image_path != "")))


def count_active(*, db: Session) -> int:
    """How many products are on sale."""
    return db.scalar(select(func.count()).where(Product.is_active.is_(True))) or 0


def image_count(*, db: Session, product_id: uuid.UUID) -> int:
    """How many photos a product has."""
    query = select(func.count()).where(ProductImage.product_id == product_id)
    return db.scalar(query) or 0


def list_products(
    *, db: Session, offset: int, limit: int, include_inactive: bool, name_contains: str | None
) -> tuple[list[tuple[Product, int]], int]:
    """One page of products (newest first) with their photo counts, and the total."""
    filters = []
    if not include_inactive:
        filters.append(Product.is_active.is_(True))
    if name_contains:
        filters.append(Product.name.ilike(f"%{name_contains}%"))
    counts = (
        select(ProductImage.product_id, func.count().label("image_count"))
        .group_by(ProductImage.product_id)
        .subquery()
    )
    query = (
        select(Product, func.coalesce(counts.c.image_count, 0))
        .outerjoin(counts, counts.c.product_id == Product.id)
        .where(*filters)
        .order_by(Product.created_at.desc(), Product.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [(product, int(count)) for product, count in db.execute(query)]
    total = db.scalar(select(func.count()).select_from(Product).where(*filters)) or 0
    return rows, total


def stored_embedders(*, db: Session) -> dict[tuple[str, int], int]:
    """How many stored vectors each (embedder id, dimension) has."""
    query = select(ProductImage.embedder_id, ProductImage.embedding_dim, func.count()).group_by(
        ProductImage.embedder_id, ProductImage.embedding_dim
    )
    return {(embedder, dim): count for embedder, dim, count in db.execute(query)}


def highest_embedding_id(*, db: Session) -> int:
    """The largest embedding id any committed photo row has (0 when none)."""
    return db.scalar(select(func.max(ProductImage.embedding_id))) or 0


def active_vector_owners(
    *, db: Session, up_to: int, product_ids: Iterable[uuid.UUID] | None = None
) -> dict[int, uuid.UUID]:
    """Embedding id -> product id of every vector of an active product, up to an id.

    With ``product_ids``, only the vectors of those products.
    """
    query = (
        select(ProductImage.embedding_id, ProductImage.product_id)
        .join(Product, Product.id == ProductImage.product_id)
        .where(Product.is_active.is_(True), ProductImage.embedding_id <= up_to)
    )
    if product_ids is not None:
        query = query.where(ProductImage.product_id.in_(list(product_ids)))
    return {embedding_id: product_id for embedding_id, product_id in db.execute(query)}


def iter_active_vectors(
    *, db: Session, above: int, up_to: int, batch_size: int = 5000
) -> Iterator[StoredVectors]:
    """Vectors of active products with ids in ``(above, up_to]``, in id order, in batches.

    Plain rows, not ORM objects, so nothing piles up in the session however many are read.
    """
    query = (
        select(ProductImage.embedding_id, ProductImage.embedding, ProductImage.product_id)
        .join(Product, Product.id == ProductImage.product_id)
        .where(
            Product.is_active.is_(True),
            ProductImage.embedding_id > above,
            ProductImage.embedding_id <= up_to,
        )
        .order_by(ProductImage.embedding_id)
        .execution_options(yield_per=batch_size)
    )
    for partition in db.execute(query).partitions():
        yield _stored(*zip(*partition, strict=True))


def read_active_vectors(
    *, sessions: sessionmaker[Session], up_to: int, batch_size: int = 2000
) -> Iterator[StoredVectors]:
    """Every active vector up to ``up_to``, in id order, each batch read in its own transaction.

    For long reads beside live traffic: on SQLite every transaction holds the write lock
    (``BEGIN IMMEDIATE``), so one spanning a whole catalogue would stall every registration.
    Rows a batch reads are consistent with the database at that batch, not at the first.
    """
    above = 0
    while True:
        with sessions() as db:
            batches = iter_active_vectors(db=db, above=above, up_to=up_to, batch_size=batch_size)
            stored = next(batches, None)
            db.commit()
        if stored is None:
            return
        yield stored
        above = int(stored.embedding_ids[-1])


def vectors_by_id(*, db: Session, embedding_ids: Sequence[int]) -> StoredVectors:
    """The stored vectors with these embedding ids, in id order."""
    query = (
        select(ProductImage)
        .where(ProductImage.embedding_id.in_(embedding_ids))
        .order_by(ProductImage.embedding_id)
    )
    return vectors_of(list(db.scalars(query)))


def names(*, db: Session, product_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the given products that are active."""
    if not product_ids:
        return {}
    query = select(Product.id, Product.name).where(
        Product.id.in_(product_ids), Product.is_active.is_(True)
    )
    return {product_id: name for product_id, name in db.execute(query)}
