"""``ebrcs users``: account management for operators."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from sqlalchemy.orm import Session

from ebrcs.auth import service
from ebrcs.auth.models import Role, User
from ebrcs.db.engine import session_factory
from ebrcs.errors import DomainError

app = typer.Typer(help="User accounts.", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _fail(error: DomainError) -> NoReturn:
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


def _require_user(db: Session, username: str) -> User:
    try:
        return service.require_by_username(db=db, username=username)
    except DomainError as error:
        _fail(error)


@app.command("set-role")
def set_role(username: str, role: Role) -> None:
    """Make a user an admin or a plain user."""
    with session_factory()() as db:
        user = service.set_role(db=db, user=_require_user(db, username), role=role)
        typer.echo(f"{user.username} is now {user.role.value}")
        _warn_if_no_admin(db)


@app.command()
def deactivate(username: str) -> None:
    """Block a user's logins and invalidate their tokens."""
    with session_factory()() as db:
        user = service.set_active(db=db, user=_require_user(db, username), active=False)
        typer.echo(f"deactivated {user.username}")
        _warn_if_no_admin(db)


@app.command()
def activate(username: str) -> None:
    """Allow a deactivated user to log in again."""
    with session_factory()() as db:
        user = service.set_active(db=db, user=_require_user(db, username), active=True)
        typer.echo(f"activated {user.username}")


@app.command("reset-password")
def reset_password(
    username: str,
    password_stdin: bool = typer.Option(False, help="read the password from standard input"),
) -> None:
    """Set a new password for a user."""
    with session_factory()() as db:
        user = _require_user(db, username)
        try:
            service.set_password(db=db, user=user, password=_read_password(password_stdin))
        except DomainError as error:
            _fail(error)
        typer.echo(f"password of {user.username} changed")


DEMO_ACCOUNTS = (("admin", "admin123", Role.ADMIN), ("user1", "user123", Role.USER))


def demo_users() -> None:
    """Create the INSECURE demo accounts admin/admin123 and user1/user123 (never in production)."""
    typer.secho(
        "WARNING: INSECURE demo accounts with publicly known passwords (admin/admin123, "
        "user1/user123). Never run this on a server others can reach; deactivate them with "
        "`ebrcs users deactivate NAME`.",
        fg=typer.colors.RED,
        bold=True,
        err=True,
    )
    with session_factory()() as db:
        for username, password, role in DEMO_ACCOUNTS:
            if service.get_by_username(db=db, username=username) is not None:
                typer.echo(f"{username} exists, left unchanged")
                continue
            # "user123" is shorter than the password rule allows: demo accounts skip the rule
            # on purpose, to match the original system's well-known demo logins.
            service.create(
                db=db,
                username=username,
                password=password,
                role=role,
                enforce_password_rules=False,
            )
            typer.echo(f"created {role.value} {username} with password {password}")


def _warn_if_no_admin(db: Session) -> None:
    if not service.admin_exists(db=db):
        typer.secho(
            "warning: no active admin is left; create one with "
            "`ebrcs users create NAME --role admin`",
            fg=typer.colors.YELLOW,
            err=True,
        )
