"""A session pipeline's configuration: the one place its defaults live."""

from __future__ import annotations

from dataclasses import dataclass

from ebrcs.config import Settings

_DEFAULTS = Settings.model_fields


@dataclass(frozen=True)
class PipelineConfig:
    """How a session's frames are turned into counting events."""

    process_width: int = 320
    """Frames are shrunk to this width for background subtraction (boxes stay in frame px)."""
    min_area: float = 0.004
    """Smallest moving blob kept, as a share of the frame."""
    history: int = 500
    """Frames the background model remembers: an item resting longer fades into it."""
    dist2_threshold: float = 400.0
    """Squared colour distance from the learned counter beyond which a pixel is foreground."""
    warmup_frames: int = 5
    """Times the first frame is learned, priming the background model."""
    max_area: float = 0.6
    """A blob covering more of the frame than this is a lighting jump, not an item."""
    ghost_checks: int = 3
    """Sightings of a new track on which it is tested for being a ghost."""
    confirm_frames: int = 3
    """Consecutive sightings before a blob becomes a track."""
    lost_seconds: float = 1.0
    """How long a track that lost its item may find it again."""
    votes: int = 2
    """Good views (clear of the edge, near the largest, still) a track is recognised from."""
    retries: int = 1
    """Times an unsure track still in view is tried again, each on one later view that differs
    from those already looked at (added to them), before it is settled."""
    retry_iou: float = 0.85
    """A later view differs when its box overlaps each box already looked at by less than this
    (the item moved or turned; a resting item shows the same view frame after frame)."""
    retry_frames: int = 5
    """Frames an unsure track waits for a view that differs before it is settled as it is."""
    aggregation: str = "mean"
    """``mean``: one search for the mean of the views' vectors; ``vote``: one per view."""
    max_motion: float = 0.08
    """Most a view's box may have moved since the previous frame, in box diagonals."""
    min_area_share: float = 0.6
    """A view is near the track's largest when its box is at least this share of it."""
    border_margin: float = 4.0
    """Pixels from the frame's edge within which a box is cut by it (entering or leaving)."""
    accept_score: float = _DEFAULTS["checkout_accept_score"].default
    """Named when the best product scores at least this (see ``AcceptanceRule``)..."""
    accept_margin: float = _DEFAULTS["checkout_accept_margin"].default
    """... and leads the runner-up by this much."""
    floor_score: float = _DEFAULTS["checkout_floor_score"].default
    """Below this, not a product: a notice, not counted."""
    photo_score: float = _DEFAULTS["checkout_photo_score"].default
    """Also named when the best product's closest photo is at least this similar..."""
    photo_margin: float = _DEFAULTS["checkout_photo_margin"].default
    """... and every other product's closest photo is at least this much less."""
    zone_frames: int = 2
    """Frames an item must stay on the new side of the zone boundary before it counts."""
    remove_on_exit: bool = True
    """With a zone: taking an item back out of it removes it from the cart."""
    refind_seconds: float = 1.5
    """A track starting this soon near a lost one continues the same item..."""
    refind_distance: float = 0.6
    """... when it starts within this many of the lost one's box diagonals of where it was."""
    rest_frames: int = 3
    """Frames an item must keep still to be at rest: a blob merging into it is then split."""

    @classmethod
    def from_settings(
        cls, settings: Settings, *, adapted: bool = False, **overrides: object
    ) -> PipelineConfig:
        """The configuration the settings ask for; ``adapted``: the index searches through a
        catalogue adapter, whose scores take their own thresholds."""
        prefix = "checkout_adapted_" if adapted else "checkout_"
        values: dict[str, object] = {
            "remove_on_exit": settings.checkout_remove_on_exit,
            "accept_score": getattr(settings, f"{prefix}accept_score"),
            "accept_margin": getattr(settings, f"{prefix}accept_margin"),
            "floor_score": getattr(settings, f"{prefix}floor_score"),
            "photo_score": getattr(settings, f"{prefix}photo_score"),
            "photo_margin": getattr(settings, f"{prefix}photo_margin"),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
