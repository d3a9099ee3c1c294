"""The DINO + CLIP fusion embedder, run end to end on tiny random models saved locally."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from ebrcs.config import Settings  # noqa: E402
from ebrcs.embedding.base import EmbedderUnavailable  # noqa: E402
from ebrcs.embedding.dino_clip import DinoClipEmbedder  # noqa: E402
from ebrcs.embedding.registry import load_embedder  # noqa: E402

TINY = dict(
    hidden_size=32,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=37,
    image_size=32,
    patch_size=8,
)
SIZE = {"shortest_edge": 32}
CROP = {"height": 32, "width": 32}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A random DINOv2 and a random CLIP vision tower, each saved with its image processor."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    transformers.Dinov2Model(transformers.Dinov2Config(**TINY)).save_pretrained(root / "dino")
    transformers.BitImageProcessor(size=SIZE, crop_size=CROP).save_pretrained(root / "dino")
    clip_config = transformers.CLIPVisionConfig(projection_dim=16, **TINY)
    transformers.CLIPVisionModelWithProjection(clip_config).save_pretrained(root / "clip")
    transformers.CLIPImageProcessor(size=SIZE, crop_size=CROP).save_pretrained(root / "clip")
    return root / "dino", root / "clip"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and refuse) every outgoing connection attempt."""
    attempts: list[object] = []

    def refuse(_socket: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return attempts


def photos(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, size=(40 + 7 * i, 50, 3), dtype=np.uint8) for i in range(count)]


def test_fusion_gives_unit_vectors_of_both_models_dimensions(models, no_network) -> None:
    dino, clip = models
    embedder = DinoClipEmbedder(
        dino_model=str(dino), clip_model=str(clip), device=torch.device("cpu")
    )
    vectors = embedder.embed(photos(3))
    assert embedder.dim == 32 + 16
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert no_network == []


def test_fusion_weights_dino_and_clip_seven_to_three(models) -> None:
    dino, clip = models
    embedder = DinoClipEmbedder(
        dino_model=str(dino), clip_model=str(clip), device=torch.device("cpu")
    )
    vector = embedder.embed(photos(1))[0]
    dino_part, clip_part = np.linalg.norm(vector[:32]), np.linalg.norm(vector[32:])
    assert dino_part / clip_part == pytest.approx(0.7 / 0.3, rel=1e-4)


def test_same_image_gives_same_vector(models) -> None:
    dino, clip = models
    embedder = DinoClipEmbedder(
        dino_model=str(dino), clip_model=str(clip), device=torch.device("cpu")
    )
    images = photos(3)
    np.testing.assert_allclose(embedder.embed(images[1:2])[0], embedder.embed(images)[1], atol=1e-5)


def test_registry_builds_dino_clip_from_settings(models) -> None:
    dino, clip = models
    settings = Settings(
        embedder="dino_clip", device="cpu", dino_model=str(dino), clip_model=str(clip)
    )
    embedder = load_embedder(settings)
    assert embedder is load_embedder(settings)
    assert embedder.id == "dino_clip:dino+clip"


def test_missing_model_folder_is_named_in_the_error_without_any_download(
    models, no_network, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dino"
    with pytest.raises(EmbedderUnavailable, match="EBRCS_DINO_MODEL") as raised:
        DinoClipEmbedder(
            dino_model=str(missing), clip_model=str(models[1]), device=torch.device("cpu")
        )
    assert str(missing) in str(raised.value)
    assert no_network == []


def test_model_not_in_local_cache_is_refused_without_any_download(models, no_network) -> None:
    with pytest.raises(EmbedderUnavailable, match="facebook/dinov2-small") as raised:
        DinoClipEmbedder(
            dino_model=str(models[0]),
            clip_model="facebook/dinov2-small",
            device=torch.device("cpu"),
        )
    assert "EBRCS_CLIP_MODEL" in str(raised.value)
    assert no_network == []


def test_unset_model_setting_is_named_in_the_error() -> None:
    with pytest.raises(EmbedderUnavailable, match="EBRCS_CLIP_MODEL"):
        DinoClipEmbedder(dino_model="x", clip_model=None, device=torch.device("cpu"))
