"""Stored recognition adapters: saving a fitted one, finding the one in force, loading it.

The raw backbone vectors in ``product_images`` stay the truth; an adapter only maps them
into the space the live index searches. Each fitted adapter is one ``adapters`` row whose
``version`` names it everywhere else: in the index's vector space tag, in snapshots, in logs.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from ebrcs.adaptation.adapter import Adapter, AdapterFormatError
from ebrcs.catalog.index import RAW_SPACE, VectorSpace
from ebrcs.catalog.models import AdapterStatus, Product, ProductImage, StoredAdapter

log = logging.getLogger(__name__)

SPACE_PREFIX = "adapter:"
ADAPTER_FORMAT = "ebrcs-adapter-1"


class AdapterUnusable(RuntimeError):
    """A stored adapter cannot be used: damaged, or made for other vectors."""


@dataclass(frozen=True)
class CatalogueState:
    """The catalogue an adapter is fitted on: active products and vectors, and the last id."""

    products: int
    vectors: int
    watermark: int


def _active_of(embedder_id: str) -> tuple[ColumnElement[bool], ...]:
    """The conditions selecting the active adapters of an embedder."""
    return (StoredAdapter.embedder_id == embedder_id, StoredAdapter.status == AdapterStatus.ACTIVE)


def catalogue_state(*, db: Session) -> CatalogueState:
    """How many active products have vectors, how many vectors, and the highest id of all."""
    watermark = db.scalar(select(func.max(ProductImage.embedding_id))) or 0
    products, vectors = db.execute(
        select(func.count(func.distinct(ProductImage.product_id)), func.count())
        .join(Product, Product.id == ProductImage.product_id)
        .where(Product.is_active.is_(True), ProductImage.embedding_id <= watermark)
    ).one()
    return CatalogueState(products=products, vectors=vectors, watermark=watermark)


def vectors_changed_since(*, db: Session, fitted: StoredAdapter) -> int:
    """Active vectors added since ``fitted`` was fitted plus those of its catalogue now gone."""
    mark = fitted.catalogue_watermark
    added, kept = db.execute(
        select(
            func.count().filter(ProductImage.embedding_id > mark),
            func.count().filter(ProductImage.embedding_id <= mark),
        )
        .join(Product, Product.id == ProductImage.product_id)
        .where(Product.is_active.is_(True))
    ).one()
    return added + max(fitted.catalogue_vectors - kept, 0)


def save(
    *,
    db: Session,
    adapter: Adapter,
    embedder_id: str,
    embedder_dim: int,
    fitted_on: CatalogueState,
    fit_seconds: float,
) -> StoredAdapter:
    """Add a fitted adapter as the one in force for its embedder, retiring the one before.

    Refuses (``AdapterMismatch``) an adapter fitted on another backbone. Nothing is
    committed here: the caller announces the change and commits, in one transaction.
    """
    adapter.check_backbone(embedder_id)
    if adapter.input_dim != embedder_dim:
        raise AdapterUnusable(
            f"adapter {adapter.version} takes {adapter.input_dim}-d vectors, but "
            f"{embedder_id!r} makes {embedder_dim}-d ones"
        )
    data = adapter.to_bytes()
    retire_all(db=db, embedder_id=embedder_id)
    row = StoredAdapter(
        embedder_id=embedder_id,
        input_dim=adapter.input_dim,
        output_dim=adapter.dim,
        format=ADAPTER_FORMAT,
        parameters=data,
        sha256=hashlib.sha256(data).hexdigest(),
        status=AdapterStatus.ACTIVE,
        catalogue_products=fitted_on.products,
        catalogue_vectors=fitted_on.vectors,
        catalogue_watermark=fitted_on.watermark,
        fit_seconds=fit_seconds,
    )
    db.add(row)
    db.flush()
    return row


def retire_all(*, db: Session, embedder_id: str) -> int:
    """Take every adapter of an embedder out of force (recognition uses raw vectors again)."""
    result = db.execute(
        update(StoredAdapter).where(*_active_of(embedder_id)).values(status=AdapterStatus.RETIRED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def in_force(*, db: Session, embedder_id: str) -> StoredAdapter | None:
    """The newest active adapter of this embedder, or None."""
    query = (
        select(StoredAdapter)
        .where(*_active_of(embedder_id))
        .order_by(StoredAdapter.version.desc())
        .limit(1)
    )
    return db.scalar(query)


def ever_fitted(*, db: Session, embedder_id: str) -> bool:
    """Whether any adapter, in force or retired, was ever stored for this embedder."""
    query = select(StoredAdapter.version).where(StoredAdapter.embedder_id == embedder_id)
    return db.scalar(query.limit(1)) is not None


def version_in_force(*, db: Session, embedder_id: str) -> int:
    """The version of ``in_force`` (0 when none), read without loading its parameters."""
    query = select(func.max(StoredAdapter.version)).where(*_active_of(embedder_id))
    return db.scalar(query) or 0


def load(row: StoredAdapter, *, embedder_id: str, embedder_dim: int) -> Adapter:
    """The adapter a row stores, checked whole and made for this embedder's vectors."""
    if row.format != ADAPTER_FORMAT:
        raise AdapterUnusable(f"adapter {row.version} is stored as unknown format {row.format!r}")
    if hashlib.sha256(row.parameters).hexdigest() != row.sha256:
        raise AdapterUnusable(f"adapter {row.version} is damaged: its checksum does not match")
    try:
        adapter = Adapter.from_bytes(row.parameters)
    except AdapterFormatError as error:
        raise AdapterUnusable(f"adapter {row.version} is unreadable: {error}") from error
    if row.embedder_id != embedder_id or adapter.backbone_id != embedder_id:
        raise AdapterUnusable(
            f"adapter {row.version} was fitted on vectors of {adapter.backbone_id!r}; this server "
            f"embeds with {embedder_id!r}: run `ebrcs catalog adapt` to fit one for it"
        )
    if adapter.input_dim != embedder_dim or row.output_dim != adapter.dim:
        raise AdapterUnusable(
            f"adapter {row.version} maps {adapter.input_dim}-d vectors, not {embedder_dim}-d"
        )
    return adapter


def space_of(version: int, adapter: Adapter) -> VectorSpace:
    """The vector space the index searches under adapter ``version``."""
    return VectorSpace(f"{SPACE_PREFIX}{version}", adapter.transform, adapter.dim)


def space_version(space: VectorSpace) -> int:
    """The adapter version of an index's vector space (0 for raw vectors)."""
    if space.tag.startswith(SPACE_PREFIX):
        return int(space.tag.removeprefix(SPACE_PREFIX))
    return 0


def space_for(*, db: Session, version: int, embedder_id: str, embedder_dim: int) -> VectorSpace:
    """The vector space of adapter ``version`` (raw vectors for 0)."""
    if version == 0:
        return RAW_SPACE
    row = db.get(StoredAdapter, version)
    if row is None:
        raise AdapterUnusable(f"adapter {version} does not exist")
    return space_of(version, load(row, embedder_id=embedder_id, embedder_dim=embedder_dim))


def space_in_force(*, db: Session, embedder_id: str, embedder_dim: int) -> VectorSpace:
    """The vector space of the adapter in force: raw vectors when there is none.

    An adapter that cannot be used is logged and raw vectors are searched instead, so a
    damaged row never keeps a server from starting.
    """
    version = version_in_force(db=db, embedder_id=embedder_id)
    try:
        return space_for(db=db, version=version, embedder_id=embedder_id, embedder_dim=embedder_dim)
    except AdapterUnusable as error:
        log.error("searching raw vectors: %s", error)
        return RAW_SPACE
