"""Routes of the catalogue: products, their photos, and recognising a photo."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from ebrcs.auth.deps import AdminUser, CurrentUser
from ebrcs.catalog import flows, search, service
from ebrcs.catalog.models import Product
from ebrcs.catalog.photos import MEDIA_TYPES, media_type, photo_file
from ebrcs.catalog.schemas import (
    Match,
    PhotosAdded,
    PickerProduct,
    PickerResults,
    ProductDetail,
    ProductImageOut,
    ProductOut,
    ProductPage,
    ProductRegistered,
    Recognition,
    Verdict,
)
from ebrcs.checkout.live import pipeline_config
from ebrcs.checkout.pipeline.pipeline import PipelineConfig
from ebrcs.checkout.pipeline.recognise import AcceptanceRule
from ebrcs.config import Settings
from ebrcs.deps import DbSession, RuntimeDep, SettingsDep
from ebrcs.errors import ErrorCode, InvalidInput, NotFound, PayloadTooLarge
from ebrcs.params import Offset
from ebrcs.recognition.types import ProductMatch
from ebrcs.text import NO_NUL, Text
from ebrcs.uploads import (
    MultipartForm,
    file_schema,
    files,
    files_schema,
    multipart_body,
    text_field,
)

router = APIRouter(tags=["catalog"])

PHOTOS = files_schema("product photos (JPEG, PNG, WebP or BMP)", max_items=3)
PRODUCT_FORM = multipart_body(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NO_NUL},
        "price": {"type": "string", "pattern": r"^\d{1,7}(\.\d{1,2})?$", "default": "0.00"},
        "description": {"type": "string", "maxLength": 2000, "pattern": NO_NUL},
        "allow_duplicate": {"type": "boolean", "default": False},
        "images": PHOTOS,
    },
    required=["name", "images"],
)
BOOLEAN = TypeAdapter(bool)


def read_uploads(uploads: list[UploadFile], settings: Settings) -> list[bytes]:
    """The bytes of each upload, refusing any file over the size limit without reading it all."""
    contents = []
    for upload in uploads:
        data = upload.file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"{upload.filename} is larger than {settings.max_upload_bytes}",
                code=ErrorCode.IMAGE_TOO_LARGE,
            )
        contents.append(data)
    return contents


def product_out(product: Product, image_count: int) -> ProductOut:
    """A product row as the API shows it."""
    return ProductOut(
        id=product.id,
        name=product.name,
        description=product.description,
        price=product.price,
        is_active=product.is_active,
        image_count=image_count,
        created_at=product.created_at,
    )


@router.post("/api/products", status_code=status.HTTP_201_CREATED, openapi_extra=PRODUCT_FORM)
def register_product(
    user: AdminUser, db: DbSession, runtime: RuntimeDep, form: MultipartForm
) -> ProductRegistered:
    """Register a product from 1 to 3 photos; it is recognisable as soon as this returns.

    A name an active product already has is refused (409 ``duplicate_product_name``) unless
    ``allow_duplicate`` is true.
    """
    fields: dict[str, object] = {
        "name": text_field(form, "name") or "",
        "description": text_field(form, "description"),
    }
    if (price := text_field(form, "price")) is not None:
        fields["price"] = price
    try:
        allow_duplicate = BOOLEAN.validate_python(text_field(form, "allow_duplicate") or False)
    except ValidationError as error:
        raise InvalidInput("allow_duplicate is true or false") from error
    product, images_count = flows.register_product(
        db=db,
        index=runtime.index,
        embedder=runtime.embedder,
        settings=runtime.settings,
        fields=fields,
        uploads=read_uploads(files(form, "images"), runtime.settings),
        created_by=user,
        allow_duplicate_name=allow_duplicate,
    )
    return ProductRegistered(
        product_id=product.id,
        product_name=product.name,
        images_count=images_count,
        total_products=service.count_active(db=db),
        total_embeddings=runtime.index.ntotal,
    )


@router.get("/api/products")
def list_products(
    _user: CurrentUser,
    db: DbSession,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    include_inactive: bool = False,
    q: Annotated[Text | None, Query(max_length=200)] = None,
) -> ProductPage:
    """Products newest first, with photo counts (inactive ones on request)."""
    rows, total = service.list_products(
        db=db, offset=offset, limit=limit, include_inactive=include_inactive, name_contains=q
    )
    items = [product_out(product, count) for product, count in rows]
    return ProductPage(items=items, total=total, offset=offset, limit=limit)


def _image_url(product_id: uuid.UUID, image_id: uuid.UUID | None) -> str | None:
    """Where a stored photo is served, or None for a vector without a photo."""
    return f"/api/products/{product_id}/images/{image_id}" if image_id else None


# Declared before /api/products/{product_id}, which would otherwise take "search" for an id.
@router.get("/api/products/search")
def search_products(
    _user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    q: Annotated[Text, Query(max_length=200)] = "",
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
) -> PickerResults:
    """Sellable products for the picker: fuzzy, accent- and case-insensitive; blank browses.

    Paged over the ranked list: ``total`` is how many match, ``offset`` where this page starts.
    """
    found, total = search.search(
        db=db, query=q, offset=offset, limit=limit, min_score=settings.picker_min_score
    )
    return PickerResults(
        items=[
            PickerProduct(
                id=hit.product.id,
                name=hit.product.name,
                price=hit.product.price,
                image_url=_image_url(hit.product.id, hit.image_id),
                score=hit.score,
            )
            for hit in found
        ],
        total=total,
        offset=offset,
    )


@router.get("/api/products/{product_id}")
def get_product(_user: CurrentUser, db: DbSession, product_id: uuid.UUID) -> ProductDetail:
    """One product with its photos."""
    product = service.get(db=db, product_id=product_id)
    images = [
        ProductImageOut(
            id=image.id,
            url=f"/api/products/{product.id}/images/{image.id}" if image.image_path else None,
            embedder_id=image.embedder_id,
        )
        for image in product.images
    ]
    base = product_out(product, len(images))
    return ProductDetail(**base.model_dump(), images=images)


@router.patch("/api/products/{product_id}")
def update_product(
    _user: AdminUser,
    db: DbSession,
    runtime: RuntimeDep,
    product_id: uuid.UUID,
    body: dict[str, Any],
) -> ProductOut:
    """Change name, price, description or whether the product is on sale."""
    product = flows.update_product(
        db=db, index=runtime.index, settings=runtime.settings, product_id=product_id, fields=body
    )
    return product_out(product, service.image_count(db=db, product_id=product.id))


@router.delete("/api/products/{product_id}")
def deactivate_product(
    _user: AdminUser, db: DbSession, runtime: RuntimeDep, product_id: uuid.UUID
) -> ProductOut:
    """Take a product off sale: it leaves recognition at once; its order history stays."""
    product = flows.deactivate(
        db=db, index=runtime.index, settings=runtime.settings, product_id=product_id
    )
    return product_out(product, service.image_count(db=db, product_id=product.id))


@router.post(
    "/api/products/{product_id}/images",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=multipart_body({"images": PHOTOS}, required=["images"]),
)
def add_product_images(
    _user: AdminUser, db: DbSession, runtime: RuntimeDep, product_id: uuid.UUID, form: MultipartForm
) -> PhotosAdded:
    """Add 1 to 3 photos; a product keeps at most EBRCS_MAX_STORED_IMAGES_PER_PRODUCT (12)."""
    uploads = read_uploads(files(form, "images"), runtime.settings)
    product, image_count = flows.add_photos(
        db=db,
        index=runtime.index,
        embedder=runtime.embedder,
        settings=runtime.settings,
        product_id=product_id,
        uploads=uploads,
    )
    return PhotosAdded(
        product_id=product.id,
        images_added=len(uploads),
        image_count=image_count,
        total_embeddings=runtime.index.ntotal,
    )


@router.get(
    "/api/products/{product_id}/images/{image_id}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The photo as it was uploaded",
            "content": {kind: {} for kind in MEDIA_TYPES.values()},
        }
    },
)
def product_image(
    _user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    product_id: uuid.UUID,
    image_id: uuid.UUID,
) -> FileResponse:
    """A stored product photo."""
    image = service.get_image(db=db, product_id=product_id, image_id=image_id)
    path = photo_file(settings.images_dir, image.image_path)
    if path is None or not path.is_file():
        raise NotFound("this vector has no stored photo", code=ErrorCode.PHOTO_NOT_STORED)
    return FileResponse(path, media_type=media_type(path))


@router.delete("/api/products/{product_id}/images/{image_id}")
def remove_product_image(
    _user: AdminUser,
    db: DbSession,
    runtime: RuntimeDep,
    product_id: uuid.UUID,
    image_id: uuid.UUID,
) -> ProductOut:
    """Delete a photo and its vector (a product keeps at least one: 409 ``last_photo``)."""
    product, count = flows.remove_photo(
        db=db,
        index=runtime.index,
        settings=runtime.settings,
        product_id=product_id,
        image_id=image_id,
    )
    return product_out(product, count)


@router.post(
    "/api/recognize",
    openapi_extra=multipart_body({"image": file_schema("a photo of one item")}, required=["image"]),
)
def recognize(
    _user: CurrentUser, db: DbSession, runtime: RuntimeDep, form: MultipartForm
) -> Recognition:
    """The products a photo most likely shows, best first, with the live checkout's verdict."""
    image = files(form, "image")
    if len(image) != 1:
        raise InvalidInput(f"send one image, not {len(image)}", code=ErrorCode.IMAGE_COUNT)
    (data,) = read_uploads(image, runtime.settings)
    found = flows.recognise_photo(
        db=db, recogniser=runtime.recogniser, settings=runtime.settings, data=data
    )
    config = pipeline_config(settings=runtime.settings, index=runtime.index)
    return Recognition(
        verdict=_verdict([match for match, _ in found], config),
        matches=[Match(product_id=m.product_id, name=name, score=m.score) for m, name in found],
    )


def _verdict(matches: list[ProductMatch], config: PipelineConfig) -> Verdict:
    """What the live checkout's acceptance rule makes of a photo ranked like this.

    One photo is judged as a track seen in one view: the same rule, the same thresholds (those
    of the vector space the index searches now).
    """
    identity = AcceptanceRule.from_config(config).judge(matches)
    if identity.accepted:
        return "accepted"
    return "unsure" if identity.is_product else "not_a_product"
