"""A group running an AMAP contract for 10 weekly distributions beside its shop."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from webapp.models import Distribution, Place
from webapp.services import contracts as svc

from . import factories

WEEK = timedelta(days=7)


def weekly(session, group, now: datetime, count: int = 10, *, catalogues=()) -> list:
    """`count` weekly distributions, the first one's orders open now and close in 2 days."""
    place = Place(group_id=group.id, name="Préau")
    session.add(place)
    session.flush()
    days = []
    for i in range(count):
        starts = now + timedelta(days=3) + i * WEEK
        d = Distribution(
            group_id=group.id,
            place_id=place.id,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            orders_open_at=now - timedelta(days=1) + i * WEEK,
            orders_close_at=starts - timedelta(days=1),
        )
        d.catalogues = list(catalogues)
        session.add(d)
        days.append(d)
    session.commit()
    return days


def world(session, now: datetime, *, billing: str = "upfront", policy: str = "skip") -> dict:
    group = factories.group(session, now=now, payment_methods=["cash", "cheque", "transfer"])
    coordinator = factories.user(session, now=now, group=group, role="coordinator")
    alice = factories.user(session, now=now, group=group, first_name="Alice", last_name="Aubry")
    bob = factories.user(session, now=now, group=group, first_name="Bob", last_name="Blanc")
    chloe = factories.user(session, now=now, group=group, first_name="Chloé", last_name="Caron")
    shop = factories.catalogue(session, group=group, name="Fromages")
    cheese = factories.product(session, catalogue=shop, name="Tomme", price_cents=450)
    amap = factories.catalogue(session, group=group, name="Légumes AMAP")
    share = factories.product(session, catalogue=amap, name="Panier de légumes", price_cents=1500)
    eggs = factories.product(session, catalogue=amap, name="Œuf", price_cents=40)
    days = weekly(session, group, now, catalogues=[shop])
    contract = svc.create_contract(
        session,
        group,
        svc.ContractInput(
            name="Légumes 2027",
            catalogue_id=amap.id,
            distribution_ids=[d.id for d in days],
            items={share.id: Decimal(1), eggs.id: Decimal(6)},
            signup_opens_at=now - timedelta(days=1),
            signup_closes_at=now + timedelta(days=2),
            min_distributions=4,
            max_absences=2,
            absence_notice_days=1,
            absence_policy=policy,
            billing=billing,
            instalments="1,3,10",
            methods="cheque,transfer",
            cheque_order="EARL du Pré",
        ),
        actor=coordinator,
        now=now,
    )
    session.commit()
    return dict(
        group=group,
        coordinator=coordinator,
        alice=alice,
        bob=bob,
        chloe=chloe,
        shop=shop,
        cheese=cheese,
        amap=amap,
        share=share,
        eggs=eggs,
        days=days,
        contract=contract,
    )


def item_of(contract, product) -> int:
    return next(i.id for i in contract.items if i.product_id == product.id)
