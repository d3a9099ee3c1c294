"""``ebrcs products`` and ``ebrcs catalog``: filling and maintaining the catalogue."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import typer

from ebrcs.adaptation.fit import FitDeadlineExceeded
from ebrcs.catalog import (
    adapters,
    adapting,
    flows,
    importing,
    index_bench,
    pgvector_bench,
    reembedding,
    search_bench,
    service,
)
from ebrcs.catalog.index import INDEX_KINDS, ProductIndex
from ebrcs.catalog.loading import check_embedder
from ebrcs.catalog.sync import announce_adapter
from ebrcs.config import get_settings
from ebrcs.db.engine import session_factory
from ebrcs.embedding.registry import load_embedder
from ebrcs.progress import progress_bar

products_app = typer.Typer(help="Products.", no_args_is_help=True)
catalog_app = typer.Typer(help="The catalogue's stored vectors.", no_args_is_help=True)


@products_app.command("import-dir")
def import_dir(
    root: Path = typer.Argument(..., exists=True, file_okay=False, help="folder of folders"),
    shots: int = typer.Option(3, min=1, help="photos per product (first K by name)"),
) -> None:
    """Register every folder that directly holds photos as a product named after it.

    Products whose name already exists are skipped, so re-running resumes. A running
    server sees the new products after its next start.
    """
    settings = get_settings()
    embedder = load_embedder(settings)
    sessions = session_factory(settings)
    # The server rebuilds its own index from the database; this one only receives the adds.
    sink = ProductIndex(embedder.dim, embedder_id=embedder.id)
    added = skipped = 0
    with sessions() as db:
        check_embedder(db=db, embedder=embedder)
    folders = list(importing.photo_folders(root, shots))
    for name, photos in progress_bar(folders, desc="products", unit="product"):
        with sessions() as db:
            if service.name_exists(db=db, name=name):
                skipped += 1
                continue
            flows.register_product(
                db=db,
                index=sink,
                embedder=embedder,
                settings=settings,
                fields={"name": name},
                uploads=[path.read_bytes() for path in photos],
                created_by=None,
            )
            added += 1
    typer.echo(f"{added} products added, {skipped} already present")


@catalog_app.command("import-npy")
def import_npy(
    embeddings: Path = typer.Argument(..., exists=True, dir_okay=False, help="embeddings.npy"),
    labels: Path = typer.Argument(..., exists=True, dir_okay=False, help="labels.npy"),
    embedder_id: str = typer.Option(
        "dino_clip", help="the embedder that made these vectors (the original used dino_clip)"
    ),
) -> None:
    """Migrate the original system's ``embeddings.npy`` + ``labels.npy`` (one product per label).

    The original kept no photos, so these vectors cannot be re-embedded; labels whose product
    already exists are skipped.
    """
    vectors = np.load(embeddings)
    names = [str(label) for label in np.load(labels, allow_pickle=False)]
    if vectors.ndim != 2 or len(vectors) != len(names):
        raise typer.BadParameter("EMBEDDINGS must be [n, d] with one label per row in LABELS")
    rows_by_name: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(names):
        rows_by_name[name].append(row)
    sessions = session_factory(get_settings())
    added = skipped = 0
    for name, rows in progress_bar(rows_by_name.items(), desc="products", unit="product"):
        with sessions() as db:
            if service.name_exists(db=db, name=name):
                skipped += 1
                continue
            importing.import_vectors(
                db=db, name=name, vectors=vectors[rows], embedder_id=embedder_id
            )
            added += 1
    typer.echo(f"{added} products ({len(names)} vectors) imported, {skipped} already present")


@catalog_app.command("reembed")
def reembed(
    everything: bool = typer.Option(False, "--all", help="also photos of the current embedder"),
    batch: int = typer.Option(32, min=1, help="photos per committed batch"),
) -> None:
    """Re-embed stored photos with the configured embedder (stop the server first)."""
    settings = get_settings()
    embedder = load_embedder(settings)
    sessions = session_factory(settings)
    with sessions() as db:
        image_ids = reembedding.photos_to_reembed(db=db, embedder=embedder, everything=everything)
        with progress_bar(
            total=len(image_ids), desc=f"re-embedding with {embedder.id}", unit="photo"
        ) as bar:
            for done in reembedding.reembed(
                db=db,
                embedder=embedder,
                images_dir=settings.images_dir,
                image_ids=image_ids,
                batch=batch,
            ):
                bar.update(done)
        orphans = reembedding.vectors_without_photos(db=db, embedder=embedder)
    typer.echo(f"{len(image_ids)} photos re-embedded with {embedder.id}")
    if orphans:
        typer.echo(
            f"{orphans} imported vectors of another embedder have no photo to re-embed from; "
            "the server refuses to mix them: register those products again with photos",
            err=True,
        )
        raise typer.Exit(1)


@catalog_app.command("adapt")
def adapt(
    if_due: bool = typer.Option(
        False, "--if-due", help="fit only if the catalogue changed by EBRCS_ADAPTER_REFIT_SHARE"
    ),
    off: bool = typer.Option(False, "--off", help="retire the adapter: search raw vectors"),
) -> None:
    """Fit the recognition adapter on the registered photos and put it in force.

    Runs beside the servers: each switches to the new adapter through the catalogue sync,
    without a restart, and keeps recognising meanwhile. Stopping this command, or a failed
    fit, leaves the adapter in force as it was.
    """
    settings = get_settings()
    embedder = load_embedder(settings)
    sessions = session_factory(settings)
    with sessions() as db:
        check_embedder(db=db, embedder=embedder)
        if off:
            retired = adapters.retire_all(db=db, embedder_id=embedder.id)
            announce_adapter(db=db)
            db.commit()
            typer.echo(f"{retired} adapter(s) retired: recognition searches raw vectors")
            return
        reason = adapting.refit_reason(db=db, settings=settings, embedder_id=embedder.id)
    if if_due and reason is None:
        typer.echo("the catalogue has not changed enough since the last fit; nothing to do")
        return
    with adapting.fit_lock(settings=settings, sessions=sessions) as mine:
        if not mine:
            typer.echo("another process is fitting the adapter; try again later", err=True)
            raise typer.Exit(1)
        with progress_bar(desc="fitting the adapter (photos, then epochs)", unit="step") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                row = adapting.fit_and_store(
                    sessions=sessions, settings=settings, embedder=embedder, progress=progress
                )
            except (ValueError, FitDeadlineExceeded) as error:
                typer.echo(f"no adapter fitted: {error}", err=True)
                raise typer.Exit(1) from error
    typer.echo(
        f"adapter {row.version} in force: fitted on {row.catalogue_products} products "
        f"({row.catalogue_vectors} vectors) in {row.fit_seconds:.1f} s"
    )


def bench_index(
    sizes: str = typer.Option("", help="comma-separated catalogue sizes for parts 2 and 3"),
    dim: int = typer.Option(1280, min=1, help="vector dimension"),
    as_json: bool = typer.Option(False, "--json", help="print medians as JSON"),
) -> None:
    """Benchmark the product index (needs the bench extra for its plot and aiorwlock)."""
    chosen = [int(size) for size in sizes.split(",") if size.strip()] or None
    index_bench.run(sizes=chosen, dim=dim, as_json=as_json)


def bench_search(
    sizes: str = typer.Option("100000,1000000", help="comma-separated catalogue sizes"),
    dim: int = typer.Option(1280, min=8, help="vector dimension (real features: 1280)"),
    kinds: str = typer.Option("hnsw_pca", help="approximate kinds measured beside flat"),
    threads: int = typer.Option(0, min=0, help="build threads (0: EBRCS_INDEX_BUILD_THREADS)"),
    fit: Path | None = typer.Option(
        None,
        exists=True,
        file_okay=False,
        help="a photo list folder (train.txt, val.txt): print the generator's fit to its features",
    ),
    cache: Path | None = typer.Option(
        None, file_okay=False, help="keep built indexes here as snapshots; later runs reuse them"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the served kind per size as JSON"),
) -> None:
    """Single-query search at catalogue scale: exact flat against the approximate kinds."""
    chosen = [int(size) for size in sizes.split(",") if size.strip()]
    wanted = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    unknown = set(wanted) - set(INDEX_KINDS) | ({"flat"} & set(wanted))
    if not chosen or unknown:
        raise typer.BadParameter(f"give sizes, and kinds among {INDEX_KINDS[1:]}")
    search_bench.run(
        sizes=chosen,
        dim=dim,
        kinds=wanted,
        threads=threads or get_settings().index_build_threads,
        as_json=as_json,
        fit=fit,
        cache=cache,
    )


def bench_pgvector(
    dsn: str = typer.Option(..., help="libpq DSN of a database with the vector extension"),
    size: int = typer.Option(100_000, min=1000, help="vectors in the table"),
    dim: int = typer.Option(1280, min=8, max=2000, help="vector dimension (pgvector HNSW: 2000)"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """pgvector's HNSW as one shared index, against the in-process index, same vectors."""
    pgvector_bench.run(dsn=dsn, size=size, dim=dim, as_json=as_json)
