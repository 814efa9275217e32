"""Constraints live in the database, migrations agree with the models, the ledger is append-only."""

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from webapp.extensions import db
from webapp.models import Distribution, LedgerEntry, OrderLine, Product

from . import factories


def test_migrations_and_models_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_head_then_downgrade_base_then_upgrade_again(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="base")
        upgrade()
        tables = set(db.inspect(db.engine).get_table_names())
    assert {"users", "ledger_entries", "order_lines", "distributions"} <= tables


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now)
    member = factories.user(session, now=now, group=group)
    catalogue = factories.catalogue(session, group=group)
    product = factories.product(session, catalogue=catalogue)
    return group, member, catalogue, product


def _ledger(group, member, now, **kw):
    return LedgerEntry(group_id=group.id, user_id=member.id, created_at=now, **kw)


def test_ledger_rows_cannot_be_updated_or_deleted(session, now, world):
    group, member, *_ = world
    session.add(
        _ledger(group, member, now, kind="payment", amount_cents=500, payment_method="cash")
    )
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(update(LedgerEntry).values(amount_cents=1))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(LedgerEntry))
    session.rollback()
    assert session.scalar(text("SELECT amount_cents FROM ledger_entries")) == 500


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "payment", "amount_cents": -5, "payment_method": "cash"},
        {"kind": "order", "amount_cents": 100},
        {"kind": "refund", "amount_cents": 100},
        {"kind": "gift", "amount_cents": 100},
        {"kind": "payment", "amount_cents": 100, "payment_method": "bitcoin"},
        {"kind": "reversal", "amount_cents": 100},  # a reversal must point at its entry
    ],
)
def test_ledger_checks_refuse_wrong_signs_and_kinds(session, now, world, entry):
    group, member, *_ = world
    session.add(_ledger(group, member, now, **entry))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


@pytest.mark.parametrize(
    "changes",
    [{"price_cents": -1}, {"vat_rate": -1}, {"stock": -1}],
)
def test_product_checks(session, world, changes):
    *_, product = world
    statement = update(Product).where(Product.id == product.id).values(**changes)
    with pytest.raises(IntegrityError):
        session.execute(statement)
        session.commit()
    session.rollback()


def test_distribution_window_is_checked_by_the_database(session, now, world):
    group, *_ = world
    d = factories.distribution(session, group=group, now=now)
    d.orders_close_at = d.starts_at + timedelta(hours=1)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    assert session.get(Distribution, d.id) is not None


def test_one_basket_per_member_and_numbers_follow(session, now, world):
    group, member, catalogue, product = world
    other = factories.user(session, now=now, group=group)
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    first = factories.order(session, distribution=d, user=member, now=now, lines=[(product, 1)])
    again = factories.order(session, distribution=d, user=member, now=now, lines=[])
    second = factories.order(session, distribution=d, user=other, now=now, lines=[])
    assert first.id == again.id
    assert (first.number, second.number) == (1, 2)


def test_negative_quantity_is_refused_by_the_database(session, now, world):
    group, member, catalogue, product = world
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    basket = factories.order(session, distribution=d, user=member, now=now, lines=[(product, 1)])
    with pytest.raises(IntegrityError):
        session.execute(
            update(OrderLine).where(OrderLine.basket_id == basket.id).values(quantity=-1)
        )
        session.commit()
    session.rollback()


def test_sheet_events_cannot_be_updated_or_deleted(session, now, world):
    import uuid

    from webapp.models import SheetEvent

    group, member, catalogue, product = world
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    basket = factories.order(session, distribution=d, user=member, now=now, lines=[(product, 1)])
    session.add(
        SheetEvent(
            id=str(uuid.uuid4()),
            distribution_id=d.id,
            basket_id=basket.id,
            device_id="tab",
            kind="note",
            payload={"text": "x"},
            recorded_at=now,
            received_at=now,
        )
    )
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(update(SheetEvent).values(device_id="other"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(SheetEvent))
    session.rollback()
