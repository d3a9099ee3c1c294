"""Choosing the torch device an embedder runs on."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; any other name is used as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
