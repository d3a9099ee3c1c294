"""``ebrcs checkout-video``: count the items of a video file against the catalogue."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from tqdm import tqdm

from ebrcs.catalog import service as catalog
from ebrcs.checkout.live import pipeline_config
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CheckoutPipeline, CountEvent, check_polygon, still_unsure
from ebrcs.checkout.pipeline.frames import VideoFrames
from ebrcs.config import get_settings
from ebrcs.errors import DomainError
from ebrcs.runtime import Runtime


def parse_roi(text: str) -> list[tuple[float, float]]:
    """``"x,y;x,y;x,y"`` (normalised to [0, 1]) as a polygon; BadParameter if malformed."""
    try:
        points = [tuple(float(v) for v in point.split(",")) for point in text.split(";") if point]
    except ValueError as error:
        raise typer.BadParameter(f"not a list of x,y points: {text!r}") from error
    try:
        return check_polygon(points)
    except DomainError as error:
        raise typer.BadParameter(error.message) from error


def summarise(
    events: list[CountEvent], names: dict[Any, str], *, frames: int, fps: float
) -> dict[str, Any]:
    """The ``--json`` document: named cart, events, unsure items, frames processed and speed.

    ``unsure`` lists every item counted but not named (and not taken back out), with its
    candidates best first.
    """
    cart: Counter[str] = Counter()
    listed = []
    for event in events:
        name = names.get(event.product_id) if event.product_id is not None else None
        if event.kind == EventKind.ADD and name:
            cart[name] += 1
        elif event.kind == EventKind.REMOVE and name:
            cart[name] -= 1
        listed.append(
            {
                "t": round(event.timestamp, 3),
                "type": _event_type(event),
                "product": name,
                "score": event.score,
            }
        )
    return {
        "cart": dict(+cart),
        "events": listed,
        "unsure": [
            {
                "t": round(event.timestamp, 3),
                "candidates": [
                    {"product": names.get(match.product_id), "score": match.score}
                    for match in event.candidates
                ],
            }
            for event in still_unsure(events)
        ],
        "frames": frames,
        "fps": round(fps, 2),
    }


def _event_type(event: CountEvent) -> str:
    """The event's type as the live socket names it (UNSURE, UNSURE_REMOVED, or its kind)."""
    if event.unsure:
        return "UNSURE"
    return "UNSURE_REMOVED" if event.withdraws is not None else event.kind.value


def checkout_video(
    video: Path = typer.Argument(..., exists=True, dir_okay=False, help="mp4, mov, avi or mkv"),
    roi: str | None = typer.Option(
        None, help='basket zone "x,y;x,y;x,y", normalised to [0, 1]; default: the whole view'
    ),
    as_json: bool = typer.Option(False, "--json", help="print the cart and events as JSON"),
) -> None:
    """Count the items carried through a video, against the catalogue in the database."""
    polygon = parse_roi(roi) if roi else None
    settings = get_settings()
    try:
        frames = VideoFrames(video)
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error
    runtime = Runtime.start(settings)
    try:
        config = pipeline_config(settings=runtime.settings, index=runtime.index)
        pipeline = CheckoutPipeline(runtime.recogniser, config, polygon)
        events: list[CountEvent] = []
        processed, started = 0, time.perf_counter()
        bar = tqdm(total=frames.frame_count or None, unit="frame", disable=None, leave=False)
        with bar:
            for timestamp, frame in frames:
                events += pipeline.process(frame, timestamp).events
                processed += 1
                bar.update()
        elapsed = time.perf_counter() - started
        with runtime.sessions() as db:
            seen = list(
                {e.product_id for e in events if e.product_id is not None}
                | {match.product_id for e in events for match in e.candidates}
            )
            names = catalog.names(db=db, product_ids=seen)
    finally:
        runtime.close()
    if processed == 0:
        typer.echo(f"error: no frame of {video.name} could be decoded", err=True)
        raise typer.Exit(1)
    summary = summarise(events, names, frames=processed, fps=processed / max(elapsed, 1e-9))
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    for event in summary["events"]:
        score = f" {event['score']:.2f}" if event["score"] is not None else ""
        typer.echo(f"{event['t']:8.2f}s  {event['type']:<12} {event['product'] or '?'}{score}")
    typer.echo(f"cart: {summary['cart'] or 'empty'}")
    typer.echo(f"{processed} frames at {summary['fps']} fps")
