"""Every table, imported in one place so metadata and migrations see them all."""

from ebrcs.auth.models import LoginThrottle, User
from ebrcs.catalog.models import IdCounter, Product, ProductImage, StoredAdapter
from ebrcs.checkout.models import (
    BillingItem,
    CheckoutSession,
    RecognitionEvent,
    UnresolvedItem,
)
from ebrcs.db.base import Base
from ebrcs.orders.models import Order, OrderItem

__all__ = [
    "Base",
    "BillingItem",
    "CheckoutSession",
    "IdCounter",
    "LoginThrottle",
    "Order",
    "OrderItem",
    "Product",
    "ProductImage",
    "RecognitionEvent",
    "StoredAdapter",
    "UnresolvedItem",
    "User",
]
