"""Benchmark data: one migrated SQLite file with a group, its producers and products,
members, and one distribution with baskets — sized by each benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"


@dataclass
class Spec:
    filename: str
    producers: int
    products: int
    members: int
    lines_per_basket: int = 0  # 0: members have no basket yet
    orders_open: bool = False  # else: orders closed, the distribution starts in two hours
    member_passwords: bool = False
    price: Callable[[int], int] = lambda i: 120 + i * 13
    stock: Callable[[int], Decimal | None] = lambda i: None


def build(instance: Path, spec: Spec) -> int:
    """Migrate a new database and fill it; return the distribution's id."""
    os.environ.update(
        {
            "COURT_CIRCUIT_INSTANCE": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / spec.filename}",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    from webapp import create_app
    from webapp.extensions import db

    with create_app().app_context():
        distribution_id = _fill(db.session, spec, datetime.now(UTC))
        db.session.commit()
        return distribution_id


def _fill(s, spec: Spec, now: datetime) -> int:
    from sqlalchemy import insert

    from webapp.models import (
        Basket,
        Catalogue,
        Distribution,
        Group,
        Membership,
        OrderLine,
        Place,
        Producer,
        Product,
        User,
    )
    from webapp.services.passwords import hash_password

    group = Group(
        name="Bench", slug="bench", created_at=now, payment_methods=["cash", "cheque", "card"]
    )
    s.add(group)
    s.flush()
    place = Place(group_id=group.id, name="Hall")
    catalogues = [
        Catalogue(
            group_id=group.id,
            name=f"Catalogue {i}",
            producer=Producer(name=f"Producteur {i}", created_in_group_id=group.id),
        )
        for i in range(spec.producers)
    ]
    s.add_all([place, *catalogues])
    s.flush()
    products = [
        Product(
            catalogue_id=catalogues[i % spec.producers].id,
            name=f"Produit {i:04d}",
            unit="piece",
            price_cents=spec.price(i),
            vat_rate=Decimal("5.5"),
            stock=spec.stock(i),
        )
        for i in range(spec.products)
    ]
    password = hash_password(PASSWORD)
    coordinator = User(
        email="coord@bench.test",
        first_name="Claire",
        last_name="Coord",
        password_hash=password,
        created_at=now,
    )
    s.add_all([*products, coordinator])
    s.flush()
    s.add(Membership(user_id=coordinator.id, group_id=group.id, role="coordinator", created_at=now))
    hours = timedelta(hours=1)
    opens, closes, starts = (
        (now - 24 * hours, now + 48 * hours, now + 72 * hours)
        if spec.orders_open
        else (now - 120 * hours, now - hours, now + 2 * hours)
    )
    d = Distribution(
        group_id=group.id,
        place_id=place.id,
        orders_open_at=opens,
        orders_close_at=closes,
        starts_at=starts,
        ends_at=starts + 2 * hours,
    )
    d.catalogues = catalogues
    s.add(d)
    s.flush()
    user_ids = s.scalars(
        insert(User).returning(User.id),
        [
            {
                "email": f"m{i}@bench.test",
                "first_name": f"Prénom{i}",
                "last_name": f"Nom{i:03d}",
                "phone": "06 12 34 56 78",
                "created_at": now,
                "password_hash": password if spec.member_passwords else None,
            }
            for i in range(spec.members)
        ],
    ).all()
    s.execute(
        insert(Membership),
        [
            {"user_id": u, "group_id": group.id, "role": "member", "created_at": now}
            for u in user_ids
        ],
    )
    if spec.lines_per_basket:
        basket_ids = s.scalars(
            insert(Basket).returning(Basket.id),
            [
                {"distribution_id": d.id, "user_id": u, "number": n + 1, "created_at": now}
                for n, u in enumerate(user_ids)
            ],
        ).all()
        s.execute(
            insert(OrderLine),
            [
                {
                    "basket_id": b,
                    "product_id": products[(n + k * 5) % len(products)].id,
                    "quantity": Decimal(1 + k % 3),
                    "unit_price_cents": products[(n + k * 5) % len(products)].price_cents,
                    "vat_rate": Decimal("5.5"),
                    "updated_at": now,
                }
                for n, b in enumerate(basket_ids)
                for k in range(spec.lines_per_basket)
            ],
        )
    return d.id
