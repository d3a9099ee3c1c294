"""Re-embedding stored photos when the configured embedder changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from ebrcs.catalog import service
from ebrcs.catalog.models import ProductImage
from ebrcs.embedding.base import Embedder


def photos_to_reembed(*, db: Session, embedder: Embedder, everything: bool) -> list[uuid.UUID]:
    """Ids of the photo rows whose vectors another embedder made (or all rows with photos)."""
    query = select(ProductImage.id).where(ProductImage.image_path != "")
    if not everything:
        query = query.where(ProductImage.embedder_id != embedder.id)
    return list(db.scalars(query.order_by(ProductImage.embedding_id)))


def vectors_without_photos(*, db: Session, embedder: Embedder) -> int:
    """How many vectors of another embedder have no photo to re-embed from."""
    query = select(ProductImage.id).where(
        ProductImage.image_path == "", ProductImage.embedder_id != embedder.id
    )
    return len(db.scalars(query).all())


def reembed(
    *, db: Session, embedder: Embedder, images_dir: Path, image_ids: list[uuid.UUID], batch: int
) -> Iterator[int]:
    """Re-embed these photo rows, one committed batch at a time; yields each batch's size.

    Each vector gets a new embedding id, so snapshots and other processes see the change
    as old ids leaving and new ones arriving, never as a vector changing under its id.
    """
    for start in range(0, len(image_ids), batch):
        rows = db.scalars(
            select(ProductImage).where(ProductImage.id.in_(image_ids[start : start + batch]))
        ).all()
        pixels = [
            np.asarray(Image.open(images_dir / row.image_path).convert("RGB")) for row in rows
        ]
        db.commit()  # no database lock is held while embedding
        vectors = embedder.embed(pixels)
        new_ids = service.allocate_embedding_ids(db=db, count=len(rows))
        for row, vector, embedding_id in zip(rows, vectors, new_ids, strict=True):
            row.embedding = service.encode_vector(vector)
            row.embedding_dim = embedder.dim
            row.embedder_id = embedder.id
            row.embedding_id = embedding_id
        db.commit()
        yield len(rows)
