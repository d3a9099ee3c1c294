"""Every constraint of the schema holds on both backends: each test tries to break one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ebrcs.auth.models import User
from ebrcs.catalog.models import Product, ProductImage
from ebrcs.checkout.models import BillingItem, CheckoutSession
from ebrcs.orders.models import Order, OrderItem


def _user(db: Session, **overrides: Any) -> uuid.UUID:
    values = {"id": uuid.uuid4(), "username": f"u{uuid.uuid4().hex[:8]}", "password_hash": "x"}
    values.update(overrides)
    db.execute(insert(User).values(**values))
    return values["id"]


def _product(db: Session, **overrides: Any) -> uuid.UUID:
    values = {"id": uuid.uuid4(), "name": "Milk", "price": Decimal("1.20")}
    values.update(overrides)
    db.execute(insert(Product).values(**values))
    return values["id"]


def _image(db: Session, product_id: uuid.UUID, **overrides: Any) -> uuid.UUID:
    values = {
        "id": uuid.uuid4(),
        "product_id": product_id,
        "image_path": "images/x.jpg",
        "embedding_id": 1,
        "embedding": b"\0" * 8,
        "embedding_dim": 2,
        "embedder_id": "test",
    }
    values.update(overrides)
    db.execute(insert(ProductImage).values(**values))
    return values["id"]


def _session(db: Session, user_id: uuid.UUID, **overrides: Any) -> uuid.UUID:
    values = {"id": uuid.uuid4(), "user_id": user_id, "session_metadata": {}}
    values.update(overrides)
    db.execute(insert(CheckoutSession).values(**values))
    return values["id"]


def _billing_item(db: Session, session_id: uuid.UUID, product_id: uuid.UUID, **kw: Any) -> None:
    values = {"session_id": session_id, "product_id": product_id, "quantity": 1, "avg_score": 0.9}
    values.update(kw)
    db.execute(insert(BillingItem).values(id=uuid.uuid4(), **values))


def _order(db: Session, user_id: uuid.UUID, **overrides: Any) -> uuid.UUID:
    values = {"id": uuid.uuid4(), "user_id": user_id, "total_items": 1, "total_amount": 1}
    values.update(overrides)
    db.execute(insert(Order).values(**values))
    return values["id"]


def _order_item(db: Session, order_id: uuid.UUID, product_id: uuid.UUID, **kw: Any) -> None:
    values = {"order_id": order_id, "product_id": product_id, "quantity": 1, "unit_price": 1}
    values.update(kw)
    db.execute(insert(OrderItem).values(id=uuid.uuid4(), **values))


def _rejected(db: Session, action: Callable[[], object]) -> None:
    with pytest.raises(IntegrityError):
        action()
        db.flush()
    db.rollback()


def test_usernames_are_unique(db: Session) -> None:
    _user(db, username="alice")
    _rejected(db, lambda: _user(db, username="alice"))


def test_username_has_at_least_three_characters(db: Session) -> None:
    _rejected(db, lambda: _user(db, username="al"))


def test_role_is_user_or_admin(db: Session) -> None:
    _user(db, username="mallory")
    _rejected(db, lambda: db.execute(text("UPDATE users SET role = 'root'")))


def test_price_is_never_negative(db: Session) -> None:
    _rejected(db, lambda: _product(db, price=Decimal("-0.01")))


def test_product_name_is_not_empty(db: Session) -> None:
    _rejected(db, lambda: _product(db, name=""))


def test_product_creator_must_exist(db: Session) -> None:
    _rejected(db, lambda: _product(db, created_by=uuid.uuid4()))


def test_embedding_ids_are_unique_and_positive(db: Session) -> None:
    product_id = _product(db)
    _image(db, product_id, embedding_id=7)
    _rejected(db, lambda: _image(db, product_id, embedding_id=7))
    product_id = _product(db)
    _rejected(db, lambda: _image(db, product_id, embedding_id=0))


def test_deleting_a_product_deletes_its_images(db: Session) -> None:
    product_id = _product(db)
    _image(db, product_id)
    db.execute(delete(Product).where(Product.id == product_id))
    assert db.scalar(select(ProductImage.id)) is None


def test_session_status_is_one_of_the_known_states(db: Session) -> None:
    user_id = _user(db)
    _rejected(db, lambda: _session(db, user_id, status="paused"))


def test_billing_quantity_is_positive(db: Session) -> None:
    session_id, product_id = _session(db, _user(db)), _product(db)
    _rejected(db, lambda: _billing_item(db, session_id, product_id, quantity=0))


def test_billing_avg_score_is_between_zero_and_one(db: Session) -> None:
    session_id, product_id = _session(db, _user(db)), _product(db)
    _rejected(db, lambda: _billing_item(db, session_id, product_id, avg_score=1.5))


def test_one_billing_line_per_product_and_session(db: Session) -> None:
    session_id, product_id = _session(db, _user(db)), _product(db)
    _billing_item(db, session_id, product_id)
    _rejected(db, lambda: _billing_item(db, session_id, product_id))


def test_a_product_in_a_cart_cannot_be_deleted(db: Session) -> None:
    session_id, product_id = _session(db, _user(db)), _product(db)
    _billing_item(db, session_id, product_id)
    _rejected(db, lambda: db.execute(delete(Product).where(Product.id == product_id)))


def test_deleting_a_session_deletes_its_cart(db: Session) -> None:
    session_id, product_id = _session(db, _user(db)), _product(db)
    _billing_item(db, session_id, product_id)
    db.execute(delete(CheckoutSession).where(CheckoutSession.id == session_id))
    assert db.scalar(select(BillingItem.id)) is None


def test_order_counts_and_amounts_are_valid(db: Session) -> None:
    user_id = _user(db)
    _rejected(db, lambda: _order(db, user_id, total_items=0))
    user_id = _user(db)
    _rejected(db, lambda: _order(db, user_id, total_amount=Decimal("-1")))
    user_id = _user(db)
    _rejected(db, lambda: _order(db, user_id, payment_status="stolen"))


def test_one_order_per_session(db: Session) -> None:
    user_id = _user(db)
    session_id = _session(db, user_id)
    _order(db, user_id, session_id=session_id)
    _rejected(db, lambda: _order(db, user_id, session_id=session_id))


def test_a_user_with_orders_cannot_be_deleted(db: Session) -> None:
    user_id = _user(db)
    _order(db, user_id)
    _rejected(db, lambda: db.execute(delete(User).where(User.id == user_id)))


def test_order_item_quantity_and_price_are_valid(db: Session) -> None:
    order_id, product_id = _order(db, _user(db)), _product(db)
    _rejected(db, lambda: _order_item(db, order_id, product_id, quantity=0))
    order_id, product_id = _order(db, _user(db)), _product(db)
    _rejected(db, lambda: _order_item(db, order_id, product_id, unit_price=Decimal("-0.5")))


def test_a_sold_product_cannot_be_deleted_but_its_order_can(db: Session) -> None:
    order_id, product_id = _order(db, _user(db)), _product(db)
    _order_item(db, order_id, product_id)
    db.commit()
    _rejected(db, lambda: db.execute(delete(Product).where(Product.id == product_id)))
    db.execute(delete(Order).where(Order.id == order_id))
    assert db.scalar(select(OrderItem.id)) is None


def test_updated_at_moves_on_plain_sql_updates(db: Session) -> None:
    product_id = _product(db)
    db.commit()
    before = db.scalar(select(Product.updated_at).where(Product.id == product_id))
    db.execute(text("UPDATE products SET name = 'Oat milk'"))
    db.commit()
    after = db.scalar(select(Product.updated_at).where(Product.id == product_id))
    assert after > before
