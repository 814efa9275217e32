"""Catalogue managers ("référents"): a coordinator gives a member one or more catalogues;
that member manages those catalogues' products, reads their orders and summaries, removes
their unavailable products, and nothing else (the route x actor table is in
test_access_catalogues.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from webapp.models import CatalogueManager, Membership, OrderLine, OutboxMessage, Product

from . import factories
from .conftest import refusal


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    manager = factories.user(
        session, now=now, group=group, email="ref@example.test", first_name="Rosa", last_name="Ref"
    )
    member = factories.user(session, now=now, group=group, email="m@example.test")
    vegetables = factories.catalogue(session, group=group, name="Légumes")
    breads = factories.catalogue(session, group=group, name="Pains")
    leeks = factories.product(session, catalogue=vegetables, name="Poireaux", price_cents=300)
    carrots = factories.product(session, catalogue=vegetables, name="Carottes", price_cents=200)
    bread = factories.product(session, catalogue=breads, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[vegetables, breads]
    )
    factories.order(
        session,
        distribution=d,
        user=member,
        now=now,
        lines=[(leeks, 2), (carrots, 1), (bread, 1)],
    )
    membership = session.scalar(select(Membership).where(Membership.user_id == manager.id))
    return dict(
        group=group,
        manager=manager,
        membership=membership,
        vegetables=vegetables,
        breads=breads,
        leeks=leeks,
        carrots=carrots,
        bread=bread,
        d=d,
    )


def _give(session, world, catalogue):
    session.add(CatalogueManager(membership_id=world["membership"].id, catalogue_id=catalogue.id))
    session.commit()


def test_a_coordinator_gives_a_member_a_catalogue_and_takes_it_back(
    client, auth, post, session, world
):
    auth.login("c@example.test")
    catalogue = world["vegetables"]
    page = client.get(f"/catalogues/{catalogue.id}/edit").get_data(as_text=True)
    assert "Référents du catalogue" in page and "ref@example.test" in page
    response = post(
        f"/catalogues/{catalogue.id}/managers", {"membership_id": world["membership"].id}
    )
    assert response.status_code == 302
    # given twice: still one row
    post(f"/catalogues/{catalogue.id}/managers", {"membership_id": world["membership"].id})
    factories.fresh(session)
    rows = session.scalars(select(CatalogueManager)).all()
    assert [(r.membership_id, r.catalogue_id) for r in rows] == [
        (world["membership"].id, catalogue.id)
    ]
    page = client.get(f"/catalogues/{catalogue.id}/edit").get_data(as_text=True)
    assert "Rosa Ref" in page
    response = post(f"/catalogues/{catalogue.id}/managers/{world['membership'].id}/remove")
    assert response.status_code == 302
    factories.fresh(session)
    assert session.scalars(select(CatalogueManager)).all() == []


@pytest.mark.parametrize("who", ["nobody", "other_group", "empty"])
def test_only_a_member_of_the_group_can_be_given_a_catalogue(
    client, auth, post, session, now, world, who
):
    stranger = factories.user(session, now=now, group=factories.group(session, now=now))
    ids = {
        "nobody": "999999",
        "other_group": str(
            session.scalar(select(Membership.id).where(Membership.user_id == stranger.id))
        ),
        "empty": "",
    }
    auth.login("c@example.test")
    response = post(f"/catalogues/{world['vegetables'].id}/managers", {"membership_id": ids[who]})
    status, page = refusal(client, response)
    assert status == 400 and "Choisissez un membre du groupe." in page
    factories.fresh(session)
    assert session.scalars(select(CatalogueManager)).all() == []


def test_a_manager_sees_their_catalogues_only(client, auth, session, world):
    _give(session, world, world["vegetables"])
    auth.login("ref@example.test")
    page = client.get("/catalogues/").get_data(as_text=True)
    assert "Légumes" in page and "Pains" not in page
    assert "Nouveau catalogue" not in page


def test_a_manager_changes_a_price_and_switches_a_product_off(client, auth, post, session, world):
    _give(session, world, world["vegetables"])
    auth.login("ref@example.test")
    vegetables = world["vegetables"]
    response = post(
        f"/catalogues/{vegetables.id}/products/{world['leeks'].id}",
        {"name": "Poireaux", "price": "3,40", "vat_rate": "5.5", "unit": "piece", "active": "1"},
    )
    assert response.status_code == 302
    response = post(
        f"/catalogues/{vegetables.id}/products/active",
        {"product_id": [str(world["carrots"].id), str(world["bread"].id)], "active": "0"},
    )
    assert response.status_code == 302
    factories.fresh(session)
    assert session.get(Product, world["leeks"].id).price_cents == 340
    assert session.get(Product, world["carrots"].id).active is False
    assert session.get(Product, world["bread"].id).active is True  # not their catalogue


def test_a_manager_reads_their_catalogues_orders_and_summary(client, auth, session, world):
    _give(session, world, world["vegetables"])
    auth.login("ref@example.test")
    d, vegetables = world["d"], world["vegetables"]
    page = client.get(f"/catalogues/{vegetables.id}/distributions/{d.id}").get_data(as_text=True)
    assert "Poireaux" in page and "Carottes" in page and "8,00" in page
    assert "Pain" not in page.replace("Pains", "")
    days = client.get(f"/catalogues/{vegetables.id}/distributions").get_data(as_text=True)
    assert "Commandes fermées" in days and "8,00" in days
    csv = client.get(f"/distributions/{d.id}/summary?catalogue={vegetables.id}&format=csv")
    text = csv.get_data(as_text=True)
    assert csv.status_code == 200 and "Poireaux" in text and "Pain" not in text


def test_a_manager_removes_their_unavailable_products_only(client, auth, post, session, now, world):
    _give(session, world, world["vegetables"])
    world["leeks"].active = False
    world["bread"].active = False  # unavailable too, but another catalogue's
    session.commit()
    auth.login("ref@example.test")
    d, vegetables = world["d"], world["vegetables"]
    page = client.get(f"/catalogues/{vegetables.id}/distributions/{d.id}").get_data(as_text=True)
    assert "Retirer les produits indisponibles des commandes" in page
    response = post(f"/catalogues/{vegetables.id}/distributions/{d.id}/remove-unavailable")
    assert response.status_code == 302
    factories.fresh(session)
    lines = {line.product_id: line for line in session.scalars(select(OrderLine)).all()}
    leeks = lines[world["leeks"].id]
    assert (leeks.quantity, leeks.ordered_quantity, leeks.removed_by_id) == (
        0,
        Decimal(2),
        world["manager"].id,
    )
    assert lines[world["bread"].id].quantity == 1  # left to the bread's managers
    assert lines[world["carrots"].id].quantity == 1
    told = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "product_removed"))
    assert told is not None and "Poireaux" in told.body and "Pain" not in told.body


def test_removing_unavailable_products_after_validation_is_refused(
    client, auth, post, session, now, world
):
    _give(session, world, world["vegetables"])
    world["leeks"].active = False
    world["d"].validated_at = now
    session.commit()
    auth.login("ref@example.test")
    d, vegetables = world["d"], world["vegetables"]
    response = post(f"/catalogues/{vegetables.id}/distributions/{d.id}/remove-unavailable")
    status, _page = refusal(client, response)
    assert status >= 400
    factories.fresh(session)
    line = session.scalar(select(OrderLine).where(OrderLine.product_id == world["leeks"].id))
    assert line.quantity == 2
