"""Index snapshots on disk: written atomically in the background, checked when read."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from ebrcs.catalog.disk import fsync_dir
from ebrcs.catalog.index import INDEX_KINDS, IndexExport, ProductIndex
from ebrcs.catalog.vectors import new_store

log = logging.getLogger(__name__)

# 2: several FAISS parts (a graph and its store) and the vector space; 3: a store that only
# appends is written after the parts as raw rows, copied a chunk at a time.
SNAPSHOT_FORMAT = 3
TRAILER = struct.Struct("<QI")  # payload length, CRC-32 of the payload
CHUNK_ROWS = struct.Struct("<I")  # rows in the store chunk that follows
STALE_TEMP_SECONDS = 3600


class CorruptSnapshot(Exception):
    """The snapshot file cannot be trusted."""


@dataclass(frozen=True)
class SnapshotHeader:
    """What a snapshot holds, readable without loading its vectors.

    ``parts`` FAISS indexes come first in the payload; when ``store_rows`` is not None the
    store follows them as that many rows, in chunks: a row count, int64 ids, float32 vectors.
    """

    kind: str
    dim: int
    embedder_id: str | None
    watermark: int
    space: str
    parts: int
    store_rows: int | None = None


def write_snapshot(index: ProductIndex, path: Path) -> SnapshotHeader:
    """Write ``index`` to ``path`` atomically: a reader sees the old file or the new, whole.

    The index is exported at one moment (``ProductIndex.export``): writers wait only while
    the parts that change in place are written and while each store chunk is copied.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    written: list[SnapshotHeader] = []
    try:
        with temp.open("wb") as file:
            length, crc = 0, 0

            def _chunk(data: bytes | memoryview) -> None:
                nonlocal length, crc
                file.write(data)
                length += len(data)
                crc = zlib.crc32(data, crc)

            def _write_parts(export: IndexExport) -> None:
                header = SnapshotHeader(
                    export.kind,
                    index.dim,
                    index.embedder_id,
                    export.watermark,
                    export.space.tag,
                    len(export.parts),
                    export.store_rows,
                )
                fields = {"format": SNAPSHOT_FORMAT, **header.__dict__}
                file.write(json.dumps(fields).encode() + b"\n")
                for part in export.parts:
                    faiss.write_index(part, faiss.PyCallbackIOWriter(_chunk))
                written.append(header)

            for ids, vectors in index.export(_write_parts):
                _chunk(CHUNK_ROWS.pack(len(ids)))
                _chunk(memoryview(np.ascontiguousarray(ids, dtype="<i8")).cast("B"))
                _chunk(memoryview(np.ascontiguousarray(vectors, dtype="<f4")).cast("B"))
            file.write(TRAILER.pack(length, crc))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return written[0]


def _read_header(file: BinaryIO) -> SnapshotHeader:
    try:
        fields = json.loads(file.readline())
        if fields.pop("format") != SNAPSHOT_FORMAT:
            raise CorruptSnapshot("unknown snapshot format")
        return SnapshotHeader(**fields)
    except (ValueError, TypeError, KeyError) as error:
        raise CorruptSnapshot(f"unreadable header: {error}") from error


def _read_store(file: BinaryIO, rows: int, dim: int) -> faiss.IndexIDMap2:
    """The store written as raw rows, chunk by chunk, back as an index."""
    store = new_store(dim)
    while store.ntotal < rows:
        (count,) = CHUNK_ROWS.unpack(_read_exactly(file, CHUNK_ROWS.size))
        if not 0 < count <= rows - store.ntotal:
            raise CorruptSnapshot("snapshot store chunk does not fit its header")
        ids = np.frombuffer(_read_exactly(file, 8 * count), dtype="<i8")
        vectors = np.frombuffer(_read_exactly(file, 4 * count * dim), dtype="<f4")
        store.add_with_ids(vectors.reshape(count, dim), ids)
    return store


def _read_exactly(file: BinaryIO, size: int) -> bytes:
    data = file.read(size)
    if len(data) != size:
        raise CorruptSnapshot("snapshot store is shorter than its header says")
    return data


def read_snapshot(path: Path) -> tuple[SnapshotHeader, list[faiss.Index]]:
    """The header and FAISS parts (the store first) at ``path``; ``CorruptSnapshot`` if damaged."""
    size = path.stat().st_size
    with path.open("rb") as file:
        header = _read_header(file)
        start = file.tell()
        if size - start < TRAILER.size:
            raise CorruptSnapshot("truncated snapshot")
        file.seek(size - TRAILER.size)
        length, expected_crc = TRAILER.unpack(file.read(TRAILER.size))
        if start + length + TRAILER.size != size:
            raise CorruptSnapshot("snapshot length does not match its trailer")
        # Check every byte before FAISS parses them: a damaged file must not reach the parser.
        file.seek(start)
        crc, remaining = 0, length
        while remaining:
            chunk = file.read(min(remaining, 1 << 22))
            if not chunk:
                raise CorruptSnapshot("truncated snapshot")
            crc = zlib.crc32(chunk, crc)
            remaining -= len(chunk)
        if crc != expected_crc:
            raise CorruptSnapshot("snapshot checksum mismatch")
        file.seek(start)
        reader = faiss.PyCallbackIOReader(file.read)
        try:
            parts = [faiss.read_index(reader) for _ in range(header.parts)]
        except RuntimeError as error:
            raise CorruptSnapshot(f"FAISS cannot read the snapshot: {error}") from error
        if header.store_rows is not None:
            parts.insert(0, _read_store(file, header.store_rows, header.dim))
        if file.tell() != start + length:
            raise CorruptSnapshot("snapshot parts do not fill its payload")
    if header.kind not in INDEX_KINDS or not parts or not isinstance(parts[0], faiss.IndexIDMap2):
        raise CorruptSnapshot("snapshot does not hold an id-mapped index of a known kind")
    return header, parts


def remove_stale_temp_files(path: Path) -> None:
    """Delete temp files that crashed writers left behind (old enough to be dead)."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()


class SnapshotWriter:
    """A background thread that snapshots the index when it changed, and once at stop.

    Snapshots are a start-up shortcut, never the truth: the database is. So writing one per
    interval (not per addition) keeps each registration free of work that grows with the
    catalogue, and a lost snapshot costs only a longer start.
    """

    def __init__(self, index: ProductIndex, path: Path, interval_seconds: float) -> None:
        self.index = index
        self.path = path
        self.interval_seconds = interval_seconds
        self._written_version = index.version
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-snapshots", daemon=True)

    def start(self) -> SnapshotWriter:
        """Begin snapshotting in the background."""
        self._thread.start()
        return self

    def write_if_changed(self) -> bool:
        """Write a snapshot now if the index changed since the last one."""
        version = self.index.version
        if version == self._written_version:
            return False
        header = write_snapshot(self.index, self.path)
        self._written_version = version
        log.info("index snapshot written to %s (watermark %d)", self.path, header.watermark)
        return True

    def stop(self) -> None:
        """Stop the thread and write a last snapshot if needed."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.write_if_changed()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.write_if_changed()
            except OSError:
                log.exception("index snapshot failed; will retry")
