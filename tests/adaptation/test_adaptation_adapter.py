"""The adapter value: transform, bytes, versions and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from ebrcs.adaptation import Adapter, AdapterFormatError, AdapterMismatch


def adapter(seed: int = 0, backbone: str = "mobilenet_v2") -> Adapter:
    rng = np.random.default_rng(seed)
    return Adapter(
        backbone, rng.normal(size=12), rng.normal(size=(12, 5)), {"seed": seed, "photos": 3}
    )


def test_transform_gives_unit_rows_of_the_adapter_dimension() -> None:
    out = adapter().transform(np.random.default_rng(9).normal(size=(7, 12)).astype(np.float32))
    assert out.shape == (7, 5) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_transform_is_the_centred_projection() -> None:
    a = adapter()
    raw = np.random.default_rng(4).normal(size=(3, 12)).astype(np.float32)
    expected = (raw - a.mean) @ a.projection
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(a.transform(raw), expected, atol=1e-5)


def test_bytes_round_trip_keeps_transform_details_and_version() -> None:
    a = adapter()
    b = Adapter.from_bytes(a.to_bytes())
    assert (b.backbone_id, b.dim, b.input_dim, dict(b.details)) == (
        "mobilenet_v2",
        5,
        12,
        {"seed": 0, "photos": 3},
    )
    assert b.version == a.version
    raw = np.ones((2, 12), np.float32)
    np.testing.assert_array_equal(a.transform(raw), b.transform(raw))


def test_version_follows_content() -> None:
    assert adapter(0).version == adapter(0).version
    assert adapter(0).version != adapter(1).version
    assert adapter(0).version != adapter(0, backbone="mnv2_effl2").version


def test_adapter_of_another_backbone_is_refused_with_both_names() -> None:
    with pytest.raises(AdapterMismatch, match=r"'mobilenet_v2'.*not on 'mnv2_effl2'"):
        adapter().check_backbone("mnv2_effl2")
    adapter().check_backbone("mobilenet_v2")


def test_vectors_of_another_dimension_are_refused() -> None:
    with pytest.raises(AdapterMismatch, match=r"takes \[n, 12\]"):
        adapter().transform(np.ones((2, 13), np.float32))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda data: b"not an adapter" + data,
        lambda data: data[:-4],
        lambda data: data + b"\0",
        lambda data: data[:30],
    ],
    ids=["bad magic", "truncated", "trailing bytes", "cut header"],
)
def test_damaged_bytes_are_refused(mangle) -> None:
    with pytest.raises(AdapterFormatError):
        Adapter.from_bytes(mangle(adapter().to_bytes()))


def test_arrays_that_do_not_fit_together_are_refused() -> None:
    with pytest.raises(AdapterFormatError, match="do not fit"):
        Adapter("b", np.zeros(4), np.zeros((5, 2)))
    with pytest.raises(AdapterFormatError, match="non-finite"):
        Adapter("b", np.full(4, np.nan), np.zeros((4, 2)))


def test_adapter_arrays_are_read_only() -> None:
    with pytest.raises(ValueError):
        adapter().projection[0, 0] = 1.0
