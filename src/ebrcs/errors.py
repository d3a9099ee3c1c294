"""Domain errors raised by services, each with a stable code; ``http_errors`` turns them into HTTP.

Every error response has one shape, ``{"detail": "<English message>", "code": "<code>"}``, and
validation errors add ``"errors": [{"loc": [...], "msg": "...", "type": "..."}]``. ``detail`` is
for people and may change; ``code`` is one of ``ErrorCode`` and is what clients translate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every ``code`` an error response can carry; clients key translations on these."""

    # One per status, for errors without a more specific code.
    BAD_REQUEST = "bad_request"
    NOT_AUTHENTICATED = "not_authenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_INPUT = "invalid_input"
    VALIDATION_ERROR = "validation_error"
    TOO_MANY_REQUESTS = "too_many_requests"
    SERVER_ERROR = "server_error"
    # Requests as a whole.
    BODY_TOO_LARGE = "body_too_large"
    # Accounts and login.
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    ADMIN_REQUIRED = "admin_required"
    LOGIN_THROTTLED = "login_throttled"
    SIGNUP_THROTTLED = "signup_throttled"
    INVALID_USERNAME = "invalid_username"
    INVALID_PASSWORD = "invalid_password"
    INVALID_EMAIL = "invalid_email"
    USERNAME_TAKEN = "username_taken"
    USER_NOT_FOUND = "user_not_found"
    # Catalogue and photos.
    PRODUCT_NOT_FOUND = "product_not_found"
    IMAGE_NOT_FOUND = "image_not_found"
    PHOTO_NOT_STORED = "photo_not_stored"
    PRICE_TOO_HIGH = "price_too_high"
    IMAGE_COUNT = "image_count"
    TOO_MANY_PHOTOS = "too_many_photos"
    FIELD_NOT_NULLABLE = "field_not_nullable"
    IMAGE_EMPTY = "image_empty"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
    IMAGE_TOO_SMALL = "image_too_small"
    IMAGE_UNSUPPORTED = "image_unsupported"
    IMAGE_UNREADABLE = "image_unreadable"
    # Checkout sessions, bills and orders.
    SESSION_NOT_FOUND = "session_not_found"
    SESSION_NOT_ACTIVE = "session_not_active"
    TOO_MANY_OPEN_SESSIONS = "too_many_open_sessions"
    INVALID_ROI = "invalid_roi"
    INVALID_CONTROL = "invalid_control"
    UNKNOWN_PRODUCTS = "unknown_products"
    PRODUCTS_NOT_SOLD = "products_not_sold"
    QUANTITY_OUT_OF_RANGE = "quantity_out_of_range"
    PRODUCT_LISTED_TWICE = "product_listed_twice"
    CART_TOTAL_TOO_LARGE = "cart_total_too_large"
    CART_EMPTY = "cart_empty"
    UNSURE_ITEMS_OPEN = "unsure_items_open"
    UNSURE_ITEM_CLOSED = "unsure_item_closed"
    UNSURE_ITEM_NOT_FOUND = "unsure_item_not_found"
    ORDER_NOT_FOUND = "order_not_found"
    # Catalogue upkeep in the web app.
    DUPLICATE_PRODUCT_NAME = "duplicate_product_name"
    LAST_PHOTO = "last_photo"
    # Videos.
    VIDEO_FORMAT = "video_format"
    VIDEO_MISSING = "video_missing"
    VIDEO_TOO_LARGE = "video_too_large"
    VIDEO_EMPTY = "video_empty"
    VIDEO_UNDECODABLE = "video_undecodable"
    VIDEO_BUSY = "video_busy"
    VIDEO_TASK_NOT_FOUND = "video_task_not_found"


class DomainError(Exception):
    """A failure the caller can act on; ``status_code`` is how HTTP reports it."""

    status_code = 400
    code = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422
    code = ErrorCode.INVALID_INPUT

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.errors = errors


class NotAuthenticated(DomainError):
    """No valid credentials were presented."""

    status_code = 401
    code = ErrorCode.NOT_AUTHENTICATED


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status_code = 403
    code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    """The object does not exist, or is not the caller's to see."""

    status_code = 404
    code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    """The object's state does not allow this now."""

    status_code = 409
    code = ErrorCode.CONFLICT


class PayloadTooLarge(DomainError):
    """An upload or frame is over its size limit."""

    status_code = 413
    code = ErrorCode.PAYLOAD_TOO_LARGE


class TooManyRequests(DomainError):
    """The caller must wait before trying again."""

    status_code = 429
    code = ErrorCode.TOO_MANY_REQUESTS

    def __init__(
        self, message: str, *, retry_after_seconds: int, code: ErrorCode | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_seconds = retry_after_seconds


def field_errors(issues: list[Any]) -> list[dict[str, Any]]:
    """Pydantic's error list reduced to what is safe to send back: where, what, which kind."""
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in issue.get("loc", ())],
            "msg": str(issue.get("msg", "")),
            "type": str(issue.get("type", "")),
        }
        for issue in issues
    ]


def describe(errors: list[dict[str, Any]]) -> str:
    """Field errors as one readable line."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in errors
    )
