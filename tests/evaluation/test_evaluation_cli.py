"""``ebrcs eval recognition``: accuracy of the configured embedder on a labelled photo list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from ebrcs.cli import app
from ebrcs.config import get_settings

KEYS = {"embedder", "n_classes", "n_refs", "n_queries", "top1", "top5", "coarse_top1"}


def pattern(kind: int, seed: int) -> np.ndarray:
    """A photo of one of three clearly different things, with a little per-photo noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:96]
    image = np.zeros((96, 96, 3), dtype=np.float64)
    if kind == 0:
        image[..., 0] = 200 * ((y // 12) % 2)
    elif kind == 1:
        image[..., 1] = 220 * (((x // 16) + (y // 16)) % 2)
    else:
        image[..., 2] = 240 * ((x - 48) ** 2 + (y - 48) ** 2 < 30**2)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """Three classes of four photos each, listed as refs and as queries, with class names."""
    root = tmp_path / "shop"
    lines = []
    for kind in range(3):
        folder = root / "photos" / f"class{kind}"
        folder.mkdir(parents=True)
        for number in range(4):
            Image.fromarray(pattern(kind, 10 * kind + number)).save(folder / f"{number}.jpg")
            lines.append(f"photos/class{kind}/{number}.jpg, {kind}, {kind // 2}")
    (root / "refs.txt").write_text("\n".join(lines) + "\n")
    (root / "queries.txt").write_text("\n".join(lines[::2]) + "\n")
    (root / "classes.csv").write_text(
        "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int)\n"
        "Stripes,0,Lines,0\nChecks,1,Lines,0\nDisc,2,Round,1\n"
    )
    return root


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A data dir of the test's own, so anything written there would be seen."""
    monkeypatch.setenv("EBRCS_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(root: Path, refs: str | Path, queries: str | Path, *options: str):
    command = ["eval", "recognition", "--root", str(root), "--refs", str(refs)]
    return CliRunner().invoke(app, [*command, "--queries", str(queries), *options])


def run(root: Path, refs: str | Path, queries: str | Path, *options: str) -> str:
    result = invoke(root, refs, queries, *options)
    assert result.exit_code == 0, result.output
    return result.output


def test_json_report_counts_the_first_k_refs_of_each_class(collection: Path) -> None:
    options = ("--shots", "2", "--adapter", "none", "--json")
    report = json.loads(run(collection, "refs.txt", "queries.txt", *options))
    assert report.keys() >= KEYS
    assert report["embedder"] == "mobilenet_v2"
    assert (report["n_classes"], report["n_refs"], report["n_queries"]) == (3, 6, 6)
    assert report["embed_ms_per_image"] > 0


def test_queries_that_are_registered_photos_are_all_recognised(collection: Path) -> None:
    report = json.loads(run(collection, "refs.txt", "queries.txt", "--adapter", "none", "--json"))
    assert report["n_refs"] == 12
    assert report["top1"] == 1.0
    assert report["top5"] == 1.0
    assert report["coarse_top1"] == 1.0


def test_adapter_is_fitted_on_the_refs_by_default_as_the_server_does(collection: Path) -> None:
    report = json.loads(run(collection, "refs.txt", "queries.txt", "--shots", "2", "--json"))
    assert report["adapter_version"] is not None and len(report["adapter_version"]) == 16
    assert report["fit_seconds"] > 0
    assert report["top1"] == 1.0


def test_adapter_none_recognises_with_raw_vectors(collection: Path) -> None:
    options = ("--shots", "2", "--adapter", "none", "--json")
    report = json.loads(run(collection, "refs.txt", "queries.txt", *options))
    assert report["adapter_version"] is None and report["fit_seconds"] is None


def test_adapter_default_follows_the_server_setting(
    collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EBRCS_ADAPTER_AUTO_REFIT", "false")
    report = json.loads(run(collection, "refs.txt", "queries.txt", "--shots", "1", "--json"))
    assert report["adapter_version"] is None


def test_text_report_names_classes_from_classes_csv(collection: Path) -> None:
    (collection / "swapped.txt").write_text(
        "photos/class0/0.jpg, 1, 0\nphotos/class1/0.jpg, 0, 0\nphotos/class2/0.jpg, 2, 1\n"
    )
    output = run(collection, "refs.txt", "swapped.txt", "--shots", "1", "--adapter", "none")
    assert "top-1 33.3%" in output
    assert "Stripes -> Checks" in output and "Checks -> Stripes" in output


def test_evaluation_never_touches_the_configured_database(collection: Path, tmp_path: Path) -> None:
    run(collection, "refs.txt", "queries.txt", "--shots", "1", "--adapter", "fit", "--json")
    assert not (tmp_path / "var").exists()


def test_malformed_list_line_is_reported_with_its_line_number(collection: Path) -> None:
    (collection / "bad.txt").write_text("photos/class0/0.jpg, 0\nno-label-here\n")
    result = invoke(collection, "bad.txt", "queries.txt")
    assert result.exit_code == 2
    assert "bad.txt:2" in result.output


@pytest.mark.dataset
def test_grocery_photos_of_distinct_products_are_told_apart(
    dataset_dir: Path, tmp_path: Path
) -> None:
    wanted = {"6", "14", "45", "62"}  # banana, watermelon, oat milk, carrots

    def subset(name: str) -> Path:
        lines = [
            line
            for line in (dataset_dir / name).read_text().splitlines()
            if line.split(",")[1].strip() in wanted
        ]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path

    output = run(dataset_dir, subset("train.txt"), subset("val.txt"), "--shots", "3", "--json")
    report = json.loads(output)
    assert (report["n_classes"], report["n_refs"]) == (4, 12)
    assert report["n_queries"] >= 16
    # Four clearly different products: far above the 25% of guessing.
    assert report["top1"] >= 0.75
