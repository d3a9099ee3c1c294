"""``ebrcs users``: account management for operators."""

from __future__ import annotations

import sys

import typer

from ebrcs.auth import service
from ebrcs.auth.models import Role
from ebrcs.db.engine import session_factory
from ebrcs.errors import DomainError

app = typer.Typer(help="User accounts.", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _fail(error: DomainError) -> None:
    typer.echo(f"error: {error.message}", err=True)
    raise typer.Exit(1)


@app.command()
def create(
    username: str,
    role: Role = typer.Option(Role.USER, help="user or admin"),
    email: str | None = typer.Option(None),
    password_stdin: bool = typer.Option(False, help="read the password from standard input"),
) -> None:
    """Create a user account."""
    password = _read_password(password_stdin)
    with session_factory()() as db:
        try:
            user = service.create(
                db=db, username=username, password=password, role=role, email=email
            )
        except DomainError as error:
            _fail(error)
        typer.echo(f"created {user.role.value} {user.username} ({user.id})")


@app.command("list")
def list_users() -> None:
    """List user accounts."""
    with session_factory()() as db:
        for user in service.list_all(db=db):
            state = "active" if user.is_active else "inactive"
            typer.echo(f"{user.username}\t{user.role.value}\t{state}\t{user.id}")
