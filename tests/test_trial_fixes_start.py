"""What a tester found starting a group: the join form keeps what the members' list said,
the login page offers to start a group, the next steps and the sheet's refusal page speak
of duty roles, and the French wording agrees."""

import io
import re

import pytest
from sqlalchemy import select

from webapp.models import DutyRole, Invitation, User
from webapp.services.accounts import _token_hash, new_invitation

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


def _invitation(session, now, group, coordinator, **names) -> str:
    invitation, token = new_invitation(
        group, email="nina@example.test", role="member", actor=coordinator, now=now
    )
    for name, value in names.items():
        setattr(invitation, name, value)
    session.add(invitation)
    session.commit()
    return token


# 1. The members' list: names and phone reach the join form, and the account.


def test_the_join_form_is_filled_from_the_invitation(client, session, now, group, coordinator):
    token = _invitation(
        session, now, group, coordinator, first_name="Nina", last_name="Roux", phone="06 11"
    )
    html = client.get(f"/join/{token}").get_data(as_text=True)
    assert re.search(r'name="first_name"[^>]*value="Nina"', html)
    assert re.search(r'name="last_name"[^>]*value="Roux"', html)
    assert re.search(r'name="phone"[^>]*value="06 11"', html)
    # sent as shown: the account keeps the names and the phone
    response = client.post(
        f"/join/{token}",
        data={
            "csrf_token": csrf_token(client, f"/join/{token}"),
            "first_name": "Nina",
            "last_name": "Roux",
            "phone": "06 11",
            "password": "a long password",
        },
    )
    assert response.status_code == 302
    factories.fresh(session)
    user = session.scalar(select(User).where(User.email == "nina@example.test"))
    assert (user.first_name, user.last_name, user.phone) == ("Nina", "Roux", "06 11")


def test_the_person_may_change_what_the_invitation_said(client, session, now, group, coordinator):
    token = _invitation(
        session, now, group, coordinator, first_name="Nina", last_name="Roux", phone="06 11"
    )
    response = client.post(
        f"/join/{token}",
        data={
            "csrf_token": csrf_token(client, f"/join/{token}"),
            "first_name": "Ninon",
            "last_name": "Roux-Petit",
            "phone": "",
            "password": "a long password",
        },
    )
    assert response.status_code == 302
    factories.fresh(session)
    user = session.scalar(select(User).where(User.email == "nina@example.test"))
    assert (user.first_name, user.last_name, user.phone) == ("Ninon", "Roux-Petit", "")


def test_an_invitation_without_names_still_asks_for_them(client, session, now, group, coordinator):
    token = _invitation(session, now, group, coordinator)
    response = client.post(
        f"/join/{token}",
        data={
            "csrf_token": csrf_token(client, f"/join/{token}"),
            "first_name": "",
            "last_name": "",
            "password": "a long password",
        },
    )
    assert response.status_code == 400
    assert "Ce champ est requis." in response.get_data(as_text=True)
    factories.fresh(session)
    assert session.scalar(select(Invitation.accepted_at)) is None


def test_names_and_phone_of_an_imported_list_reach_the_join_form(
    client, auth, post, session, coordinator
):
    auth.login("coord@example.test")
    content = (
        b"Nom;Pr\xc3\xa9nom;T\xc3\xa9l\xc3\xa9phone;Courriel\nRoux;Nina;0611;nina@example.test\n"
    )
    preview = post(
        "/members/import",
        {"file": (io.BytesIO(content), "membres.csv")},
        content_type="multipart/form-data",
        token_from="/members/import",
    )
    hidden = re.search(r'name="content" value="([^"]+)"', preview.get_data(as_text=True))
    assert post("/members/import/confirm", {"content": hidden.group(1)}).status_code in (302, 303)
    auth.logout()
    factories.fresh(session)
    invitation = session.scalar(select(Invitation))
    assert (invitation.first_name, invitation.phone) == ("Nina", "0611")
    # the e-mail's link (its token is only in the e-mail: a known one here), signed out
    token = "known-token"
    invitation.token_hash = _token_hash(token)
    session.commit()
    html = client.get(f"/join/{token}").get_data(as_text=True)
    assert 'value="Nina"' in html and 'value="Roux"' in html and 'value="0611"' in html


# 2. Starting a group from the login page.


def test_the_login_page_offers_to_start_a_group(app, client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/groups/new"' in html and "Créer un groupe" in html
    # where a signed-out person lands
    landing = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'href="/groups/new"' in landing
    english = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Starting a new group?" in english and "Create a group" in english


def test_no_such_link_where_open_creation_is_off(app, client):
    app.config["OPEN_GROUP_CREATION"] = "0"
    assert 'href="/groups/new"' not in client.get("/login").get_data(as_text=True)


def test_the_group_created_message_agrees_with_any_name(client):
    token = csrf_token(client, "/groups/new")
    response = client.post(
        "/groups/new",
        data={
            "name": "AMAP du Canal",
            "place_name": "Halle",
            "payment_methods": ["cash"],
            "locale": "fr",
            "csrf_token": token,
            "first_name": "Nora",
            "last_name": "Petit",
            "email": "nora@example.test",
            "password": "a long password",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Le groupe « AMAP du Canal » est créé : vous en êtes le coordinateur." in html


# 3. Duty roles: a next step, and what the sheet's refusal page says without them.


def test_the_next_steps_ask_for_duty_roles_until_there_are_some(
    client, auth, session, now, group, coordinator
):
    from webapp.services.groups import setup_steps

    assert dict(setup_steps(session, group))["duty_roles"] is False
    auth.login("coord@example.test")
    home = client.get("/").get_data(as_text=True)
    assert "Créer les rôles de permanence" in home and 'href="/roster/#role-name"' in home
    session.add(DutyRole(group_id=group.id, name="Accueil", needed=1))
    session.commit()
    assert dict(setup_steps(session, group))["duty_roles"] is True
    assert 'href="/roster/#role-name"' not in client.get("/").get_data(as_text=True)


def _sheet_refusal(client, auth, session, now, group):
    member = factories.user(session, now=now, group=group, email="vol@example.test")
    d = factories.distribution(session, group=group, now=now, state="closed")
    auth.login(member.email)
    response = client.get(f"/distributions/{d.id}/sheet")
    assert response.status_code == 403
    return response.get_data(as_text=True), d, member


def test_without_duty_roles_a_member_is_told_to_ask_a_coordinator(
    client, auth, session, now, group, coordinator
):
    html, _d, _member = _sheet_refusal(client, auth, session, now, group)
    assert "Demandez à un coordinateur de créer les rôles de permanence" in html
    assert "S’inscrire à une permanence" not in html and "coord@example.test" in html


def test_with_duty_roles_a_member_is_sent_to_sign_up(
    client, auth, session, now, group, coordinator
):
    session.add(DutyRole(group_id=group.id, name="Accueil", needed=1))
    session.commit()
    html, _d, _member = _sheet_refusal(client, auth, session, now, group)
    assert "Demandez à un coordinateur de créer" not in html
    assert 'href="/roster/"' in html


def test_a_coordinator_reading_the_refusal_is_given_the_link_to_create_roles(
    app, session, now, group, coordinator
):
    from flask import render_template
    from flask_login import login_user

    d = factories.distribution(session, group=group, now=now, state="closed")
    with app.test_request_context("/"):
        login_user(session.get(User, coordinator.id))
        app.preprocess_request()  # the current group on `g`, as for a page
        html = render_template(
            "sheet/no_access.html", distribution=d, on_duty=False, too_early=False, coordinators=[]
        )
    assert "Créer les rôles de permanence" in html and 'href="/roster/#role-name"' in html


# 6. Plurals in the members' import preview.


def test_the_import_preview_counts_agree_in_french(auth, post, coordinator):
    auth.login("coord@example.test")
    content = (
        "Nom;Prénom;Téléphone;Courriel\n"
        "Roux;Nina;0611;nina@example.test\n"
        ";;;NINA@example.test\n"
        "Faure;Léa;0622;lea@example\n"
        "Coord;Inée;;coord@example.test\n"
    ).encode()
    preview = post(
        "/members/import",
        {"file": (io.BytesIO(content), "membres.csv")},
        content_type="multipart/form-data",
        token_from="/members/import",
    )
    html = preview.get_data(as_text=True)
    assert "<strong>1</strong> ligne répétée, fusionnée" in html
    assert "<strong>1</strong> ligne en erreur, écartée" in html
    assert "<strong>1</strong> déjà membre<" in html
    assert "<strong>0</strong> personne déjà invitée" in html
    assert "lignes" not in re.search(r'<ul class="import-counts">.*?</ul>', html, re.S).group(0)
