"""Several server processes on one PostgreSQL: every index in step, carts survive a kill."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.db.engine import make_engine
from live_server import ServerProcess, spawn_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

EVENTUALLY_SECONDS = 20


def photo(seed: int) -> bytes:
    """A distinct synthetic product photo: coloured blocks on a textured card."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((192, 192), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Two server processes sharing one database, data dir (photos) and JWT secret."""
    env = {
        "EBRCS_DATABASE_URL": database_url,
        "EBRCS_DATA_DIR": str(tmp_path / "var"),
        "EBRCS_JWT_SECRET": "shared-" + uuid.uuid4().hex,
        "EBRCS_SYNC_RECONCILE_SECONDS": "5",
    }
    started: list[ServerProcess] = []
    try:
        for name in ("a", "b"):
            started.append(spawn_server(env=env, log_path=tmp_path / f"server-{name}.log"))
        yield started
    finally:
        for server in started:
            server.stop()


def login(server: ServerProcess, database_url: str, role: Role) -> dict[str, str]:
    """Create an account in the shared database and log in through ``server``."""
    username, password = f"{role.value}_{uuid.uuid4().hex[:6]}", "correct-horse-battery"
    engine = make_engine(database_url)
    with Session(engine) as db:
        users.create(db=db, username=username, password=password, role=role)
    engine.dispose()
    response = httpx.post(
        f"{server.url}/api/auth/login", data={"username": username, "password": password}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def top_match(server: ServerProcess, headers: dict[str, str], image: bytes) -> str | None:
    """The product id ``server`` recognises first in ``image``, if any."""
    response = httpx.post(
        f"{server.url}/api/recognize",
        files={"image": ("photo.jpg", image, "image/jpeg")},
        headers=headers,
        timeout=30,
    )
    response.raise_for_status()
    matches = response.json()["matches"]
    return matches[0]["product_id"] if matches else None


def eventually(condition: Callable[[], bool]) -> float:
    """Seconds until ``condition`` held; fails after a generous deadline."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < EVENTUALLY_SECONDS, "condition never held"
        time.sleep(0.05)
    return time.monotonic() - start


def test_products_registered_or_deactivated_on_one_process_reach_the_other(
    servers: list[ServerProcess], database_url: str
) -> None:
    registrar, follower = servers
    admin = login(registrar, database_url, Role.ADMIN)
    for seed in range(5):
        image = photo(seed)
        created = httpx.post(
            f"{registrar.url}/api/products",
            data={"name": f"Product {seed}", "price": "1.50"},
            files={"images": ("p.jpg", image, "image/jpeg")},
            headers=admin,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        product_id = created.json()["product_id"]
        eventually(lambda: top_match(follower, admin, image) == product_id)  # noqa: B023

    removed = httpx.delete(f"{registrar.url}/api/products/{product_id}", headers=admin)
    assert removed.status_code in (200, 204), removed.text
    eventually(lambda: httpx.get(f"{follower.url}/api/health").json()["index_size"] == 4)
    assert top_match(follower, admin, image) != product_id
    assert httpx.get(f"{follower.url}/api/health").json()["index"]["lag"] == 0


def test_a_cart_survives_the_process_that_served_it_being_killed(
    servers: list[ServerProcess], database_url: str
) -> None:
    first, second = servers
    admin = login(first, database_url, Role.ADMIN)
    shopper = login(first, database_url, Role.USER)
    product = httpx.post(
        f"{first.url}/api/products",
        data={"name": "Oat milk", "price": "2.10"},
        files={"images": ("p.jpg", photo(99), "image/jpeg")},
        headers=admin,
        timeout=30,
    ).json()
    session_id = httpx.post(f"{first.url}/api/sessions", headers=shopper).json()["session_id"]
    added = httpx.post(
        f"{first.url}/api/sessions/{session_id}/billing/items",
        json={"product_id": product["product_id"], "quantity": 2},
        headers=shopper,
    )
    assert added.status_code in (200, 201), added.text
    token = shopper["Authorization"].removeprefix("Bearer ")
    with connect(f"{first.ws_url}/api/ws/checkout/{session_id}") as socket:
        socket.send(json.dumps({"token": token}))
        socket.send(photo(1))
        socket.recv(timeout=30)
        first.kill()

    billing = httpx.get(f"{second.url}/api/sessions/{session_id}/billing", headers=shopper)
    assert billing.status_code == 200, billing.text
    lines = billing.json()["items"]
    assert [(line["product_id"], line["quantity"]) for line in lines] == [
        (product["product_id"], 2)
    ]
    with connect(f"{second.ws_url}/api/ws/checkout/{session_id}") as socket:
        socket.send(json.dumps({"token": token}))
        socket.send(photo(2))
        reply = socket.recv(timeout=30)
    assert '"cart"' in reply
