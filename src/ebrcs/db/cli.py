"""``ebrcs db``: schema migrations."""

from __future__ import annotations

import typer

from ebrcs.config import get_settings
from ebrcs.db import migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = "head") -> None:
    """Migrate the configured database up to REVISION."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="target revision, e.g. base")) -> None:
    """Migrate the configured database down to REVISION."""
    migrate.downgrade(get_settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def sql() -> None:
    """Print the PostgreSQL DDL of the whole schema."""
    typer.echo(migrate.postgres_ddl())
