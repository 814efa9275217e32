"""Queries that hold at 1,000 groups: each page runs the same number of statements when
the data grows ten times (more groups, members, products, weeks of history, orders).

The data is grown with multi-row INSERTs (the ORM would take minutes); `make bench-scale`
measures the same pages at full size on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select

from webapp.extensions import db
from webapp.models import (
    Basket,
    Distribution,
    LedgerEntry,
    Membership,
    Message,
    MessageRecipient,
    OrderLine,
    Place,
    Product,
    User,
)
from webapp.web.distributions import PER_PAGE as CARDS_PER_PAGE
from webapp.web.paging import PER_PAGE

from . import factories

# The lists that grow, each with how one of its rows reads and how many a page shows
# (a full first page once grown; a later page at most that).
PAGED = {
    "/members/": (r'href="/members/\d+/history"', PER_PAGE),
    "/members/balances": (r'<tr><td><a href="/members/\d+/history"', PER_PAGE),
    "/members/{member}/history": (r'<tr id="entry-\d+"', PER_PAGE),
    "/members/{member}/history?page=2": (r'<tr id="entry-\d+"', PER_PAGE),
    "/account/history": (r'<tr id="entry-\d+"', PER_PAGE),
    "/messages/": (r'<a href="/messages/\d+"', PER_PAGE),
    "/messages/?page=2": (r'<a href="/messages/\d+"', PER_PAGE),
    "/messages/sent": (r'<a href="/messages/\d+"', PER_PAGE),
    "/distributions/": (r'<li class="card"', CARDS_PER_PAGE),
    "/distributions/?page=2": (r'<li class="card"', CARDS_PER_PAGE),
}


def _rows(client, path: str, pattern: str) -> int:
    return len(re.findall(pattern, client.get(path).get_data(as_text=True)))


def _count(app, client, path: str) -> int:
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def on_execute(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements)


def _grow(
    session,
    group,
    catalogue,
    *,
    now,
    members: int,
    products: int,
    weeks: int,
    also: tuple[int, ...] = (),
):
    """Add members, products and weeks of validated history (orders, ledger, three messages
    a week) to a group, plus `members` members in another new group (other groups must cost
    nothing). The users in `also`, already members, order and pay every week too."""
    other = factories.group(session, now=now)
    start = session.scalar(select(db.func.count(User.id)))
    users = session.scalars(
        insert(User).returning(User.id),
        [
            {
                "email": f"grow{start}-{i}@example.test",
                "first_name": f"P{i}",
                "last_name": f"N{start + i:06d}",
                "created_at": now,
            }
            for i in range(2 * members)
        ],
    ).all()
    mine, theirs = users[:members], users[members:]
    everyone = [*mine, *also]
    session.execute(
        insert(Membership),
        [{"user_id": u, "group_id": group.id, "role": "member", "created_at": now} for u in mine]
        + [
            {"user_id": u, "group_id": other.id, "role": "member", "created_at": now}
            for u in theirs
        ],
    )
    new_products = session.scalars(
        insert(Product).returning(Product.id),
        [
            {"catalogue_id": catalogue.id, "name": f"Produit {start}-{i}", "price_cents": 100 + i}
            for i in range(products)
        ],
    ).all()
    place = Place(group_id=group.id, name=f"Salle {start}")
    session.add(place)
    session.flush()
    for week in range(weeks):
        starts = now - timedelta(days=7 * (week + 2))
        d = Distribution(
            group_id=group.id,
            place_id=place.id,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            orders_open_at=starts - timedelta(days=6),
            orders_close_at=starts - timedelta(days=1),
            validated_at=starts + timedelta(hours=3),
        )
        d.catalogues = [catalogue]
        session.add(d)
        session.flush()
        baskets = session.scalars(
            insert(Basket).returning(Basket.id, sort_by_parameter_order=True),
            [
                {"distribution_id": d.id, "user_id": u, "number": n + 1, "created_at": starts}
                for n, u in enumerate(everyone)
            ],
        ).all()
        session.execute(
            insert(OrderLine),
            [
                {
                    "basket_id": b,
                    "product_id": new_products[(n + week) % len(new_products)],
                    "quantity": Decimal(1),
                    "unit_price_cents": 150,
                    "vat_rate": Decimal("5.5"),
                    "updated_at": starts,
                }
                for n, b in enumerate(baskets)
            ],
        )
        session.execute(
            insert(LedgerEntry),
            [
                {
                    "group_id": group.id,
                    "user_id": u,
                    "distribution_id": d.id,
                    "basket_id": b,
                    "kind": kind,
                    "amount_cents": amount,
                    "payment_method": method,
                    "created_at": starts,
                }
                for u, b in zip(everyone, baskets, strict=True)
                for kind, amount, method in (("order", -150, None), ("payment", 150, "cash"))
            ],
        )
        messages = session.scalars(
            insert(Message).returning(Message.id),
            [
                {
                    "group_id": group.id,
                    "author_id": also[0] if also else None,
                    "audience": "all",
                    "audience_label": "Tout le monde",
                    "subject": f"Semaine {week} ({n})",
                    "body": "Bonjour",
                    "recipients_count": len(everyone),
                    "created_at": starts,
                }
                for n in range(3)
            ],
        ).all()
        session.execute(
            insert(MessageRecipient),
            [{"message_id": m, "user_id": u} for m in messages for u in everyone],
        )
    session.commit()


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now)
    coordinator = factories.user(session, now=now, group=group, role="coordinator")
    catalogue = factories.catalogue(session, group=group)
    products = [factories.product(session, catalogue=catalogue) for _ in range(3)]
    open_d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    today = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    return {
        "group": group,
        "coordinator": coordinator,
        "catalogue": catalogue,
        "products": products,
        "open": open_d,
        "today": today,
    }


def _order_everyone(session, world, now):
    """Every member of the group has a basket today and in the open distribution."""
    members = session.scalars(
        select(Membership.user_id).where(Membership.group_id == world["group"].id)
    ).all()
    for d in (world["today"], world["open"]):
        known = set(session.scalars(select(Basket.user_id).where(Basket.distribution_id == d.id)))
        for user_id in members:
            if user_id in known:
                continue
            user = session.get(User, user_id)
            factories.order(
                session, distribution=d, user=user, now=now, lines=[(world["products"][0], 1)]
            )


def test_pages_run_the_same_queries_when_the_data_grows_ten_times(
    app, client, auth, session, world, now
):
    auth.login(world["coordinator"].email)
    with client.session_transaction() as s:
        s["group_id"] = world["group"].id
    member = factories.user(session, now=now, group=world["group"])
    today, open_d = world["today"].id, world["open"].id
    paged = {path.format(member=member.id): row for path, row in PAGED.items()}
    pages = [
        "/",
        *paged,
        f"/distributions/{open_d}/shop",
        f"/distributions/{today}/orders",
        f"/distributions/{today}/summary",
        f"/distributions/{today}/signin",
        f"/api/distributions/{today}/sheet",
    ]
    small = dict(members=3, products=4, weeks=2)
    also = (world["coordinator"].id, member.id)  # whose history and inbox are read
    _grow(session, world["group"], world["catalogue"], now=now, also=also, **small)
    _order_everyone(session, world, now)
    for page in pages:  # warm caches (babel, templates) before counting
        _count(app, client, page)
    before = {page: _count(app, client, page) for page in pages}

    big = {k: v * 10 for k, v in small.items()}
    for _ in range(9):  # ten times the groups, the members, the products, the history
        _grow(session, world["group"], world["catalogue"], now=now, also=also, **small)
    _grow(session, world["group"], world["catalogue"], now=now, also=also, **big)
    _order_everyone(session, world, now)
    after = {page: _count(app, client, page) for page in pages}
    assert after == before
    # The lists that grew past a page show one page of rows, not all of them.
    shown = {path: _rows(client, path, pattern) for path, (pattern, _) in paged.items()}
    for path, (_, size) in paged.items():
        assert 0 < shown[path] <= size, (path, shown[path])
        assert "page=" in path or shown[path] == size, (path, shown[path])
