"""Reading stored vectors back in batches, as start-up, catch-up and rebuilds do."""

from __future__ import annotations

import numpy as np
from catalog_fixtures import ColourEmbedder, open_index, photo, register_product
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.catalog import service
from ebrcs.config import Settings


def test_active_vectors_read_in_many_batches_are_every_one_in_id_order(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    index = open_index(sessions, settings)
    for seed in range(5):
        with sessions() as db:
            uploads = [photo((seed * 50, 100, 200 - seed * 40), seed=seed)]
            register_product(db, index, settings, fields={"name": f"p{seed}"}, uploads=uploads)
    with sessions() as db:
        batches = list(service.iter_active_vectors(db=db, above=1, up_to=5, batch_size=2))
    assert [len(batch.embedding_ids) for batch in batches] == [2, 2]
    ids = np.concatenate([batch.embedding_ids for batch in batches])
    assert ids.tolist() == [2, 3, 4, 5]
    vectors = np.concatenate([batch.vectors for batch in batches])
    assert vectors.shape == (4, ColourEmbedder.dim)
    assert index.search(vectors, 1)[0][0].embedding_id == 2
