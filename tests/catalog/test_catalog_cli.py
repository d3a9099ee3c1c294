"""The catalogue commands: importing photo folders and .npy files, re-embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from catalog_fixtures import ColourEmbedder, photo
from sqlalchemy import select
from typer.testing import CliRunner

from ebrcs.catalog.models import Product, ProductImage
from ebrcs.cli import app


class OtherEmbedder(ColourEmbedder):
    id = "another-embedder"


def write_shop(root: Path) -> None:
    """Three product folders (one nested deeper) and a folder without photos."""
    for relative, colour, count in [
        ("Fruit/Apple", (200, 30, 30), 4),
        ("Fruit/Pear", (30, 200, 30), 2),
        ("Dairy/Milk/Oat-Milk", (230, 230, 230), 3),
    ]:
        folder = root / relative
        folder.mkdir(parents=True)
        for i in range(count):
            (folder / f"{i:03d}.png").write_bytes(photo(colour, seed=i))
    (root / "notes.txt").write_text("not a product")


def test_import_dir_makes_one_product_per_photo_folder_and_skips_on_rerun(
    cli: CliRunner, tmp_path: Path, db
) -> None:
    write_shop(tmp_path / "shop")
    first = cli.invoke(app, ["products", "import-dir", str(tmp_path / "shop"), "--shots", "3"])
    assert first.exit_code == 0, first.output
    assert "3 products added, 0 already present" in first.output
    counts = {product.name: len(product.images) for product in db.scalars(select(Product)).all()}
    assert counts == {"Apple": 3, "Pear": 2, "Oat-Milk": 3}
    db.commit()  # SQLite: end the read transaction, which holds the write lock
    again = cli.invoke(app, ["products", "import-dir", str(tmp_path / "shop")])
    assert "0 products added, 3 already present" in again.output


def test_import_npy_migrates_the_original_files(cli: CliRunner, tmp_path: Path, db) -> None:
    vectors = np.random.default_rng(0).standard_normal((5, 24)).astype(np.float32)
    np.save(tmp_path / "embeddings.npy", vectors)
    np.save(tmp_path / "labels.npy", np.array(["cola", "cola", "chips", "cola", "chips"]))
    result = cli.invoke(
        app,
        ["catalog", "import-npy", str(tmp_path / "embeddings.npy"), str(tmp_path / "labels.npy")],
    )
    assert result.exit_code == 0, result.output
    rows = db.execute(
        select(Product.name, ProductImage.embedder_id, ProductImage.embedding).join(ProductImage)
    ).all()
    assert sorted(name for name, _, _ in rows) == ["chips", "chips", "cola", "cola", "cola"]
    assert {embedder for _, embedder, _ in rows} == {"dino_clip"}
    stored = np.stack([np.frombuffer(blob, "<f4") for _, _, blob in rows])
    assert np.allclose(np.linalg.norm(stored, axis=1), 1.0, atol=1e-5)


def test_reembed_moves_every_photo_to_the_configured_embedder_under_new_ids(
    cli: CliRunner, tmp_path: Path, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_shop(tmp_path / "shop")
    cli.invoke(app, ["products", "import-dir", str(tmp_path / "shop")])
    old_ids = set(db.scalars(select(ProductImage.embedding_id)))
    db.commit()
    monkeypatch.setattr("ebrcs.catalog.cli.load_embedder", lambda _settings: OtherEmbedder())
    result = cli.invoke(app, ["catalog", "reembed"])
    assert result.exit_code == 0, result.output
    assert "8 photos re-embedded with another-embedder" in result.output
    db.expire_all()
    rows = db.execute(select(ProductImage.embedder_id, ProductImage.embedding_id)).all()
    assert {embedder for embedder, _ in rows} == {"another-embedder"}
    assert not {embedding_id for _, embedding_id in rows} & old_ids
