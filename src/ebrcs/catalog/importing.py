"""Bringing catalogues in from elsewhere: photo folders and the original system's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from ebrcs.catalog import service
from ebrcs.catalog.models import Product, ProductImage

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


def photo_folders(root: Path, shots: int) -> Iterator[tuple[str, list[Path]]]:
    """Each folder under ``root`` that directly holds photos: its name and first ``shots``."""
    for folder in sorted(path for path in [root, *root.rglob("*")] if path.is_dir()):
        photos = sorted(
            path
            for path in folder.iterdir()
            if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES
        )
        if photos:
            yield folder.name, photos[:shots]


def import_vectors(*, db: Session, name: str, vectors: np.ndarray, embedder_id: str) -> Product:
    """Commit a product whose vectors come without photos (the original's ``.npy`` files)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    product = Product(name=name, is_active=True)
    db.add(product)
    ids = service.allocate_embedding_ids(db=db, count=len(vectors))
    db.add_all(
        ProductImage(
            product=product,
            image_path="",
            embedding_id=embedding_id,
            embedding=service.encode_vector(vector),
            embedding_dim=vectors.shape[1],
            embedder_id=embedder_id,
        )
        for embedding_id, vector in zip(ids, vectors, strict=True)
    )
    db.commit()
    return product
