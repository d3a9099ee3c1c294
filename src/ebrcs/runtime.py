"""The per-process runtime: settings, database sessions and the long-lived components."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth.startup import warn_if_no_admin
from ebrcs.catalog import adapters
from ebrcs.catalog.adapting import AdapterRefitter
from ebrcs.catalog.index import ProductIndex
from ebrcs.catalog.loading import open_product_index
from ebrcs.catalog.rebuild import IndexKindSwitch
from ebrcs.catalog.snapshots import SnapshotWriter
from ebrcs.catalog.sync import CatalogFollower
from ebrcs.catalog.vectors import AUTO_KIND
from ebrcs.config import Settings
from ebrcs.db.engine import session_factory
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.registry import load_embedder
from ebrcs.recognition.recogniser import Recogniser


@dataclass
class Runtime:
    """Everything a request handler may need beyond its own request."""

    settings: Settings
    sessions: sessionmaker[Session]
    embedder: Embedder
    index: ProductIndex
    recogniser: Recogniser
    snapshots: SnapshotWriter
    follower: CatalogFollower
    kind_switch: IndexKindSwitch | None
    refitter: AdapterRefitter | None

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Build the runtime for a server process."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.resolved_jwt_secret()  # created on first start, kept in the data dir
        sessions = session_factory(settings)
        warn_if_no_admin(sessions)
        embedder = load_embedder(settings)  # once per process, shared by every runtime
        snapshot_path = settings.index_dir / "products.faiss"
        with sessions() as db:
            space = adapters.space_in_force(
                db=db, embedder_id=embedder.id, embedder_dim=embedder.dim
            )
            index = open_product_index(
                db=db,
                embedder=embedder,
                kind=settings.index_kind,
                snapshot_path=snapshot_path,
                space=space,
            )
        follower = CatalogFollower(
            sessions,
            index,
            listen_dsn=settings.listen_dsn,
            poll_seconds=settings.sync_poll_seconds,
            reconcile_seconds=settings.sync_reconcile_seconds,
        )
        kind_switch = IndexKindSwitch(
            sessions,
            index,
            ann_min_vectors=settings.index_ann_min_vectors,
            check_seconds=settings.index_switch_check_seconds,
            max_hidden=settings.index_max_hidden,
            threads=settings.index_build_threads,
        )
        snapshots = SnapshotWriter(index, snapshot_path, settings.index_snapshot_seconds)
        recogniser = Recogniser.from_settings(embedder, index, settings)
        refitter = AdapterRefitter(sessions, settings, embedder)
        return cls(
            settings=settings,
            sessions=sessions,
            embedder=embedder,
            index=index,
            recogniser=recogniser,
            snapshots=snapshots.start(),
            follower=follower.start(),
            kind_switch=kind_switch.start() if settings.index_kind == AUTO_KIND else None,
            refitter=refitter.start() if settings.adapter_auto_refit else None,
        )

    def close(self) -> None:
        """Release what the runtime holds."""
        if self.kind_switch is not None:
            self.kind_switch.stop()
        if self.refitter is not None:
            self.refitter.stop()
        self.follower.stop()
        self.snapshots.stop()
