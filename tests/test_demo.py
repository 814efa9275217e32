"""The demo group: every state of the cycle, believable data, idempotent."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from webapp.domain.cycle import Status
from webapp.models import Basket, Distribution, DutyAssignment, Membership, Product, User
from webapp.services.demo import DEMO_PASSWORD, seed_demo
from webapp.services.ledger import balance_cents


@pytest.fixture
def demo(app, session, now):
    with app.app_context():
        assert seed_demo(session, now=now) is True
    session.commit()
    return session


def test_demo_has_every_state_of_the_cycle(demo, now):
    states = Counter(d.status(now) for d in demo.scalars(select(Distribution)))
    assert states == Counter(
        {s: 1 for s in Status if s not in (Status.DISTRIBUTING, Status.CANCELLED)}
    )


def test_demo_has_producers_products_and_members(demo):
    assert demo.scalar(select(func.count(Product.id))) >= 38
    assert demo.scalar(select(func.count(Membership.id))) >= 63
    units = set(demo.scalars(select(Product.unit)))
    assert {"kg", "bunch", "piece", "litre"} <= units


def test_demo_orders_on_every_distribution_whose_orders_opened(demo, now):
    for d in demo.scalars(select(Distribution)):
        count = demo.scalar(select(func.count(Basket.id)).where(Basket.distribution_id == d.id))
        assert (count > 0) == (d.status(now) != Status.SCHEDULED)


def test_volunteer_is_on_duty_at_the_closed_distribution(demo, now):
    duty = demo.scalars(
        select(DutyAssignment).join(User).where(User.email == "volunteer@demo.test")
    ).one()
    assert demo.get(Distribution, duty.distribution_id).status(now) == Status.CLOSED


def test_validated_distribution_left_balances_in_the_ledger(demo):
    member = demo.scalar(select(User).where(User.email == "member@demo.test"))
    group_id = member.memberships[0].group_id
    # the demo member ordered and paid; any gap stays in the balance
    assert isinstance(balance_cents(demo, group_id=group_id, user_id=member.id), int)


def test_running_it_twice_changes_nothing(demo, now):
    before = demo.scalar(select(func.count(User.id))), demo.scalar(select(func.count(Basket.id)))
    assert seed_demo(demo, now=now) is False
    after = demo.scalar(select(func.count(User.id))), demo.scalar(select(func.count(Basket.id)))
    assert before == after


@pytest.mark.parametrize(
    "email",
    ["coordinator@demo.test", "member@demo.test", "volunteer@demo.test", "producer@demo.test"],
)
def test_demo_accounts_log_in(demo, auth, email):
    assert auth.login(email, DEMO_PASSWORD).status_code == 302


def test_cli_seed_demo_runs_twice(app):
    runner = app.test_cli_runner()
    assert "created" in runner.invoke(args=["seed-demo"]).output
    assert "nothing changed" in runner.invoke(args=["seed-demo"]).output


def test_demo_has_duty_roles(demo):
    from webapp.models import DutyRole

    assert {r.name for r in demo.scalars(select(DutyRole))} == {"accueil", "caisse", "installation"}


def test_the_validated_day_agrees_with_its_tablet_records(app, demo, now):
    """What the validation page shows of last month is what the ledger holds."""
    from webapp.models import LedgerEntry
    from webapp.services import validation

    d = next(x for x in demo.scalars(select(Distribution)) if x.status(now) == Status.VALIDATED)
    with app.test_request_context():
        checks = validation.review(demo, d)
    assert checks and all(c.validated for c in checks)
    assert sum(1 for c in checks if c.progress == "collected") > len(checks) / 2
    debits = demo.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(
            LedgerEntry.distribution_id == d.id, LedgerEntry.kind == "order"
        )
    )
    paid = demo.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(
            LedgerEntry.distribution_id == d.id, LedgerEntry.kind == "payment"
        )
    )
    assert -debits == sum(c.due_cents for c in checks)
    assert paid == sum(c.paid_cents for c in checks) > 0


def test_orders_take_each_distributions_own_stock(demo):
    """The catalogue's stock is what every week starts from: the demo's orders leave it."""
    stocks = [s for s in demo.scalars(select(Product.stock)) if s is not None]
    assert stocks and all(s > 0 for s in stocks)
