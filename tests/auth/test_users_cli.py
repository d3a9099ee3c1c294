"""``ebrcs users`` and ``ebrcs demo-users`` for operators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from ebrcs.auth import service
from ebrcs.auth.models import Role
from ebrcs.auth.passwords import verify_password
from ebrcs.cli import app
from ebrcs.config import get_settings


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[CliRunner]:
    """A runner whose commands use the test database."""
    monkeypatch.setenv("EBRCS_DATABASE_URL", database_url)
    monkeypatch.setenv("EBRCS_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _user(sessions: sessionmaker[Session], username: str):  # type: ignore[no-untyped-def]
    with sessions() as db:
        return service.require_by_username(db=db, username=username)


def _create(cli: CliRunner, *args: str, password: str = "correct horse") -> None:
    result = cli.invoke(app, ["users", "create", *args, "--password-stdin"], input=password + "\n")
    assert result.exit_code == 0, result.output


def test_create_and_list(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    _create(cli, "alice", "--role", "admin")
    listed = cli.invoke(app, ["users", "list"])
    assert listed.exit_code == 0
    assert "alice\tadmin\tactive" in listed.output
    assert _user(sessions, "alice").role == Role.ADMIN


def test_set_role(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    _create(cli, "bob")
    result = cli.invoke(app, ["users", "set-role", "bob", "admin"])
    assert result.exit_code == 0, result.output
    assert _user(sessions, "bob").role == Role.ADMIN


def test_deactivate_and_activate(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    _create(cli, "bob")
    assert cli.invoke(app, ["users", "deactivate", "bob"]).exit_code == 0
    assert _user(sessions, "bob").is_active is False
    assert cli.invoke(app, ["users", "activate", "bob"]).exit_code == 0
    assert _user(sessions, "bob").is_active is True


def test_removing_the_last_admin_warns(cli: CliRunner) -> None:
    _create(cli, "alice", "--role", "admin")
    result = cli.invoke(app, ["users", "deactivate", "alice"])
    assert "no active admin is left" in result.stderr


def test_reset_password_from_stdin(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    _create(cli, "bob")
    result = cli.invoke(
        app, ["users", "reset-password", "bob", "--password-stdin"], input="a new passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert verify_password(_user(sessions, "bob").password_hash, "a new passphrase")
    assert "a new passphrase" not in result.output


def test_reset_password_from_the_prompt(cli: CliRunner, sessions: sessionmaker[Session]) -> None:
    _create(cli, "bob")
    result = cli.invoke(
        app, ["users", "reset-password", "bob"], input="a new passphrase\na new passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert verify_password(_user(sessions, "bob").password_hash, "a new passphrase")


def test_reset_password_keeps_the_password_rules(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    _create(cli, "bob")
    result = cli.invoke(
        app, ["users", "reset-password", "bob", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "password must be 8-128 characters" in result.stderr
    assert verify_password(_user(sessions, "bob").password_hash, "correct horse")


def test_an_unknown_username_is_an_error(cli: CliRunner) -> None:
    result = cli.invoke(app, ["users", "deactivate", "nobody"])
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.stderr


def test_demo_users_creates_the_insecure_demo_accounts_loudly(
    cli: CliRunner, sessions: sessionmaker[Session]
) -> None:
    result = cli.invoke(app, ["demo-users"])
    assert result.exit_code == 0, result.output
    assert "INSECURE" in result.stderr
    assert _user(sessions, "admin").role == Role.ADMIN
    assert verify_password(_user(sessions, "admin").password_hash, "admin123")
    assert verify_password(_user(sessions, "user1").password_hash, "user123")
    again = cli.invoke(app, ["demo-users"])
    assert again.exit_code == 0
    assert "admin exists, left unchanged" in again.output
