"""Catalogue fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from catalog_fixtures import ColourEmbedder
from typer.testing import CliRunner

from ebrcs.config import Settings, get_settings


@pytest.fixture
def colour_embedder(monkeypatch: pytest.MonkeyPatch) -> ColourEmbedder:
    """Make every runtime started in this test use the colour embedder."""
    embedder = ColourEmbedder()
    monkeypatch.setattr("ebrcs.runtime.load_embedder", lambda _settings: embedder)
    return embedder


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[CliRunner]:
    """A runner whose commands use the test database and data dir and the colour embedder."""
    monkeypatch.setenv("EBRCS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("EBRCS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("ebrcs.catalog.cli.load_embedder", lambda _settings: ColourEmbedder())
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
