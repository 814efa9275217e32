"""Ordering: the window at its boundaries, stock never oversold (per distribution), frozen
prices, totals."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.db_setup import read_only_transaction
from webapp.models import DistributionOffer, OrderLine, Product
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


def _order(session, shop, wanted, now, distribution=None):
    result = set_quantities(
        session, distribution or shop["d"], wanted, actor=shop["member"], now=now
    )
    session.commit()
    return result


def _left(session, distribution, product):
    """What is left of `product` at `distribution` (None: nothing counted there yet)."""
    factories.fresh(session)
    row = session.get(DistributionOffer, (distribution.id, product.id))
    return None if row is None else row.stock


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
    assert _left(session, shop["d"], shop["bread"]) == 0
    assert session.get(Product, shop["bread"].id).stock == 2  # the default, for every week


def test_lowering_a_quantity_gives_stock_back(app, session, shop, now):
    shop["bread"].stock = Decimal(5)
    session.commit()
    with app.test_request_context():
        _order(session, shop, {shop["bread"].id: Decimal(4)}, now)
        _order(session, shop, {shop["bread"].id: Decimal(1)}, now)
    assert _left(session, shop["d"], shop["bread"]) == 4


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


def _race(app, shop, now, buyers, stock, per_buyer, distributions=None):
    """`buyers` members order `per_buyer` units each at the same moment, from threads; the
    i-th buyer orders at `distributions[i]` (all at the shop's distribution by default)."""
    with app.app_context():
        from webapp.extensions import db

        engine = db.engine
    barrier = threading.Barrier(len(buyers))
    granted, errors = [], []
    distributions = distributions or [shop["d"]] * len(buyers)

    def buy(user, distribution):
        read_only_transaction.set(False)
        with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
            try:
                barrier.wait()
                result = set_quantities(
                    s,
                    s.merge(distribution),
                    {shop["bread"].id: per_buyer},
                    actor=s.merge(user),
                    now=now,
                )
                s.commit()
                granted.append(
                    (distribution.id, sum((c.granted for c in result.changes), Decimal(0)))
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))

    threads = [
        threading.Thread(target=buy, args=(u, d))
        for u, d in zip(buyers, distributions, strict=True)
    ]
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
    assert sum(g for _, g in granted) == 5
    assert _left(session, shop["d"], shop["bread"]) == 0
    assert session.get(Product, shop["bread"].id).stock == 5  # next week's default, untouched
    ordered = session.scalars(
        select(OrderLine.quantity).where(OrderLine.product_id == shop["bread"].id)
    ).all()
    assert sum(ordered) == 5


def test_two_distributions_stocks_are_independent_under_concurrent_orders(app, session, shop, now):
    """20 crottins this week, 20 next week: 16 members at once, 8 per week, each week
    sells exactly its own 5 and no more, whatever the other does."""
    shop["bread"].stock = Decimal(5)
    session.commit()
    next_week = factories.distribution(
        session, group=shop["group"], now=now, catalogues=[shop["catalogue"]]
    )
    weeks = [shop["d"], next_week] * 8
    buyers = [factories.user(session, now=now, group=shop["group"]) for _ in weeks]
    for buyer, week in zip(buyers, weeks, strict=True):
        factories.order(session, distribution=week, user=buyer, now=now, lines=[])
    granted, errors = _race(app, shop, now, buyers, 5, Decimal(2), distributions=weeks)
    assert errors == []
    for week in (shop["d"], next_week):
        assert sum(g for d_id, g in granted if d_id == week.id) == 5
        assert _left(session, week, shop["bread"]) == 0
    assert session.get(Product, shop["bread"].id).stock == 5


def test_selling_out_one_week_leaves_the_next_week_its_stock(app, session, shop, now):
    shop["bread"].stock = Decimal(3)
    session.commit()
    next_week = factories.distribution(
        session, group=shop["group"], now=now, catalogues=[shop["catalogue"]]
    )
    with app.test_request_context():
        _order(session, shop, {shop["bread"].id: Decimal(3)}, now)
        result = _order(session, shop, {shop["bread"].id: Decimal(3)}, now, next_week)
    assert result.shortfalls == []
    assert _left(session, shop["d"], shop["bread"]) == 0
    assert _left(session, next_week, shop["bread"]) == 0
    third = factories.distribution(
        session, group=shop["group"], now=now, catalogues=[shop["catalogue"]]
    )
    assert _left(session, third, shop["bread"]) is None  # no row yet: starts from 3


def test_a_product_without_stock_writes_no_offer_row(app, session, shop, now):
    with app.test_request_context():
        _order(session, shop, {shop["bread"].id: Decimal(4)}, now)
    assert _left(session, shop["d"], shop["bread"]) is None
    assert session.scalars(select(DistributionOffer)).all() == []
