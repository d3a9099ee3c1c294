"""Settings: URLs, the data dir and the JWT secret."""

from __future__ import annotations

from pathlib import Path

from ebrcs.config import Settings


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'ebrcs.db'}"


def test_postgresql_urls_use_psycopg_3() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert settings.resolved_database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_jwt_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path, jwt_secret=None).resolved_jwt_secret()
    second = Settings(data_dir=tmp_path, jwt_secret=None).resolved_jwt_secret()
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0


def test_configured_jwt_secret_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="from-the-environment")
    assert settings.resolved_jwt_secret() == "from-the-environment"
    assert not (tmp_path / "jwt_secret").exists()
