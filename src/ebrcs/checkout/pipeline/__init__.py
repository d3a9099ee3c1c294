"""The live checkout frame pipeline: detect → zone → track → recognise → count (→ annotate).

Every step takes and returns ``supervision.Detections`` and can be run on its own.
"""

from ebrcs.checkout.pipeline.config import PipelineConfig
from ebrcs.checkout.pipeline.count import CountEvent, still_unsure
from ebrcs.checkout.pipeline.pipeline import CheckoutPipeline, FrameResult, TrackedItem
from ebrcs.checkout.pipeline.recogniser import Recogniser
from ebrcs.checkout.pipeline.zone import check_polygon

__all__ = [
    "CheckoutPipeline",
    "CountEvent",
    "FrameResult",
    "PipelineConfig",
    "Recogniser",
    "TrackedItem",
    "check_polygon",
    "still_unsure",
]
