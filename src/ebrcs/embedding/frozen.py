"""A backbone traced once and frozen: the same features for less CPU per crop."""

from __future__ import annotations

import warnings

import torch

WARM_UP_RUNS = 2


def freeze_for_inference(model: torch.nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    """``model`` traced on ``example`` and frozen, batch norms folded into their convolutions.

    The frozen graph computes what ``model`` does (outputs agree to float rounding, so vectors
    embedded before and after stay comparable) for about a quarter less CPU per crop on one
    thread (docs/PERFORMANCE.md, "Catalogue adapter"). Only the batch size may differ from
    ``example``'s: the graph keeps the spatial shape it was traced with. It is run twice on
    ``example`` before it is returned: TorchScript optimises a graph on its first runs, which
    would otherwise cost the first crops of a checkout 2x.

    TorchScript is deprecated in favour of ``torch.compile``, which needs a C++ toolchain at run
    time and compiles for minutes on a counter machine; its deprecation warnings are silenced
    here and nowhere else.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with torch.no_grad():
            frozen = torch.jit.freeze(torch.jit.trace(model.eval(), example))
    with torch.inference_mode():
        for _ in range(WARM_UP_RUNS):
            frozen(example)
    return frozen
