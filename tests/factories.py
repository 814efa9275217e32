"""Factories with sensible defaults: each returns a flushed and committed object."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from webapp.models import (
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
from webapp.services.baskets import get_or_create_basket
from webapp.services.passwords import hash_password

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)


def group(session, *, now: datetime, name: str | None = None, **kw) -> Group:
    n = next(_seq)
    g = Group(
        name=name or f"Groupe {n}",
        slug=f"groupe-{n}",
        created_at=now,
        payment_methods=kw.pop("payment_methods", ["cash", "cheque", "card"]),
        vat_rates=["5.5", "20"],
        **kw,
    )
    session.add(g)
    session.commit()
    return g


def user(session, *, now: datetime, group: Group | None = None, role: str = "member", **kw) -> User:
    n = next(_seq)
    u = User(
        email=kw.pop("email", f"user{n}@example.test"),
        first_name=kw.pop("first_name", f"Prénom{n}"),
        last_name=kw.pop("last_name", f"Nom{n}"),
        phone=kw.pop("phone", f"06 00 00 00 {n % 100:02d}"),
        password_hash=_password_hash(),
        created_at=now,
        **kw,
    )
    session.add(u)
    session.flush()
    if group is not None:
        session.add(Membership(user_id=u.id, group_id=group.id, role=role, created_at=now))
    session.commit()
    return u


def catalogue(session, *, group: Group, name: str = "Légumes", producer_user: User | None = None):
    producer = Producer(
        name=f"Ferme {next(_seq)}",
        created_in_group_id=group.id,
        user_id=producer_user.id if producer_user else None,
    )
    c = Catalogue(group_id=group.id, producer=producer, name=name)
    session.add_all([producer, c])
    session.commit()
    return c


def product(
    session,
    *,
    catalogue: Catalogue,
    name: str | None = None,
    price_cents: int = 250,
    vat_rate: Decimal = Decimal("5.5"),
    stock: Decimal | None = None,
    **kw,
) -> Product:
    p = Product(
        catalogue_id=catalogue.id,
        name=name or f"Produit {next(_seq)}",
        unit=kw.pop("unit", "piece"),
        price_cents=price_cents,
        vat_rate=vat_rate,
        stock=stock,
        active=kw.pop("active", True),
        **kw,
    )
    session.add(p)
    session.commit()
    return p


def distribution(
    session,
    *,
    group: Group,
    now: datetime,
    state: str = "open",
    catalogues: list[Catalogue] | None = None,
) -> Distribution:
    """A distribution whose status at `now` is `state`."""
    hour = timedelta(hours=1)
    day = timedelta(days=1)
    starts = {
        "scheduled": now + 10 * day,
        "open": now + 5 * day,
        "closed": now + 3 * hour,
        "distributing": now - hour,
        "distributed": now - day,
        "validated": now - 7 * day,
    }[state]
    close = {"open": now + 2 * day, "closed": now - hour}.get(state, starts - 2 * day)
    opens = now + day if state == "scheduled" else min(close - 5 * day, now - day)
    place = Place(group_id=group.id, name="Préau")
    session.add(place)
    session.flush()
    d = Distribution(
        group_id=group.id,
        place_id=place.id,
        starts_at=starts,
        ends_at=starts + 2 * hour,
        orders_open_at=opens,
        orders_close_at=close,
        validated_at=now - 6 * day if state == "validated" else None,
    )
    d.catalogues = list(catalogues or [])
    session.add(d)
    session.commit()
    return d


def order(
    session,
    *,
    distribution: Distribution,
    user: User,
    now: datetime,
    lines: list[tuple[Product, Decimal]],
):
    """A basket with lines at the products' current prices."""
    basket = get_or_create_basket(session, distribution, user, now=now)
    for prod, quantity in lines:
        session.add(
            OrderLine(
                basket_id=basket.id,
                product_id=prod.id,
                quantity=Decimal(quantity),
                unit_price_cents=prod.price_cents,
                vat_rate=prod.vat_rate,
                updated_at=now,
            )
        )
    session.commit()
    return basket


def fresh(session) -> None:
    """Forget what the test session saw, to read what requests wrote since."""
    session.rollback()
    session.expire_all()
