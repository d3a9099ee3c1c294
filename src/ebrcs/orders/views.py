"""HTTP routes of confirmation, order history and the admin's views of orders."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query

from ebrcs.auth.deps import AdminUser, CurrentUser
from ebrcs.checkout.deps import OwnedSession
from ebrcs.checkout.views import BILLING_PREFIX
from ebrcs.deps import DbSession, RuntimeDep
from ebrcs.orders import dashboard, flows, learning, service
from ebrcs.orders.deps import VisibleOrder
from ebrcs.orders.schemas import (
    AdminOrderOut,
    AdminOrderPage,
    ConfirmedOut,
    DashboardOut,
    OrderOut,
    OrderPage,
)
from ebrcs.params import Offset, UtcDateTime
from ebrcs.text import Text

# The bill's last step, beside the order it makes; the bill's other routes are checkout's.
confirm_router = APIRouter(prefix=BILLING_PREFIX, tags=["billing"])
orders_router = APIRouter(prefix="/api/orders", tags=["orders"])
admin_router = APIRouter(prefix="/api/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=100)]


@confirm_router.post("/confirm")
def confirm_billing(
    session: OwnedSession, db: DbSession, runtime: RuntimeDep, background: BackgroundTasks
) -> ConfirmedOut:
    """Pay (mock) and turn the bill into an order; repeating it returns the same order."""
    order, created = flows.confirm(db=db, session=session)
    if created and runtime.settings.learn_from_corrections:
        background.add_task(
            learning.learn,
            db_sessions=runtime.sessions,
            index=runtime.index,
            embedder=runtime.embedder,
            settings=runtime.settings,
            order_id=order.id,
        )
    return ConfirmedOut.of(order)


@orders_router.get("")
def list_orders(
    db: DbSession,
    user: CurrentUser,
    limit: Limit = 20,
    offset: Offset = 0,
    session_id: uuid.UUID | None = None,
) -> OrderPage:
    """The caller's orders, newest first; ``session_id``: the order that checkout became."""
    orders, total = service.find(
        db=db, user_id=user.id, session_id=session_id, limit=limit, offset=offset
    )
    return OrderPage(
        orders=[OrderOut.of(order) for order in orders], total=total, limit=limit, offset=offset
    )


@orders_router.get("/{order_id}")
def get_order(order: VisibleOrder) -> OrderOut:
    """One of the caller's orders (admins may read every order)."""
    return OrderOut.of(order)


@admin_router.get("/orders")
def list_all_orders(
    db: DbSession,
    _admin: AdminUser,
    limit: Limit = 20,
    offset: Offset = 0,
    user_id: uuid.UUID | None = None,
    username: Annotated[Text | None, Query(max_length=50)] = None,
    confirmed_from: Annotated[UtcDateTime | None, Query(alias="from")] = None,
    confirmed_to: Annotated[UtcDateTime | None, Query(alias="to")] = None,
) -> AdminOrderPage:
    """Every user's orders, newest first, confirmed in ``[from, to)`` (UTC without a zone)."""
    orders, total = service.find(
        db=db,
        limit=limit,
        offset=offset,
        user_id=user_id,
        username=username,
        confirmed_from=confirmed_from,
        confirmed_to=confirmed_to,
    )
    return AdminOrderPage(
        orders=[AdminOrderOut.of(order) for order in orders],
        total=total,
        limit=limit,
        offset=offset,
    )


@admin_router.get("/dashboard")
def get_dashboard(
    db: DbSession, _admin: AdminUser, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> DashboardOut:
    """Sales per day, best sellers and recognition health of the last ``days`` days."""
    return dashboard.figures(db=db, days=days)
