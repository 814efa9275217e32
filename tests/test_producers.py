"""Producers with their own account: invited by e-mail to their producer page, one account
for every group they supply, editing the catalogues a group lets them edit, an overview of
every coming distribution, and the purchase order (PDF and CSV) by e-mail when orders close."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from email import message_from_bytes
from email.policy import default

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from webapp.cli import queue_reminders
from webapp.models import Catalogue, Invitation, Membership, OutboxMessage, Producer, Product, User
from webapp.sender import deliver_due

from . import factories
from .conftest import csrf_token, refusal
from .messaging import Smtp


@pytest.fixture
def farm(session, now):
    """Group A with its coordinator, a member who ordered, and the Ferme's catalogue
    (no account yet) at a distribution open for orders."""
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
    catalogue.producer_can_edit = True
    leeks = factories.product(session, catalogue=catalogue, name="Poireaux", price_cents=300)
    eggs = factories.product(session, catalogue=catalogue, name="Œufs", price_cents=425)
    d = factories.distribution(session, group=group, now=now, state="open", catalogues=[catalogue])
    factories.order(session, distribution=d, user=member, now=now, lines=[(leeks, 2), (eggs, 3)])
    session.commit()
    return dict(
        group=group,
        coordinator=coordinator,
        member=member,
        catalogue=catalogue,
        producer=catalogue.producer,
        leeks=leeks,
        eggs=eggs,
        d=d,
    )


def _invite(post, producer_id: int, email: str = "ferme@example.test"):
    return post(f"/catalogues/producers/{producer_id}/invite", {"email": email})


def _queued_link(session, email: str) -> str:
    factories.fresh(session)
    message = session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.email == email, OutboxMessage.kind == "invitation")
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None and message.channel == "email"
    return message.url


def _accept_as_new(client, path: str):
    token = csrf_token(client, path)
    return client.post(
        path,
        data={
            "csrf_token": token,
            "first_name": "Jeanne",
            "last_name": "Ferme",
            "password": "a long enough password",
        },
    )


def test_a_coordinator_invites_a_producer_who_accepts_and_lands_on_their_page(
    client, auth, post, session, farm
):
    auth.login("coord@example.test")
    response = _invite(post, farm["producer"].id)
    assert response.status_code == 302
    factories.fresh(session)
    invitation = session.scalar(select(Invitation).where(Invitation.producer_id.is_not(None)))
    assert invitation.email == "ferme@example.test" and invitation.group_id == farm["group"].id
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert farm["producer"].name in message.body and "/join/" in message.body
    page = client.get(f"/catalogues/producers/{farm['producer'].id}").get_data(as_text=True)
    assert "ferme@example.test" in page  # the invitation is shown, to be sent again
    auth.logout()

    path = _queued_link(session, "ferme@example.test")
    invited = client.get(path).get_data(as_text=True)
    assert "Votre page producteur avec" in invited and "Ouvrir ma page producteur" in invited
    assert "Rejoindre le groupe" not in invited
    assert _accept_as_new(client, path).status_code == 302
    factories.fresh(session)
    user = session.scalar(select(User).where(User.email == "ferme@example.test"))
    assert session.get(Producer, farm["producer"].id).user_id == user.id
    # a producer, not a member: no place among the group's members
    assert session.scalar(select(Membership).where(Membership.user_id == user.id)) is None
    assert client.get("/").headers["Location"].endswith("/producer/")
    home = client.get("/producer/").get_data(as_text=True)
    assert "Légumes" in home and "AMAP du Préau" in home
    # the member list shows no producer invitation as a member's
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/")})
    auth.login("coord@example.test")
    assert "ferme@example.test" not in client.get("/members/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "message"),
    [("not an address", "Saisissez une adresse e-mail valide."), ("a@b", "valide")],
)
def test_a_malformed_address_is_refused_and_nothing_is_queued(
    client, auth, post, session, farm, email, message
):
    auth.login("coord@example.test")
    status, page = refusal(client, _invite(post, farm["producer"].id, email))
    assert status == 400 and message in page
    factories.fresh(session)
    assert session.scalar(select(Invitation)) is None
    assert session.scalar(select(OutboxMessage)) is None


def test_a_producer_with_an_account_is_not_invited_again(client, auth, post, session, now, farm):
    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    session.commit()
    auth.login("coord@example.test")
    status, page = refusal(client, _invite(post, farm["producer"].id, "autre@example.test"))
    assert status == 400 and "a déjà un compte" in page
    factories.fresh(session)
    assert session.scalar(select(OutboxMessage)) is None


def test_another_groups_producer_is_invited_by_that_group_only(
    client, auth, post, session, now, farm
):
    """Group B sells group A's producer record through a catalogue: group A invites."""
    group_b = factories.group(session, now=now)
    factories.user(session, now=now, group=group_b, role="coordinator", email="b@example.test")
    session.add(Catalogue(group_id=group_b.id, producer_id=farm["producer"].id, name="Légumes B"))
    session.commit()
    auth.login("b@example.test")
    assert _invite(post, farm["producer"].id).status_code == 403
    factories.fresh(session)
    assert session.scalar(select(Invitation)) is None


def test_one_account_supplies_two_groups_and_sees_both(client, auth, post, session, now, farm):
    """Group B has its own producer record of the same farm: accepting its invitation
    with the existing account links that record too; one page shows both groups."""
    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    group_b = factories.group(session, now=now, name="Panier de Bercy")
    factories.user(session, now=now, group=group_b, role="coordinator", email="b@example.test")
    catalogue_b = factories.catalogue(session, group=group_b, name="Fromages")
    cheese = factories.product(session, catalogue=catalogue_b, name="Tomme", price_cents=900)
    d_b = factories.distribution(
        session, group=group_b, now=now, state="closed", catalogues=[catalogue_b]
    )
    buyer = factories.user(session, now=now, group=group_b)
    factories.order(session, distribution=d_b, user=buyer, now=now, lines=[(cheese, 2)])
    session.commit()

    auth.login("b@example.test")
    assert _invite(post, catalogue_b.producer.id).status_code == 302
    auth.logout()
    path = _queued_link(session, "ferme@example.test")
    response = client.get(path)  # an account exists: log in first
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login("ferme@example.test")
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 302
    factories.fresh(session)
    linked = session.scalars(select(Producer).where(Producer.user_id == producer_user.id)).all()
    assert {p.id for p in linked} == {farm["producer"].id, catalogue_b.producer.id}

    home = client.get("/producer/").get_data(as_text=True)
    assert "AMAP du Préau" in home and "Panier de Bercy" in home
    assert "Légumes" in home and "Fromages" in home
    # state, order count and total of each coming distribution
    assert "Commandes fermées" in home and "18,00" in home  # Bercy: 2 × 9,00, closed
    assert "Ouvert jusqu’au" in home or "Ouvert jusqu'au" in home
    assert "18,75" in home  # Préau: 2 × 3,00 + 3 × 4,25


def test_a_producer_edits_a_price_and_stock_when_the_group_allows_it(
    client, auth, post, session, now, farm
):
    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    session.commit()
    auth.login("ferme@example.test")
    response = post(
        f"/catalogues/{farm['catalogue'].id}/products/{farm['leeks'].id}",
        {
            "name": "Poireaux",
            "price": "3,20",
            "vat_rate": "5.5",
            "unit": "piece",
            "stock": "40",
            "active": "1",
        },
        token_from="/account/",
    )
    assert response.status_code == 302
    factories.fresh(session)
    leeks = session.get(Product, farm["leeks"].id)
    assert (leeks.price_cents, leeks.stock) == (320, Decimal(40))
    # what was ordered keeps its price
    assert "18,75" in client.get("/producer/").get_data(as_text=True)


def test_a_producers_bad_price_gets_a_field_error_and_changes_nothing(
    client, auth, post, session, now, farm
):
    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    session.commit()
    auth.login("ferme@example.test")
    response = post(
        f"/catalogues/{farm['catalogue'].id}/products/{farm['leeks'].id}",
        {"name": "Poireaux", "price": "trois", "vat_rate": "5.5", "unit": "piece"},
        token_from="/account/",
    )
    assert response.status_code == 400
    factories.fresh(session)
    assert session.get(Product, farm["leeks"].id).price_cents == 300


def _close(session, d, now):
    d.orders_close_at = now - timedelta(minutes=5)
    d.orders_open_at = now - timedelta(days=3)
    session.commit()


def test_orders_closed_queue_one_purchase_order_per_producer_and_distribution(
    app, session, now, farm
):
    producer_user = factories.user(session, now=now, email="ferme@example.test", locale="fr")
    farm["producer"].user_id = producer_user.id
    no_account = factories.catalogue(session, group=farm["group"], name="Pains")
    farm["d"].catalogues.append(no_account)
    session.commit()
    queue_reminders(app, now=now)
    factories.fresh(session)
    kinds = session.scalars(select(OutboxMessage.kind)).all()
    assert "purchase_order" not in kinds  # orders still open

    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    queue_reminders(app, now=now + timedelta(minutes=1))
    factories.fresh(session)
    sent = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "purchase_order")
    ).all()
    assert len(sent) == 1  # once; none for the producer without an account
    message = sent[0]
    assert message.user_id == producer_user.id and message.channel == "email"
    assert "18,75" in message.body and "AMAP du Préau" in message.title


def test_a_close_older_than_two_days_sends_no_late_purchase_order(app, session, now, farm):
    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    d = farm["d"]
    d.orders_open_at, d.orders_close_at = now - timedelta(days=6), now - timedelta(days=3)
    d.starts_at, d.ends_at = now + timedelta(hours=1), now + timedelta(hours=3)
    session.commit()
    queue_reminders(app, now=now)
    factories.fresh(session)
    assert (
        session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "purchase_order")) is None
    )


@pytest.fixture
def smtp(app):
    server = Smtp()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5)
    yield server
    server.close()


def test_the_purchase_order_email_carries_a_pdf_and_a_csv_with_the_right_totals(
    app, session, now, farm, smtp
):
    producer_user = factories.user(session, now=now, email="ferme@example.test", locale="fr")
    farm["producer"].user_id = producer_user.id
    other = factories.user(
        session, now=now, group=farm["group"], first_name="Grace", last_name="Hopper"
    )
    factories.order(session, distribution=farm["d"], user=other, now=now, lines=[(farm["eggs"], 1)])
    _close(session, farm["d"], now)
    queue_reminders(app, now=now)
    counts = deliver_due(app, now=now)
    assert counts.get("email") == 1, counts
    (envelope,) = smtp.to("ferme@example.test")
    email = message_from_bytes(envelope.content, policy=default)
    files = {part.get_filename(): part for part in email.iter_attachments()}
    pdf_name = next(n for n in files if n.endswith(".pdf"))
    csv_name = next(n for n in files if n.endswith(".csv"))
    assert files[pdf_name].get_content_type() == "application/pdf"
    pdf = files[pdf_name].get_content()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    # 2 poireaux at 3,00 + 4 œufs at 4,25 = 23,00
    assert "Poireaux" in text and "Œufs" in text and "23,00" in text
    assert "Lovelace Ada" in text and "Hopper Grace" in text
    csv_text = files[csv_name].get_content()
    if isinstance(csv_text, bytes):
        csv_text = csv_text.decode("utf-8-sig")
    rows = [line.split(";") for line in csv_text.lstrip("\ufeff").splitlines()]
    # unit named, not coded; then contract and shop quantities apart
    assert ["Poireaux", "2", "pièce", "3,00", "6,00", "0", "2"] == rows[1][1:]
    assert ["Œufs", "4", "pièce", "4,25", "17,00", "0", "4"] == rows[2][1:]
    assert rows[-1][1] == "Total" and rows[-1][5] == "23,00"
    assert "23,00" in email.get_body(preferencelist=("plain",)).get_content()


def test_the_producer_downloads_the_purchase_order_of_one_catalogue(
    client, auth, session, now, farm
):
    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    session.commit()
    auth.login("ferme@example.test")
    url = f"/catalogues/{farm['catalogue'].id}/distributions/{farm['d'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "Lovelace Ada" in page and "18,75" in page and "Ouvert jusqu" in page
    pdf = client.get(url + "/purchase-order.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Poireaux" in text and "18,75" in text
    other = factories.catalogue(session, group=farm["group"], name="Pains")
    farm["d"].catalogues.append(other)
    session.commit()
    theirs = f"/catalogues/{other.id}/distributions/{farm['d'].id}/purchase-order.pdf"
    assert client.get(theirs).status_code == 403


def test_the_overview_reads_no_orders_of_distributions_not_open_yet(
    app, client, auth, session, now, farm
):
    """A group planning a year ahead: each far-off distribution is listed, read once."""
    from .test_web_shop import _count_queries

    producer_user = factories.user(session, now=now, email="ferme@example.test")
    farm["producer"].user_id = producer_user.id
    session.commit()
    auth.login("ferme@example.test")
    before = _count_queries(app, client, "/producer/")
    for _ in range(8):
        factories.distribution(
            session, group=farm["group"], now=now, state="scheduled", catalogues=[farm["catalogue"]]
        )
    after = _count_queries(app, client, "/producer/")
    assert after <= before + 3  # the places, not one query of orders per distribution
    page = client.get("/producer/").get_data(as_text=True)
    assert page.count("Commandes ouvertes le") == 8
