"""What the catalogue API accepts and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ebrcs.text import text

ProductName = Annotated[str, text(strip=True, min_length=1, max_length=200)]
Description = Annotated[str, text(strip=True, max_length=2000)]
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class ProductDraft(BaseModel):
    """The fields of a product being registered."""

    model_config = ConfigDict(extra="forbid")

    name: ProductName
    price: Price = Decimal("0.00")
    description: Description | None = None


class ProductUpdate(BaseModel):
    """A partial change of a product; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: ProductName | None = None
    price: Price | None = None
    description: Description | None = None
    is_active: bool | None = None


class ProductImageOut(BaseModel):
    """One stored photo of a product."""

    id: uuid.UUID
    url: str | None
    embedder_id: str


class ProductOut(BaseModel):
    """A product as listings show it."""

    id: uuid.UUID
    name: str
    description: str | None
    price: Decimal
    is_active: bool
    image_count: int
    created_at: datetime


class ProductDetail(ProductOut):
    """A product with its photos."""

    images: list[ProductImageOut]


class PickerProduct(BaseModel):
    """A product the picker offers: name, price, first photo and how well it matched."""

    id: uuid.UUID
    name: str
    price: Decimal
    image_url: str | None
    score: float


class PickerResults(BaseModel):
    """One page of the products matching a picker search, best first."""

    items: list[PickerProduct]
    total: int
    offset: int


class ProductPage(BaseModel):
    """One page of products, newest first."""

    items: list[ProductOut]
    total: int
    offset: int
    limit: int


class ProductRegistered(BaseModel):
    """The answer to a registration (the original system's shape)."""

    status: Literal["added"] = "added"
    product_id: uuid.UUID
    product_name: str
    images_count: int
    total_products: int
    total_embeddings: int


class PhotosAdded(BaseModel):
    """The answer to adding photos to a product."""

    status: Literal["images_added"] = "images_added"
    product_id: uuid.UUID
    images_added: int
    image_count: int
    total_embeddings: int


class Match(BaseModel):
    """A product recognised in a photo."""

    product_id: uuid.UUID
    name: str
    score: float


Verdict = Literal["accepted", "unsure", "not_a_product"]


class Recognition(BaseModel):
    """Products recognised in a photo, best first, and what the live checkout would make of it.

    ``verdict``: ``accepted`` (counted as the first match), ``unsure`` (counted, the shopper
    picks among the matches on the bill) or ``not_a_product`` (not counted).
    """

    verdict: Verdict
    matches: list[Match]
