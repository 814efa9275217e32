"""One small world with every kind of actor, for tests that walk the whole URL map
(tests/test_access_map.py, tests/test_fuzz.py): two groups, a catalogue with its
producer and manager, another producer's catalogue, distributions in several states, a
basket, a volunteer on duty at the closed distribution and one on duty another day, a
join request, a message, a tablet link. `build(session, now)` returns the actors'
e-mails and the ids URLs need."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from webapp.models import (
    CatalogueManager,
    DutyAssignment,
    JoinRequest,
    Membership,
    Message,
    MessageRecipient,
    TabletLink,
)

from . import factories

ACTORS = (
    "anonymous",
    "member",
    "member_other_group",
    "volunteer_on_duty",
    "volunteer_off_duty",
    "producer",
    "producer_other",
    "manager",
    "coordinator_other_group",
    "coordinator",
)

JOIN_TOKEN = "join-token-of-the-group"


def build(session, now) -> dict:
    group = factories.group(session, now=now, name="AMAP du Centre")
    other_group = factories.group(session, now=now, name="AMAP d'à côté")
    group.join_token = JOIN_TOKEN
    people = {
        "coordinator": factories.user(session, now=now, group=group, role="coordinator"),
        "member": factories.user(session, now=now, group=group),
        "volunteer_on_duty": factories.user(session, now=now, group=group),
        "volunteer_off_duty": factories.user(session, now=now, group=group),
        "manager": factories.user(session, now=now, group=group),
        "producer": factories.user(session, now=now),
        "producer_other": factories.user(session, now=now),
        "member_other_group": factories.user(session, now=now, group=other_group),
        "coordinator_other_group": factories.user(
            session, now=now, group=other_group, role="coordinator"
        ),
    }
    mine = factories.catalogue(session, group=group, producer_user=people["producer"])
    mine.producer_can_edit = True
    theirs = factories.catalogue(
        session, group=group, name="Pains", producer_user=people["producer_other"]
    )
    leeks = factories.product(session, catalogue=mine, name="Poireaux")
    carrots = factories.product(
        session, catalogue=mine, name="Carottes", unit="kg", price_cents=320, weighed=True
    )
    bread = factories.product(session, catalogue=theirs, name="Pain", vat_rate=Decimal("5.5"))
    other_catalogue = factories.catalogue(session, group=other_group, name="Fromages")
    factories.product(session, catalogue=other_catalogue, name="Tomme")
    days = {
        state: factories.distribution(
            session, group=group, now=now, state=state, catalogues=[mine, theirs]
        )
        for state in ("open", "closed", "distributed", "scheduled")
    }
    basket = factories.order(
        session,
        distribution=days["closed"],
        user=people["member"],
        now=now,
        lines=[(leeks, Decimal(2)), (carrots, Decimal("1.5")), (bread, Decimal(1))],
    )
    factories.order(
        session, distribution=days["open"], user=people["member"], now=now, lines=[(leeks, 1)]
    )
    session.add_all(
        [
            DutyAssignment(
                distribution_id=days["closed"].id,
                user_id=people["volunteer_on_duty"].id,
                role_name="accueil",
                created_at=now,
            ),
            DutyAssignment(
                distribution_id=days["open"].id,
                user_id=people["volunteer_off_duty"].id,
                role_name="accueil",
                created_at=now,
            ),
        ]
    )
    manager_ship = session.query(Membership).filter_by(user_id=people["manager"].id).one()
    session.add(CatalogueManager(membership_id=manager_ship.id, catalogue_id=mine.id))
    request = JoinRequest(
        group_id=group.id,
        first_name="Léa",
        last_name="Roux",
        email="lea@example.test",
        created_at=now,
    )
    message = Message(
        group_id=group.id,
        author_id=people["coordinator"].id,
        audience="all",
        audience_label="Tous",
        subject="Bienvenue",
        body="Bonjour à tous",
        recipients_count=1,
        created_at=now,
    )
    session.add_all([request, message])
    session.flush()
    session.add(MessageRecipient(message_id=message.id, user_id=people["member"].id))
    link = TabletLink(
        distribution_id=days["closed"].id,
        created_by_id=people["coordinator"].id,
        created_at=now,
        expires_at=now + timedelta(days=1),
    )
    session.add(link)
    session.flush()
    contract, subscription = _contract(session, now, group, days["scheduled"], people)
    duty = session.query(DutyAssignment).filter_by(user_id=people["volunteer_off_duty"].id).one()
    member_ship = session.query(Membership).filter_by(user_id=people["member"].id).one()
    session.commit()
    ids = {
        "distribution_id": days["closed"].id,
        "catalogue_id": mine.id,
        "product_id": leeks.id,
        "basket_id": basket.id,
        "user_id": people["member"].id,
        "membership_id": member_ship.id,
        "producer_id": mine.producer_id,
        "duty_id": duty.id,
        "request_id": request.id,
        "message_id": message.id,
        "group_id": group.id,
        "open_distribution_id": days["open"].id,
        "tablet_link_id": link.id,
        "contract_id": contract.id,
        "subscription_id": subscription.id,
        "payment_id": subscription.payments[0].id,
    }
    return {
        "emails": {who: user.email for who, user in people.items()},
        "ids": ids,
        "group_id": group.id,
    }


def _contract(session, now, group, day, people):
    """An AMAP contract on one coming day, and the member's pending subscription to it."""
    from webapp.services import contracts

    catalogue = factories.catalogue(session, group=group, name="Légumes AMAP")
    share = factories.product(session, catalogue=catalogue, name="Panier", price_cents=1500)
    contract = contracts.create_contract(
        session,
        group,
        contracts.ContractInput(
            name="Légumes",
            catalogue_id=catalogue.id,
            distribution_ids=[day.id],
            items={share.id: Decimal(1)},
            signup_opens_at=now - timedelta(days=1),
            signup_closes_at=now + timedelta(days=1),
            max_absences=1,
        ),
        actor=people["coordinator"],
        now=now,
    )
    choice = contracts.SignUp(
        counts={contract.items[0].id: 1}, dates=1, instalments=1, method="cheque"
    )
    member = people["member"]
    return contract, contracts.sign_up(session, contract, member, choice, actor=member, now=now)
