"""What every text input accepts: no NUL (PostgreSQL text cannot hold one), valid Unicode.

The same input then gets the same answer on SQLite and PostgreSQL, and the OpenAPI schema
states the rule as a pattern.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints

NO_NUL = r"^[^\x00]*$"

Text = Annotated[str, StringConstraints(pattern=NO_NUL)]


def text(
    *, max_length: int, min_length: int = 0, strip: bool = False, pattern: str = NO_NUL
) -> Any:
    """String constraints for a text field (``pattern`` must itself exclude NUL)."""
    return StringConstraints(
        strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=pattern
    )
