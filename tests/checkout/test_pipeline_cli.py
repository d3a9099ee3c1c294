"""``ebrcs checkout-video`` over a recorded video, against products registered in the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkout_scenes import empty_counter, pass_through, register, write_video
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CountEvent
from ebrcs.checkout.video_cli import summarise
from ebrcs.cli import app
from ebrcs.config import Settings, get_settings
from ebrcs.recognition.types import ProductMatch


@pytest.fixture
def cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The command line pointed at the test's data dir and database."""
    monkeypatch.setenv("EBRCS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("EBRCS_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EBRCS_JWT_SECRET", settings.resolved_jwt_secret())
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_checkout_video_prints_the_cart_and_events_as_json(
    client: TestClient, admin, cli_settings: Settings, tmp_path: Path
) -> None:
    register(client, admin.headers, "tomato", "1.20")
    register(client, admin.headers, "blueberry", "3.00")
    video = tmp_path / "counter.avi"
    write_video(
        str(video),
        empty_counter(8)
        + pass_through("tomato", dwell_frames=25)
        + pass_through("blueberry")
        + pass_through("tomato")
        + empty_counter(15),
    )
    result = CliRunner().invoke(app, ["checkout-video", str(video), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["cart"] == {"Tomato": 2, "Blueberry": 1}
    assert [(e["type"], e["product"]) for e in summary["events"]] == [
        ("ADD", "Tomato"),
        ("ADD", "Blueberry"),
        ("ADD", "Tomato"),
    ]
    assert summary["frames"] > 0 and summary["fps"] > 0


def test_checkout_video_refuses_a_malformed_zone(tmp_path: Path) -> None:
    video = tmp_path / "counter.avi"
    write_video(str(video), empty_counter(3))
    result = CliRunner().invoke(app, ["checkout-video", str(video), "--roi", "0.1,0.1;0.9,0.1"])
    assert result.exit_code != 0
    assert "at least 3 points" in result.output


def test_checkout_video_reports_an_undecodable_file(tmp_path: Path) -> None:
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"not a video at all")
    result = CliRunner().invoke(app, ["checkout-video", str(video)])
    assert result.exit_code == 1
    assert "cannot open broken.mp4" in result.output


def test_json_summary_lists_each_unsure_item_with_its_candidates_best_first() -> None:
    juice, milk, card = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
    names = {juice: "Juice", milk: "Milk", card: "Card"}
    events = [
        CountEvent(EventKind.ADD, milk, 0.93, track_id=1, timestamp=1.0),
        CountEvent(
            EventKind.UNRECOGNISED,
            None,
            0.84,
            track_id=2,
            timestamp=2.5,
            candidates=(ProductMatch(juice, 0.84), ProductMatch(milk, 0.8)),
        ),
        CountEvent(EventKind.UNRECOGNISED, card, 0.41, track_id=3, timestamp=4.0),
    ]
    summary = summarise(events, names, frames=50, fps=10.0)
    assert summary["cart"] == {"Milk": 1}
    assert summary["unsure"] == [
        {
            "t": 2.5,
            "candidates": [
                {"product": "Juice", "score": 0.84},
                {"product": "Milk", "score": 0.8},
            ],
        }
    ]
    assert [e["type"] for e in summary["events"]] == ["ADD", "UNSURE", "UNRECOGNISED"]


def test_json_summary_leaves_out_an_unsure_item_taken_back_out() -> None:
    juice = uuid.UUID(int=1)
    candidates = (ProductMatch(juice, 0.84),)
    events = [
        CountEvent(EventKind.UNRECOGNISED, None, 0.84, 2, 2.5, candidates),
        CountEvent(EventKind.UNRECOGNISED, None, 0.8, 3, 3.0, candidates),
        CountEvent(EventKind.REMOVE, None, 0.84, 5, 4.0, withdraws=2),
    ]
    summary = summarise(events, {juice: "Juice"}, frames=50, fps=10.0)
    assert [item["t"] for item in summary["unsure"]] == [3.0]
    assert [e["type"] for e in summary["events"]] == ["UNSURE", "UNSURE", "UNSURE_REMOVED"]
