"""Photo files a crash left without their row are swept; every photo a row names stays."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from catalog_fixtures import ColourEmbedder, photo
from fastapi.testclient import TestClient

from ebrcs.checkout.expiry import ORPHAN_PHOTO_GRACE_SECONDS, expire_idle_sessions


def _leftover(images_dir: Path, *, age_seconds: float) -> Path:
    """A photo file as a crash between writing it and committing its row leaves it."""
    path = images_dir / str(uuid.uuid4()) / f"{uuid.uuid4()}.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(photo((200, 10, 10)))
    written = time.time() - age_seconds
    os.utime(path, (written, written))
    return path


def test_the_expiry_sweep_deletes_old_orphaned_photos_and_keeps_the_rest(
    client: TestClient, admin: Any, colour_embedder: ColourEmbedder
) -> None:
    registered = client.post(
        "/api/products",
        data={"name": "Tomato", "price": "1.00"},
        files=[("images", ("t.png", photo((220, 30, 30)), "image/png"))],
        headers=admin.headers,
    )
    assert registered.status_code == 201, registered.text
    runtime = client.app.state.runtime
    images_dir = runtime.settings.images_dir
    kept = sorted(images_dir.rglob("*.png"))
    old = _leftover(images_dir, age_seconds=ORPHAN_PHOTO_GRACE_SECONDS + 60)
    recent = _leftover(images_dir, age_seconds=1)

    expire_idle_sessions(db_sessions=runtime.sessions, settings=runtime.settings)

    assert not old.exists() and not old.parent.exists()
    assert recent.exists()  # may belong to a registration still running
    assert all(path.exists() for path in kept) and kept
    product = client.get(
        f"/api/products/{registered.json()['product_id']}", headers=admin.headers
    ).json()
    assert client.get(product["images"][0]["url"], headers=admin.headers).status_code == 200
