"""A user's own profile and password."""

import pytest

from webapp.models import User
from webapp.services.passwords import verify_password

from . import factories


@pytest.fixture
def user(session, now):
    group = factories.group(session, now=now)
    return factories.user(session, now=now, group=group, email="me@example.test")


def test_edit_profile(auth, post, session, user):
    auth.login("me@example.test")
    response = post(
        "/account/", {"first_name": "Zoé", "last_name": "Blanc", "phone": "06 12", "locale": "en"}
    )
    assert response.status_code == 302
    factories.fresh(session)
    saved = session.get(User, user.id)
    assert (saved.first_name, saved.last_name, saved.phone, saved.locale) == (
        "Zoé",
        "Blanc",
        "06 12",
        "en",
    )


def test_profile_without_a_name_gets_field_errors(auth, post, session, user):
    auth.login("me@example.test")
    response = post("/account/", {"first_name": "", "last_name": "Blanc"})
    assert response.status_code == 400
    factories.fresh(session)
    assert session.get(User, user.id).last_name != "Blanc"


def test_change_password(auth, post, session, user):
    auth.login("me@example.test")
    response = post(
        "/account/password",
        {"current_password": factories.PASSWORD, "password": "a brand new secret"},
    )
    assert response.status_code == 302
    factories.fresh(session)
    assert verify_password(session.get(User, user.id).password_hash, "a brand new secret")


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("wrong", "a brand new secret", "Le mot de passe actuel"),
        (factories.PASSWORD, "short", "au moins 10"),
    ],
)
def test_change_password_refusals(auth, post, session, user, current, new, message):
    auth.login("me@example.test")
    response = post("/account/password", {"current_password": current, "password": new})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    factories.fresh(session)
    assert verify_password(session.get(User, user.id).password_hash, factories.PASSWORD)
