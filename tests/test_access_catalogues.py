"""Who reaches one catalogue: route x actor -> status. A catalogue's managers and its
producer reach that catalogue and nothing past it (403); coordinators of another group
do not see it exists (404)."""

from __future__ import annotations

import pytest

from webapp.models import Catalogue, CatalogueManager, Membership, Product

from . import factories

ACTORS = (
    "member",
    "manager",
    "manager_other",
    "producer",
    "producer_other",
    "coordinator_other_group",
    "coordinator",
)


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now)
    other_group = factories.group(session, now=now)
    people = {
        "coordinator": factories.user(session, now=now, group=group, role="coordinator"),
        "member": factories.user(session, now=now, group=group),
        "manager": factories.user(session, now=now, group=group),
        "manager_other": factories.user(session, now=now, group=group),
        "producer": factories.user(session, now=now),
        "producer_other": factories.user(session, now=now),
        "coordinator_other_group": factories.user(
            session, now=now, group=other_group, role="coordinator"
        ),
    }
    mine = factories.catalogue(session, group=group, producer_user=people["producer"])
    mine.producer_can_edit = True
    theirs = factories.catalogue(
        session, group=group, name="Pains", producer_user=people["producer_other"]
    )
    theirs.producer_can_edit = True
    leeks = factories.product(session, catalogue=mine, name="Poireaux", active=False)
    bread = factories.product(session, catalogue=theirs, name="Pain")
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[mine, theirs]
    )
    factories.order(
        session, distribution=d, user=people["member"], now=now, lines=[(leeks, 2), (bread, 1)]
    )
    for who, catalogue in (("manager", mine), ("manager_other", theirs)):
        membership = session.query(Membership).filter_by(user_id=people[who].id).one()
        session.add(CatalogueManager(membership_id=membership.id, catalogue_id=catalogue.id))
    session.commit()
    member_ship = session.query(Membership).filter_by(user_id=people["member"].id).one()
    return dict(people=people, c=mine.id, p=leeks.id, d=d.id, other=theirs.id, m=member_ship.id)


# route, method, then the status for each actor in ACTORS' order
TABLE = [
    ("/catalogues/{c}", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/catalogues/{c}/products/{p}", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/catalogues/{c}/products/new", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/catalogues/{c}/import", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/catalogues/{c}/products/active", "POST", (403, 302, 403, 302, 403, 404, 302)),
    ("/catalogues/{c}/products/{p}/archive", "POST", (403, 302, 403, 302, 403, 404, 302)),
    ("/catalogues/{c}/distributions", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/catalogues/{c}/distributions/{d}", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/producer/catalogues/{c}/distributions/{d}", "GET", (403, 200, 403, 200, 403, 404, 200)),
    ("/distributions/{d}/summary?catalogue={c}", "GET", (403, 200, 403, 200, 403, 404, 200)),
    (
        "/catalogues/{c}/distributions/{d}/remove-unavailable",
        "POST",
        (403, 302, 403, 403, 403, 404, 302),
    ),
    # the catalogue's settings, its managers, the whole day and the members: coordinators'
    ("/catalogues/{c}/edit", "GET", (403, 403, 403, 403, 403, 404, 200)),
    ("/catalogues/{c}/managers", "POST", (403, 403, 403, 403, 403, 404, 302)),
    ("/catalogues/{c}/duplicate", "POST", (403, 403, 403, 403, 403, 404, 302)),
    ("/distributions/{d}/summary", "GET", (403, 403, 403, 403, 403, 404, 200)),
    ("/distributions/{d}/orders", "GET", (403, 403, 403, 403, 403, 404, 200)),
    ("/members/", "GET", (403, 403, 403, 403, 403, 200, 200)),
    ("/catalogues/", "GET", (403, 200, 200, 403, 403, 200, 200)),
    ("/producer/", "GET", (403, 403, 403, 200, 200, 403, 403)),
]


@pytest.mark.parametrize(
    ("path", "method", "actor", "expected"),
    [
        pytest.param(path, method, actor, statuses[i], id=f"{method} {path} as {actor}")
        for path, method, statuses in TABLE
        for i, actor in enumerate(ACTORS)
    ],
)
def test_catalogue_access(client, auth, post, world, path, method, actor, expected):
    auth.login(world["people"][actor].email)
    url = path.format(**{k: world[k] for k in ("c", "p", "d")})
    if method == "GET":
        response = client.get(url)
    else:
        response = post(
            url,
            {"product_id": str(world["p"]), "active": "0", "membership_id": str(world["m"])},
            token_from="/account/",
        )
    assert response.status_code == expected


def test_a_producer_the_group_does_not_let_edit_reads_but_cannot_change(
    client, auth, post, session, world
):
    catalogue = session.get(Catalogue, world["c"])
    catalogue.producer_can_edit = False
    session.commit()
    auth.login(world["people"]["producer"].email)
    page = client.get(f"/catalogues/{world['c']}")
    assert page.status_code == 200 and "Poireaux" in page.get_data(as_text=True)
    assert client.get(f"/catalogues/{world['c']}/products/{world['p']}").status_code == 403
    response = post(
        f"/catalogues/{world['c']}/products/{world['p']}",
        {"name": "Poireaux", "price": "0,01", "vat_rate": "5.5", "unit": "piece"},
        token_from="/account/",
    )
    assert response.status_code == 403
    factories.fresh(session)
    assert session.get(Product, world["p"]).price_cents == 250


def test_a_manager_cannot_touch_another_catalogues_product_through_their_own(
    client, auth, post, session, now, world
):
    """A product id of another catalogue under the manager's catalogue: 404, unchanged."""
    other = session.get(Catalogue, world["other"])
    other_product = factories.product(session, catalogue=other, name="Brioche", price_cents=500)
    auth.login(world["people"]["manager"].email)
    response = post(
        f"/catalogues/{world['c']}/products/{other_product.id}",
        {"name": "Brioche", "price": "0,01", "vat_rate": "5.5", "unit": "piece"},
        token_from="/account/",
    )
    assert response.status_code == 404
    switched = post(
        f"/catalogues/{world['c']}/products/active",
        {"product_id": str(other_product.id), "active": "0"},
        token_from="/account/",
    )
    assert switched.status_code == 302
    factories.fresh(session)
    product = session.get(Product, other_product.id)
    assert (product.price_cents, product.active) == (500, True)
