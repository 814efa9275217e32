"""Producers without an account get their purchase order at the address the group keeps for
them (`Producer.email`): set on the producer form, used when orders close, once per producer
and distribution, in the group's language, with the PDF and the CSV; an account wins."""

from __future__ import annotations

import io
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from webapp.cli import queue_reminders
from webapp.models import OutboxMessage, Producer, User
from webapp.sender import deliver_due
from webapp.services import attachments

from . import factories
from .conftest import csrf_token
from .messaging import Smtp


@pytest.fixture
def farm(session, now):
    """A group with its coordinator, a member who ordered from the Ferme (no account, an
    address kept for purchase orders), at a distribution open for orders."""
    group = factories.group(session, now=now, name="AMAP du Préau")
    coordinator = factories.user(
        session, now=now, group=group, role="coordinator", email="coord@example.test"
    )
    member = factories.user(
        session,
        now=now,
        group=group,
        email="m@example.test",
        first_name="Ada",
        last_name="Lovelace",
    )
    catalogue = factories.catalogue(session, group=group, name="Légumes")
    catalogue.producer.email = "ferme@example.test"
    leeks = factories.product(session, catalogue=catalogue, name="Poireaux", price_cents=300)
    d = factories.distribution(session, group=group, now=now, state="open", catalogues=[catalogue])
    factories.order(session, distribution=d, user=member, now=now, lines=[(leeks, 2)])
    session.commit()
    return dict(
        group=group, coordinator=coordinator, producer=catalogue.producer, catalogue=catalogue, d=d
    )


def _close(session, d, now, *, ago=timedelta(minutes=5)):
    d.orders_close_at = now - ago
    d.orders_open_at = now - ago - timedelta(days=3)
    session.commit()


def _purchase_orders(session) -> list[OutboxMessage]:
    factories.fresh(session)
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == attachments.PURCHASE_ORDER)
            .order_by(OutboxMessage.id)
        )
    )


def _form(producer: Producer, **changes) -> dict:
    return {
        "name": producer.name,
        "trade": producer.trade,
        "city": producer.city,
        "description": producer.description,
        **changes,
    }


# ---- the producer form ---------------------------------------------------------------------


def test_the_form_saves_the_address_normalised_and_shows_it_again(
    client, auth, post, session, farm
):
    producer = farm["producer"]
    auth.login("coord@example.test")
    page = client.get(f"/catalogues/producers/{producer.id}").get_data(as_text=True)
    assert 'name="order_email"' in page and "E-mail pour les bons de commande" in page
    assert "tant que le producteur n’a pas de compte" in page  # the hint
    response = post(
        f"/catalogues/producers/{producer.id}",
        _form(producer, order_email="  Commandes@Ferme.Example.TEST "),
    )
    assert response.status_code == 302
    factories.fresh(session)
    assert session.get(Producer, producer.id).email == "commandes@ferme.example.test"
    page = client.get(f"/catalogues/producers/{producer.id}").get_data(as_text=True)
    assert 'value="commandes@ferme.example.test"' in page


def test_a_new_producer_is_created_with_an_address(client, auth, post, session, farm):
    auth.login("coord@example.test")
    response = post(
        "/catalogues/producers/new",
        {"name": "Boulangerie Martin", "order_email": "pain@martin.example.test"},
    )
    assert response.status_code == 302
    factories.fresh(session)
    created = session.scalar(select(Producer).where(Producer.name == "Boulangerie Martin"))
    assert created.email == "pain@martin.example.test"


@pytest.mark.parametrize("email", ["pas une adresse", "a@b", "a@@b.test", "x" * 250 + "@b.test"])
def test_a_bad_address_gets_a_field_error_and_nothing_is_saved(
    client, auth, post, session, farm, email
):
    producer = farm["producer"]
    auth.login("coord@example.test")
    response = post(
        f"/catalogues/producers/{producer.id}",
        _form(producer, name="Nouveau nom", order_email=email),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="f-order_email-error"' in page and "Saisissez une adresse e-mail valide." in page
    factories.fresh(session)
    kept = session.get(Producer, producer.id)
    assert kept.email == "ferme@example.test" and kept.name == producer.name


def test_a_bad_address_creates_no_producer(client, auth, post, session, farm):
    auth.login("coord@example.test")
    response = post("/catalogues/producers/new", {"name": "Fantôme", "order_email": "nope"})
    assert response.status_code == 400
    factories.fresh(session)
    assert session.scalar(select(Producer).where(Producer.name == "Fantôme")) is None


def test_the_address_is_cleared_when_the_field_is_emptied(client, auth, post, session, farm):
    producer = farm["producer"]
    auth.login("coord@example.test")
    response = post(f"/catalogues/producers/{producer.id}", _form(producer, order_email="  "))
    assert response.status_code == 302
    factories.fresh(session)
    assert session.get(Producer, producer.id).email is None


# ---- the purchase order, when orders close -----------------------------------------------------


def test_orders_closed_queue_the_purchase_order_to_the_producers_address(app, session, now, farm):
    _close(session, farm["d"], now)
    assert queue_reminders(app, now=now) >= 1
    (message,) = _purchase_orders(session)
    ref = attachments.purchase_order_ref(farm["d"], farm["producer"])
    assert (message.kind, message.ref) == ("purchase_order", ref)
    assert message.email == "ferme@example.test" and message.user_id is None
    assert message.channel == "email" and message.group_id == farm["group"].id
    # in the group's language (French here), with no link: the producer has no page
    assert message.title.startswith("Bon de commande : AMAP du Préau")
    assert "6,00" in message.body and message.url == ""
    with app.app_context():
        files = attachments.build(session, message.kind, message.ref)
    assert [f.mimetype for f in files] == ["application/pdf", "text/csv"]
    assert files[0].filename.endswith(".pdf") and files[1].filename.endswith(".csv")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(files[0].data)).pages)
    assert "Poireaux" in text and "Lovelace Ada" in text
    assert "Poireaux" in files[1].data.decode("utf-8-sig")


def test_the_message_is_in_the_groups_language(app, session, now, farm):
    farm["group"].locale = "en"
    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    (message,) = _purchase_orders(session)
    assert message.title.startswith("Purchase order: AMAP du Préau")
    assert "The purchase order is attached" in message.body
    with app.app_context():
        _pdf, csv = attachments.build(session, message.kind, message.ref)
    header = csv.data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Producer;Product;Quantity")  # the files too


def test_the_address_only_email_leaves_with_its_pdf_and_csv(app, session, now, farm):
    server = Smtp()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5)
    try:
        _close(session, farm["d"], now)
        queue_reminders(app, now=now)
        counts = deliver_due(app, now=now)
        assert counts.get("email") == 1, counts
        (envelope,) = server.to("ferme@example.test")
    finally:
        server.close()
    email = message_from_bytes(envelope.content, policy=default)
    names = sorted(part.get_filename() for part in email.iter_attachments())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "pdf"]
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert "6,00" in body and "/producer/" not in body and "http" not in body


def test_it_is_queued_once_over_two_runs_even_if_the_address_changes(app, session, now, farm):
    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    farm["producer"].email = "autre@example.test"
    session.commit()
    queue_reminders(app, now=now + timedelta(minutes=1))
    queue_reminders(app, now=now + timedelta(minutes=2))
    (message,) = _purchase_orders(session)
    assert message.email == "ferme@example.test"


def test_nothing_is_queued_before_the_close(app, session, now, farm):
    queue_reminders(app, now=now)  # orders still open
    assert _purchase_orders(session) == []


def test_nothing_is_queued_after_the_window(app, session, now, farm):
    _close(session, farm["d"], now, ago=timedelta(days=3))
    d = farm["d"]
    d.starts_at, d.ends_at = now + timedelta(hours=1), now + timedelta(hours=3)
    session.commit()
    queue_reminders(app, now=now)
    assert _purchase_orders(session) == []


def test_a_producer_with_an_account_gets_it_there_not_at_the_address(app, session, now, farm):
    account = factories.user(session, now=now, email="jeanne@example.test", locale="en")
    farm["producer"].user_id = account.id
    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    (message,) = _purchase_orders(session)
    assert message.user_id == account.id and message.email is None
    assert message.title.startswith("Purchase order")  # the account's language
    assert message.url.endswith("/producer/")


def test_an_invitation_accepted_after_the_address_was_sent_sends_nothing_again(
    app, client, auth, post, session, now, farm
):
    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    assert len(_purchase_orders(session)) == 1
    # The coordinator invites the producer, who accepts: the account wins from now on.
    auth.login("coord@example.test")
    invite = post(
        f"/catalogues/producers/{farm['producer'].id}/invite", {"email": "jeanne@example.test"}
    )
    assert invite.status_code == 302
    auth.logout()
    factories.fresh(session)
    path = session.scalar(
        select(OutboxMessage.url).where(OutboxMessage.kind == "invitation")
    ).removeprefix("http://localhost")
    accepted = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "first_name": "Jeanne",
            "last_name": "Ferme",
            "password": "a long enough password",
        },
    )
    assert accepted.status_code == 302
    factories.fresh(session)
    account = session.scalar(select(User).where(User.email == "jeanne@example.test"))
    assert session.get(Producer, farm["producer"].id).user_id == account.id
    queue_reminders(app, now=now + timedelta(minutes=1))
    (message,) = _purchase_orders(session)
    assert message.email == "ferme@example.test"  # the one sent before; none to the account


def test_a_producer_with_neither_account_nor_address_gets_nothing(app, session, now, farm):
    farm["producer"].email = None
    session.commit()
    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    factories.fresh(session)
    assert (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "purchase_order")
        )
        == 0
    )


def test_the_invitation_form_offers_the_kept_address(client, auth, session, farm):
    auth.login("coord@example.test")
    page = client.get(f"/catalogues/producers/{farm['producer'].id}").get_data(as_text=True)
    assert 'name="email" value="ferme@example.test"' in page
