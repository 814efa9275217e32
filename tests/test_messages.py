"""Messages to members: who is on each list, who may write, what members read, bad input."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from webapp.models import (
    CatalogueManager,
    DutyAssignment,
    LedgerEntry,
    Membership,
    Message,
    MessageRecipient,
    OutboxMessage,
    PushSubscription,
)
from webapp.services import ServiceError
from webapp.services import messages as svc
from webapp.services.memberships import record_fee, save_settings

from . import factories
from .conftest import csrf_token


@pytest.fixture
def world(session, now):
    group = factories.group(session, now=now, name="AMAP des Tests")
    coord = factories.user(session, now=now, group=group, role="coordinator", email="c@x.test")
    alice = factories.user(session, now=now, group=group, email="alice@x.test", first_name="Alice")
    bruno = factories.user(session, now=now, group=group, email="bruno@x.test", first_name="Bruno")
    chloe = factories.user(session, now=now, group=group, email="chloe@x.test", first_name="Chloé")
    veg = factories.catalogue(session, group=group, name="Légumes")
    cheese = factories.catalogue(session, group=group, name="Fromages")
    carrots = factories.product(session, catalogue=veg, name="Carottes")
    tomme = factories.product(session, catalogue=cheese, name="Tomme")
    d = factories.distribution(session, group=group, now=now, catalogues=[veg, cheese])
    factories.order(session, distribution=d, user=alice, now=now, lines=[(carrots, Decimal(2))])
    factories.order(session, distribution=d, user=bruno, now=now, lines=[(tomme, Decimal(1))])
    # Chloé's basket is empty: she is no buyer.
    factories.order(session, distribution=d, user=chloe, now=now, lines=[(tomme, Decimal(0))])
    return dict(
        group=group, coord=coord, alice=alice, bruno=bruno, chloe=chloe, veg=veg, cheese=cheese, d=d
    )


def _write(post, audience, subject="Panier de la semaine", body="Bonjour, à jeudi !"):
    return post(
        "/messages/new",
        {"audience": audience, "subject": subject, "body": body},
        token_from="/messages/new",
    )


def _count(session, model):
    factories.fresh(session)
    return session.scalar(select(func.count()).select_from(model))


def test_coordinator_writes_to_the_buyers_of_one_producer(auth, post, session, world):
    session.add(
        PushSubscription(
            user_id=world["alice"].id,
            endpoint="https://push.example/1",
            p256dh="k",
            auth="a",
            created_at=world["group"].created_at,
        )
    )
    session.commit()
    auth.login("c@x.test")
    response = _write(post, f"producer:{world['veg'].producer_id}")
    assert response.status_code == 303
    factories.fresh(session)
    message = session.scalar(select(Message))
    assert message.recipients_count == 1
    assert message.audience_label.endswith(world["veg"].producer.name)
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.channel)).all()
    # Alice: an e-mail, and a push because she turned notifications on; nobody else.
    assert [(r.user_id, r.channel) for r in rows] == [
        (world["alice"].id, "email"),
        (world["alice"].id, "push"),
    ]
    assert rows[0].title == "[AMAP des Tests] Panier de la semaine"
    assert rows[0].body.startswith("Bonjour, à jeudi !")
    assert rows[0].url == f"http://localhost/messages/{message.id}"  # absolute, for e-mail


def test_member_reads_the_message_in_the_app_as_plain_text(auth, post, client, session, world):
    auth.login("c@x.test")
    body = "Voir https://example.org/recette?a=1 <script>alert(1)</script>\nÀ jeudi"
    _write(post, "all", subject="Recette <b>", body=body)
    message_id = session.scalar(select(Message.id))
    auth.logout()
    auth.login("alice@x.test")
    inbox = client.get("/messages/").get_data(as_text=True)
    assert "Recette &lt;b&gt;" in inbox
    page = client.get(f"/messages/{message_id}").get_data(as_text=True)
    assert '<a href="https://example.org/recette?a=1" rel="noopener nofollow">' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>" in page
    assert "<script>alert" not in page
    factories.fresh(session)
    receipt = session.get(MessageRecipient, (message_id, world["alice"].id))
    assert receipt.read_at is not None


def test_a_member_not_on_the_list_cannot_read_it(auth, post, client, session, world):
    auth.login("c@x.test")
    _write(post, f"catalogue:{world['cheese'].id}")
    message_id = session.scalar(select(Message.id))
    auth.logout()
    auth.login("alice@x.test")
    assert client.get(f"/messages/{message_id}").status_code == 404
    assert "Panier de la semaine" not in client.get("/messages/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        ("all", ["coord", "alice", "bruno", "chloe"]),
        ("distribution", ["alice", "bruno"]),
        ("catalogue", ["bruno"]),
        ("duty", ["chloe"]),
        ("in_debt", ["bruno"]),
        ("unpaid", ["bruno", "chloe"]),
    ],
)
def test_who_is_on_each_list(app, session, world, now, audience, expected):
    session.add(
        DutyAssignment(
            distribution_id=world["d"].id,
            user_id=world["chloe"].id,
            role_name="accueil",
            created_at=now,
        )
    )
    session.add(
        LedgerEntry(
            group_id=world["group"].id,
            user_id=world["bruno"].id,
            kind="order",
            amount_cents=-450,
            pending=False,
            note="",
            created_at=now,
        )
    )
    session.commit()
    ref = {
        "distribution": world["d"].id,
        "catalogue": world["cheese"].id,
        "duty": world["d"].id,
    }.get(audience)
    with app.test_request_context():
        save_settings(
            session,
            world["group"],
            start_month=9,
            fee_mode="fixed",
            fee_cents=1500,
            unpaid_rule="warn",
            actor=world["coord"],
            now=now,
        )
        for name in ("coord", "alice"):
            record_fee(
                session,
                world["group"],
                world[name],
                amount_cents=1500,
                method="cash",
                paid_on=now.date(),
                actor=world["coord"],
                now=now,
            )
        _label, ids = svc.audience_ids(session, world["group"], audience, ref, now=now)
    assert ids == sorted(world[n].id for n in expected)


def test_an_empty_list_is_refused_and_nothing_is_sent(auth, post, client, session, world):
    auth.login("c@x.test")
    response = _write(post, f"duty:{world['d'].id}")  # nobody on duty
    assert response.status_code == 400
    assert "Personne" in response.get_data(as_text=True)
    assert _count(session, Message) == 0
    assert _count(session, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("subject", "body", "field"),
    [
        ("", "Bonjour", "subject"),
        ("x" * 151, "Bonjour", "subject"),
        ("Sujet", "   ", "body"),
        ("Sujet", "x" * 5001, "body"),
    ],
)
def test_bad_text_is_refused_on_its_field(auth, post, session, world, subject, body, field):
    auth.login("c@x.test")
    response = _write(post, "all", subject=subject, body=body)
    assert response.status_code == 400
    assert f'id="f-{field}-error"' in response.get_data(as_text=True)
    assert _count(session, Message) == 0
    assert _count(session, OutboxMessage) == 0


def test_a_message_of_the_largest_size_is_sent(auth, post, session, world):
    auth.login("c@x.test")
    assert _write(post, "all", subject="s" * 150, body="b" * 5000).status_code == 303


def test_members_may_not_write(auth, post, client, session, world):
    auth.login("alice@x.test")
    assert client.get("/messages/new").status_code == 403
    assert (
        post("/messages/new", {"audience": "all", "subject": "s", "body": "b"}).status_code == 403
    )
    assert client.get("/messages/sent").status_code == 403
    assert _count(session, Message) == 0


def test_a_catalogue_manager_writes_only_to_their_catalogues_buyers(
    auth, post, client, session, world
):
    membership = session.scalar(select(Membership).where(Membership.user_id == world["alice"].id))
    session.add(CatalogueManager(membership_id=membership.id, catalogue_id=world["cheese"].id))
    session.commit()
    auth.login("alice@x.test")
    form = client.get("/messages/new").get_data(as_text=True)
    assert f'value="catalogue:{world["cheese"].id}"' in form
    assert 'value="all"' not in form
    for audience in (
        "all",
        f"catalogue:{world['veg'].id}",
        f"producer:{world['cheese'].producer_id}",
    ):
        assert _write(post, audience).status_code == 403
    assert _count(session, Message) == 0
    assert _write(post, f"catalogue:{world['cheese'].id}").status_code == 303
    factories.fresh(session)
    assert [r.user_id for r in session.scalars(select(MessageRecipient))] == [world["bruno"].id]
    # They see their own sent messages, with the delivery counts.
    assert "Panier de la semaine" in client.get("/messages/sent").get_data(as_text=True)


def test_another_groups_list_is_refused(auth, post, session, world, now):
    other = factories.group(session, now=now)
    elsewhere = factories.catalogue(session, group=other)
    auth.login("c@x.test")
    assert _write(post, f"catalogue:{elsewhere.id}").status_code == 400
    assert _write(post, "everyone").status_code == 400
    assert _count(session, Message) == 0


def test_sent_messages_show_how_many_were_delivered(auth, post, client, session, world):
    auth.login("c@x.test")
    _write(post, "all")
    factories.fresh(session)
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    rows[0].state, rows[1].state = "sent", "sent"
    rows[2].state = "failed"
    session.commit()
    message_id = session.scalar(select(Message.id))
    assert svc.delivery_counts(session, [message_id])[message_id] == {
        "delivered": 2,
        "failed": 1,
        "waiting": 1,
    }
    page = client.get("/messages/sent").get_data(as_text=True)
    assert 'class="tag tag-red">1</span>' in page


def test_the_same_form_sent_twice_sends_one_message(auth, client, session, world):
    auth.login("c@x.test")
    data = {
        "csrf_token": csrf_token(client, "/messages/new"),
        "form_key": uuid.uuid4().hex,
        "audience": "all",
        "subject": "Une fois",
        "body": "Une seule fois",
    }
    assert client.post("/messages/new", data=data).status_code == 303
    assert client.post("/messages/new", data=data).status_code == 303
    assert _count(session, Message) == 1


def test_refused_to_people_outside_the_group(auth, post, client, session, world, now):
    other = factories.group(session, now=now)
    factories.user(session, now=now, group=other, role="coordinator", email="o@x.test")
    auth.login("c@x.test")
    _write(post, "all")
    message_id = session.scalar(select(Message.id))
    auth.logout()
    auth.login("o@x.test")
    assert client.get(f"/messages/{message_id}").status_code == 404


def test_service_refuses_a_list_without_its_distribution(app, session, world, now):
    membership = session.scalar(select(Membership).where(Membership.user_id == world["coord"].id))
    with app.test_request_context(), pytest.raises(ServiceError) as refused:
        svc.send_message(
            session,
            world["group"],
            audience="distribution",
            ref=None,
            subject="s",
            body="b",
            actor=world["coord"],
            membership=membership,
            now=now,
        )
    assert refused.value.field == "audience"


def test_the_menu_counts_unread_messages_until_they_are_read(auth, post, client, session, world):
    import re

    auth.login("c@x.test")
    _write(post, "all", subject="Un")
    _write(post, "all", subject="Deux")
    auth.logout()
    auth.login("alice@x.test")

    def badge():
        found = re.search(r'Messages <span class="badge"[^>]*>(\d+)</span>', client.get("/").text)
        return int(found.group(1)) if found else 0

    assert badge() == 2
    first = session.scalar(select(Message.id).order_by(Message.id))
    client.get(f"/messages/{first}")
    assert badge() == 1
