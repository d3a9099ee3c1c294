"""Multipart uploads read only after the route's auth passed, and described in OpenAPI.

A route that declared ``File``/``Form`` parameters would have FastAPI spool the whole body
before any dependency runs, so an anonymous caller could make the server write an upload to
disk before its 401. Upload routes take ``MultipartForm`` after their auth dependency instead:
dependencies resolve in order, so the body is read only for a caller who may send it (and
``ebrcs.body_limit`` caps it while it streams).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from ebrcs.errors import InvalidInput

MAX_FILES = 16
MAX_FIELDS = 16


async def _read_form(request: Request) -> AsyncIterator[FormData]:
    """The request's form; its spooled files are closed when the response is sent."""
    async with request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS) as form:
        yield form


MultipartForm = Annotated[FormData, Depends(_read_form)]
"""Declare it after the route's auth dependency."""


def files(form: FormData, field: str) -> list[UploadFile]:
    """The files sent in ``field``; InvalidInput when a value there is not a file."""
    values = form.getlist(field)
    if not all(isinstance(value, UploadFile) for value in values):
        raise InvalidInput(f"the multipart field {field!r} holds files only")
    return [value for value in values if isinstance(value, UploadFile)]


def text_field(form: FormData, field: str) -> str | None:
    """The text sent in ``field`` (None when absent); InvalidInput when it is a file."""
    value = form.get(field)
    if isinstance(value, UploadFile):
        raise InvalidInput(f"the multipart field {field!r} is text, not a file")
    return value


def multipart_body(properties: dict[str, Any], *, required: list[str]) -> dict[str, Any]:
    """``openapi_extra`` stating a route's multipart body, which FastAPI cannot see."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


def file_schema(description: str) -> dict[str, Any]:
    """One uploaded file in a multipart body."""
    return {"type": "string", "format": "binary", "description": description}


def files_schema(description: str, *, max_items: int) -> dict[str, Any]:
    """1 to ``max_items`` uploaded files in one multipart field."""
    return {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "minItems": 1,
        "maxItems": max_items,
        "description": description,
    }
