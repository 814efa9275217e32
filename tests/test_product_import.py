"""CSV import: encodings, separators, missing columns, wrong numbers, all or nothing."""

import io

import pytest
from sqlalchemy import func, select

from webapp.models import Product

from . import factories


@pytest.fixture
def catalogue(session, now, auth):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    auth.login("c@example.test")
    return factories.catalogue(session, group=group)


def _upload(post, catalogue, content: bytes, **extra):
    data = {"file": (io.BytesIO(content), "produits.csv"), **extra}
    return post(f"/catalogues/{catalogue.id}/import", data, content_type="multipart/form-data")


def _count(session, catalogue):
    factories.fresh(session)
    return session.scalar(
        select(func.count()).select_from(Product).where(Product.catalogue_id == catalogue.id)
    )


GOOD = "nom;prix;tva;unité;contenance;stock\nCarottes;2,60;5,5;kg;1;\nMiel;8,50;5,5;pot;0,5;20\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_preview_then_import_in_any_encoding(post, session, catalogue, encoding):
    content = GOOD.replace("Carottes", "Carottes nouvelles é").encode(encoding)
    preview = _upload(post, catalogue, content)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Carottes nouvelles é" in html and _count(session, catalogue) == 0
    text = html.split('<textarea name="csv_text" hidden>')[1].split("</textarea>")[0]
    import html as html_lib

    response = post(
        f"/catalogues/{catalogue.id}/import", {"csv_text": html_lib.unescape(text), "confirm": "1"}
    )
    assert response.status_code == 302
    assert _count(session, catalogue) == 2
    miel = session.scalar(select(Product).where(Product.name == "Miel"))
    assert (miel.price_cents, miel.unit, str(miel.quantity_per_unit.normalize()), miel.stock) == (
        850,
        "jar",
        "0.5",
        20,
    )


def test_commas_as_separator(post, session, catalogue):
    content = b'name,price,vat,unit\n"Pain complet",4.80,5.5,piece\n'
    response = post(
        f"/catalogues/{catalogue.id}/import", {"csv_text": content.decode(), "confirm": "1"}
    )
    assert response.status_code == 302 and _count(session, catalogue) == 1


def test_missing_columns_get_a_clear_message(post, session, catalogue):
    response = _upload(post, catalogue, b"nom;unite\nCarottes;kg\n")
    assert response.status_code == 400
    assert "Colonnes manquantes" in response.get_data(as_text=True)


BAD = "nom;prix;tva\nCarottes;2,60;5,5\nNavets;deux euros;5,5\nPoires;1,20;7\n"


def test_a_wrong_row_blocks_the_import_unless_skipped(post, session, catalogue):
    preview = _upload(post, catalogue, BAD.encode())
    html = preview.get_data(as_text=True)
    assert (
        preview.status_code == 400
        and "Prix non valable" in html
        and "taux de TVA du groupe" in html
    )
    refused = post(f"/catalogues/{catalogue.id}/import", {"csv_text": BAD, "confirm": "1"})
    assert refused.status_code == 400 and "rien n’a été importé" in refused.get_data(as_text=True)
    assert _count(session, catalogue) == 0
    skipped = post(
        f"/catalogues/{catalogue.id}/import", {"csv_text": BAD, "confirm": "1", "skip": "1"}
    )
    assert skipped.status_code == 302 and _count(session, catalogue) == 1


def test_empty_and_huge_files(post, session, catalogue):
    assert _upload(post, catalogue, b"").status_code == 400
    assert _upload(post, catalogue, b"nom;prix\n" + b"x;1\n" * 300_000).status_code == 413
    assert _count(session, catalogue) == 0
