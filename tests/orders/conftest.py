"""Fixtures of the orders tests: products and checkout sessions straight in the app's database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ebrcs.auth.models import User
from ebrcs.catalog.models import Product
from ebrcs.checkout import cart
from ebrcs.checkout import service as checkout

MakeProduct = Callable[..., uuid.UUID]
OpenSession = Callable[..., uuid.UUID]


@pytest.fixture
def app_sessions(client: TestClient) -> sessionmaker[Session]:
    """Database sessions on the app's own database."""
    return client.app.state.runtime.sessions


@pytest.fixture
def make_product(app_sessions: sessionmaker[Session]) -> MakeProduct:
    """Insert a product: ``make_product("Gum", "0.10", is_active=False)``."""

    def _make(name: str = "Milk", price: str = "1.00", *, is_active: bool = True) -> uuid.UUID:
        with app_sessions() as db:
            product = Product(name=name, price=Decimal(price), is_active=is_active)
            db.add(product)
            db.commit()
            return product.id

    return _make


@pytest.fixture
def open_session(app_sessions: sessionmaker[Session]) -> OpenSession:
    """Open a checkout session for an account, its cart holding ``{product_id: quantity}``."""

    def _open(account: Any, items: dict[uuid.UUID, int] | None = None) -> uuid.UUID:
        with app_sessions() as db:
            user = db.get_one(User, account.user_id)
            session_id = checkout.create(db=db, user=user).id
            if items:
                cart.set_quantities(
                    db=db, session_id=session_id, quantities=items.items(), max_quantity=999
                )
            return session_id

    return _open
