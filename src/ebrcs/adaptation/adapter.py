"""A fitted adapter: the linear map from raw backbone vectors to the catalogue's own space.

The map is ``unit((raw - mean) @ projection)``: whitening and the learned head are both
linear, so they are kept as one matrix and a transform costs a single product. An adapter is
a plain value: numeric arrays and a JSON header, written in a fixed byte layout (no pickle,
no code), whose SHA-256 is its version.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

MAGIC = b"EBRCS-ADAPTER-1\n"
_HEADER_LENGTH = struct.Struct("<I")
_ARRAYS = ("mean", "projection")


class AdapterMismatch(ValueError):
    """An adapter is used with vectors of another backbone than the one it was fitted on."""


class AdapterFormatError(ValueError):
    """Bytes that are not a well-formed adapter."""


@dataclass(frozen=True, eq=False)
class Adapter:
    """Maps ``[n, input_dim]`` raw vectors of ``backbone_id`` to ``[n, dim]`` unit vectors."""

    backbone_id: str
    mean: np.ndarray
    projection: np.ndarray
    details: Mapping[str, Any] = field(default_factory=dict)
    """How it was fitted (settings, seed, products, photos, views): for people, not for code."""

    def __post_init__(self) -> None:
        mean = np.ascontiguousarray(self.mean, dtype=np.float32)
        projection = np.ascontiguousarray(self.projection, dtype=np.float32)
        if mean.ndim != 1 or projection.ndim != 2 or projection.shape[0] != mean.shape[0]:
            raise AdapterFormatError(
                f"mean {mean.shape} and projection {projection.shape} do not fit together"
            )
        if not (np.isfinite(mean).all() and np.isfinite(projection).all()):
            raise AdapterFormatError("adapter holds non-finite numbers")
        mean.flags.writeable = projection.flags.writeable = False
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "projection", projection)
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def input_dim(self) -> int:
        """Length of the raw vectors it takes."""
        return self.mean.shape[0]

    @property
    def dim(self) -> int:
        """Length of the adapted vectors it gives."""
        return self.projection.shape[1]

    @property
    def version(self) -> str:
        """16 hex digits of the SHA-256 of ``to_bytes()``: equal adapters, equal versions."""
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]

    def check_backbone(self, backbone_id: str) -> None:
        """Raise ``AdapterMismatch`` unless this adapter was fitted on ``backbone_id``."""
        if backbone_id != self.backbone_id:
            raise AdapterMismatch(
                f"adapter {self.version} was fitted on embedder {self.backbone_id!r}, "
                f"not on {backbone_id!r}: refit it for this embedder"
            )

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Adapt raw backbone vectors (rows) into L2-normalised float32 rows of length ``dim``."""
        raw = np.asarray(raw, dtype=np.float32)
        if raw.ndim != 2 or raw.shape[1] != self.input_dim:
            raise AdapterMismatch(
                f"adapter {self.version} takes [n, {self.input_dim}] vectors of "
                f"{self.backbone_id!r}, got {list(raw.shape)}"
            )
        adapted = (raw - self.mean) @ self.projection
        norms = np.linalg.norm(adapted, axis=1, keepdims=True)
        return (adapted / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def to_bytes(self) -> bytes:
        """The adapter as bytes: magic, JSON header length and header, then the raw arrays."""
        header = {
            "backbone_id": self.backbone_id,
            "details": dict(self.details),
            "arrays": {name: list(getattr(self, name).shape) for name in _ARRAYS},
        }
        encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        body = b"".join(getattr(self, name).astype("<f4").tobytes() for name in _ARRAYS)
        return MAGIC + _HEADER_LENGTH.pack(len(encoded)) + encoded + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Adapter:
        """Read what ``to_bytes`` wrote; ``AdapterFormatError`` for anything else."""
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _HEADER_LENGTH.size:
            raise AdapterFormatError("not an EBRCS adapter (bad magic)")
        (length,) = _HEADER_LENGTH.unpack_from(data, len(MAGIC))
        start = len(MAGIC) + _HEADER_LENGTH.size
        try:
            header = json.loads(data[start : start + length])
            shapes = {name: tuple(int(n) for n in header["arrays"][name]) for name in _ARRAYS}
            backbone_id, details = str(header["backbone_id"]), dict(header["details"])
        except (ValueError, KeyError, TypeError) as error:
            raise AdapterFormatError(f"adapter header is unreadable: {error}") from error
        arrays, offset = {}, start + length
        for name, shape in shapes.items():
            count = int(np.prod(shape))
            if any(n < 0 for n in shape) or offset + 4 * count > len(data):
                raise AdapterFormatError("adapter is truncated")
            arrays[name] = np.frombuffer(data, "<f4", count, offset).reshape(shape)
            offset += 4 * count
        if offset != len(data):
            raise AdapterFormatError("adapter has trailing bytes")
        return cls(backbone_id, arrays["mean"], arrays["projection"], details)
