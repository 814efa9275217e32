"""The demo group "AMAP des Lilas": producers, products, members, and a distribution
in every state of the cycle, with orders, duties and a validated ledger.

Dates are relative to `now`, so the demo always shows a live cycle.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.money import basket_total_cents
from ..models import (
    Basket,
    Catalogue,
    Distribution,
    DutyAssignment,
    DutyRole,
    Group,
    OrderLine,
    Place,
    Producer,
    Product,
    SheetEvent,
    User,
)
from . import offers
from .accounts import add_membership, create_user
from .baskets import get_or_create_basket
from .demo_data import FIRST_NAMES, LAST_NAMES, PRODUCERS

DEMO_SLUG = "amap-des-lilas"
DEMO_PASSWORD = "demo-password"
PARIS = ZoneInfo("Europe/Paris")


def _local(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(ZoneInfo("UTC"))


def seed_demo(session: Session, *, now: datetime) -> bool:
    """Create the demo group; return False, changing nothing, when it already exists."""
    if session.scalar(select(Group).where(Group.slug == DEMO_SLUG)):
        return False
    rng = random.Random(20261128)
    group = Group(
        name="AMAP des Lilas",
        slug=DEMO_SLUG,
        timezone="Europe/Paris",
        payment_methods=["cash", "cheque", "card", "transfer"],
        vat_rates=["5.5", "20"],
        sheet_instructions="Merci de rapporter vos cagettes et vos bocaux consignés.",
        created_at=now,
    )
    session.add(group)
    session.flush()
    place = Place(
        group_id=group.id,
        name="Préau de l'école Paul-Bert",
        address="12 rue Paul-Bert, 93260 Les Lilas",
    )
    session.add(place)
    session.flush()
    accounts = _demo_accounts(session, group, now)
    members = _members(session, group, rng, now) + [accounts["member"], accounts["volunteer"]]
    catalogues = _catalogues(session, group, accounts["producer"])
    distributions = _distributions(session, group, place, catalogues, now)
    for key, distribution in distributions.items():
        if key != "scheduled":
            _orders(session, distribution, catalogues, members, rng, now)
    for key in ("validated", "distributed"):
        _tablet_records(session, group, distributions[key], accounts["volunteer"], rng)
    _validate_demo(session, group, distributions["validated"], accounts["coordinator"])
    for name, needed in (("accueil", 2), ("caisse", 1), ("installation", 2)):
        session.add(DutyRole(group_id=group.id, name=name, needed=needed))
    session.add(
        DutyAssignment(
            distribution_id=distributions["closed"].id,
            user_id=accounts["volunteer"].id,
            role_name="accueil",
            created_at=now,
        )
    )
    session.flush()
    return True


def _demo_accounts(session: Session, group: Group, now: datetime) -> dict[str, User]:
    specs = {
        "coordinator": ("Claire", "Fontaine", "coordinator", "06 11 22 33 44"),
        "member": ("Marie", "Lefebvre", "member", "06 22 33 44 55"),
        "volunteer": ("Paul", "Mercier", "member", "06 33 44 55 66"),
        "producer": ("Jean", "Ferrand", "member", "06 44 55 66 77"),
    }
    accounts = {}
    for key, (first, last, role, phone) in specs.items():
        user = create_user(
            session,
            email=f"{key}@demo.test",
            first_name=first,
            last_name=last,
            password=DEMO_PASSWORD,
            phone=phone,
            now=now,
        )
        if key != "producer":
            add_membership(session, user, group, role=role, now=now)
        accounts[key] = user
    return accounts


def _members(session: Session, group: Group, rng: random.Random, now: datetime) -> list[User]:
    members = []
    for i in range(60):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[i]
        phone = "0{} {:02d} {:02d} {:02d} {:02d}".format(
            rng.choice([6, 7]), *(rng.randrange(100) for _ in range(4))
        )
        email = f"{first}.{last}.{i}@exemple.fr".lower()
        user = User(
            email=_ascii(email), first_name=first, last_name=last, phone=phone, created_at=now
        )
        session.add(user)
        session.flush()
        add_membership(session, user, group, now=now)
        members.append(user)
    return members


def _ascii(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _catalogues(session: Session, group: Group, producer_user: User) -> list[Catalogue]:
    catalogues = []
    for index, (name, trade, city, catalogue_name, products) in enumerate(PRODUCERS):
        producer = Producer(
            name=name,
            trade=trade,
            city=city,
            created_in_group_id=group.id,
            user_id=producer_user.id if index == 0 else None,
        )
        catalogue = Catalogue(group_id=group.id, producer=producer, name=catalogue_name)
        session.add_all([producer, catalogue])
        for pname, unit, per_unit, price, vat, weighed, stock in products:
            session.add(
                Product(
                    catalogue=catalogue,
                    name=pname,
                    unit=unit,
                    quantity_per_unit=per_unit,
                    price_cents=price,
                    vat_rate=vat,
                    weighed=weighed,
                    stock=stock,
                    active=True,
                )
            )
        catalogues.append(catalogue)
    session.flush()
    return catalogues


def _distributions(session, group, place, catalogues, now) -> dict[str, Distribution]:
    today = now.astimezone(PARIS).date()
    plans = {
        # key: (day offset, opens relative to now, closes relative to now or None = 2 days before)
        "validated": (-28, None, None),
        "distributed": (-1, None, None),
        "closed": (1, -timedelta(days=6), -timedelta(hours=1)),
        "open": (8, -timedelta(days=2), None),
        "scheduled": (15, timedelta(days=3), None),
    }
    result = {}
    for key, (offset, opens, closes) in plans.items():
        day = today + timedelta(days=offset)
        starts, ends = _local(day, 17, 30), _local(day, 19, 30)
        close_at = now + closes if closes else starts - timedelta(days=2)
        open_at = now + opens if opens else close_at - timedelta(days=7)
        d = Distribution(
            group_id=group.id,
            place_id=place.id,
            starts_at=starts,
            ends_at=ends,
            orders_open_at=open_at,
            orders_close_at=min(close_at, starts),
        )
        d.catalogues = list(catalogues)
        session.add(d)
        result[key] = d
    session.flush()
    return result


def _orders(session, distribution, catalogues, members, rng, now) -> None:
    products = [p for c in catalogues for p in c.products]
    buyers = rng.sample(members[:-2], 30) + members[-2:]
    ordered_at = min(now, distribution.orders_close_at - timedelta(hours=2))
    for user in buyers:
        basket = get_or_create_basket(session, distribution, user, now=ordered_at)
        for product in rng.sample(products, rng.randint(2, 6)):
            quantity = (
                Decimal(rng.choice(["0.5", "0.8", "1", "1.2", "1.5", "2"]))
                if product.weighed
                else Decimal(rng.randint(1, 3))
            )
            if product.stock is not None:
                # each distribution has its own stock (services/offers.py)
                quantity = offers.move_stock(session, distribution, product, quantity)
                if quantity <= 0:
                    continue
            session.add(
                OrderLine(
                    basket=basket,
                    product_id=product.id,
                    quantity=quantity,
                    unit_price_cents=product.price_cents,
                    vat_rate=product.vat_rate,
                    updated_at=ordered_at,
                )
            )
    session.flush()


def _tablet_records(session, group, distribution, volunteer, rng) -> None:
    """A day's tablet: most baskets collected, paid and signed; a few to check."""
    import uuid

    baskets = session.scalars(
        select(Basket).where(Basket.distribution_id == distribution.id).order_by(Basket.number)
    ).all()
    at = distribution.starts_at
    for i, basket in enumerate(baskets):
        at += timedelta(minutes=2)
        due = basket_total_cents(line.as_line() for line in basket.lines)
        common = dict(
            distribution_id=distribution.id,
            basket_id=basket.id,
            device_id="tablet-demo",
            received_at=at,
            recorded_at=at,
            late=False,
            user_id=volunteer.id,
        )
        if i % 11 == 10:
            continue  # not collected
        session.add(
            SheetEvent(id=str(uuid.uuid4()), kind="pickup", payload={"state": "taken"}, **common)
        )
        paid = due if i % 7 else max(due - 500, 100)  # a few paid short
        session.add(
            SheetEvent(
                id=str(uuid.uuid4()),
                kind="payment",
                payload={"method": rng.choice(group.payment_methods[:3]), "amount_cents": paid},
                **common,
            )
        )
        session.add(
            SheetEvent(
                id=str(uuid.uuid4()),
                kind="signature",
                payload={"svg_path": "M20 120 L80 60 L140 130 L200 70 L260 110"},
                **common,
            )
        )
    session.flush()


def _validate_demo(session, group, distribution, coordinator) -> None:
    """Validate last month's distribution from its tablet records, as a coordinator would:
    the ledger's debits and payments come from what the sheet recorded."""
    from flask_babel import force_locale

    from .validation import validate

    with force_locale("fr"):  # the audit trail's words, also from the shell (no request)
        validate(
            session,
            distribution,
            actor=coordinator,
            now=distribution.ends_at + timedelta(hours=1),
            confirm_gap=True,
        )
