"""Bodies are capped while they stream, and uploads are read only after auth passed.

The app is driven through ``httpx.ASGITransport``, which pulls the request body from the
generator only as the app reads it, so the count of bytes pulled is what the server read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ebrcs.config import Settings

MIB = 1024 * 1024
HUGE = 300 * MIB
READ_AT_MOST = 32 * MIB
BOUNDARY = "limit-test-boundary"


class StreamedBody:
    """A 300 MiB multipart (or JSON-looking) body generated 1 MiB at a time, counting reads."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.pulled = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{self.field}"; '
            f'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        chunk = head + bytes(MIB - len(head))
        while self.pulled < HUGE:
            self.pulled += len(chunk)
            yield chunk
            chunk = bytes(MIB)


async def _post(client: TestClient, path: str, headers: dict[str, str], *, sized: bool) -> Any:
    body = StreamedBody("video" if path.endswith("video-upload") else "images")
    headers = headers | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if sized:
        headers["Content-Length"] = str(HUGE)
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        response = await http.post(path, content=body.chunks(), headers=headers)
    return response, body.pulled


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small video limit, so cutting a video off at it stays quick."""
    return settings.model_copy(update={"max_video_bytes": 2 * MIB})


def _route(client: TestClient, account: Any, route: str) -> str:
    if route == "video":
        session = client.post("/api/sessions", headers=account.headers).json()
        return f"/api/sessions/{session['session_id']}/video-upload"
    return {
        "products": "/api/products",
        "recognize": "/api/recognize",
        "signup": "/api/auth/signup",
    }[route]


@pytest.mark.parametrize("route", ["products", "recognize", "video", "signup"])
@pytest.mark.parametrize("sized", [True, False], ids=["sized", "chunked"])
async def test_a_300_mib_body_from_anyone_is_refused_before_32_mib_are_read(
    client: TestClient, admin: Any, route: str, sized: bool
) -> None:
    path = _route(client, admin, route)
    response, pulled = await _post(client, path, {}, sized=sized)
    assert pulled < READ_AT_MOST
    if sized:
        assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
        assert pulled == 0
    elif route == "signup":  # public: cut off at the default body limit
        assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    else:
        assert response.status_code == 401
        assert pulled == 0


@pytest.mark.parametrize("route", ["products", "recognize"])
@pytest.mark.parametrize("sized", [True, False], ids=["sized", "chunked"])
async def test_a_300_mib_upload_from_an_allowed_caller_is_413_before_32_mib_are_read(
    client: TestClient, admin: Any, route: str, sized: bool
) -> None:
    response, pulled = await _post(client, _route(client, admin, route), admin.headers, sized=sized)
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    assert pulled < READ_AT_MOST


async def test_a_chunked_video_past_its_limit_is_cut_off_at_the_limit(
    client: TestClient, shopper: Any
) -> None:
    limit = client.app.state.runtime.settings.max_video_bytes
    response, pulled = await _post(
        client, _route(client, shopper, "video"), shopper.headers, sized=False
    )
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    assert limit < pulled <= limit + 2 * MIB
