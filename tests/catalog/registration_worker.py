"""A process that registers and deactivates products until it is killed (for the crash test).

Usage: ``python registration_worker.py DATABASE_URL DATA_DIR SEED``; prints ``ready`` once
its index is open, then changes the catalogue as fast as it can, snapshotting very often.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from catalog_fixtures import open_index, photo, register_product

from ebrcs.catalog import flows
from ebrcs.catalog.snapshots import SnapshotWriter
from ebrcs.config import Settings
from ebrcs.db.engine import session_factory

PHOTOS_PER_PRODUCT = 2


def main() -> None:
    """Open the catalogue, then register and deactivate products forever."""
    url, data_dir, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    settings = Settings(data_dir=data_dir, database_url=url, jwt_secret="crash-test")
    sessions = session_factory(settings)
    index = open_index(sessions, settings)
    SnapshotWriter(index, settings.index_dir / "products.faiss", interval_seconds=0.01).start()
    rng = random.Random(seed)
    registered = []
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        uploads = [photo(colour, seed=rng.randrange(1000)) for _ in range(PHOTOS_PER_PRODUCT)]
        with sessions() as db:
            fields = {"name": f"item {rng.randrange(10**6)}"}
            product = register_product(db, index, settings, fields=fields, uploads=uploads)
            registered.append(product.id)
        if rng.random() < 0.3:
            with sessions() as db:
                flows.update_product(
                    db=db,
                    index=index,
                    settings=settings,
                    product_id=rng.choice(registered),
                    fields={"is_active": rng.random() < 0.3},
                )


if __name__ == "__main__":
    main()
