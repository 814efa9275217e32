"""Members by the list: a CSV previewed row by row, then every invitation queued at once."""

import base64
import io
import re

import pytest
from sqlalchemy import func, select

from webapp.models import Invitation, OutboxMessage

from . import factories


@pytest.fixture
def group(session, now):
    return factories.group(session, now=now, name="AMAP des Tests")


@pytest.fixture
def coordinator(session, now, group):
    return factories.user(
        session, now=now, group=group, role="coordinator", email="coord@example.test"
    )


def _upload(post, content: bytes, name="membres.csv"):
    return post(
        "/members/import",
        {"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        token_from="/members/import",
    )


def _content(html: str) -> str:
    return re.search(r'name="content" value="([^"]+)"', html).group(1)


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


LIST = (
    "Nom;Prénom;Téléphone;Courriel\n"
    "Roux;Nina;0611;nina@example.test\n"
    "Petit;Paul;;PAUL@example.test\n"
    ";;;paul@example.test\n"
    "Faure;Léa;0622;lea@example\n"
    "Morel;Jean;0633;\n"
    "Coord;Inée;;coord@example.test\n"
)


def test_preview_then_confirm_invites_each_new_person_once(auth, post, session, coordinator):
    auth.login("coord@example.test")
    preview = _upload(post, LIST.encode())
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Inviter 2 personnes par e-mail" in html
    assert "Adresse e-mail mal formée : lea@example" in html
    assert "Pas d&#39;adresse e-mail." in html
    assert "Déjà membre" in html and "fusionnée" in html
    assert _count(session, Invitation) == 0  # a preview writes nothing
    done = post(
        "/members/import/confirm", {"content": _content(html)}, token_from="/members/import"
    )
    assert done.status_code == 303 and not done.headers.get("X-Refused"), done.headers
    factories.fresh(session)
    invitations = session.scalars(select(Invitation).order_by(Invitation.email)).all()
    assert [(i.email, i.first_name) for i in invitations] == [
        ("nina@example.test", "Nina"),
        ("paul@example.test", "Paul"),
    ]
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    assert sorted((m.email, m.channel, m.ref) for m in messages) == sorted(
        (i.email, "email", str(i.id)) for i in invitations
    )
    # confirming the same file again invites nobody twice
    post("/members/import/confirm", {"content": _content(html)}, token_from="/members/import")
    factories.fresh(session)
    assert _count(session, Invitation) == 2


@pytest.mark.parametrize(
    "content",
    [
        b"First name,Last name,E-mail,Phone\nNina,Roux,nina@example.test,0611\n",
        "\ufeffPRENOM;NOM;E-MAIL\nNina;Roux;nina@example.test\n".encode(),
        "Prénom;Nom;Adresse e-mail\nNina;Roux;nina@example.test\n".encode("latin-1"),
        b"email\r\nnina@example.test\r\n",
    ],
    ids=["english-comma", "utf8-bom-upper", "latin1", "crlf-email-only"],
)
def test_headers_separators_and_encodings_are_recognised(auth, post, coordinator, content):
    auth.login("coord@example.test")
    html = _upload(post, content).get_data(as_text=True)
    assert "Inviter 1 personne par e-mail" in html
    assert "nina@example.test" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Choisissez un fichier CSV."),
        (b"\n\n", "Le fichier est vide."),
        (b"PK\x03\x04\x00\x00binary", "n&#39;est pas un fichier CSV"),
        ("Prénom;Nom;Téléphone\nNina;Roux;0611\n".encode(), "Aucune colonne e-mail"),
        (b"email\n", "seulement une ligne d&#39;en-tête"),
        (("email\n" + "a@example.test\n" * 10_001).encode(), "Au plus 10000 personnes"),
    ],
    ids=["no-file", "empty", "not-csv", "no-email-column", "header-only", "too-long"],
)
def test_bad_files_get_a_clear_message_and_write_nothing(
    auth, post, session, coordinator, content, message
):
    auth.login("coord@example.test")
    response = _upload(post, content)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(session, Invitation) == 0


def test_a_file_of_10000_rows_is_previewed_with_its_first_errors(auth, post, coordinator):
    rows = [f"Prénom{n};Nom{n};person{n}@example.test" for n in range(9_998)]
    rows += ["Bad;Row;not-an-address", "Same;Again;person1@example.test"]
    content = ("Prénom;Nom;E-mail\n" + "\n".join(rows)).encode()
    auth.login("coord@example.test")
    html = _upload(post, content).get_data(as_text=True)
    assert "Inviter 9998 personnes par e-mail" in html
    assert "not-an-address" in html
    assert "Et 9798 lignes de plus." in html  # only the first 200 rows are listed


def test_a_tampered_confirmation_is_refused(auth, post, session, coordinator):
    auth.login("coord@example.test")
    response = post("/members/import/confirm", {"content": "%%%"}, token_from="/members/import")
    assert response.status_code == 400
    not_csv = base64.b64encode(b"\x00\x01").decode()
    response = post("/members/import/confirm", {"content": not_csv}, token_from="/members/import")
    assert response.headers.get("X-Refused") == "400"
    assert _count(session, Invitation) == 0


def test_members_cannot_import(client, auth, post, session, now, group, coordinator):
    factories.user(session, now=now, group=group, email="m@example.test")
    auth.login("m@example.test")
    assert client.get("/members/import").status_code == 403
    content = base64.b64encode(b"email\nx@example.test\n").decode()
    assert post("/members/import/confirm", {"content": content}).status_code == 403
    assert _count(session, Invitation) == 0


def test_a_single_invitation_is_queued_in_the_outbox(auth, post, session, coordinator):
    auth.login("coord@example.test")
    response = post("/members/invite", {"email": "solo@example.test", "role": "member"})
    assert response.status_code == 201
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "invitation"))
    invitation = session.scalar(select(Invitation))
    assert (message.email, message.ref, message.channel) == (
        "solo@example.test",
        str(invitation.id),
        "email",
    )
    assert message.url.startswith("http://localhost/join/") and message.url in message.body
    assert "AMAP des Tests" in message.title
