"""Catalogue fixtures."""

from __future__ import annotations

import pytest
from catalog_fixtures import ColourEmbedder


@pytest.fixture
def colour_embedder(monkeypatch: pytest.MonkeyPatch) -> ColourEmbedder:
    """Make every runtime started in this test use the colour embedder."""
    embedder = ColourEmbedder()
    monkeypatch.setattr("ebrcs.runtime.load_embedder", lambda _settings: embedder)
    return embedder
