"""Ordering: the window at its boundaries, stock never oversold, frozen prices, totals."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.db_setup import read_only_transaction
from webapp.models import OrderLine, Product
from webapp.services import ServiceError
from webapp.services.orders import OrdersClosed, find_basket, set_quantities, summarise

from . import factories


@pytest.fixture
def shop(session, now):
    group = factories.group(session, now=now)
    member = factories.user(session, now=now, group=group)
    catalogue = factories.catalogue(session, group=group)
    carrots = factories.product(
        session, catalogue=catalogue, name="Carottes", price_cents=260, unit="kg", weighed=True
    )
    bread = factories.product(session, catalogue=catalogue, name="Pain", price_cents=450)
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    return dict(group=group, member=member, catalogue=catalogue, carrots=carrots, bread=bread, d=d)


def _order(session, shop, wanted, now):
    result = set_quantities(session, shop["d"], wanted, actor=shop["member"], now=now)
    session.commit()
    return result


def test_order_then_change_then_empty(app, session, shop, now):
    with app.test_request_context():
        _order(
            session, shop, {shop["carrots"].id: Decimal("1.5"), shop["bread"].id: Decimal(2)}, now
        )
        summary = summarise(find_basket(session, shop["d"], shop["member"]))
        assert summary.total_cents == 390 + 900
        _order(session, shop, {shop["bread"].id: Decimal(1)}, now)
        assert summarise(find_basket(session, shop["d"], shop["member"])).total_cents == 390 + 450
        _order(session, shop, {shop["carrots"].id: Decimal(0), shop["bread"].id: Decimal(0)}, now)
        assert summarise(find_basket(session, shop["d"], shop["member"])).count == 0


@pytest.mark.parametrize(
    ("offset", "allowed"),
    [(-timedelta(seconds=1), True), (timedelta(0), False), (timedelta(seconds=1), False)],
)
def test_window_closes_at_the_instant(app, session, shop, offset, allowed):
    at = shop["d"].orders_close_at + offset
    with app.test_request_context():
        if allowed:
            _order(session, shop, {shop["bread"].id: Decimal(1)}, at)
        else:
            with pytest.raises(OrdersClosed, match="Commandes fermées le"):
                _order(session, shop, {shop["bread"].id: Decimal(1)}, at)


def test_window_opens_at_the_instant(app, session, shop):
    opens = shop["d"].orders_open_at
    with app.test_request_context():
        with pytest.raises(OrdersClosed, match="Les commandes ouvrent le"):
            _order(session, shop, {shop["bread"].id: Decimal(1)}, opens - timedelta(seconds=1))
        _order(session, shop, {shop["bread"].id: Decimal(1)}, opens)


def test_price_is_frozen_at_order_time(app, session, shop, now):
    with app.test_request_context():
        _order(session, shop, {shop["bread"].id: Decimal(1)}, now)
        shop["bread"].price_cents = 999
        session.commit()
        _order(session, shop, {shop["bread"].id: Decimal(3)}, now)
    line = session.scalar(select(OrderLine))
    assert (line.quantity, line.unit_price_cents) == (3, 450)


def test_when_less_is_left_the_member_gets_what_is_left(app, session, shop, now):
    shop["bread"].stock = Decimal(2)
    session.commit()
    with app.test_request_context():
        result = _order(session, shop, {shop["bread"].id: Decimal(5)}, now)
    assert [(c.asked, c.granted) for c in result.shortfalls] == [(5, 2)]
    session.refresh(shop["bread"])
    assert shop["bread"].stock == 0


def test_lowering_a_quantity_gives_stock_back(app, session, shop, now):
    shop["bread"].stock = Decimal(5)
    session.commit()
    with app.test_request_context():
        _order(session, shop, {shop["bread"].id: Decimal(4)}, now)
        _order(session, shop, {shop["bread"].id: Decimal(1)}, now)
    session.refresh(shop["bread"])
    assert shop["bread"].stock == 4


def test_an_inactive_product_cannot_be_added_but_can_be_removed(app, session, shop, now):
    with app.test_request_context():
        _order(session, shop, {shop["bread"].id: Decimal(2)}, now)
        shop["bread"].active = False
        session.commit()
        with pytest.raises(ServiceError, match="n’est plus disponible"):
            _order(session, shop, {shop["bread"].id: Decimal(3)}, now)
        session.rollback()
        _order(session, shop, {shop["bread"].id: Decimal(0)}, now)


def test_a_product_of_another_distribution_is_refused(app, session, shop, now):
    other_catalogue = factories.catalogue(session, group=shop["group"], name="Autre")
    stranger = factories.product(session, catalogue=other_catalogue)
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        _order(session, shop, {stranger.id: Decimal(1)}, now)
    assert error.value.status == 404


def _race(app, shop, now, buyers, stock, per_buyer):
    """`buyers` members order `per_buyer` units each at the same moment, from threads."""
    with app.app_context():
        from webapp.extensions import db

        engine = db.engine
    barrier = threading.Barrier(len(buyers))
    granted, errors = [], []

    def buy(user):
        read_only_transaction.set(False)
        with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
            try:
                barrier.wait()
                result = set_quantities(
                    s,
                    s.merge(shop["d"]),
                    {shop["bread"].id: per_buyer},
                    actor=s.merge(user),
                    now=now,
                )
                s.commit()
                granted.append(sum((c.granted for c in result.changes), Decimal(0)))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))

    threads = [threading.Thread(target=buy, args=(u,)) for u in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return granted, errors


def test_stock_is_never_oversold_under_concurrent_orders(app, session, shop, now):
    shop["bread"].stock = Decimal(5)
    session.commit()
    buyers = [factories.user(session, now=now, group=shop["group"]) for _ in range(8)]
    for buyer in buyers:  # baskets exist already: only the stock is contended
        factories.order(session, distribution=shop["d"], user=buyer, now=now, lines=[])
    granted, errors = _race(app, shop, now, buyers, 5, Decimal(2))
    assert errors == []
    assert sum(granted) == 5
    factories.fresh(session)
    assert session.get(Product, shop["bread"].id).stock == 0
    ordered = session.scalars(
        select(OrderLine.quantity).where(OrderLine.product_id == shop["bread"].id)
    ).all()
    assert sum(ordered) == 5
