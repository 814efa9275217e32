"""Invitations, roles, groups: what coordinators and members may do."""

import re

import pytest
from sqlalchemy import select

from webapp.models import Membership, User

from . import factories
from .conftest import csrf_token


@pytest.fixture
def group(session, now):
    return factories.group(session, now=now, name="AMAP des Tests")


@pytest.fixture
def coordinator(session, now, group):
    return factories.user(
        session, now=now, group=group, role="coordinator", email="coord@example.test"
    )


def _invite(post, email="new@example.test", role="member"):
    return post("/members/invite", {"email": email, "role": role})


def test_coordinator_invites_and_the_link_creates_an_account(
    client, auth, post, session, coordinator, group
):
    auth.login("coord@example.test")
    response = _invite(post)
    assert response.status_code == 201
    link = re.search(
        r'<code class="invite-link">([^<]+)</code>', response.get_data(as_text=True)
    ).group(1)
    path = link.replace("http://localhost", "")
    auth.logout()
    token = csrf_token(client, path)
    joined = client.post(
        path,
        data={
            "csrf_token": token,
            "first_name": "Nina",
            "last_name": "Roux",
            "phone": "0611",
            "password": "a long password",
        },
    )
    assert joined.status_code == 302
    assert "Nina" in client.get("/").get_data(as_text=True)
    user = session.scalar(select(User).where(User.email == "new@example.test"))
    assert [m.group_id for m in user.memberships] == [group.id]
    # the link works once
    assert client.get(path).status_code == 404


def test_join_with_a_short_password_is_refused_and_creates_nothing(
    client, auth, post, session, coordinator
):
    auth.login("coord@example.test")
    html = _invite(post).get_data(as_text=True)
    path = re.search(r"http://localhost(/join/[^<]+)<", html).group(1)
    auth.logout()
    token = csrf_token(client, path)
    response = client.post(
        path, data={"csrf_token": token, "first_name": "A", "last_name": "B", "password": "short"}
    )
    assert response.status_code == 400
    assert "au moins 10 caractères" in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "new@example.test")) is None


def test_an_existing_account_must_log_in_to_accept(client, auth, post, session, now, coordinator):
    other_group = factories.group(session, now=now)
    factories.user(session, now=now, group=other_group, email="known@example.test")
    auth.login("coord@example.test")
    html = _invite(post, email="known@example.test").get_data(as_text=True)
    path = re.search(r"http://localhost(/join/[^<]+)<", html).group(1)
    auth.logout()
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login("known@example.test")
    token = csrf_token(client, path)
    assert client.post(path, data={"csrf_token": token}).status_code == 302
    factories.fresh(session)
    user = session.scalar(select(User).where(User.email == "known@example.test"))
    assert len(user.memberships) == 2


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not an email", "Saisissez une adresse e-mail valide."),
        ("coord@example.test", "déjà membre du groupe"),
    ],
)
def test_bad_invitations_get_field_errors(auth, post, coordinator, email, message):
    auth.login("coord@example.test")
    response = _invite(post, email=email)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_unknown_invitation_token_gets_a_clear_page(client):
    response = client.get("/join/not-a-token")
    assert response.status_code == 404
    assert "Invitation non valable" in response.get_data(as_text=True)


def test_members_cannot_manage_members(client, auth, post, session, now, group):
    factories.user(session, now=now, group=group, email="m@example.test")
    auth.login("m@example.test")
    assert client.get("/members/").status_code == 403
    assert _invite(post).status_code == 403


def test_coordinator_sets_a_role(auth, post, session, now, group, coordinator):
    member = factories.user(session, now=now, group=group)
    membership = session.scalar(select(Membership).where(Membership.user_id == member.id))
    auth.login("coord@example.test")
    assert post(f"/members/{membership.id}/role", {"role": "coordinator"}).status_code == 302
    factories.fresh(session)
    assert session.get(Membership, membership.id).role == "coordinator"


def test_coordinator_cannot_demote_themself(auth, post, session, coordinator):
    membership = session.scalar(select(Membership).where(Membership.user_id == coordinator.id))
    auth.login("coord@example.test")
    response = post(f"/members/{membership.id}/role", {"role": "member"})
    assert response.status_code == 400
    factories.fresh(session)
    assert session.get(Membership, membership.id).role == "coordinator"


def test_another_groups_membership_answers_404(auth, post, session, now, coordinator):
    other = factories.group(session, now=now)
    stranger = factories.user(session, now=now, group=other)
    membership = session.scalar(select(Membership).where(Membership.user_id == stranger.id))
    auth.login("coord@example.test")
    assert post(f"/members/{membership.id}/role", {"role": "coordinator"}).status_code == 404
    factories.fresh(session)
    assert session.get(Membership, membership.id).role == "member"


def test_a_person_in_two_groups_switches_between_them(client, auth, post, session, now, group):
    second = factories.group(session, now=now, name="Épicerie du Coin")
    user = factories.user(session, now=now, group=group, email="two@example.test")
    session.add(Membership(user_id=user.id, group_id=second.id, role="member", created_at=now))
    session.commit()
    auth.login("two@example.test")
    assert "AMAP des Tests" in client.get("/").get_data(as_text=True)
    assert post("/group", {"group_id": second.id}).status_code == 302
    assert "Épicerie du Coin" in client.get("/").get_data(as_text=True)


def test_switching_to_a_group_one_is_not_in_answers_404(auth, post, session, now, group):
    stranger_group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, email="one@example.test")
    auth.login("one@example.test")
    assert post("/group", {"group_id": stranger_group.id}).status_code == 404


def test_coordinator_edits_the_group_settings(auth, post, session, coordinator, group):
    auth.login("coord@example.test")
    response = post(
        "/members/settings",
        {
            "name": "AMAP des Tests",
            "payment_methods": ["cash", "transfer"],
            "vat_rates": "5,5 ; 10 ; 20",
            "sheet_instructions": "Rapportez les cagettes",
            "duty_signup_days": "21",
            "duty_reminder_days": "3",
        },
    )
    assert response.status_code == 302
    factories.fresh(session)
    saved = session.get(type(group), group.id)
    assert (saved.payment_methods, saved.vat_rates, saved.duty_signup_days) == (
        ["cash", "transfer"],
        ["5.5", "10", "20"],
        21,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payment_methods": []}, "au moins un moyen de paiement"),
        ({"vat_rates": "abc"}, "Taux de TVA comme"),
        ({"duty_signup_days": "-4"}, "entre 1 et 365"),
        ({"name": ""}, "Un nom est nécessaire"),
    ],
)
def test_bad_group_settings_save_nothing(auth, post, session, coordinator, group, changes, message):
    auth.login("coord@example.test")
    data = {
        "name": "Nouveau nom",
        "payment_methods": ["cash"],
        "vat_rates": "5,5",
        "duty_signup_days": "10",
        "duty_reminder_days": "2",
        **changes,
    }
    response = post("/members/settings", data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    factories.fresh(session)
    assert session.get(type(group), group.id).name == "AMAP des Tests"


def test_many_open_invitations_and_requests_are_counted_not_all_listed(
    client, auth, session, now, group, coordinator
):
    """After importing a large group: the newest 100 invitations are listed, the rest
    counted; pending join requests counted, refused ones not."""
    from datetime import timedelta

    from webapp.models import Invitation, JoinRequest

    for n in range(130):
        session.add(
            Invitation(
                group_id=group.id,
                email=f"p{n:03d}@example.test",
                token_hash=f"{n:064d}",
                created_at=now - timedelta(minutes=130 - n),
                expires_at=now + timedelta(days=7),
            )
        )
    for n, state in enumerate(["pending"] * 3 + ["refused"] * 5):
        session.add(
            JoinRequest(
                group_id=group.id,
                first_name="A",
                last_name=f"B{n}",
                email=f"j{n}@example.test",
                state=state,
                created_at=now,
            )
        )
    session.commit()
    auth.login("coord@example.test")
    html = client.get("/members/").get_data(as_text=True)
    assert "130 invitations sans réponse" in html
    assert "p129@example.test" in html and "p030@example.test" in html  # the newest 100
    assert "p029@example.test" not in html
    assert "Et 30 de plus." in html
    assert re.search(r"Demandes d(&#39;|'|’)adhésion <span class=\"badge\">3</span>", html)
