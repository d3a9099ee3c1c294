"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.app import create_app
from ebrcs.auth import passwords, tokens
from ebrcs.auth import service as users
from ebrcs.auth.models import Role
from ebrcs.config import Settings
from ebrcs.db import migrate
from ebrcs.db.engine import make_engine
from pg_databases import POSTGRES_ADMIN_DSN, DatabaseDropper, PostgresPool, admin_execute

IN_CI = os.environ.get("CI", "").lower() == "true"
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


@pytest.fixture(autouse=True, scope="session")
def cheaper_embedder() -> Iterator[None]:
    """Tests embed with MobileNetV2 alone, a quarter of the shipped pair's cost per photo.

    Through the environment, so settings built anywhere in a test (the command line's
    included) agree with the catalogue the test registered; servers started as processes
    (``live_server``) and tests naming an embedder run the one they name.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EBRCS_EMBEDDER", os.environ.get("EBRCS_EMBEDDER", "mobilenet_v2"))
        yield


@pytest.fixture(scope="session")
def dataset_dir() -> Path:
    """Path of the Grocery Store dataset."""
    return require_dataset()


def _postgres_url(database: str) -> str:
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


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
    admin_execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_postgres_url(name))
    yield name
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
