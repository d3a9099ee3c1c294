"""Ownership as a dependency for orders (see ``ebrcs.checkout.deps``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from ebrcs.auth.deps import CurrentUser
from ebrcs.deps import DbSession
from ebrcs.orders import service
from ebrcs.orders.models import Order


def visible_order(order_id: uuid.UUID, db: DbSession, user: CurrentUser) -> Order:
    """The order in the path if it is the caller's, or the caller is an admin (404 otherwise)."""
    return service.get_visible(db=db, order_id=order_id, user=user)


VisibleOrder = Annotated[Order, Depends(visible_order)]
