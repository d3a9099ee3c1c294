"""Prometheus metrics on /metrics: a checkout's frames, items, registration and order, scraped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from checkout_scenes import empty_counter, open_socket, pass_through, register, stream
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ebrcs import metrics, server
from ebrcs.app import create_app
from ebrcs.config import Settings

TOKEN = "scrape-token-" + "x" * 20
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with a scrape token."""
    return settings.model_copy(update={"metrics_token": TOKEN})


def _parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _parse(response.text)


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.slow
def test_a_checkout_shows_in_the_metrics(client: TestClient, admin: Any, shopper: Any) -> None:
    before = _scrape(client)
    register(client, admin.headers, "tomato", "1.10")
    session_id = client.post("/api/sessions", headers=shopper.headers).json()["session_id"]
    frames = empty_counter(5) + pass_through("tomato", dwell_frames=25)
    with open_socket(client, session_id, shopper) as ws:
        stream(ws, frames)
        during = _scrape(client)
    confirmed = client.post(f"/api/sessions/{session_id}/billing/confirm", headers=shopper.headers)
    assert confirmed.status_code == 200, confirmed.text
    after = _scrape(client)

    def added(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert added("ebrcs_frames_total") == len(frames)
    for step in ("decode", "background", "tracking", "total"):
        assert added("ebrcs_frame_step_seconds_count", step=step) == len(frames)
    assert added("ebrcs_frame_step_seconds_sum", step="total") > 0
    assert added("ebrcs_recognised_items_total", outcome="named") == 1
    assert added("ebrcs_recognised_items_total", outcome="unsure") == 0
    assert added("ebrcs_products_registered_total") == 1
    assert added("ebrcs_orders_confirmed_total") == 1
    sockets = _value(before, "ebrcs_websockets_open")
    assert _value(during, "ebrcs_websockets_open") == sockets + 1
    assert _value(after, "ebrcs_websockets_open") == sockets
    index = client.app.state.runtime.index
    assert _value(after, "ebrcs_index_vectors", kind=index.kind) == index.ntotal == 1
    assert _value(after, "ebrcs_index_sync_lag_vectors") == 0


def test_metrics_need_the_scrape_token(client: TestClient, admin: Any) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = {"Authorization": "Bearer " + "y" * len(TOKEN)}
    assert client.get("/metrics", headers=wrong).status_code == 401
    # An admin's own access token is not the scrape token either.
    assert client.get("/metrics", headers=admin.headers).status_code == 401


def test_metrics_are_off_without_a_scrape_token(settings: Settings) -> None:
    unset = settings.model_copy(update={"metrics_token": None})
    with TestClient(create_app(unset)) as client:
        response = client.get("/metrics")
    assert response.status_code == 404
    assert "EBRCS_METRICS_TOKEN" in response.json()["detail"]


def test_a_scrape_of_one_worker_counts_the_frames_of_every_worker(tmp_path: Path) -> None:
    env = os.environ | {metrics.MULTIPROCESS_DIR_VARIABLE: str(tmp_path)}
    record = "from ebrcs import metrics; metrics.observe_frame({'total': 5.0}, ['named', 'unsure'])"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", record], env=env, check=True)
    scrape = "import sys; from ebrcs import metrics; sys.stdout.buffer.write(metrics.exposition())"
    text = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, capture_output=True
    ).stdout.decode()

    samples = _parse(text)
    assert _value(samples, "ebrcs_frames_total") == 2
    assert _value(samples, "ebrcs_recognised_items_total", outcome="unsure") == 2
    assert _value(samples, "ebrcs_frame_step_seconds_count", step="total") == 2


def test_serving_several_workers_gives_them_one_fresh_metrics_folder(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(metrics.MULTIPROCESS_DIR_VARIABLE, raising=False)
    stale = settings.data_dir / "metrics" / "counter_123.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from a run that is over")

    server._share_metrics(settings)

    assert os.environ[metrics.MULTIPROCESS_DIR_VARIABLE] == str(settings.data_dir / "metrics")
    assert list(stale.parent.iterdir()) == []
