"""Fitting an adapter on the registered photos alone: augmented views and a discriminant map.

Every registered photo and a few augmented views of it are embedded with the frozen backbone.
How a product's vectors spread (its photos and views) is the nuisance to ignore: the map first
whitens that within-product scatter (regularised by adding ``shrink`` times its mean variance),
then keeps the directions along which the products' means differ most (a regularised linear
discriminant, in closed form). A cosine-softmax head against one learned proxy per product can
refine that map (``head_epochs``). Nothing but the photos a shop registered is used, so a fit
is what a shop's server can do by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ebrcs.adaptation.adapter import Adapter
from ebrcs.adaptation.views import augmented_view
from ebrcs.embedding.base import Embedder

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with steps done and in all: one step per photo whose views are embedded, one per epoch."""
PhotoSource = Path | np.ndarray
"""A registered photo: an RGB ``H x W x 3`` uint8 array, or the path of a stored image file."""


class FitDeadlineExceeded(TimeoutError):
    """A fit ran past its deadline and was abandoned (whatever adapter was in force stays)."""


@dataclass(frozen=True)
class AdapterConfig:
    """How an adapter is fitted; the defaults are the ones measured in docs/PERFORMANCE.md."""

    views_per_photo: int = 12
    """Augmented views embedded per registered photo."""
    max_views: int = 24_000
    """Bound on the views embedded for one fit (time and memory): big catalogues get fewer each."""
    shrink: float = 0.5
    """Added to every within-product variance, as a share of their mean: few photos spread in
    few directions, and an unregularised whitening would blow the others up."""
    dim: int = 256
    """Most dimensions of adapted vectors; C products have at most C - 1 discriminant ones."""
    head_epochs: int = 0
    """Epochs of cosine-softmax training after the closed form (0: none; it did not help)."""
    temperature: float = 0.1
    batch_size: int = 256
    learning_rate: float = 1e-3


def views_per_photo(n_photos: int, config: AdapterConfig) -> int:
    """Views per photo that keep a fit within ``config.max_views`` (none when over the bound)."""
    return min(config.views_per_photo, config.max_views // max(n_photos, 1))


def fit_adapter(
    photos_by_product: Mapping[Hashable, Sequence[PhotoSource]],
    embedder: Embedder,
    *,
    raw_by_product: Mapping[Hashable, np.ndarray] | None = None,
    seed: int = 0,
    config: AdapterConfig | None = None,
    progress: Progress | None = None,
    deadline_seconds: float | None = None,
) -> Adapter:
    """Fit an adapter for ``embedder`` on each product's registered photos.

    ``raw_by_product`` holds vectors already stored for a product (``[n, embedder.dim]``, e.g.
    of its photos, or imported without photos); the photos of a product that has some are not
    embedded again, only their views. Photos are decoded one at a time, so a big catalogue
    never sits in memory decoded. Deterministic for a seed: products are taken in the order of
    ``str(key)`` and each photo's views are drawn from a generator seeded by (seed, product
    position, photo position). Raises ``FitDeadlineExceeded`` once ``deadline_seconds`` have
    passed, and ``ValueError`` when fewer than two products have anything to fit on.
    """
    config = config or AdapterConfig()
    raw_by_product = raw_by_product or {}
    report = progress or (lambda _done, _total: None)
    products = sorted(
        (
            key
            for key in {*photos_by_product, *raw_by_product}
            if len(photos_by_product.get(key, ())) or len(raw_by_product.get(key, ()))
        ),
        key=str,
    )
    if len(products) < 2:
        raise ValueError("an adapter needs photos or vectors of at least two products")
    n_photos = sum(len(photos_by_product.get(key, ())) for key in products)
    per_photo = views_per_photo(n_photos, config)
    total = n_photos + config.head_epochs
    began = time.monotonic()
    vectors, labels = [], []
    done = 0
    for label, key in enumerate(products):
        stored = np.asarray(raw_by_product.get(key, ()), np.float32).reshape(-1, embedder.dim)
        own = [stored]
        for number, source in enumerate(photos_by_product.get(key, ())):
            if deadline_seconds is not None and time.monotonic() - began > deadline_seconds:
                raise FitDeadlineExceeded(
                    f"adapter fit passed its {deadline_seconds:.0f} s deadline after {done} of "
                    f"{n_photos} photos"
                )
            photo = _rgb(source)
            rng = np.random.default_rng([seed, label, number])
            views = [augmented_view(photo, rng) for _ in range(per_photo)]
            own.append(embedder.embed(views if len(stored) else [photo, *views]))
            done += 1
            report(done, total)
        vectors += own
        labels.append(np.full(sum(len(v) for v in own), label, np.int64))
    embed_seconds = time.monotonic() - began
    adapter = fit_on_vectors(
        np.concatenate(vectors),
        np.concatenate(labels),
        backbone_id=embedder.id,
        seed=seed,
        config=config,
        details={"products": len(products), "photos": n_photos, "views_per_photo": per_photo},
        progress=lambda epoch, _epochs: report(n_photos + epoch, total),
    )
    logger.info(
        "adapter %s: %d products, %d photos x %d views embedded in %.0f s, fitted in %.0f s",
        adapter.version,
        len(products),
        n_photos,
        per_photo,
        embed_seconds,
        time.monotonic() - began - embed_seconds,
    )
    return adapter


def _rgb(source: PhotoSource) -> np.ndarray:
    """The photo as an RGB uint8 array, read from disk when given a path."""
    if isinstance(source, np.ndarray):
        return source
    with Image.open(source) as image:
        return np.asarray(image.convert("RGB"))


def fit_on_vectors(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    backbone_id: str,
    seed: int = 0,
    config: AdapterConfig | None = None,
    details: Mapping[str, object] | None = None,
    progress: Progress | None = None,
) -> Adapter:
    """Fit the map on raw backbone vectors labelled by product (``0 .. C-1``)."""
    config = config or AdapterConfig()
    vectors = np.asarray(vectors, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if vectors.ndim != 2 or len(vectors) != len(labels):
        raise ValueError("expected one label per vector row")
    n_products = int(labels.max()) + 1 if len(labels) else 0
    if n_products < 2 or len(np.unique(labels)) != n_products:
        raise ValueError("labels must number at least two products 0..C-1, each present")
    mean = vectors.mean(axis=0, dtype=np.float64)
    sums = np.zeros((n_products, vectors.shape[1]))
    np.add.at(sums, labels, vectors)
    means = sums / np.bincount(labels, minlength=n_products)[:, None]
    whiten = _within_product_whitening(vectors, labels, means, config.shrink)
    _, _, axes = np.linalg.svd(whiten(means - mean), full_matrices=False)
    axes = axes[: min(config.dim, n_products - 1)]
    # SVD axes have arbitrary signs; fixing them keeps a fit identical across machines.
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    projection = whiten(axes).T  # the whitening is symmetric
    if config.head_epochs:
        projection = projection @ _train_head(
            (vectors - mean) @ projection,
            labels,
            n_products,
            seed=seed,
            config=config,
            progress=progress or (lambda _done, _total: None),
        )
    return Adapter(
        backbone_id,
        mean,
        projection,
        {"config": asdict(config), "seed": seed, "vectors": len(vectors), **(details or {})},
    )


def _within_product_whitening(
    vectors: np.ndarray, labels: np.ndarray, means: np.ndarray, shrink: float
) -> Callable[[np.ndarray], np.ndarray]:
    """``rows -> rows @ S^(-1/2)`` for the shrunk within-product scatter ``S``.

    ``S = R'R / n + f I`` with ``R`` each vector less its product's mean and ``f`` = ``shrink``
    times the mean variance of ``R'R / n``. Only the span of ``R`` is decomposed, so a few
    hundred photos cost a few hundred dimensions, not the backbone's thousands.
    """
    n, d = vectors.shape
    if n < d:
        residuals = vectors - means[labels]
        gram, mixes = np.linalg.eigh(residuals @ residuals.T)
        kept = gram > 1e-9 * max(gram.max(), 1e-30)
        axes = residuals.T @ (mixes[:, kept] / np.sqrt(gram[kept]))
        values = gram[kept] / n
    else:
        scatter = np.zeros((d, d))
        for first in range(0, n, 4096):
            chunk = vectors[first : first + 4096] - means[labels[first : first + 4096]]
            scatter += chunk.T @ chunk
        values, axes = np.linalg.eigh(scatter / n)
        values = np.clip(values, 0.0, None)
    floor = max(shrink * values.sum() / d, 1e-12)
    gains = 1.0 / np.sqrt(values + floor) - 1.0 / np.sqrt(floor)

    def whiten(rows: np.ndarray) -> np.ndarray:
        return rows / np.sqrt(floor) + ((rows @ axes) * gains) @ axes.T

    return whiten


def _train_head(
    adapted: np.ndarray,
    labels: np.ndarray,
    n_products: int,
    *,
    seed: int,
    config: AdapterConfig,
    progress: Progress,
) -> np.ndarray:
    """A square map trained with cosine softmax against one learned proxy per product.

    It starts as the identity and each proxy as its product's mean direction, so training
    refines the closed-form map rather than replacing it.
    """
    features = torch.from_numpy(np.ascontiguousarray(adapted, dtype=np.float32))
    targets = torch.from_numpy(labels)
    weight = torch.nn.Parameter(torch.eye(features.shape[1]))
    with torch.no_grad():
        start = torch.nn.functional.normalize(features, dim=1)
        sums = torch.zeros(n_products, features.shape[1]).index_add_(0, targets, start)
    proxies = torch.nn.Parameter(torch.nn.functional.normalize(sums, dim=1))
    optimiser = torch.optim.Adam([weight, proxies], lr=config.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(config.head_epochs):
        order = torch.randperm(len(features), generator=generator)
        for batch in order.split(config.batch_size):
            embedded = torch.nn.functional.normalize(features[batch] @ weight, dim=1)
            logits = embedded @ torch.nn.functional.normalize(proxies, dim=1).T
            loss = torch.nn.functional.cross_entropy(logits / config.temperature, targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        progress(epoch + 1, config.head_epochs)
    return weight.detach().numpy().astype(np.float64)
