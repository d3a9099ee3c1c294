"""Adapting recognition to a shop's own catalogue: a map learned from its registered photos."""

from ebrcs.adaptation.adapter import Adapter, AdapterFormatError, AdapterMismatch
from ebrcs.adaptation.fit import AdapterConfig, FitDeadlineExceeded, fit_adapter

__all__ = [
    "Adapter",
    "AdapterConfig",
    "AdapterFormatError",
    "AdapterMismatch",
    "FitDeadlineExceeded",
    "fit_adapter",
]
