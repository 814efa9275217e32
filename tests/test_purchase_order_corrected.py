"""A producer whose purchase order already left gets a corrected one when products are taken
out of the orders afterwards (a coordinator's "remove unavailable products", or a catalogue
manager's for their catalogue): queued in the same transaction, under a new revision of the
ref, to the same recipient as the first, with the files rebuilt from the current lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from webapp.cli import queue_reminders
from webapp.models import CatalogueManager, Membership, OrderLine, OutboxMessage
from webapp.services import attachments

from . import factories


@pytest.fixture
def dairy(session, now):
    """Orders closed an hour ago. Ada ordered 2,5 kg of Comté (24,00 €/kg) and 2 Tommes
    (19,25 €) from the Fromagerie (no account, an address kept): 98,50 €; and a bread from
    the Boulangerie (another producer, an address too)."""
    group = factories.group(session, now=now, name="AMAP du Préau")
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    manager = factories.user(session, now=now, group=group, email="ref@example.test")
    member = factories.user(
        session, now=now, group=group, email="m@example.test", first_name="Ada", last_name="L"
    )
    cheeses = factories.catalogue(session, group=group, name="Fromages")
    cheeses.producer.email = "fromagerie@example.test"
    breads = factories.catalogue(session, group=group, name="Pains")
    breads.producer.email = "pain@example.test"
    comte = factories.product(session, catalogue=cheeses, name="Comté", price_cents=2400, unit="kg")
    tomme = factories.product(session, catalogue=cheeses, name="Tomme", price_cents=1925)
    bread = factories.product(session, catalogue=breads, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[cheeses, breads]
    )
    factories.order(
        session,
        distribution=d,
        user=member,
        now=now,
        lines=[(comte, Decimal("2.5")), (tomme, 2), (bread, 1)],
    )
    membership = session.scalar(select(Membership).where(Membership.user_id == manager.id))
    session.commit()
    return dict(
        group=group,
        membership=membership,
        cheeses=cheeses,
        breads=breads,
        producer=cheeses.producer,
        baker=breads.producer,
        comte=comte,
        tomme=tomme,
        bread=bread,
        d=d,
    )


def _purchase_orders(session) -> list[OutboxMessage]:
    factories.fresh(session)
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == attachments.PURCHASE_ORDER)
            .order_by(OutboxMessage.id)
        )
    )


def _sent(app, session, now) -> list[OutboxMessage]:
    """The purchase orders queued when orders closed (one per producer)."""
    queue_reminders(app, now=now)
    sent = _purchase_orders(session)
    assert len(sent) == 2
    return sent


def _unavailable(session, *products):
    factories.fresh(session)  # a snapshot from before the last request could not write
    for product in products:
        product.active = False
    session.commit()


def _remove(auth, post, d):
    auth.login("c@example.test")
    response = post(f"/distributions/{d.id}/remove-unavailable")
    assert response.status_code == 302
    auth.logout()


def _csv(app, session, message) -> str:
    with app.app_context():
        files = attachments.build(session, message.kind, message.ref)
    assert [f.mimetype for f in files] == ["application/pdf", "text/csv"]
    return files[1].data.decode("utf-8-sig")


def _csv_row(text: str, product: str) -> list[str]:
    (row,) = [r.split(";") for r in text.splitlines() if f";{product};" in r]
    return row


def test_a_removal_queues_a_corrected_order_to_the_producers_address(
    app, client, auth, post, session, now, dairy
):
    d, producer = dairy["d"], dairy["producer"]
    first, _bread = _sent(app, session, now)
    assert first.ref == f"d{d.id}-p{producer.id}"
    before = _csv(app, session, first)
    assert _csv_row(before, "Comté")[2] == "2,5"
    _unavailable(session, dairy["comte"])
    _remove(auth, post, d)
    messages = _purchase_orders(session)
    assert len(messages) == 3
    corrected = messages[-1]
    assert corrected.kind == "purchase_order"
    assert corrected.ref == f"d{d.id}-p{producer.id}-r1"
    assert corrected.email == "fromagerie@example.test" and corrected.user_id is None
    assert corrected.channel == "email" and corrected.url == ""
    assert corrected.group_id == dairy["group"].id
    assert corrected.title.startswith("Bon de commande corrigé : AMAP du Préau")
    assert "38,50" in corrected.body and "remplace le précédent" in corrected.body
    assert "98,50" not in corrected.body
    # The files are rebuilt from the lines as they are now.
    text = _csv(app, session, corrected)
    assert "Comté" not in text or _csv_row(text, "Comté")[2] == "0"
    tomme = _csv_row(text, "Tomme")
    assert tomme[2] == "2" and tomme[5] == "38,50"
    with app.app_context():
        files = attachments.build(session, corrected.kind, corrected.ref)
    assert files[0].filename.endswith("-r1.pdf") and files[1].filename.endswith("-r1.csv")
    # The first one is left as it was.
    assert messages[0].ref == first.ref and messages[0].body == first.body


def test_a_producer_with_an_account_gets_it_there_in_their_language(
    app, client, auth, post, session, now, dairy
):
    account = factories.user(session, now=now, email="jeanne@example.test", locale="en")
    dairy["producer"].user_id = account.id
    session.commit()
    first, _bread = _sent(app, session, now)
    assert first.user_id == account.id
    _unavailable(session, dairy["comte"])
    _remove(auth, post, dairy["d"])
    corrected = _purchase_orders(session)[-1]
    assert corrected.ref.endswith("-r1")
    assert corrected.user_id == account.id and corrected.email is None
    assert corrected.title.startswith("Corrected purchase order: AMAP du Préau")
    assert "38.50" in corrected.body and "replaces the previous one" in corrected.body
    assert corrected.url.endswith("/producer/")
    text = _csv(app, session, corrected)
    assert text.splitlines()[0].startswith("Producer;Product;Quantity")
    assert _csv_row(text, "Tomme")[5] == "38.50"


def test_a_second_removal_queues_a_second_revision(app, client, auth, post, session, now, dairy):
    _sent(app, session, now)
    _unavailable(session, dairy["comte"])
    _remove(auth, post, dairy["d"])
    _unavailable(session, dairy["tomme"])
    _remove(auth, post, dairy["d"])
    refs = [m.ref for m in _purchase_orders(session)]
    base = f"d{dairy['d'].id}-p{dairy['producer'].id}"
    assert refs.count(f"{base}-r1") == 1 and refs.count(f"{base}-r2") == 1
    second = _purchase_orders(session)[-1]
    assert second.ref == f"{base}-r2" and "0,00" in second.body
    # Removing again changes nothing: no third one.
    _remove(auth, post, dairy["d"])
    assert len(_purchase_orders(session)) == 4


def test_nothing_is_queued_when_no_order_was_sent_yet(app, client, auth, post, session, dairy):
    _unavailable(session, dairy["comte"])
    _remove(auth, post, dairy["d"])
    assert _purchase_orders(session) == []
    factories.fresh(session)
    line = session.scalar(select(OrderLine).where(OrderLine.product_id == dairy["comte"].id))
    assert line.quantity == 0  # the removal itself went through


def test_nothing_for_a_producer_whose_lines_did_not_change(
    app, client, auth, post, session, now, dairy
):
    _sent(app, session, now)
    blue = factories.product(session, catalogue=dairy["cheeses"], name="Bleu", active=False)
    assert blue.active is False  # unavailable, but nobody ordered it
    _remove(auth, post, dairy["d"])
    assert len(_purchase_orders(session)) == 2


def test_only_the_producer_whose_lines_changed_gets_one(
    app, client, auth, post, session, now, dairy
):
    _sent(app, session, now)
    _unavailable(session, dairy["bread"])
    _remove(auth, post, dairy["d"])
    messages = _purchase_orders(session)
    assert len(messages) == 3
    corrected = messages[-1]
    assert corrected.ref == f"d{dairy['d'].id}-p{dairy['baker'].id}-r1"
    assert corrected.email == "pain@example.test"
    assert not any(
        m.ref.startswith(f"d{dairy['d'].id}-p{dairy['producer'].id}-r") for m in messages
    )


def test_a_catalogue_managers_removal_queues_one_too(app, client, auth, post, session, now, dairy):
    session.add(
        CatalogueManager(membership_id=dairy["membership"].id, catalogue_id=dairy["cheeses"].id)
    )
    session.commit()
    _sent(app, session, now)
    _unavailable(session, dairy["comte"], dairy["bread"])  # the bread is not theirs
    d, cheeses = dairy["d"], dairy["cheeses"]
    auth.login("ref@example.test")
    response = post(f"/catalogues/{cheeses.id}/distributions/{d.id}/remove-unavailable")
    assert response.status_code == 302
    messages = _purchase_orders(session)
    assert [m.ref for m in messages[2:]] == [f"d{d.id}-p{dairy['producer'].id}-r1"]
    corrected = messages[-1]
    assert corrected.email == "fromagerie@example.test" and "38,50" in corrected.body
    assert _csv_row(_csv(app, session, corrected), "Tomme")[5] == "38,50"


def test_a_producer_with_neither_account_nor_address_gets_no_correction(
    app, client, auth, post, session, now, dairy
):
    _sent(app, session, now)
    dairy["producer"].email = None
    session.commit()
    _unavailable(session, dairy["comte"])
    _remove(auth, post, dairy["d"])
    assert len(_purchase_orders(session)) == 2


def test_a_revision_ref_is_parsed_and_a_foreign_one_refused(app, session, dairy):
    d, producer = dairy["d"], dairy["producer"]
    assert attachments.parse_purchase_order_ref(f"d{d.id}-p{producer.id}") == (
        d.id,
        producer.id,
        None,
    )
    assert attachments.parse_purchase_order_ref(f"d{d.id}-p{producer.id}-r3") == (
        d.id,
        producer.id,
        3,
    )
    for bad in ("lines:1,2", f"d{d.id}", f"d{d.id}-p{producer.id}-x1", "dx-p1", "d1-p2-r"):
        assert attachments.parse_purchase_order_ref(bad) is None
        with app.app_context():
            assert attachments.build(session, "purchase_order", bad) == []
