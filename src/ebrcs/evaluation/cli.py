"""``ebrcs eval``: measuring recognition accuracy and cost on a labelled photo collection."""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from pathlib import Path

import typer

from ebrcs.config import get_settings
from ebrcs.embedding.registry import load_embedder
from ebrcs.evaluation.recognition import Report, class_names, evaluate, first_per_class, read_list
from ebrcs.progress import progress_bar

eval_app = typer.Typer(help="Measure recognition.", no_args_is_help=True)


class Adapting(StrEnum):
    """Whether ``ebrcs eval recognition`` fits an adapter on the refs it registers."""

    FIT = "fit"
    NONE = "none"


def _list_path(path: Path, root: Path) -> Path:
    """A list file as given, or relative to the dataset root."""
    if path.exists() or path.is_absolute():
        return path
    return root / path


def _print(report: Report) -> None:
    coarse = "n/a" if report.coarse_top1 is None else f"{report.coarse_top1:.1%}"
    precision = "n/a" if report.accepted_correct is None else f"{report.accepted_correct:.1%}"
    typer.echo(
        f"embedder {report.embedder}: {report.n_classes} products, {report.n_refs} reference "
        f"photos, {report.n_queries} queries\n"
        f"top-1 {report.top1:.1%}   top-5 {report.top5:.1%}   coarse top-1 {coarse}\n"
        f"accepted {report.accepted:.1%} of queries, {precision} of them correct\n"
        f"embedding {report.embed_ms_per_image:.1f} ms/image, "
        f"search {report.search_ms_per_query:.2f} ms/query"
    )
    if report.adapter_version is not None:
        typer.echo(
            f"adapter {report.adapter_version} fitted on the refs in {report.fit_seconds:.0f} s"
        )
    if report.confused:
        typer.echo("most confused (true -> recognised as):")
        for true, guess, count in report.confused:
            typer.echo(f"  {count:3d}  {true} -> {guess}")


@eval_app.command("recognition")
def recognition(
    root: Path = typer.Option(..., exists=True, file_okay=False, help="dataset folder"),
    refs: Path = typer.Option(..., help="list of reference photos (e.g. train.txt)"),
    queries: Path = typer.Option(..., help="list of query photos (e.g. val.txt)"),
    shots: int = typer.Option(0, min=0, help="reference photos per product; 0 = all"),
    adapter: Adapting | None = typer.Option(
        None,
        help="fit an adapter on the registered refs as the server does, or none "
        "(default: what the server does, EBRCS_ADAPTER_AUTO_REFIT)",
        case_sensitive=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Register the first K refs per class in memory, recognise the queries, report accuracy.

    Uses the configured embedder and the product index code, never the configured database.
    """
    settings = get_settings()
    if adapter is None:
        adapter = Adapting.FIT if settings.adapter_auto_refit else Adapting.NONE
    embedder = load_embedder(settings)
    try:
        catalogue = first_per_class(read_list(_list_path(refs, root), root), shots)
        query_photos = read_list(_list_path(queries, root), root)
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    total = len(catalogue) + len(query_photos)
    with progress_bar(total=total, unit="photo", disable=as_json) as bar:
        report = evaluate(
            embedder=embedder,
            settings=settings,
            catalogue=catalogue,
            queries=query_photos,
            names=class_names(root),
            adapt=adapter is Adapting.FIT,
            tick=bar.update,
        )
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report)))
    else:
        _print(report)
