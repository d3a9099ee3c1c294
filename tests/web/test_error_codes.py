"""Every error code the server can send has a text in the web app, in every language."""

from __future__ import annotations

import json
import re

from ebrcs.errors import ErrorCode
from ebrcs.web.views import STATIC_DIR

# The socket's own error messages carry codes outside ErrorCode.
SOCKET_CODES = {"frame_too_large", "invalid_frame", "invalid_message", "message_too_large"}


def test_every_server_error_code_is_translated() -> None:
    table = (STATIC_DIR / "js" / "ui.js").read_text()
    mapped = dict(re.findall(r'^\s+([a-z_]+): "(error\.[A-Za-z]+)",', table, re.MULTILINE))
    assert {code.value for code in ErrorCode} | SOCKET_CODES <= set(mapped)
    for path in sorted((STATIC_DIR / "i18n").glob("*.json")):
        catalogue = json.loads(path.read_text())
        assert {key for key in mapped.values() if key not in catalogue} == set(), path.name
