"""Catalogue processes that span the database, the photo store and the live index."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from ebrcs import metrics
from ebrcs.auth.models import User
from ebrcs.catalog import service
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.catalog.photos import Photo, discard_photos, read_photo, store_photos
from ebrcs.catalog.schemas import ProductDraft, ProductUpdate
from ebrcs.catalog.sync import announce_change
from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.errors import Conflict, ErrorCode, InvalidInput, describe, field_errors
from ebrcs.recognition.recogniser import Recogniser
from ebrcs.recognition.types import ProductMatch

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], fields: dict[str, object]) -> Model:
    """Build ``model`` from raw fields, turning validation failures into ``InvalidInput``."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        errors = field_errors(list(error.errors()))
        raise InvalidInput(
            describe(errors), code=ErrorCode.VALIDATION_ERROR, errors=errors
        ) from error


def check_price(price: object, settings: Settings) -> None:
    """Refuse prices above the shop's ceiling."""
    if price is not None and price > settings.max_product_price:  # type: ignore[operator]
        raise InvalidInput(
            f"price must be at most {settings.max_product_price}", code=ErrorCode.PRICE_TOO_HIGH
        )


def read_photos(uploads: Sequence[bytes], settings: Settings) -> list[Photo]:
    """Check the number of photos in one request and decode each one."""
    limit = settings.max_images_per_product
    if not 1 <= len(uploads) <= limit:
        raise InvalidInput(
            f"send between 1 and {limit} images, not {len(uploads)}", code=ErrorCode.IMAGE_COUNT
        )
    return [read_photo(data, settings) for data in uploads]


def _end_read_transaction(db: Session) -> None:
    """Finish the request's open transaction before slow work or ``commit_lock``.

    SQLite takes its write lock when a transaction begins, so a transaction left open across
    embedding would stall every other writer, and one opened before ``commit_lock`` could
    deadlock with a thread that holds the lock and waits for the database.
    """
    db.commit()


def commit_vectors(
    *,
    db: Session,
    index: ProductIndex,
    product: Product,
    image_ids: Sequence[uuid.UUID],
    paths: Sequence[str],
    vectors: np.ndarray,
    max_photos: int | None,
) -> int:
    """The durable step of a registration: one transaction, then the index.

    Commits the photo rows with their vectors (and ``product`` when it is new), then adds
    only these vectors to the live index: no work grows with the catalogue. With
    ``max_photos``, the product is an existing one and may not exceed that many photos.
    Returns how many photos the product has now. The caller rolls back on failure.
    """
    with index.commit_lock:
        embedding_ids = service.allocate_embedding_ids(db=db, count=len(image_ids))
        stored = 0
        if max_photos is not None:
            db.refresh(product)
            stored = service.image_count(db=db, product_id=product.id)
            if stored + len(image_ids) > max_photos:
                raise InvalidInput(
                    f"a product keeps at most {max_photos} photos; it has {stored}",
                    code=ErrorCode.TOO_MANY_PHOTOS,
                )
        db.add_all(
            ProductImage(
                id=image_id,
                product_id=product.id,
                image_path=path,
                embedding_id=embedding_id,
                embedding=service.encode_vector(vector),
                embedding_dim=index.dim,
                embedder_id=str(index.embedder_id),
            )
            for image_id, path, embedding_id, vector in zip(
                image_ids, paths, embedding_ids, vectors, strict=True
            )
        )
        announce_change(db=db, product_id=product.id)
        db.commit()
        if product.is_active:
            index.add(np.array(embedding_ids), vectors, [product.id] * len(image_ids))
        else:
            index.mark_applied(embedding_ids[-1])
    return stored + len(image_ids)


def _embed_and_save(
    *,
    db: Session,
    index: ProductIndex,
    embedder: Embedder,
    settings: Settings,
    product: Product,
    photos: Sequence[Photo],
    existing: bool,
) -> int:
    """Embed photos outside any transaction, store their files, then commit and index them."""
    _end_read_transaction(db)
    vectors = embedder.embed([photo.pixels for photo in photos])
    if not existing:
        db.add(product)
    image_ids = [uuid.uuid4() for _ in photos]
    paths = store_photos(settings.images_dir, product.id, image_ids, photos)
    try:
        return commit_vectors(
            db=db,
            index=index,
            product=product,
            image_ids=image_ids,
            paths=paths,
            vectors=vectors,
            max_photos=settings.max_stored_images_per_product if existing else None,
        )
    except BaseException:
        db.rollback()
        discard_photos(settings.images_dir, paths)
        raise


def register_product(
    *,
    db: Session,
    index: ProductIndex,
    embedder: Embedder,
    settings: Settings,
    fields: dict[str, object],
    uploads: Sequence[bytes],
    created_by: User | None,
    allow_duplicate_name: bool = False,
) -> tuple[Product, int]:
    """Check, embed, commit a new product with its photos and vectors, then index them.

    Returns the product and how many photos it got. Nothing is written unless every field
    and photo is acceptable; embedding runs before any lock is taken. A name an active product
    already has is refused (Conflict) unless ``allow_duplicate_name``: two products of one
    name would tie in recognition and confuse the shopper's bill.
    """
    draft = validated(ProductDraft, fields)
    check_price(draft.price, settings)
    if not allow_duplicate_name and service.name_exists(db=db, name=draft.name):
        raise Conflict(
            f"an active product is already named {draft.name!r}",
            code=ErrorCode.DUPLICATE_PRODUCT_NAME,
        )
    photos = read_photos(uploads, settings)
    product = Product(
        id=uuid.uuid4(),
        name=draft.name,
        price=draft.price,
        description=draft.description,
        created_by=created_by.id if created_by else None,
        is_active=True,
    )
    count = _embed_and_save(
        db=db,
        index=index,
        embedder=embedder,
        settings=settings,
        product=product,
        photos=photos,
        existing=False,
    )
    metrics.REGISTRATIONS.inc()
    return product, count


def add_photos(
    *,
    db: Session,
    index: ProductIndex,
    embedder: Embedder,
    settings: Settings,
    product_id: uuid.UUID,
    uploads: Sequence[bytes],
) -> tuple[Product, int]:
    """Add photos (and their vectors) to a product; returns it and its photo count."""
    product = service.get(db=db, product_id=product_id)
    photos = read_photos(uploads, settings)
    count = _embed_and_save(
        db=db,
        index=index,
        embedder=embedder,
        settings=settings,
        product=product,
        photos=photos,
        existing=True,
    )
    return product, count


def remove_photo(
    *,
    db: Session,
    index: ProductIndex,
    settings: Settings,
    product_id: uuid.UUID,
    image_id: uuid.UUID,
) -> tuple[Product, int]:
    """Delete one photo and its vector; returns the product and its photo count after.

    A product keeps at least one photo (Conflict). The vector leaves the index before the
    commit (no search after this returns finds it) and comes back if the commit fails; the
    file goes once the row is gone.
    """
    _end_read_transaction(db)
    with index.commit_lock:
        image = service.get_image(db=db, product_id=product_id, image_id=image_id)
        product = image.product
        count = service.image_count(db=db, product_id=product_id)
        if count <= 1:
            raise Conflict("a product keeps at least one photo", code=ErrorCode.LAST_PHOTO)
        stored = service.vectors_of([image])
        path = image.image_path
        db.delete(image)
        announce_change(db=db, product_id=product.id)
        indexed = product.is_active
        if indexed:
            index.remove(stored.embedding_ids.tolist())
        try:
            db.commit()
        except BaseException:
            db.rollback()
            if indexed:
                index.add(stored.embedding_ids, stored.vectors, stored.product_ids)
            raise
    if path:
        discard_photos(settings.images_dir, [path])
    return product, count - 1


def update_product(
    *,
    db: Session,
    index: ProductIndex,
    settings: Settings,
    product_id: uuid.UUID,
    fields: dict[str, object],
) -> Product:
    """Change a product's fields; (de)activation moves its vectors out of or into the index.

    Taking a product off sale removes its vectors before the commit, so no search that
    starts after this returns finds it; putting it back adds them after the commit, so no
    search ever finds a product the database does not list as active.
    """
    changes = validated(ProductUpdate, fields)
    check_price(changes.price, settings)
    _end_read_transaction(db)
    with index.commit_lock:
        product = service.get(db=db, product_id=product_id)
        for name in changes.model_fields_set - {"is_active"}:
            value = getattr(changes, name)
            if value is None and name != "description":
                raise InvalidInput(f"{name} cannot be null", code=ErrorCode.FIELD_NOT_NULLABLE)
            setattr(product, name, value)
        if changes.is_active is None or changes.is_active == product.is_active:
            db.commit()
            return product
        product.is_active = changes.is_active
        announce_change(db=db, product_id=product.id)
        stored = service.vectors_of(product.images)
        if changes.is_active:
            db.commit()
            if len(stored.embedding_ids):
                index.add(stored.embedding_ids, stored.vectors, stored.product_ids)
            return product
        index.remove(stored.embedding_ids.tolist())
        try:
            db.commit()
        except BaseException:
            db.rollback()
            if len(stored.embedding_ids):
                index.add(stored.embedding_ids, stored.vectors, stored.product_ids)
            raise
        return product


def deactivate(
    *, db: Session, index: ProductIndex, settings: Settings, product_id: uuid.UUID
) -> Product:
    """Take a product off sale: never recognised again, its order history kept."""
    return update_product(
        db=db, index=index, settings=settings, product_id=product_id, fields={"is_active": False}
    )


def recognise_photo(
    *, db: Session, recogniser: Recogniser, settings: Settings, data: bytes
) -> list[tuple[ProductMatch, str]]:
    """Products an uploaded photo most likely shows, best first, each with its name."""
    photo = read_photo(data, settings)
    _end_read_transaction(db)
    (recognition,) = recogniser.recognise([photo.pixels])
    names = service.names(db=db, product_ids=[match.product_id for match in recognition.matches])
    # A product deactivated between search and naming is left out rather than shown.
    return [
        (match, names[match.product_id])
        for match in recognition.matches
        if match.product_id in names
    ]
