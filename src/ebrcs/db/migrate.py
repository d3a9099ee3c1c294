"""Run Alembic migrations from code, so the CLI and tests need no alembic.ini."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str, output: io.StringIO | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations and the given database."""
    config = Config(output_buffer=output) if output else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the database schema down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def postgres_ddl() -> str:
    """The full PostgreSQL DDL of every migration, as offline SQL."""
    buffer = io.StringIO()
    command.upgrade(
        alembic_config("postgresql+psycopg://user@localhost/ebrcs", buffer), "head", sql=True
    )
    return buffer.getvalue()
