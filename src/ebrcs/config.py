"""Settings: the one place every default lives (environment prefix ``EBRCS_``)."""

from __future__ import annotations

import contextlib
import os
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

JWT_SECRET_FILE = "jwt_secret"


class Settings(BaseSettings):
    """Runtime configuration read from the environment."""

    model_config = SettingsConfigDict(env_prefix="EBRCS_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    login_block_seconds: int = Field(default=300, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    websocket_auth_timeout_seconds: float = Field(default=10.0, gt=0)

    # MobileNetV2 + EfficientNet-Lite2 side by side: +4 to +5 top-1 over mobilenet_v2 with the
    # adapter at 3 photos per product, and a track's views still fit 150 ms on one core
    # (docs/PERFORMANCE.md, "Catalogue adapter"); with a colour histogram of the crop's centre
    # beside them (_hsv, 0.2 ms a crop): +1.5 top-5 on every fit seed ("Colour beside the
    # pair"). A catalogue embedded with another embedder is refused at start until
    # `ebrcs catalog reembed` (or EBRCS_EMBEDDER=its embedder).
    embedder: str = "mnv2_effl2_hsv"
    device: str = "auto"
    dino_model: str | None = None
    clip_model: str | None = None
    # Torch CPU threads per embedding call (0: torch's default). One thread each lets concurrent
    # calls share the cores; more threads per call thrash on a busy 2-core machine.
    embed_threads: int = Field(default=1, ge=0, le=64)

    # The product index: "auto" scans exactly (flat) below index_ann_min_vectors vectors and
    # switches to the approximate graph (hnsw_pca) above it, rebuilt in the background and
    # swapped in; "flat", "hnsw" or "hnsw_pca" fix the kind. The switch is checked every
    # index_switch_check_seconds; a graph whose removed-but-stored vectors exceed
    # index_max_hidden of its findable ones is rebuilt. A build's OpenMP team is
    # index_build_threads (default: every core) at niceness 10, so request threads come first
    # while it uses what they leave idle (docs/PERFORMANCE.md, "Search at catalogue scale").
    index_kind: str = Field(default="auto", pattern=r"^(auto|flat|hnsw|hnsw_pca)$")
    index_ann_min_vectors: int = Field(default=20_000, ge=1)
    index_switch_check_seconds: float = Field(default=10.0, gt=0)
    index_max_hidden: float = Field(default=0.25, gt=0)
    index_build_threads: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 64), ge=1, le=64
    )
    index_snapshot_seconds: float = Field(default=60.0, gt=0)
    sync_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    sync_reconcile_seconds: float = Field(default=30.0, gt=0)
    match_threshold: float = Field(default=0.5, ge=-1.0, le=1.0)
    match_margin: float = Field(default=0.04, ge=0.0, le=2.0)
    # Share of a product's score from its prototype (mean photo), the rest from its closest
    # photo; 0 scores by the closest photo alone.
    match_prototype_weight: float = Field(default=0.75, ge=0.0, le=1.0)
    top_k: int = Field(default=5, ge=1, le=100)

    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    max_frame_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_video_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    max_images_per_product: int = Field(default=3, ge=1)
    max_stored_images_per_product: int = Field(default=12, ge=1)
    max_cart_quantity: int = Field(default=999, ge=1)
    max_product_price: Decimal = Decimal("1000000")
    # ISO 4217 code the web app shows amounts in (display only: the server keeps plain decimals).
    # KRW keeps the won sign the app was built with; it has no minor unit, so cents are rounded
    # off on screen, and a shop pricing in cents sets e.g. EUR or USD.
    currency: str = Field(default="KRW", pattern=r"^[A-Z]{3}$")

    # Limits applied before any work: request bodies while they stream (uploads get their own
    # limits plus room for the multipart envelope), declared frame pixels before decoding
    # (4K UHD), socket control messages, sign-ups per address and open sessions per user.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_frame_pixels: int = Field(default=3840 * 2160, ge=64)
    max_control_bytes: int = Field(default=16 * 1024, ge=256)
    signup_max_per_address: int = Field(default=10, ge=1)
    signup_window_seconds: int = Field(default=3600, ge=1)
    max_open_sessions_per_user: int = Field(default=20, ge=1)

    session_ttl_minutes: int = Field(default=30, ge=1)
    session_expiry_check_seconds: float = Field(default=60.0, gt=0)
    max_video_tasks: int = Field(default=2, ge=1)
    checkout_remove_on_exit: bool = True
    learn_from_corrections: bool = False

    # Recognition adapter: fitted on the registered photos by `ebrcs catalog adapt` and, with
    # adapter_auto_refit, by a background thread of the server once the share of the
    # catalogue's vectors added or removed since the last fit reaches adapter_refit_share
    # (or, before any fit, once adapter_min_products are on sale). Checked every
    # adapter_check_seconds; a fit running past adapter_fit_max_seconds is abandoned.
    adapter_auto_refit: bool = True
    adapter_refit_share: float = Field(default=0.2, gt=0.0)
    adapter_min_products: int = Field(default=10, ge=2)
    adapter_check_seconds: float = Field(default=300.0, gt=0)
    adapter_fit_max_seconds: float = Field(default=3600.0, gt=0)
    adapter_fit_seed: int = 0
    # Live checkout's three outcomes per physical item, judged on the track's aggregated
    # score (mean of its best views' vectors, searched once): named when the best product
    # scores at least checkout_accept_score and leads the runner-up by checkout_accept_margin;
    # not a product (a hand, a wallet: a notice, not counted) below checkout_floor_score;
    # otherwise unsure (counted, the shopper picks among its candidates on the bill). Chosen
    # from measured score distributions (docs/PERFORMANCE.md, "Live checkout: three outcomes").
    checkout_accept_score: float = Field(default=0.75, ge=-1.0, le=1.0)
    checkout_accept_margin: float = Field(default=0.04, ge=0.0, le=2.0)
    checkout_floor_score: float = Field(default=0.62, ge=-1.0, le=1.0)
    # Also named: an item whose closest stored photo is nearly the item itself (at least
    # checkout_photo_score) while every other product's closest photo stays
    # checkout_photo_margin below it, as when the counter sees a product as it was registered
    # (a look-alike's prototype may then lead by little). Raw vectors: registered photos seen
    # as in a counter video match their own at 0.90 or more (median 0.95), other products'
    # photos never above 0.89 (bench/photo_scores.py, docs/PERFORMANCE.md).
    checkout_photo_score: float = Field(default=0.92, ge=-1.0, le=2.0)
    checkout_photo_margin: float = Field(default=0.1, ge=0.0, le=2.0)
    # The same while the index searches through a catalogue adapter (its scores spread wider:
    # measured separately, same section of docs/PERFORMANCE.md), for the default embedder:
    # val photos named wrong or not sold lead by 0.48 or less, so the lead is 0.5: a wrong
    # charge costs the shopper more than one tap on an unsure line, and registered items are
    # named by their own photo below; a card scores 0.33, the weakest real product 0.43.
    # With EBRCS_EMBEDDER=mobilenet_v2 the measured choice was 0.5 / 0.25 / 0.3.
    checkout_adapted_accept_score: float = Field(default=0.5, ge=-1.0, le=1.0)
    checkout_adapted_accept_margin: float = Field(default=0.5, ge=0.0, le=2.0)
    checkout_adapted_floor_score: float = Field(default=0.38, ge=-1.0, le=1.0)
    # Through the adapter: registered items match their own photo at 0.942 or more (tracks;
    # photos 0.949), leading every other product's closest photo by 0.19 or more; a wrong or
    # not-sold match never comes above 0.906 (photos; tracks 0.836).
    checkout_adapted_photo_score: float = Field(default=0.935, ge=-1.0, le=2.0)
    checkout_adapted_photo_margin: float = Field(default=0.15, ge=0.0, le=2.0)
    # Product picker of the web app: names whose fuzzy match (rapidfuzz WRatio, 0-100) to the
    # query scores below this are left out. On the dataset's 81 names the right name scores at
    # least 85.7 for a reordered, misspelt or one-word query, and most words naming no product
    # score under 70 (docs/PERFORMANCE.md, "Product picker search").
    picker_min_score: float = Field(default=70.0, ge=0.0, le=100.0)

    host: str = "127.0.0.1"
    port: int = 8000

    # The bearer token Prometheus sends to scrape /metrics (unset: /metrics answers 404).
    metrics_token: str | None = Field(default=None, min_length=16)

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the configured one, or an SQLite file in the data dir."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'ebrcs.db').resolve()}"
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        if url.startswith("postgres://"):
            return "postgresql+psycopg://" + url.removeprefix("postgres://")
        return url

    @property
    def listen_dsn(self) -> str | None:
        """A libpq connection string for PostgreSQL notifications; None on SQLite."""
        url = self.resolved_database_url
        if not url.startswith("postgresql+psycopg://"):
            return None
        return "postgresql://" + url.removeprefix("postgresql+psycopg://")

    @property
    def images_dir(self) -> Path:
        """Where product photos are stored."""
        return self.data_dir / "images"

    @property
    def index_dir(self) -> Path:
        """Where index snapshots are stored."""
        return self.data_dir / "index"

    def resolved_jwt_secret(self) -> str:
        """The JWT secret: configured, or generated once and kept in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / JWT_SECRET_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{JWT_SECRET_FILE}.{secrets.token_hex(8)}.tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            # link() never overwrites: concurrent first starts all end up with one secret.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            tmp.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
