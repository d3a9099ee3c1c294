"""The ``ebrcs`` command line: each domain contributes its own command group."""

from __future__ import annotations

import logging

import typer

from ebrcs.auth.cli import app as users_app
from ebrcs.auth.cli import demo_users
from ebrcs.catalog.cli import (
    bench_index,
    bench_pgvector,
    bench_search,
    catalog_app,
    products_app,
)
from ebrcs.checkout.video_cli import checkout_video
from ebrcs.db.cli import app as db_app
from ebrcs.evaluation.cli import eval_app
from ebrcs.server import serve

app = typer.Typer(help="Embedding-based retail checkout system.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(products_app, name="products")
app.add_typer(catalog_app, name="catalog")
bench_app = typer.Typer(help="Benchmarks (from a source checkout).", no_args_is_help=True)
bench_app.command("index")(bench_index)
bench_app.command("search")(bench_search)
bench_app.command("pgvector")(bench_pgvector)
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")
app.command("demo-users")(demo_users)
app.command("serve")(serve)
app.command("checkout-video")(checkout_video)


def main() -> None:
    """Entry point of the ``ebrcs`` console script."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()
