"""Log in and out, CSRF, neutral refusals."""

import pytest
from sqlalchemy import func, select

from . import factories
from .conftest import csrf_token


@pytest.fixture
def member(session, now):
    group = factories.group(session, now=now, name="AMAP Test")
    return factories.user(session, now=now, group=group, email="ada@example.test", first_name="Ada")


def test_healthz_answers_ok_with_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_login_page_has_the_contract_fields_and_csrf_meta(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert '<meta name="csrf-token"' in html


def test_login_then_home_greets_the_member(client, auth, member):
    response = auth.login("ada@example.test")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Ada" in home.get_data(as_text=True)


def test_login_email_is_case_insensitive(client, auth, member):
    assert auth.login("  ADA@Example.TEST ").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.test", "wrong password!"), ("nobody@example.test", factories.PASSWORD)],
)
def test_wrong_password_or_unknown_email_get_one_neutral_message(
    client, auth, member, email, password
):
    response = auth.login(email, password)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "E-mail inconnu ou mot de passe incorrect." in html
    assert client.get("/").status_code == 302  # still anonymous


def test_malformed_login_form_gets_field_errors_not_500(client):
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "email": "not-an-email"})
    assert response.status_code == 400
    assert "field-error" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, member):
    response = client.post(
        "/login", data={"email": "ada@example.test", "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_needs_post_and_ends_the_session(client, auth, member):
    auth.login("ada@example.test")
    assert client.get("/logout").status_code == 405
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302


def test_remember_me_sets_a_remember_cookie(client, auth, member):
    auth.login("ada@example.test", remember="y")
    assert client.get_cookie("remember_token") is not None


def test_next_parameter_only_follows_local_paths(client, member):
    token = csrf_token(client)
    data = {"email": "ada@example.test", "password": factories.PASSWORD, "csrf_token": token}
    response = client.post("/login?next=https://evil.example/", data=data)
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/account/", "/members/"])
def test_pages_require_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "HttpOnly" in response.headers.get("Set-Cookie", "")
    assert "SameSite=Lax" in response.headers.get("Set-Cookie", "")


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_static_files_with_version_are_cached_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    href = html.split('href="/static/css/app.css?v=')[1].split('"')[0]
    response = client.get(f"/static/css/app.css?v={href}")
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_cookies_are_secure_when_served_over_https(monkeypatch, database, tmp_path):
    from webapp import create_app

    monkeypatch.setenv("HTTPS", "1")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/login")
    assert "Secure" in response.headers["Set-Cookie"]


# --- invitations are bound to the invited address ----------------------------------------


def _invite(session, now, group, email, role="member"):
    from webapp.services.accounts import invite_member

    coordinator = factories.user(session, now=now, group=group, role="coordinator")
    _invitation, token = invite_member(
        session, group, email=email, role=role, actor=coordinator, now=now
    )
    session.commit()
    return token


@pytest.mark.parametrize("role", ["member", "coordinator"])
def test_an_invitation_for_another_address_cannot_be_accepted(
    client, auth, session, now, member, role
):
    from webapp.models import Invitation, Membership

    group = factories.group(session, now=now, name="Autre AMAP")
    token = _invite(session, now, group, "zoe@example.test", role=role)
    auth.login("ada@example.test")
    page = client.get(f"/join/{token}")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "Cette invitation est pour zoe@example.test" in html and "ada@example.test" in html
    response = client.post(f"/join/{token}", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code in (303, 403)
    factories.fresh(session)
    assert (
        session.scalar(
            select(func.count()).select_from(Membership).where(Membership.group_id == group.id)
        )
        == 1
    )  # only the coordinator who invited
    assert session.scalar(select(Invitation.accepted_at)) is None


def test_an_invitation_is_accepted_by_its_addressee_signed_in(client, auth, session, now, member):
    from webapp.models import Membership

    group = factories.group(session, now=now, name="Autre AMAP")
    token = _invite(session, now, group, "ada@example.test", role="coordinator")
    auth.login("ada@example.test")
    assert client.get(f"/join/{token}").status_code == 200
    response = client.post(f"/join/{token}", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    factories.fresh(session)
    role = session.scalar(
        select(Membership.role).where(
            Membership.group_id == group.id, Membership.user_id == member.id
        )
    )
    assert role == "coordinator"


def test_check_invitation_addressee_ignores_case(session, now, member):
    from webapp.models import Invitation
    from webapp.services import ServiceError
    from webapp.services.permissions import check_invitation_addressee

    check_invitation_addressee(Invitation(email="ada@example.test"), member)
    with pytest.raises(ServiceError) as refused:
        check_invitation_addressee(Invitation(email="zoe@example.test"), member)
    assert refused.value.status == 403


# --- producers shared between groups --------------------------------------------------------


def test_only_the_producer_or_its_own_group_coordinators_edit_its_record(session, now):
    from webapp.services.permissions import can_edit_producer

    home = factories.group(session, now=now, name="AMAP d'origine")
    other = factories.group(session, now=now, name="AMAP voisine")
    farmer = factories.user(session, now=now, email="farmer@example.test")
    catalogue = factories.catalogue(session, group=home, producer_user=farmer)
    producer = catalogue.producer
    home_coordinator = factories.user(session, now=now, group=home, role="coordinator")
    home_member = factories.user(session, now=now, group=home)
    other_coordinator = factories.user(session, now=now, group=other, role="coordinator")
    # the other group uses the same producer through a catalogue of its own
    from webapp.models import Catalogue

    session.add(Catalogue(group_id=other.id, producer_id=producer.id, name="Légumes"))
    session.commit()
    assert can_edit_producer(farmer, producer)
    assert can_edit_producer(home_coordinator, producer)
    assert not can_edit_producer(home_member, producer)
    assert not can_edit_producer(other_coordinator, producer)
    assert not can_edit_producer(None, producer)
