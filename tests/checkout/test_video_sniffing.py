"""Video uploads are sniffed: only MP4/MOV, AVI and Matroska reach the decoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from checkout_scenes import empty_counter, jpeg, write_video
from fastapi.testclient import TestClient

from ebrcs.checkout.video import sniff_container


def _upload(client: TestClient, account: Any, data: bytes, filename: str) -> Any:
    session_id = client.post("/api/sessions", headers=account.headers).json()["session_id"]
    return client.post(
        f"/api/sessions/{session_id}/video-upload",
        files={"video": (filename, data, "video/mp4")},
        headers=account.headers,
    )


def _avi(tmp_path: Path) -> Path:
    path = tmp_path / "real.avi"
    write_video(str(path), empty_counter(3))
    return path


def test_a_jpeg_named_mp4_is_refused(client: TestClient, shopper: Any) -> None:
    response = _upload(client, shopper, jpeg(empty_counter(1)[0]), "checkout.mp4")
    assert (response.status_code, response.json()["code"]) == (422, "video_format")


def test_an_ffconcat_list_named_mp4_is_refused_though_ffmpeg_would_play_it(
    client: TestClient, shopper: Any, tmp_path: Path
) -> None:
    playlist = f"ffconcat version 1.0\nfile '{_avi(tmp_path)}'\n".encode()
    response = _upload(client, shopper, playlist, "checkout.mp4")
    assert (response.status_code, response.json()["code"]) == (422, "video_format")


def test_a_real_avi_is_accepted(client: TestClient, shopper: Any, tmp_path: Path) -> None:
    response = _upload(client, shopper, _avi(tmp_path).read_bytes(), "checkout.avi")
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("head", "container"),
    [
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "mp4"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "avi"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "mkv"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", None),
        (b"ffconcat version 1.0\n", None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
    ],
    ids=["mp4", "mov", "avi", "mkv", "jpeg", "ffconcat", "wav"],
)
def test_sniffing_names_only_the_listed_containers(head: bytes, container: str | None) -> None:
    assert sniff_container(head) == container
