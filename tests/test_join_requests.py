"""People ask to join from the shared link; coordinators accept or refuse; a member limit
keeps accepted people waiting, in order, until places free."""

import pytest
from sqlalchemy import func, select

from webapp.models import Group, Invitation, JoinRequest, Membership, OutboxMessage

from . import factories
from .conftest import csrf_token


@pytest.fixture
def group(session, now):
    return factories.group(session, now=now, name="AMAP des Tests", join_token="share-me")


@pytest.fixture
def coordinator(session, now, group):
    return factories.user(
        session, now=now, group=group, role="coordinator", email="coord@example.test"
    )


def _ask(client, email, token="share-me", address="203.0.113.9", **extra):
    csrf = csrf_token(client, f"/groups/join/{token}")
    data = {"csrf_token": csrf, "first_name": "Nina", "last_name": "Roux", "email": email}
    return client.post(
        f"/groups/join/{token}", data={**data, **extra}, environ_base={"REMOTE_ADDR": address}
    )


def _requests(session):
    factories.fresh(session)
    return session.scalars(select(JoinRequest).order_by(JoinRequest.id)).all()


def test_someone_asks_to_join_and_coordinators_are_told(client, session, coordinator):
    response = _ask(client, "Nina@Example.test", phone="0611", message="Bonjour !")
    assert response.status_code == 303
    assert "Demande envoyée" in client.get(response.headers["Location"]).get_data(as_text=True)
    [request] = _requests(session)
    assert (request.email, request.state, request.message) == (
        "nina@example.test",
        "pending",
        "Bonjour !",
    )
    notice = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "join_request"))
    assert notice.user_id == coordinator.id and "Nina Roux" in notice.title
    # asking again does not make a second request
    _ask(client, "nina@example.test")
    assert len(_requests(session)) == 1


@pytest.mark.parametrize(
    ("email", "status", "message"),
    [
        ("not-an-address", 400, "Saisissez une adresse e-mail valide."),
        ("coord@example.test", 400, "déjà membre du groupe"),
    ],
)
def test_bad_requests_are_refused(client, session, coordinator, email, status, message):
    response = _ask(client, email)
    assert response.status_code == status and message in response.get_data(as_text=True)
    assert _requests(session) == []


def test_an_unknown_or_closed_link_answers_404(client, auth, post, session, coordinator):
    assert client.get("/groups/join/nope").status_code == 404
    auth.login("coord@example.test")
    assert post("/members/join-link", {"action": "close"}).status_code == 303
    assert client.get("/groups/join/share-me").status_code == 404


def test_the_coordinator_sees_the_link_as_a_qr_code_and_can_replace_it(
    client, auth, post, session, coordinator, group
):
    auth.login("coord@example.test")
    page = client.get("/members/join-link").get_data(as_text=True)
    assert "<svg" in page and "/groups/join/share-me" in page
    post("/members/join-link", {"action": "renew"})
    factories.fresh(session)
    token = session.get(Group, group.id).join_token
    assert token != "share-me" and client.get(f"/groups/join/{token}").status_code == 200
    assert client.get("/groups/join/share-me").status_code == 404


def test_accepting_invites_by_email_and_refusing_sends_nothing(
    client, auth, post, session, now, coordinator
):
    _ask(client, "nina@example.test")
    _ask(client, "paul@example.test", first_name="Paul")
    nina, paul = _requests(session)
    auth.login("coord@example.test")
    assert "Nina Roux" in client.get("/members/requests").get_data(as_text=True)
    assert post(f"/members/requests/{nina.id}/accept").status_code == 303
    assert post(f"/members/requests/{paul.id}/refuse").status_code == 303
    nina, paul = _requests(session)
    assert (nina.state, paul.state) == ("invited", "refused")
    invitation = session.get(Invitation, nina.invitation_id)
    assert invitation.email == "nina@example.test" and invitation.first_name == "Nina"
    invited = session.scalars(
        select(OutboxMessage.email).where(OutboxMessage.kind == "invitation")
    ).all()
    assert invited == ["nina@example.test"]
    # answering twice is refused
    again = post(f"/members/requests/{nina.id}/accept")
    assert again.headers.get("X-Refused") == "409"


def test_a_full_group_keeps_a_waiting_list_and_offers_places_in_order(
    client, auth, post, session, now, group, coordinator
):
    member = factories.user(session, now=now, group=group, email="m@example.test")
    group.max_members = 2
    session.commit()
    for email in ("first@example.test", "second@example.test", "third@example.test"):
        _ask(client, email)
    requests = _requests(session)
    auth.login("coord@example.test")
    for request in requests:
        post(f"/members/requests/{request.id}/accept")
    assert [r.state for r in _requests(session)] == ["waiting"] * 3
    # a member leaves: the first in the list is offered the place
    membership = session.scalar(select(Membership).where(Membership.user_id == member.id))
    assert post(f"/members/{membership.id}/remove").status_code == 303
    assert [r.state for r in _requests(session)] == ["invited", "waiting", "waiting"]
    # the limit rises by one: the next one is offered the place
    settings = {
        "name": "AMAP des Tests",
        "payment_methods": ["cash"],
        "vat_rates": "5,5",
        "duty_signup_days": "30",
        "duty_reminder_days": "2",
        "max_members": "3",
        "locale": "fr",
    }
    assert post("/members/settings", settings).status_code == 302
    assert [r.state for r in _requests(session)] == ["invited", "invited", "waiting"]
    emails = session.scalars(
        select(OutboxMessage.email)
        .where(OutboxMessage.kind == "invitation")
        .order_by(OutboxMessage.id)
    ).all()
    assert emails == ["first@example.test", "second@example.test"]


def test_a_coordinator_of_another_group_cannot_see_nor_answer_requests(
    client, auth, post, session, now, coordinator
):
    _ask(client, "nina@example.test")
    [request] = _requests(session)
    other = factories.group(session, now=now)
    factories.user(session, now=now, group=other, role="coordinator", email="other@example.test")
    auth.login("other@example.test")
    assert "Nina" not in client.get("/members/requests").get_data(as_text=True)
    assert post(f"/members/requests/{request.id}/accept").status_code == 404
    assert _requests(session)[0].state == "pending"


def test_members_cannot_answer_requests(client, auth, post, session, now, group, coordinator):
    _ask(client, "nina@example.test")
    [request] = _requests(session)
    factories.user(session, now=now, group=group, email="m@example.test")
    auth.login("m@example.test")
    assert client.get("/members/requests").status_code == 403
    assert post(f"/members/requests/{request.id}/accept").status_code == 403
    assert client.get("/members/join-link").status_code == 403


def test_a_flood_of_join_requests_is_rate_limited(app, client, session, coordinator):
    """Counted in the database every process shares (rate_limit_hits), like logins."""
    app.config["RATELIMIT_ENABLED"] = True
    same_address = [_ask(client, "flood@example.test").status_code for _ in range(4)]
    assert same_address[:3] == [303, 303, 303] and same_address[3] == 429
    # from one network: 20 requests an hour, whatever the addresses
    others = [_ask(client, f"p{n}@example.test").status_code for n in range(18)]
    assert others[:17] == [303] * 17 and others[17] == 429
    refused = _ask(client, "x@example.test")
    assert refused.status_code == 429
    assert "Trop de demandes" in refused.get_data(as_text=True)
    assert 'value="x@example.test"' in refused.get_data(as_text=True)  # what was typed stays
    # Another network is not affected.
    other = _ask(client, "y@example.test", address="192.0.2.50")
    assert other.status_code == 303
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(JoinRequest)) == 1 + 17 + 1
