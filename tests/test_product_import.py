"""Catalogue files: our CSV, CAMAP, Cagette and Open Food Network; units; all or nothing."""

import html as html_lib
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.domain.units import UNIT_WORDS, read_unit
from webapp.models import UNITS, Product
from webapp.services import catalogue_formats as formats

from . import factories

DATA = Path(__file__).parent / "data" / "catalogues"


@pytest.fixture
def catalogue(session, now, auth):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    auth.login("c@example.test")
    return factories.catalogue(session, group=group)


def _upload(post, catalogue, content: bytes, **extra):
    data = {"file": (io.BytesIO(content), "produits.csv"), **extra}
    return post(f"/catalogues/{catalogue.id}/import", data, content_type="multipart/form-data")


def _confirm(post, catalogue, text: str, **extra):
    return post(f"/catalogues/{catalogue.id}/import", {"csv_text": text, "confirm": "1", **extra})


def _echoed(html: str) -> str:
    """The file text the preview form sends back."""
    return html_lib.unescape(
        html.split('<textarea name="csv_text" hidden>')[1].split("</textarea>")[0]
    )


def _products(session, catalogue) -> dict[str, Product]:
    factories.fresh(session)
    rows = session.scalars(select(Product).where(Product.catalogue_id == catalogue.id))
    return {p.name: p for p in rows}


def _count(session, catalogue):
    factories.fresh(session)
    return session.scalar(
        select(func.count()).select_from(Product).where(Product.catalogue_id == catalogue.id)
    )


def _plain_number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _summary(p: Product):
    return (
        p.price_cents,
        _plain_number(p.vat_rate),
        p.unit,
        _plain_number(p.quantity_per_unit),
        p.weighed,
        p.stock,
    )


# ---- the formats, from fixture files written from each tool's real headers ----------------


@pytest.mark.parametrize(
    "name, encoding, label",
    [
        ("camap_export.csv", "utf-8", "CAMAP"),
        ("camap_template_latin1.csv", "cp1252", "CAMAP"),
        ("cagette.csv", "utf-8", "Cagette"),
        ("ofn.csv", "utf-8", "Open Food Network"),
        ("own.csv", "utf-8", "Court-circuit"),
    ],
)
def test_import_format_recognised_from_the_header_line(name, encoding, label):
    text = (DATA / name).read_bytes().decode(encoding)
    header, records = formats.read_rows(text)
    layout = formats.detect(header)
    assert layout is not None and layout.format.label == label and not layout.missing
    assert len(records) == 4


def test_import_camap_export_preview_then_import(post, session, catalogue):
    content = (DATA / "camap_export.csv").read_bytes()
    preview = _upload(post, catalogue, content)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 400  # one wrong row
    assert "Format reconnu : CAMAP." in page and "Prix non valable" in page
    assert "4 lignes lues, 1 en erreur" in page
    assert _count(session, catalogue) == 0
    assert _confirm(post, catalogue, _echoed(page)).status_code == 400
    done = _confirm(post, catalogue, _echoed(page), skip="1")
    assert done.status_code == 302
    products = _products(session, catalogue)
    assert set(products) == {"Pommes de terre Nicola", "Oeufs frais", "Jus de pomme"}
    # variablePrice makes a weighed product; Centilitre and Piece are CAMAP's enum names.
    assert _summary(products["Pommes de terre Nicola"]) == (220, "5.5", "kg", "1", True, None)
    assert _summary(products["Oeufs frais"]) == (360, "5.5", "piece", "6", False, None)
    assert _summary(products["Jus de pomme"]) == (320, "5.5", "cl", "75", False, None)
    assert products["Oeufs frais"].description == "Poules élevées en plein air"


def test_import_camap_template_in_latin1_with_decimal_commas(post, session, catalogue):
    preview = _upload(post, catalogue, (DATA / "camap_template_latin1.csv").read_bytes())
    page = preview.get_data(as_text=True)
    assert "Crème fraîche" in page and "Unité inconnue « cagette »" in page
    assert _confirm(post, catalogue, _echoed(page), skip="1").status_code == 302
    products = _products(session, catalogue)
    assert _summary(products["Crème fraîche"]) == (390, "5.5", "jar", "0.25", False, None)
    assert _summary(products["Cidre brut"]) == (550, "20", "bottle", "0.75", False, None)
    assert products["Pommes de terre"].weighed and "Fraises" not in products


def test_import_cagette_with_commas_and_quoted_decimal_commas(post, session, catalogue):
    preview = _upload(post, catalogue, (DATA / "cagette.csv").read_bytes())
    page = preview.get_data(as_text=True)
    assert "Format reconnu : Cagette." in page
    assert "Unité inconnue « sachet »" in page  # not silently a piece
    assert _confirm(post, catalogue, _echoed(page), skip="1").status_code == 302
    products = _products(session, catalogue)
    assert _summary(products["Carottes"]) == (260, "5.5", "kg", "1", True, None)
    assert _summary(products["Radis roses"]) == (180, "5.5", "bunch", "1", False, 30)
    assert _summary(products["Miel de châtaignier"]) == (850, "5.5", "jar", "0.5", False, 20)
    assert "Confiture de fraises" not in products


def test_import_open_food_network_columns_by_name(post, session, catalogue):
    preview = _upload(post, catalogue, (DATA / "ofn.csv").read_bytes())
    page = preview.get_data(as_text=True)
    assert "Format reconnu : Open Food Network." in page and "Unité inconnue « lb »" in page
    assert _confirm(post, catalogue, _echoed(page), skip="1").status_code == 302
    products = _products(session, catalogue)
    tomatoes = products["Tomates cerises – Barquette 500 g"]
    assert _summary(tomatoes) == (350, "5.5", "g", "500", False, 40)
    # on_demand means no stock limit; the unit comes from variant_unit_name.
    assert _summary(products["Salade batavia"]) == (150, "5.5", "piece", "1", False, None)
    assert _summary(products["Jus de pomme"]) == (380, "5.5", "litre", "1", False, 12)
    assert len(products) == 3


def test_import_own_format_refuses_a_formula_cell(post, session, catalogue):
    preview = _upload(post, catalogue, (DATA / "own.csv").read_bytes())
    page = preview.get_data(as_text=True)
    assert preview.status_code == 400
    assert "ne peut pas commencer par =" in page
    assert _confirm(post, catalogue, _echoed(page)).status_code == 400
    assert _count(session, catalogue) == 0
    assert _confirm(post, catalogue, _echoed(page), skip="1").status_code == 302
    products = _products(session, catalogue)
    assert not any(name.startswith("=") for name in products)
    assert _summary(products["Carottes"]) == (260, "5.5", "kg", "1", True, None)
    assert _summary(products["Œufs plein air"]) == (320, "5.5", "box", "6", False, 60)


def test_import_a_file_matching_no_format_names_the_expected_headers(post, session, catalogue):
    response = _upload(post, catalogue, b"article;montant;couleur\nCarottes;2;orange\n")
    page = html_lib.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "ne correspond à aucun format" in page
    for example in (f.example for f in formats.FORMATS):
        assert example in page
    assert _count(session, catalogue) == 0


def test_import_into_another_groups_catalogue_is_not_found(post, session, catalogue, now):
    other = factories.group(session, now=now, name="Autre groupe")
    theirs = factories.catalogue(session, group=other, name="Leurs légumes")
    content = (DATA / "own.csv").read_bytes()
    assert _upload(post, theirs, content).status_code == 404
    assert _confirm(post, theirs, content.decode(), skip="1").status_code == 404
    assert _count(session, theirs) == 0


def test_import_twice_updates_rather_than_doubles(post, session, catalogue):
    text = "nom;prix;unité\nCarottes;2,60;kg\n"
    assert _confirm(post, catalogue, text).status_code == 302
    again = _upload(post, catalogue, b"nom;prix;unit\ncarottes;2,80;kg\n")
    assert "met à jour le produit" in again.get_data(as_text=True)
    assert _confirm(post, catalogue, "nom;prix;unité\nCarottes;2,80;kg\n").status_code == 302
    products = _products(session, catalogue)
    assert len(products) == 1 and products["Carottes"].price_cents == 280


def test_import_duplicate_rows_in_a_file_are_refused(post, session, catalogue):
    response = _upload(post, catalogue, b"nom;prix\nPain;4\npain;4,20\n")
    assert response.status_code == 400
    assert "Même produit que la ligne 2" in response.get_data(as_text=True)


def test_import_page_lists_the_accepted_units(client, catalogue):
    page = client.get(f"/catalogues/{catalogue.id}/import").get_data(as_text=True)
    assert "Unités acceptées" in page
    for word in ("barquette", "bouteille", "douzaine", "botte", "pièce", "cl"):
        assert word in page


# ---- cells and units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, cents",
    [
        ("12,50 €", 1250),
        ("1 234,50", 123450),
        ("1.234,50", 123450),
        ("1,234.50", 123450),
        ("12.5", 1250),
        ("3", 300),
        ("2.1999999999999997", 220),
        ("4,80 EUR", 480),
    ],
)
def test_import_prices_read_as_written(text, cents):
    assert formats.read_price_cents(text) == cents


@pytest.mark.parametrize("text", ["deux euros", "1,234", "2.555", "-3", ""])
def test_import_prices_refused(text):
    with pytest.raises(formats.CellError):
        formats.read_price_cents(text)


@pytest.mark.parametrize(
    "text, rate",
    [("5,5", "5.5"), ("5.5 %", "5.5"), ("TVA 20%", "20"), ("0.055", "5.5"), ("0", "0")],
)
def test_import_vat_rates(text, rate):
    assert str(formats.read_vat_rate(text)) == rate


@pytest.mark.parametrize(
    "text, value",
    [
        ("oui", True),
        ("Non", False),
        ("yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        ("true", True),
        ("FALSE", False),
        ("", False),
        ("x", True),
    ],
)
def test_import_yes_no(text, value):
    assert formats.read_bool(text) is value


def test_import_yes_no_refuses_other_words():
    with pytest.raises(formats.CellError):
        formats.read_bool("peut-être")


@pytest.mark.parametrize(
    "word, code, factor",
    [
        ("Pièces", "piece", "1"),
        ("pc", "piece", "1"),
        ("u", "piece", "1"),
        ("KG", "kg", "1"),
        ("Kilogram", "kg", "1"),
        ("g", "g", "1"),
        ("litres", "litre", "1"),
        ("liter", "litre", "1"),
        ("cl", "cl", "1"),
        ("mL", "cl", "0.1"),
        ("bouteille", "bottle", "1"),
        ("bottles", "bottle", "1"),
        ("bottes", "bunch", "1"),
        ("bunches", "bunch", "1"),
        ("barquette", "tray", "1"),
        ("tray", "tray", "1"),
        ("douzaine", "dozen", "1"),
        ("pot", "jar", "1"),
        ("jar", "jar", "1"),
        ("boîte", "box", "1"),
        ("boxes", "box", "1"),
    ],
)
def test_import_units_in_french_and_english(word, code, factor):
    assert read_unit(word) == (code, Decimal(factor))


@pytest.mark.parametrize("word", ["sachet", "lb", "cagette", "?"])
def test_import_unknown_units_are_not_pieces(word):
    assert read_unit(word) is None


def test_import_every_unit_code_has_words_and_a_name(app):
    from webapp.web.units import unit_label

    assert set(UNIT_WORDS) == set(UNITS)
    with app.test_request_context():
        names = {unit_label(code, Decimal(1), "fr") for code in UNITS}
    assert len(names) == len(UNITS)  # no unit falls back to "pièce"


@pytest.mark.parametrize(
    "unit, per_unit, fr",
    [
        ("tray", "0.5", "barquette de 0,5 kg"),
        ("cl", "75", "75 cl"),
        ("g", "500", "500 g"),
        ("bottle", "0.75", "bouteille de 0,75 l"),
        ("kg", "2.5", "2,5 kg"),
        ("jar", "1", "pot"),
    ],
)
def test_import_unit_names_in_french(app, unit, per_unit, fr):
    from flask_babel import force_locale

    from webapp.web.units import unit_label

    with app.test_request_context(), force_locale("fr"):
        assert unit_label(unit, Decimal(per_unit), "fr") == fr


@pytest.mark.parametrize("cell", ["=1+1", "+33 1 23", "@SUM(A1)", "-2+3"])
def test_import_formula_cells(cell):
    assert formats.is_formula(cell)


@pytest.mark.parametrize("cell", ["Carottes", "- sans gluten", "Pomme = fruit", ""])
def test_import_plain_text_cells(cell):
    assert not formats.is_formula(cell)


# ---- the CSV itself ----------------------------------------------------------------------


GOOD = "nom;prix;tva;unité;contenance;stock\nCarottes;2,60;5,5;kg;1;\nMiel;8,50;5,5;pot;0,5;20\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_preview_then_import_in_any_encoding(post, session, catalogue, encoding):
    content = GOOD.replace("Carottes", "Carottes nouvelles é").encode(encoding)
    preview = _upload(post, catalogue, content)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Carottes nouvelles é" in page and _count(session, catalogue) == 0
    assert _confirm(post, catalogue, _echoed(page)).status_code == 302
    miel = _products(session, catalogue)["Miel"]
    assert _summary(miel) == (850, "5.5", "jar", "0.5", False, 20)


def test_commas_as_separator(post, session, catalogue):
    content = 'name,price,vat,unit\n"Pain complet",4.80,5.5,piece\n'
    assert _confirm(post, catalogue, content).status_code == 302
    assert _count(session, catalogue) == 1


def test_missing_columns_get_a_clear_message(post, session, catalogue):
    response = _upload(post, catalogue, b"nom;unite\nCarottes;kg\n")
    assert response.status_code == 400
    assert "Colonnes manquantes" in response.get_data(as_text=True)


BAD = "nom;prix;tva\nCarottes;2,60;5,5\nNavets;deux euros;5,5\nPoires;1,20;7\n"


def test_a_wrong_row_blocks_the_import_unless_skipped(post, session, catalogue):
    preview = _upload(post, catalogue, BAD.encode())
    page = preview.get_data(as_text=True)
    assert preview.status_code == 400 and "Prix non valable" in page
    assert "taux de TVA du groupe" in page
    refused = _confirm(post, catalogue, BAD)
    assert refused.status_code == 400 and "rien n’a été importé" in refused.get_data(as_text=True)
    assert _count(session, catalogue) == 0
    assert _confirm(post, catalogue, BAD, skip="1").status_code == 302
    assert _count(session, catalogue) == 1


def test_empty_and_huge_files(post, session, catalogue):
    assert _upload(post, catalogue, b"").status_code == 400
    assert _upload(post, catalogue, b"nom;prix\n" + b"x;1\n" * 300_000).status_code == 413
    assert _count(session, catalogue) == 0


def test_import_new_units_are_named_on_the_catalogue_page(client, session, catalogue):
    factories.product(
        session, catalogue=catalogue, name="Fraises", unit="tray", quantity_per_unit=Decimal("0.5")
    )
    page = client.get(f"/catalogues/{catalogue.id}").get_data(as_text=True)
    assert "barquette de 0,5 kg" in page
