"""Coordinators run the cycle: catalogues, products, distributions, reports; who may do what."""

import csv
import io
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from webapp.models import Catalogue, Distribution, OrderLine, Producer, Product

from . import factories


@pytest.fixture
def world(session, now, auth):
    group = factories.group(session, now=now, name="AMAP Test")
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    member = factories.user(
        session,
        now=now,
        group=group,
        email="m@example.test",
        first_name="Ada",
        last_name="Lovelace",
    )
    producer_user = factories.user(session, now=now, email="p@example.test")
    catalogue = factories.catalogue(
        session, group=group, name="Légumes", producer_user=producer_user
    )
    leeks = factories.product(session, catalogue=catalogue, name="Poireaux", price_cents=300)
    bread_cat = factories.catalogue(session, group=group, name="Pains")
    bread = factories.product(session, catalogue=bread_cat, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue, bread_cat]
    )
    factories.order(session, distribution=d, user=member, now=now, lines=[(leeks, 2), (bread, 1)])
    return dict(
        group=group,
        catalogue=catalogue,
        bread_cat=bread_cat,
        leeks=leeks,
        bread=bread,
        d=d,
        member=member,
    )


def test_create_producer_catalogue_and_product(auth, post, session, world):
    auth.login("c@example.test")
    assert (
        post(
            "/catalogues/producers/new",
            {"name": "Miellerie", "trade": "Apiculteur", "city": "Vexin"},
        ).status_code
        == 302
    )
    factories.fresh(session)
    producer = session.scalar(select(Producer).where(Producer.name == "Miellerie"))
    response = post("/catalogues/new", {"producer_id": producer.id, "name": "Miels"})
    assert response.status_code == 302
    factories.fresh(session)
    catalogue = session.scalar(select(Catalogue).where(Catalogue.name == "Miels"))
    response = post(
        f"/catalogues/{catalogue.id}/products/new",
        {
            "name": "Miel de fleurs",
            "price": "8,50",
            "vat_rate": "5.5",
            "unit": "jar",
            "quantity_per_unit": "0,5",
            "stock": "20",
            "active": "1",
        },
    )
    assert response.status_code == 302
    factories.fresh(session)
    product = session.scalar(select(Product).where(Product.name == "Miel de fleurs"))
    assert (product.price_cents, product.quantity_per_unit, product.stock, product.active) == (
        850,
        Decimal("0.5"),
        20,
        True,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "X", "price": "", "vat_rate": "5.5"}, "Un prix est nécessaire"),
        ({"name": "X", "price": "abc", "vat_rate": "5.5"}, "Saisissez un nombre"),
        ({"name": "X", "price": "1,234", "vat_rate": "5.5"}, "Saisissez un nombre"),
        ({"name": "X", "price": "2", "vat_rate": "7"}, "taux de TVA du groupe"),
        ({"name": "", "price": "2", "vat_rate": "5.5"}, "Un nom est nécessaire"),
        ({"name": "X", "price": "2", "vat_rate": "5.5", "stock": "-3"}, "négative"),
    ],
)
def test_bad_products_get_field_errors_and_nothing_saved(auth, post, session, world, data, message):
    auth.login("c@example.test")
    before = session.scalar(select(func.count()).select_from(Product))
    response = post(f"/catalogues/{world['catalogue'].id}/products/new", {"unit": "piece", **data})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(Product)) == before


def _image(fmt="PNG", size=(1200, 900)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera maker, must not survive
    image.save(out, fmt, exif=exif) if fmt == "JPEG" else image.save(out, fmt)
    return out.getvalue()


def test_photo_is_reencoded_thumbnailed_and_stripped(app, client, auth, post, session, world):
    auth.login("c@example.test")
    leeks = world["leeks"]
    data = {
        "name": "Poireaux",
        "price": "3",
        "vat_rate": "5.5",
        "unit": "bunch",
        "active": "1",
        "photo": (io.BytesIO(_image("JPEG")), "leeks.jpg"),
    }
    response = post(
        f"/catalogues/{world['catalogue'].id}/products/{leeks.id}",
        data,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    factories.fresh(session)
    name = session.get(Product, leeks.id).photo
    served = client.get(f"/photos/{name}")
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "WEBP" and max(image.size) == 800 and not image.getexif()
    thumb = Image.open(
        io.BytesIO(client.get(f"/photos/{name.replace('.webp', '-thumb.webp')}").data)
    )
    assert max(thumb.size) == 160


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        (b"not an image at all", 400, "pas une image lisible"),
        (_image("GIF"), 400, "JPEG, PNG ou WebP"),
        (b"\xff" * (6 * 1024 * 1024), 413, "trop lourde"),
    ],
)
def test_bad_photos_are_refused_and_nothing_changes(
    auth, post, session, world, payload, status, message
):
    auth.login("c@example.test")
    leeks = world["leeks"]
    data = {
        "name": "Poireaux renamed",
        "price": "3",
        "vat_rate": "5.5",
        "unit": "bunch",
        "photo": (io.BytesIO(payload), "x.jpg"),
    }
    response = post(
        f"/catalogues/{world['catalogue'].id}/products/{leeks.id}",
        data,
        content_type="multipart/form-data",
    )
    assert response.status_code in (status, 400)
    assert message in response.get_data(as_text=True) or response.status_code == 413
    factories.fresh(session)
    assert session.get(Product, leeks.id).name == "Poireaux"


def test_bulk_switch_off_then_on(auth, post, session, world):
    auth.login("c@example.test")
    leeks = world["leeks"]
    post(
        f"/catalogues/{world['catalogue'].id}/products/active",
        {"product_id": [leeks.id], "active": "0"},
    )
    factories.fresh(session)
    assert session.get(Product, leeks.id).active is False
    post(
        f"/catalogues/{world['catalogue'].id}/products/active",
        {"product_id": [leeks.id], "active": "1"},
    )
    factories.fresh(session)
    assert session.get(Product, leeks.id).active is True


def test_duplicate_and_archive_a_catalogue(auth, post, session, world):
    auth.login("c@example.test")
    response = post(f"/catalogues/{world['catalogue'].id}/duplicate")
    copy_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    copy = session.get(Catalogue, copy_id)
    assert copy.name == "Légumes (copie)" and [p.name for p in copy.products] == ["Poireaux"]
    post(f"/catalogues/{copy_id}/archive")
    factories.fresh(session)
    assert session.get(Catalogue, copy_id).archived_at is not None


def _window(**overrides):
    base = {
        "starts_at": "2026-12-10T18:00",
        "ends_at": "2026-12-10T20:00",
        "orders_open_at": "2026-12-01T08:00",
        "orders_close_at": "2026-12-08T20:00",
    }
    return {**base, **overrides}


def test_create_a_weekly_series_with_the_window_relative_to_each_day(auth, post, session, world):
    auth.login("c@example.test")
    place_id = world["d"].place_id
    before = session.scalar(select(func.count()).select_from(Distribution))
    response = post(
        "/distributions/new",
        {
            "place_id": place_id,
            "catalogue_id": [world["catalogue"].id],
            "repeat": "weekly",
            "count": "3",
            **_window(),
        },
    )
    assert response.status_code == 302
    factories.fresh(session)
    created = session.scalars(select(Distribution).order_by(Distribution.id.desc()).limit(3)).all()[
        ::-1
    ]
    assert session.scalar(select(func.count()).select_from(Distribution)) == before + 3
    assert [(c.starts_at - created[0].starts_at).days for c in created] == [0, 7, 14]
    assert all(
        c.starts_at - c.orders_close_at == created[0].starts_at - created[0].orders_close_at
        for c in created
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"orders_close_at": "2026-12-01T07:00"}, "doivent fermer après leur ouverture"),
        ({"orders_close_at": "2026-12-11T07:00"}, "avant le début de la distribution"),
        ({"ends_at": "2026-12-10T17:00"}, "finir après son début"),
        ({"starts_at": "not a date"}, "Saisissez une date"),
    ],
)
def test_dates_in_the_wrong_order_are_refused(auth, post, session, world, overrides, message):
    auth.login("c@example.test")
    before = session.scalar(select(func.count()).select_from(Distribution))
    response = post(
        "/distributions/new",
        {
            "place_id": world["d"].place_id,
            "catalogue_id": [world["catalogue"].id],
            **_window(**overrides),
        },
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(Distribution)) == before


def test_orders_view_marks_unavailable_lines_and_removes_them(
    client, auth, post, session, now, world
):
    world["leeks"].active = False
    session.commit()
    auth.login("c@example.test")
    html = client.get(f"/distributions/{world['d'].id}/orders").get_data(as_text=True)
    assert "1 ligne d’un produit indisponible" in html and "Lovelace Ada" in html
    assert post(f"/distributions/{world['d'].id}/remove-unavailable").status_code == 302
    factories.fresh(session)
    line = session.scalar(select(OrderLine).where(OrderLine.product_id == world["leeks"].id))
    assert (line.quantity, line.ordered_quantity, line.removed_at is not None) == (0, 2, True)
    html = client.get(f"/distributions/{world['d'].id}/orders").get_data(as_text=True)
    assert "4,50\xa0€" in html and "retiré" in html  # the total is the bread alone now


def test_summary_csv_uses_semicolons_and_decimal_commas(client, auth, world):
    auth.login("c@example.test")
    response = client.get(f"/distributions/{world['d'].id}/summary?format=csv")
    assert response.mimetype == "text/csv"
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    assert ["Poireaux", "2", "6,00"] == [rows[1][1], rows[1][2], rows[1][5]]


def test_summary_of_one_catalogue_and_of_another_groups_is_404(client, auth, session, now, world):
    auth.login("c@example.test")
    html = client.get(
        f"/distributions/{world['d'].id}/summary?catalogue={world['bread_cat'].id}"
    ).get_data(as_text=True)
    assert "Pain" in html and "Poireaux" not in html
    other = factories.catalogue(session, group=factories.group(session, now=now))
    assert (
        client.get(f"/distributions/{world['d'].id}/summary?catalogue={other.id}").status_code
        == 404
    )


def test_signin_sheet_html_and_pdf(client, auth, world):
    auth.login("c@example.test")
    html = client.get(f"/distributions/{world['d'].id}/signin").get_data(as_text=True)
    assert "Lovelace Ada" in html and "Signature" in html and "Espèces" in html
    pdf = client.get(f"/distributions/{world['d'].id}/signin.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Lovelace Ada" in text and "10,50" in text


def test_producer_sees_their_own_catalogue_only(client, auth, session, now, world):
    auth.login("p@example.test")
    assert client.get("/").headers["Location"].endswith("/producer/")
    home = client.get("/producer/").get_data(as_text=True)
    assert "Légumes" in home and "Pains" not in home
    mine = client.get(f"/producer/catalogues/{world['catalogue'].id}/distributions/{world['d'].id}")
    assert mine.status_code == 200 and "Poireaux" in mine.get_data(as_text=True)
    assert "Pain" not in mine.get_data(as_text=True).replace("Pains", "")
    theirs = client.get(
        f"/producer/catalogues/{world['bread_cat'].id}/distributions/{world['d'].id}"
    )
    assert theirs.status_code == 403  # a producer reaching past their catalogues
    assert client.get(f"/distributions/{world['d'].id}/orders").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/catalogues/",
        "/catalogues/new",
        "/distributions/",
        "/distributions/new",
        "/places",
        "/distributions/{d}/orders",
        "/distributions/{d}/summary",
        "/distributions/{d}/signin",
        "/distributions/{d}/signin.pdf",
        "/distributions/{d}/tablet",
        "/producer/",
    ],
)
def test_members_are_refused(client, auth, world, path):
    auth.login("m@example.test")
    assert client.get(path.format(d=world["d"].id)).status_code == 403


@pytest.mark.parametrize(
    "path", ["/distributions/{d}/orders", "/distributions/{d}/summary", "/distributions/{d}/signin"]
)
def test_reports_queries_do_not_grow_with_members(app, client, auth, session, now, world, path):
    from .test_web_shop import _count_queries

    auth.login("c@example.test")
    url = path.format(d=world["d"].id)
    before = _count_queries(app, client, url)
    for _ in range(15):
        m = factories.user(session, now=now, group=world["group"])
        factories.order(
            session,
            distribution=world["d"],
            user=m,
            now=now,
            lines=[(world["leeks"], 1), (world["bread"], 2)],
        )
    assert _count_queries(app, client, url) == before


def test_cancelling_a_distribution(auth, post, session, world):
    auth.login("c@example.test")
    assert post(f"/distributions/{world['d'].id}/cancel").status_code == 302
    factories.fresh(session)
    assert session.get(Distribution, world["d"].id).cancelled_at is not None
    assert post(f"/distributions/{world['d'].id}/cancel").status_code == 303


def test_coordinator_changes_a_members_basket_after_the_close(client, auth, post, session, world):
    auth.login("c@example.test")
    d, leeks, bread = world["d"], world["leeks"], world["bread"]
    page = client.get(f"/distributions/{d.id}/baskets/{world['member'].id}")
    assert page.status_code == 200 and 'value="2"' in page.get_data(as_text=True)
    response = post(
        f"/distributions/{d.id}/baskets/{world['member'].id}",
        {f"q-{leeks.id}": "3", f"q-{bread.id}": "0"},
    )
    assert response.status_code == 302
    factories.fresh(session)
    lines = {ln.product_id: ln.quantity for ln in session.scalars(select(OrderLine))}
    assert lines == {leeks.id: 3}


def test_coordinator_basket_lists_archived_products_only_when_in_the_basket(
    client, auth, session, now, world
):
    """An archived product is not offered again, but a line the member holds stays editable."""
    auth.login("c@example.test")
    d, leeks = world["d"], world["leeks"]
    old = factories.product(session, catalogue=world["catalogue"], name="Blettes d'antan")
    old.archived_at = leeks.archived_at = now
    session.commit()
    html = client.get(f"/distributions/{d.id}/baskets/{world['member'].id}").get_data(as_text=True)
    assert "Blettes" not in html and f'name="q-{old.id}"' not in html
    assert "Poireaux" in html and f'name="q-{leeks.id}" class="qty-input"' in html


def test_coordinator_basket_edit_refuses_bad_input_and_validated_days(
    client, auth, post, session, now, world
):
    auth.login("c@example.test")
    d, leeks = world["d"], world["leeks"]
    response = post(f"/distributions/{d.id}/baskets/{world['member'].id}", {f"q-{leeks.id}": "-2"})
    assert response.status_code == 400
    d.validated_at = now
    session.commit()
    response = post(f"/distributions/{d.id}/baskets/{world['member'].id}", {f"q-{leeks.id}": "5"})
    assert response.status_code == 303
    factories.fresh(session)
    assert session.scalar(select(OrderLine.quantity).where(OrderLine.product_id == leeks.id)) == 2


def test_coordinator_cannot_edit_the_basket_of_another_groups_member(
    client, auth, session, now, world
):
    stranger = factories.user(session, now=now, group=factories.group(session, now=now))
    auth.login("c@example.test")
    assert client.get(f"/distributions/{world['d'].id}/baskets/{stranger.id}").status_code == 404


def test_dashboard_shows_totals_per_producer_and_days_to_validate(
    client, auth, session, now, world
):
    past = factories.distribution(
        session, group=world["group"], now=now, state="distributed", catalogues=[world["catalogue"]]
    )
    factories.order(
        session, distribution=past, user=world["member"], now=now, lines=[(world["leeks"], 3)]
    )
    auth.login("c@example.test")
    html = client.get("/").get_data(as_text=True)
    assert "Tableau de bord" in html and "1 distribution à valider" in html
    assert "10,50\xa0€" in html  # the closed day: 2 × 3.00 + 4.50
    assert "<svg" in html and "<rect" in html


def test_members_do_not_see_the_dashboard(client, auth, world):
    auth.login("m@example.test")
    assert "Tableau de bord" not in client.get("/").get_data(as_text=True)


def test_coordinator_finds_a_member_to_open_their_basket(client, auth, world):
    auth.login("c@example.test")
    one = client.get(f"/distributions/{world['d'].id}/baskets/pick?q=lovel")
    assert one.status_code == 302 and one.headers["Location"].endswith(
        f"/baskets/{world['member'].id}"
    )
    for q in ("zzz", "%", "_"):  # % and _ are what they are, not wildcards
        none = client.get(f"/distributions/{world['d'].id}/baskets/pick", query_string={"q": q})
        assert "Aucun membre ne correspond." in none.get_data(as_text=True)


def test_archive_a_product_and_a_producer(client, auth, post, session, world):
    auth.login("c@example.test")
    leeks, catalogue = world["leeks"], world["catalogue"]
    assert post(f"/catalogues/{catalogue.id}/products/{leeks.id}/archive").status_code == 302
    client.get(f"/catalogues/{catalogue.id}")  # shows the flash once
    assert "Poireaux" not in client.get(f"/catalogues/{catalogue.id}").get_data(as_text=True)
    assert post(f"/catalogues/producers/{catalogue.producer_id}/archive").status_code == 302
    factories.fresh(session)
    assert session.get(Product, leeks.id).archived_at is not None
    assert session.get(Producer, catalogue.producer_id).archived_at is not None
    # the member's existing order still shows the archived product, marked
    assert "Poireaux" in client.get(f"/distributions/{world['d'].id}/orders").get_data(as_text=True)
