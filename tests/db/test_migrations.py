"""Migrations go up and down cleanly on both backends."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from ebrcs.db import migrate
from ebrcs.db.migrations.schema import metadata

ALL_TABLES = set(metadata.tables)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_creates_every_table(database_url: str) -> None:
    assert _tables(database_url) == ALL_TABLES


def test_downgrade_removes_everything_and_upgrade_restores_it(database_url: str) -> None:
    migrate.downgrade(database_url, "base")
    assert _tables(database_url) == set()
    migrate.upgrade(database_url)
    assert _tables(database_url) == ALL_TABLES


def test_schema_matches_the_models(database_url: str) -> None:
    """Autogenerate finds nothing to do: the migration and the tables agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = [
                diff
                for diff in compare_metadata(context, metadata)
                if not (isinstance(diff, tuple) and diff[0] == "remove_table")
            ]
    finally:
        engine.dispose()
    assert differences == []


def test_postgres_ddl_is_printable_offline() -> None:
    ddl = migrate.postgres_ddl()
    for name in (*ALL_TABLES, "v_active_sessions", "v_order_history", "cleanup_expired_sessions"):
        assert name in ddl
