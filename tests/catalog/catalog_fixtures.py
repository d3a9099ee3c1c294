"""A fast deterministic embedder, photos made in memory and the catalogue steps tests repeat."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import flows
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.loading import open_product_index
from ebrcs.catalog.models import Product
from ebrcs.config import Settings

BINS = 8


class ColourEmbedder:
    """A colour-histogram embedder: instant, deterministic, and tells colours apart."""

    id = "test-colour-histogram"
    dim = 3 * BINS

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """One L2-normalised per-channel histogram per image."""
        rows = []
        for image in images:
            histogram = np.concatenate(
                [
                    np.bincount(image[..., c].ravel() // (256 // BINS), minlength=BINS)
                    for c in range(3)
                ]
            ).astype(np.float32)
            rows.append(histogram / np.linalg.norm(histogram))
        return np.stack(rows) if rows else np.empty((0, self.dim), np.float32)


def photo(
    colour: tuple[int, int, int], *, size: int = 32, fmt: str = "PNG", seed: int = 0
) -> bytes:
    """A small photo of one colour with a little noise, encoded as ``fmt``."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.integers(-6, 7, (size, size, 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format=fmt)
    return buffer.getvalue()


def photo_pixels(colour: tuple[int, int, int], *, seed: int = 0) -> np.ndarray:
    """The RGB pixels of ``photo(colour, seed=seed)``."""
    return np.asarray(Image.open(io.BytesIO(photo(colour, seed=seed))).convert("RGB"))


def open_index(
    sessions: sessionmaker[Session], settings: Settings, embedder: ColourEmbedder | None = None
) -> ProductIndex:
    """The product index as a server opens it: its snapshot, then the database."""
    with sessions() as db:
        return open_product_index(
            db=db,
            embedder=embedder or ColourEmbedder(),
            kind=settings.index_kind,
            snapshot_path=settings.index_dir / "products.faiss",
        )


def register_product(
    db: Session,
    index: ProductIndex,
    settings: Settings,
    *,
    fields: dict[str, object],
    uploads: Sequence[bytes],
) -> Product:
    """Register a product through the real flow, embedded by the colour embedder."""
    product, _ = flows.register_product(
        db=db,
        index=index,
        embedder=ColourEmbedder(),
        settings=settings,
        fields=fields,
        uploads=uploads,
        created_by=None,
    )
    return product
