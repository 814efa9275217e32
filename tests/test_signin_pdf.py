"""The sign-in sheet as a PDF (ReportLab): every member with a basket, in basket order,
what they ordered and what they owe, a page number "n / N" on every page, accents kept,
a long basket kept whole."""

import io
import re

import pytest
from pypdf import PdfReader

from webapp.services.signin_pdf import Member, Sheet, render_signin_pdf

from . import factories


def _pages(data: bytes) -> list[str]:
    """Each page's text, with the no-break spaces of French amounts read as spaces."""
    pages = PdfReader(io.BytesIO(data)).pages
    return [re.sub("[\u00a0\u202f]", " ", page.extract_text()) for page in pages]


def _numbered(pages: list[str]) -> bool:
    total = len(pages)
    return all(re.search(rf"(^|\n){n} / {total}\s*$", text) for n, text in enumerate(pages, 1))


@pytest.fixture
def day(session, now):
    group = factories.group(session, now=now, name="Le Panier")
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    vegetables = factories.catalogue(session, group=group, name="Légumes")
    bread_cat = factories.catalogue(session, group=group, name="Pains")
    leeks = factories.product(session, catalogue=vegetables, name="Poireaux", price_cents=625)
    bread = factories.product(session, catalogue=bread_cat, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[vegetables, bread_cat]
    )
    return dict(group=group, vegetables=vegetables, leeks=leeks, bread=bread, d=d)


def _member(session, now, day, first, last, lines):
    user = factories.user(session, now=now, group=day["group"], first_name=first, last_name=last)
    factories.order(session, distribution=day["d"], user=user, now=now, lines=lines)
    return user


def _get(client, auth, day, query=""):
    auth.login("c@example.test")
    response = client.get(f"/distributions/{day['d'].id}/signin.pdf{query}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response


def test_every_member_is_listed_in_order_with_amounts_and_page_numbers(
    client, auth, session, now, day
):
    for n in range(45):
        _member(session, now, day, f"Prénom{n:02d}", f"Membre{n:02d}", [(day["leeks"], 2)])
    _member(session, now, day, "Ada", "Lovelace", [(day["leeks"], 1), (day["bread"], 3)])
    response = _get(client, auth, day)
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="emargement-{day["d"].id}.pdf"'
    )
    pages = _pages(response.data)
    assert len(pages) >= 3 and _numbered(pages)
    text = "\n".join(pages)
    positions = [text.index(f"Membre{n:02d} Prénom{n:02d}") for n in range(45)]
    assert positions == sorted(positions)  # sorted as the HTML sheet: by basket number
    assert text.index("Lovelace Ada") > positions[-1]
    assert text.count("Dû : 12,50 €") == 45  # 2 x 6,25 €, in French
    assert "Dû : 19,75 €" in text and "1 × Poireaux (6,25 €), 3 × Pain (13,50 €)" in text
    assert "Le Panier — Liste d’émargement" in pages[0]
    assert text.count("Signature") == 46 and "☐ Espèces ☐ Chèque ☐ Carte" in text


def test_a_basket_of_30_lines_stays_whole_on_one_page(client, auth, session, now, day):
    for n in range(12):  # the long basket comes after some others, near a page's end
        _member(session, now, day, "Court", f"Panier{n:02d}", [(day["bread"], 1)])
    products = [
        factories.product(session, catalogue=day["vegetables"], name=f"Légume n°{n:02d}")
        for n in range(30)
    ]
    _member(session, now, day, "Long", "Panier", [(p, 1) for p in products])
    pages = _pages(_get(client, auth, day).data)
    assert _numbered(pages)
    [page] = [text for text in pages if "Panier Long" in text]
    assert all(f"1 × Légume n°{n:02d}" in page for n in range(30))
    assert "Dû : 75,00 €" in page


def test_accents_survive(client, auth, session, now, day):
    day["group"].sheet_instructions = "Rendez les sacs.\nMerci à Noël !"
    session.commit()
    oeufs = factories.product(session, catalogue=day["vegetables"], name="Œufs frais")
    _member(session, now, day, "Éloïse", "Hélène-Çœur", [(oeufs, 6)])
    text = "\n".join(_pages(_get(client, auth, day).data))
    assert "Hélène-Çœur Éloïse" in text and "6 × Œufs frais (" in text
    assert "Préau" in text  # the place, in the heading
    assert "Rendez les sacs.\nMerci à Noël !" in text  # the instructions, line by line


def test_one_catalogue_only(client, auth, session, now, day):
    _member(session, now, day, "Ada", "Lovelace", [(day["leeks"], 1), (day["bread"], 3)])
    text = "\n".join(_pages(_get(client, auth, day, f"?catalogue={day['vegetables'].id}").data))
    assert "1 × Poireaux" in text and "Pain" not in text and "Dû : 6,25 €" in text


def test_a_day_without_orders_is_one_numbered_page(client, auth, day):
    pages = _pages(_get(client, auth, day).data)
    assert len(pages) == 1 and _numbered(pages) and "Aucune commande." in pages[0]


def test_a_basket_taller_than_a_page_goes_on_without_losing_a_line():
    items = [f"{n} × Produit au nom assez long pour remplir la ligne {n:03d}" for n in range(400)]
    sheet = Sheet(
        title="Groupe — Liste d’émargement",
        lines=["Samedi"],
        running="Groupe",
        signature="Signature",
        members=[
            Member(head="#1 · Petit Paul", due="Dû : 1,00 €", items=["1 × Pain"]),
            Member(head="#2 · Grand Jean", due="Dû : 999,00 €", items=items),
            Member(head="#3 · Suivant Zoé", due="Dû : 2,00 €", items=["2 × Pain"]),
        ],
        empty="Aucune commande.",
        printed="Imprimé",
        continued="(suite)",
    )
    pages = _pages(render_signin_pdf(sheet))
    assert len(pages) >= 3 and _numbered(pages)
    text = "\n".join(pages)
    assert all(f"remplir la ligne {n:03d}" in text for n in range(400))
    assert "#2 · Grand Jean (suite)" in text
    assert text.index("Petit Paul") < text.index("Grand Jean") < text.index("Suivant Zoé")


def test_products_sold_by_weight_read_in_kg_on_the_pdf_and_the_printed_sheet(
    client, auth, session, now, day
):
    from decimal import Decimal

    pork = factories.product(
        session, catalogue=day["vegetables"], name="Côtes de porc", unit="kg", weighed=True
    )
    _member(session, now, day, "Léa", "Roux", [(pork, Decimal("1.2")), (day["bread"], 2)])
    text = "\n".join(_pages(_get(client, auth, day).data))
    assert "1,2 kg Côtes de porc (" in text and "2 × Pain (9,00 €)" in text
    printed = client.get(f"/distributions/{day['d'].id}/signin").get_data(as_text=True)
    assert re.search(r"1,2 kg\s+Côtes de porc", printed)
    assert re.search(r"2 ×\s+Pain", printed)
