"""Per-test PostgreSQL databases: reused from a pool, dropped in the background."""

from __future__ import annotations

import os
import queue
import threading
import uuid

import psycopg
from psycopg import sql

POSTGRES_ADMIN_DSN = os.environ.get(
    "EBRCS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def admin_execute(statement: str) -> None:
    """Run one statement on the test server's admin database, outside a transaction."""
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(statement)


DROP_BATCH = 8
"""Databases dropped together at most (each on its own connection)."""


class DatabaseDropper:
    """Drops finished tests' PostgreSQL databases in the background, several at a time.

    Each DROP DATABASE waits for a checkpoint (seconds on a busy disk), which the next test
    need not wait for; drops running together share one, so whatever has piled up is dropped
    at once. ``close`` waits for every drop and raises the first failure.
    """

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._failures: list[psycopg.Error] = []
        self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self._thread.start()

    def drop(self, name: str) -> None:
        """End every connection to ``name`` now (a finished test's pools), drop it soon."""
        terminate_connections(name)
        self._names.put(name)

    def close(self) -> None:
        """Wait until every database handed over is gone."""
        self._names.put(None)
        self._thread.join()
        if self._failures:
            raise self._failures[0]

    def _run(self) -> None:
        closing = False
        while not closing:
            batch = [self._names.get()]
            while len(batch) < DROP_BATCH and not self._names.empty():
                batch.append(self._names.get_nowait())
            closing = None in batch
            drops = [
                threading.Thread(target=self._drop, args=(name,)) for name in batch if name
            ]
            for drop in drops:
                drop.start()
            for drop in drops:
                drop.join()

    def _drop(self, name: str) -> None:
        try:
            admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error as error:
            self._failures.append(error)


SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
    SELECT 'c ' || table_name || '.' || column_name || ' ' || data_type || ' '
           || coalesce(column_default, '') AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT 'i ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT 'k ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'v ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public'
    UNION ALL SELECT 'f ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
      FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public'
    UNION ALL SELECT 't ' || tgname FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL SELECT 'a ' || version_num FROM alembic_version
) AS schema
"""
"""One hash of everything a migration makes: a database whose hash changed is not reused."""


class SchemaChanged(Exception):
    """A test changed a database's schema (e.g. a migration test): it is dropped, not reused."""


class PostgresPool:
    """Per-test PostgreSQL databases: copied from the template, then emptied and reused.

    Creating a database is quick, but dropping one waits for a checkpoint (seconds on a busy
    disk) and most tests only add rows. A database given back with the template's schema is
    emptied (every table's rows deleted, sequences set back, the template's own rows put
    back) and handed to the next test; one whose schema a test changed is dropped in the
    background.
    """

    def __init__(self, template: str, dropper: DatabaseDropper) -> None:
        self._template = template
        self._dropper = dropper
        self._free: list[str] = []
        with connect(template) as connection:
            self._fingerprint = connection.execute(SCHEMA_FINGERPRINT).fetchone()
            self._tables = [
                row[0]
                for row in connection.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ]
            self._sequences = connection.execute(
                "SELECT format('%I.%I', schemaname, sequencename), "
                "coalesce(last_value, start_value), last_value IS NOT NULL "
                "FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall()
            self._rows: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
            for table in self._tables:
                select_all = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
                cursor = connection.execute(select_all)
                rows = cursor.fetchall()
                if rows:
                    columns = [column.name for column in cursor.description or []]
                    self._rows[table] = (columns, rows)

    def take(self) -> str:
        """A database exactly like the template, for one test."""
        if self._free:
            return self._free.pop()
        name = f"ebrcs_t_{uuid.uuid4().hex[:12]}"
        admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return name

    def give_back(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it if its schema changed."""
        terminate_connections(name)
        try:
            with connect(name) as connection:
                if connection.execute(SCHEMA_FINGERPRINT).fetchone() != self._fingerprint:
                    raise SchemaChanged(name)
                # DELETE, not TRUNCATE: a TRUNCATE makes new files (half a second here), and
                # these tables hold a few rows. Foreign keys are not checked while emptying.
                connection.execute("SET LOCAL session_replication_role = replica")
                for table in self._tables:
                    connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                for sequence, value, called in self._sequences:
                    connection.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))
                for table, (columns, rows) in self._rows.items():
                    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                        sql.Identifier(table),
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                    )
                    connection.cursor().executemany(insert, rows)
        except (psycopg.Error, SchemaChanged):
            self._dropper.drop(name)
            return
        self._free.append(name)

    def close(self) -> None:
        """Drop every database kept for reuse."""
        for name in self._free:
            self._dropper.drop(name)
        self._free.clear()


def connect(database: str) -> psycopg.Connection:
    """A connection to one database of the test server."""
    return psycopg.connect(POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database)


def terminate_connections(database: str) -> None:
    """End every connection to ``database`` (a finished test's pools and servers)."""
    admin_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )
