"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.app import create_app
from ebrcs.auth import passwords, tokens
from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.config import Settings
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_DSN = os.environ.get(
    "EBRCS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
DATASET_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "grocery-store"


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_ADMIN_DSN} is unreachable: {error}"


def require_postgres() -> None:
    """Skip (outside CI) or fail (in CI) when PostgreSQL is missing."""
    reason = _postgres_reachable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true needs PostgreSQL: {reason}")
    pytest.skip(reason)


def require_dataset() -> Path:
    """The Grocery Store dataset folder; skip (outside CI) or fail (in CI) when absent."""
    if (DATASET_DIR / "classes.csv").exists():
        return DATASET_DIR
    reason = f"the grocery-store dataset is not at {DATASET_DIR}"
    if IN_CI:
        pytest.fail(f"CI=true needs the dataset: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Argon2id with the smallest cost: the same code path, without 0.3 s per hash."""
    real = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = real


@pytest.fixture(scope="session")
def dataset_dir() -> Path:
    """Path of the Grocery Store dataset."""
    return require_dataset()


def _admin_execute(statement: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(statement)


def _postgres_url(database: str) -> str:
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


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
        _terminate_connections(name)
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
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
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
        with _connect(template) as connection:
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
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return name

    def give_back(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it if its schema changed."""
        _terminate_connections(name)
        try:
            with _connect(name) as connection:
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


def _connect(database: str) -> psycopg.Connection:
    return psycopg.connect(POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database)


def _terminate_connections(database: str) -> None:
    """End every connection to ``database`` (a finished test's pools and servers)."""
    _admin_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )


@pytest.fixture(scope="session")
def postgres_pool(postgres_template: str) -> Iterator[PostgresPool]:
    """The session's per-test PostgreSQL databases."""
    dropper = DatabaseDropper()
    pool = PostgresPool(postgres_template, dropper)
    yield pool
    pool.close()
    dropper.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that per-test databases are copied from."""
    path = tmp_path_factory.mktemp("sqlite-template") / "ebrcs.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    original.close()
    copy.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database that per-test databases are copied from."""
    require_postgres()
    name = f"ebrcs_tmpl_{uuid.uuid4().hex[:10]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_postgres_url(name))
    yield name
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of each backend, holding only what the migrations put there."""
    if request.param == "sqlite":
        path = tmp_path / "ebrcs.db"
        _copy_sqlite(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    pool = request.getfixturevalue("postgres_pool")
    name = pool.take()
    yield _postgres_url(name)
    pool.give_back(name)


@pytest.fixture
def backend(database_url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test: its own data dir and database."""
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        jwt_secret="test-secret-" + uuid.uuid4().hex,
    )


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test database."""
    engine = make_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One session on the test database."""
    with sessions() as session:
        yield session


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A test client of a fully started app."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Account:
    """A user created for a test, with a valid bearer token."""

    user_id: uuid.UUID
    username: str
    password: str
    role: Role
    headers: dict[str, str]


@pytest.fixture
def make_account(client: TestClient, settings: Settings) -> Callable[..., Account]:
    """Create accounts in the app's database: ``make_account(Role.ADMIN)``."""

    def _make(role: Role = Role.USER, username: str | None = None) -> Account:
        username = username or f"{role.value}_{uuid.uuid4().hex[:8]}"
        password = "correct-horse-" + uuid.uuid4().hex[:6]
        with client.app.state.runtime.sessions() as session:
            user = users.create(db=session, username=username, password=password, role=role)
            token = tokens.issue(user, settings).token
        headers = {"Authorization": f"Bearer {token}"}
        return Account(user.id, username, password, role, headers)

    return _make


@pytest.fixture
def admin(make_account: Callable[..., Account]) -> Account:
    """An admin account."""
    return make_account(Role.ADMIN)


@pytest.fixture
def shopper(make_account: Callable[..., Account]) -> Account:
    """A shopper (role ``user``) account."""
    return make_account(Role.USER)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests passed on each database, so a CI log shows PostgreSQL really ran."""
    params = [
        set(report.nodeid.partition("[")[2].rstrip("]").split("-"))
        for report in terminalreporter.stats.get("passed", [])
    ]
    sqlite = sum("sqlite" in ids for ids in params)
    postgresql = sum("postgresql" in ids for ids in params)
    terminalreporter.write_line(
        f"database tests passed: {sqlite} on SQLite, {postgresql} on PostgreSQL"
    )
