"""Opening the live index at start-up: snapshot plus database, which is the truth."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from ebrcs.catalog import service
from ebrcs.catalog.index import RAW_SPACE, ProductIndex, VectorSpace
from ebrcs.catalog.snapshots import (
    CorruptSnapshot,
    read_snapshot,
    remove_stale_temp_files,
)
from ebrcs.catalog.vectors import AUTO_KIND, KINDS
from ebrcs.embedding.base import Embedder

log = logging.getLogger(__name__)


class EmbedderMismatch(RuntimeError):
    """The catalogue holds vectors that the configured embedder did not make."""


def check_embedder(*, db: Session, embedder: Embedder) -> None:
    """Refuse a catalogue whose stored vectors come from another embedder."""
    foreign = {
        key: count
        for key, count in service.stored_embedders(db=db).items()
        if key != (embedder.id, embedder.dim)
    }
    if foreign:
        found = ", ".join(
            f"{count} from {name!r} ({dim}-d)" for (name, dim), count in foreign.items()
        )
        raise EmbedderMismatch(
            f"the catalogue holds vectors of another embedder ({found}) but this server uses "
            f"{embedder.id!r} ({embedder.dim}-d); vectors of different embedders cannot be "
            "compared. Run `ebrcs catalog reembed` to re-embed the stored photos, or configure "
            "EBRCS_EMBEDDER to match."
        )


def _snapshot_index(
    path: Path, *, kind: str, embedder: Embedder, space: VectorSpace, owners: dict[int, uuid.UUID]
) -> tuple[ProductIndex | None, str]:
    """The index a usable snapshot holds, or None with why it was not used."""
    try:
        header, parts = read_snapshot(path)
    except FileNotFoundError:
        return None, "no snapshot"
    except (CorruptSnapshot, OSError) as error:
        return None, f"snapshot unusable ({error})"
    wanted_kind = header.kind if kind == AUTO_KIND else kind
    made_for = (header.kind, header.dim, header.embedder_id, header.space)
    if made_for != (wanted_kind, embedder.dim, embedder.id, space.tag):
        return None, f"snapshot stale (made for {header.kind}/{header.embedder_id}/{header.space})"
    vectors = KINDS[header.kind].from_parts(parts, findable=set(owners))
    index = ProductIndex.restore(
        vectors,
        dim=embedder.dim,
        embedder_id=embedder.id,
        space=space,
        watermark=header.watermark,
        products=owners,
    )
    return index, f"snapshot at watermark {header.watermark}"


def open_product_index(
    *,
    db: Session,
    embedder: Embedder,
    kind: str,
    snapshot_path: Path,
    space: VectorSpace = RAW_SPACE,
) -> ProductIndex:
    """The live index: a snapshot if usable, brought exactly in step with the database.

    Vectors the snapshot holds but the database no longer lists as active are dropped;
    active vectors it lacks (newer rows, or products reactivated since) are read from the
    database. A missing, stale or corrupt snapshot means a rebuild from the database.
    With ``kind="auto"`` a snapshot of any kind is used (its graph is not rebuilt) and a
    rebuild from the database makes a flat index; ``IndexKindSwitch`` changes it later.
    """
    check_embedder(db=db, embedder=embedder)
    remove_stale_temp_files(snapshot_path)
    # Read the watermark first: rows committed after it are picked up by later catch-up.
    watermark = service.highest_embedding_id(db=db)
    owners = service.active_vector_owners(db=db, up_to=watermark)
    index, source = _snapshot_index(
        snapshot_path, kind=kind, embedder=embedder, space=space, owners=owners
    )
    if index is None:
        fresh_kind = "flat" if kind == AUTO_KIND else kind
        index = ProductIndex(embedder.dim, fresh_kind, embedder_id=embedder.id, space=space)
    missing = set(owners) - index.ids()
    loaded = 0
    if missing:
        for stored in service.iter_active_vectors(db=db, above=min(missing) - 1, up_to=watermark):
            wanted = [i for i, e in enumerate(stored.embedding_ids.tolist()) if e in missing]
            if wanted:
                index.add(
                    stored.embedding_ids[wanted],
                    stored.vectors[wanted],
                    [stored.product_ids[i] for i in wanted],
                )
                loaded += len(wanted)
    index.mark_applied(watermark)
    if index.ntotal != len(owners):
        raise RuntimeError(
            f"index holds {index.ntotal} vectors but the database has {len(owners)} active ones"
        )
    log.info(
        "product index ready: %d vectors (%s; %d read from the database), watermark %d, %s, %s",
        index.ntotal,
        source,
        loaded,
        watermark,
        index.kind,
        embedder.id,
    )
    return index
