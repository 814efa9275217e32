"""Creating groups (signed in, signing up, from the shell), switching, leaving."""

import pytest
from sqlalchemy import func, select

from webapp.models import Group, Invitation, Membership, OutboxMessage, Place, User

from . import factories
from .conftest import csrf_token

GROUP = {
    "name": "AMAP du Canal",
    "place_name": "Halle du Canal",
    "place_address": "3 quai de la Loire",
    "payment_methods": ["cash", "transfer"],
    "locale": "fr",
}


@pytest.fixture
def person(session, now):
    return factories.user(session, now=now, email="ines@example.test", first_name="Inès")


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_a_signed_in_person_creates_a_usable_group_and_coordinates_it(
    client, auth, post, session, person
):
    auth.login("ines@example.test")
    assert 'name="name"' in client.get("/groups/new").get_data(as_text=True)
    response = post("/groups/new", GROUP)
    assert response.status_code == 303
    factories.fresh(session)
    group = session.scalar(select(Group).where(Group.name == "AMAP du Canal"))
    assert group.payment_methods == ["cash", "transfer"]
    assert group.vat_rates == ["5.5", "10", "20"] and group.join_token
    assert session.scalar(select(Place.name).where(Place.group_id == group.id)) == "Halle du Canal"
    membership = session.scalar(select(Membership).where(Membership.group_id == group.id))
    assert (membership.user_id, membership.role) == (person.id, "coordinator")
    home = client.get("/").get_data(as_text=True)
    assert "AMAP du Canal" in home
    # the home page guides the new coordinator to the next steps
    assert "Prochaines étapes" in home and "/catalogues/" in home and "/members/" in home


def test_someone_without_an_account_signs_up_while_creating_a_group(client, session):
    token = csrf_token(client, "/groups/new")
    response = client.post(
        "/groups/new",
        data={
            **GROUP,
            "csrf_token": token,
            "first_name": "Nora",
            "last_name": "Petit",
            "email": "Nora@Example.test",
            "password": "a long password",
        },
    )
    assert response.status_code == 303
    user = session.scalar(select(User).where(User.email == "nora@example.test"))
    assert [m.role for m in user.memberships] == ["coordinator"]
    assert "Nora" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short"}, "au moins 10 caractères"),
        ({"email": "ines@example.test"}, "Un compte utilise déjà cette adresse"),
        ({"email": ""}, "Ce champ est nécessaire"),
        ({"place_name": ""}, 'id="place_name-error"'),
        ({"payment_methods": []}, "au moins un moyen de paiement"),
    ],
)
def test_bad_sign_ups_create_nothing(client, session, person, changes, message):
    token = csrf_token(client, "/groups/new")
    data = {
        **GROUP,
        "csrf_token": token,
        "first_name": "Nora",
        "last_name": "Petit",
        "email": "nora@example.test",
        "password": "a long password",
        **changes,
    }
    response = client.post("/groups/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(session, Group) == 0
    assert _count(session, User) == 1


def test_closed_creation_says_so_and_refuses(app, client, auth, post, session, person):
    app.config["OPEN_GROUP_CREATION"] = "0"
    auth.login("ines@example.test")
    page = client.get("/groups/new")
    assert page.status_code == 403
    assert "création de groupes est fermée" in page.get_data(as_text=True)
    assert post("/groups/new", GROUP, token_from="/").status_code == 403
    assert _count(session, Group) == 0


def test_the_shell_creates_a_group_and_invites_a_new_coordinator(app, session, now):
    result = app.test_cli_runner().invoke(
        args=["create-group", "Épicerie Solidaire", "Boss@Example.test", "--place", "Local"]
    )
    assert result.exit_code == 0, result.output
    assert "/join/" in result.output
    group = session.scalar(select(Group).where(Group.name == "Épicerie Solidaire"))
    invitation = session.scalar(select(Invitation).where(Invitation.group_id == group.id))
    assert (invitation.email, invitation.role) == ("boss@example.test", "coordinator")
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert message.email == "boss@example.test" and message.url.startswith("http://localhost/join/")


def test_the_shell_makes_an_existing_account_coordinator(app, session, person):
    result = app.test_cli_runner().invoke(args=["create-group", "Le Panier", "ines@example.test"])
    assert result.exit_code == 0, result.output
    factories.fresh(session)
    group = session.scalar(select(Group).where(Group.name == "Le Panier"))
    membership = session.scalar(select(Membership).where(Membership.group_id == group.id))
    assert (membership.user_id, membership.role) == (person.id, "coordinator")


def test_the_shell_will_not_invite_without_a_public_url(app, session, person):
    """An invitation's link must reach this instance: no PUBLIC_URL, no new coordinator
    invited (an existing account needs no link)."""
    app.config.update(TESTING=False, PUBLIC_URL="")
    refused = app.test_cli_runner().invoke(args=["create-group", "Le Panier", "new@example.test"])
    assert refused.exit_code == 1 and "PUBLIC_URL" in refused.output
    assert _count(session, Group) == 0
    made = app.test_cli_runner().invoke(args=["create-group", "Le Panier", "ines@example.test"])
    assert made.exit_code == 0, made.output


def test_the_shell_refuses_a_bad_address(app, session):
    result = app.test_cli_runner().invoke(args=["create-group", "X", "not-an-address"])
    assert result.exit_code != 0
    assert _count(session, Group) == 0


def test_one_person_in_two_groups_sees_and_switches_them(client, auth, post, session, now):
    first = factories.group(session, now=now, name="AMAP des Tests")
    second = factories.group(session, now=now, name="Épicerie du Coin")
    user = factories.user(session, now=now, group=first, email="two@example.test")
    session.add(Membership(user_id=user.id, group_id=second.id, role="member", created_at=now))
    session.commit()
    auth.login("two@example.test")
    page = client.get("/groups/").get_data(as_text=True)
    assert "AMAP des Tests" in page and "Passer à Épicerie du Coin" in page
    assert post("/group", {"group_id": second.id}).status_code == 302
    assert "Épicerie du Coin" in client.get("/").get_data(as_text=True)


def test_a_member_leaves_a_group_but_the_last_coordinator_cannot(client, auth, post, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    factories.user(session, now=now, group=group, email="m@example.test")
    auth.login("m@example.test")
    assert post(f"/groups/{group.id}/leave").status_code == 303
    auth.logout()
    auth.login("c@example.test")
    response = post(f"/groups/{group.id}/leave")
    assert response.headers.get("X-Refused") == "400"
    assert _count(session, Membership) == 1


def test_leaving_a_group_one_is_not_in_answers_404(auth, post, session, now, person):
    other = factories.group(session, now=now)
    auth.login("ines@example.test")
    assert post(f"/groups/{other.id}/leave").status_code == 404


def test_inviting_a_producer_does_not_tick_the_members_step(app, session, now):
    from webapp.models import Invitation
    from webapp.services.groups import setup_steps

    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator")
    catalogue = factories.catalogue(session, group=group)
    session.add(
        Invitation(
            group_id=group.id,
            email="farm@example.test",
            role="member",
            token_hash="x" * 64,
            producer_id=catalogue.producer_id,
            created_at=now,
            expires_at=now,
        )
    )
    session.commit()
    assert dict(setup_steps(session, group))["members"] is False


def test_the_sender_loop_will_not_start_without_a_public_url(app):
    app.config.update(TESTING=False, PUBLIC_URL="")
    result = app.test_cli_runner().invoke(args=["notify-loop", "--every", "3600"])
    assert result.exit_code == 1 and "PUBLIC_URL" in result.output
