"""The shop as members use it: pages, HTMX swaps, no-JS form, refusals, query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from webapp.extensions import db
from webapp.models import Basket, OrderLine

from . import factories


@pytest.fixture
def shop(session, now, auth):
    group = factories.group(session, now=now)
    member = factories.user(session, now=now, group=group, email="m@example.test")
    catalogue = factories.catalogue(session, group=group)
    carrots = factories.product(
        session, catalogue=catalogue, name="Carottes", price_cents=260, unit="kg", weighed=True
    )
    bread = factories.product(
        session, catalogue=catalogue, name="Pain", price_cents=450, stock=Decimal(3)
    )
    hidden = factories.product(session, catalogue=catalogue, name="Asperges", active=False)
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    auth.login("m@example.test")
    return dict(
        group=group,
        member=member,
        carrots=carrots,
        bread=bread,
        hidden=hidden,
        d=d,
        catalogue=catalogue,
    )


def _lines(session):
    factories.fresh(session)
    return {line.product_id: line.quantity for line in session.scalars(select(OrderLine))}


def _set(post, shop, product, q="0", op="", htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"q": q, **({"op": op} if op else {})}
    return post(f"/distributions/{shop['d'].id}/shop/products/{product.id}", data, headers=headers)


def test_shop_lists_active_products_with_price_unit_and_stock(client, shop):
    html = client.get(f"/distributions/{shop['d'].id}/shop").get_data(as_text=True)
    assert "Carottes" in html and "Pain" in html
    assert "Asperges" not in html  # inactive: not offered
    assert "2,60\xa0€" in html and "kg" in html
    assert "Reste\xa0: 3" in html


def test_form_without_js_saves_then_redirects_to_the_product(client, post, session, shop):
    response = _set(post, shop, shop["carrots"], q="1,5")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#product-{shop['carrots'].id}")
    _set(post, shop, shop["bread"], q="2")
    assert _lines(session) == {shop["carrots"].id: Decimal("1.5"), shop["bread"].id: 2}
    page = client.get(f"/distributions/{shop['d'].id}/shop").get_data(as_text=True)
    assert "12,90\xa0€" in page  # 3.90 + 9.00
    assert "Votre commande est enregistrée." in page


def test_plus_and_minus_move_one_step(post, session, shop):
    _set(post, shop, shop["bread"], q="1", op="inc")
    assert _lines(session) == {shop["bread"].id: 2}
    _set(post, shop, shop["carrots"], q="1", op="dec")  # weighed: half a kilo steps
    _set(post, shop, shop["bread"], q="2", op="dec")
    assert _lines(session) == {shop["carrots"].id: Decimal("0.5"), shop["bread"].id: 1}
    _set(post, shop, shop["bread"], q="1", op="dec")
    assert _lines(session) == {shop["carrots"].id: Decimal("0.5")}


def test_htmx_update_returns_the_row_and_the_basket_bar(post, session, shop):
    bread = shop["bread"]
    response = _set(post, shop, bread, q="0", op="inc", htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="product-{bread.id}" hx-swap-oob="true"' in html  # the page's form swaps none
    assert 'id="basket-bar" hx-swap-oob="true"' in html and "4,50\xa0€" in html
    assert "<html" not in html
    assert f'name="q-{bread.id}" value="1"' in html
    assert _lines(session) == {bread.id: 1}


def test_htmx_weighed_product_takes_decimals(post, session, shop):
    _set(post, shop, shop["carrots"], q="0,75", htmx=True)
    assert _lines(session) == {shop["carrots"].id: Decimal("0.75")}


def test_asking_more_than_the_stock_gets_what_is_left_and_is_told(client, post, session, shop):
    response = _set(post, shop, shop["bread"], q="10")
    assert _lines(session) == {shop["bread"].id: 3}
    told = "vous en demandiez 10, il en reste 3 : votre panier en contient 3"
    assert told in client.get(response.headers["Location"]).get_data(as_text=True)
    htmx = _set(post, shop, shop["bread"], q="5", htmx=True)
    assert "vous en demandiez 5, il en reste 3" in htmx.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "négative"),
        ("abc", "Saisissez un nombre"),
        ("100000", "Au plus 999"),
        ("1,5", "à l’unité"),
        ("1e400", "Au plus 999"),
    ],
)
def test_bad_quantities_save_nothing(post, session, shop, value, message):
    _set(post, shop, shop["carrots"], q="2")
    response = _set(post, shop, shop["bread"], q=value, htmx=True)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert _lines(session) == {shop["carrots"].id: 2}


def test_unknown_action_is_refused(post, session, shop):
    assert _set(post, shop, shop["bread"], q="1", op="explode").status_code == 303
    assert _lines(session) == {}


def test_unknown_product_is_refused(post, session, shop):
    response = post(f"/distributions/{shop['d'].id}/shop/products/999999", {"q": "1"})
    assert response.status_code == 404
    assert _lines(session) == {}


def test_product_of_another_group_is_refused(post, session, now, shop):
    other = factories.group(session, now=now)
    foreign = factories.product(session, catalogue=factories.catalogue(session, group=other))
    assert _set(post, shop, foreign, q="1").status_code == 404
    assert _lines(session) == {}


def test_another_groups_distribution_answers_404(client, session, now, shop):
    other = factories.group(session, now=now)
    foreign = factories.distribution(session, group=other, now=now)
    assert client.get(f"/distributions/{foreign.id}/shop").status_code == 404


def test_after_the_close_the_server_refuses_whatever_the_page_showed(
    client, post, session, shop, now
):
    d, bread = shop["d"], shop["bread"]
    d.orders_close_at = now - timedelta(minutes=1)
    session.commit()
    response = _set(post, shop, bread, q="1")
    assert "Commandes fermées le" in client.get(response.headers["Location"]).get_data(as_text=True)
    htmx = _set(post, shop, bread, q="1", htmx=True)
    assert htmx.status_code == 409
    assert "Commandes fermées le" in htmx.get_data(as_text=True)
    assert _lines(session) == {}


def test_closed_shop_shows_the_basket_read_only(client, session, shop, now):
    d = shop["d"]
    factories.order(
        session, distribution=d, user=shop["member"], now=now, lines=[(shop["bread"], 2)]
    )
    d.orders_close_at = now - timedelta(minutes=1)
    session.commit()
    html = client.get(f"/distributions/{d.id}/shop").get_data(as_text=True)
    assert "× 2" in html and 'name="inc"' not in html


def test_inactive_product_in_a_basket_stays_visible_marked_unavailable(client, session, shop, now):
    factories.order(
        session, distribution=shop["d"], user=shop["member"], now=now, lines=[(shop["hidden"], 1)]
    )
    html = client.get(f"/distributions/{shop['d'].id}/shop").get_data(as_text=True)
    assert "Asperges" in html and "Indisponible" in html


def test_receipt_shows_vat_per_rate_and_the_same_total(client, session, shop, now):
    cider = factories.product(
        session, catalogue=shop["catalogue"], name="Cidre", price_cents=600, vat_rate=Decimal(20)
    )
    basket = factories.order(
        session,
        distribution=shop["d"],
        user=shop["member"],
        now=now,
        lines=[(shop["bread"], 2), (cider, 1), (shop["carrots"], Decimal("0.75"))],
    )
    html = client.get(f"/baskets/{basket.id}").get_data(as_text=True)
    assert "TVA 5,5\xa0%" in html and "TVA 20\xa0%" in html
    # each quantity says in what: 2 × pièce, 0,75 kg
    assert '2 <span class="muted">× pièce</span>' in html
    assert '0,75 <span class="muted">kg</span>' in html
    assert "16,95\xa0€" in html  # 9.00 + 6.00 + 1.95
    orders = client.get("/orders").get_data(as_text=True)
    assert "16,95\xa0€" in orders


def test_someone_elses_receipt_answers_404(client, session, shop, now):
    other = factories.user(session, now=now, group=shop["group"])
    basket = factories.order(
        session, distribution=shop["d"], user=other, now=now, lines=[(shop["bread"], 1)]
    )
    assert client.get(f"/baskets/{basket.id}").status_code == 404


def _count_queries(app, client, path):
    with app.app_context():
        engine = db.engine
    statements = []

    def on_execute(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(statements)


def test_shop_queries_do_not_grow_with_products_or_members(app, client, session, shop, now):
    path = f"/distributions/{shop['d'].id}/shop"
    factories.order(
        session, distribution=shop["d"], user=shop["member"], now=now, lines=[(shop["bread"], 1)]
    )
    before = _count_queries(app, client, path)
    for _ in range(30):
        factories.product(session, catalogue=shop["catalogue"])
        other = factories.user(session, now=now, group=shop["group"])
        factories.order(
            session, distribution=shop["d"], user=other, now=now, lines=[(shop["carrots"], 1)]
        )
    second = factories.catalogue(session, group=shop["group"], name="Pains")
    factories.product(session, catalogue=second)
    shop["d"].catalogues.append(second)
    session.commit()
    assert _count_queries(app, client, path) == before


def test_home_offers_the_sheet_to_volunteers_on_duty_only(client, auth, session, now, shop):
    from webapp.models import DutyAssignment

    d = shop["d"]
    d.orders_close_at = now - timedelta(minutes=1)
    session.commit()
    assert "/sheet" not in client.get("/").get_data(as_text=True)
    session.add(
        DutyAssignment(
            distribution_id=d.id, user_id=shop["member"].id, role_name="accueil", created_at=now
        )
    )
    session.commit()
    html = client.get("/").get_data(as_text=True)
    assert f"/distributions/{d.id}/sheet" in html and "Vous êtes de permanence" in html


def test_htmx_row_shows_what_is_left_for_this_distribution(post, session, shop):
    bread = shop["bread"]
    html = _set(post, shop, bread, q="1", op="inc", htmx=True).get_data(as_text=True)
    assert "Reste\xa0: 1" in html  # 3 offered this week, 2 taken
    factories.fresh(session)
    assert session.get(type(bread), bread.id).stock == 3  # next week starts from 3 again


def test_the_page_carries_its_csrf_token_once_whatever_the_number_of_products(
    client, session, shop
):
    path = f"/distributions/{shop['d'].id}/shop"
    before = client.get(path).get_data(as_text=True)
    for _ in range(20):
        factories.product(session, catalogue=shop["catalogue"])
    session.commit()
    after = client.get(path).get_data(as_text=True)
    assert after.count('name="q-') == before.count('name="q-') + 20
    assert after.count('name="csrf_token"') == before.count('name="csrf_token"')
    assert after.count("<form") == before.count("<form")  # one form around the whole list


def test_the_one_form_without_js_saves_what_was_typed_and_moves_the_pressed_product(
    client, post, session, shop
):
    """Without JavaScript the list's one form sends every field to the shop: what was typed
    is saved (a quantity typed, then + pressed on another product, is not lost), and the
    button (`inc` / `dec` = its product's id) moves its own product one step from its field."""
    carrots, bread = shop["carrots"], shop["bread"]
    path = f"/distributions/{shop['d'].id}/shop"
    page = client.get(path).get_data(as_text=True)
    assert f'action="{path}"' in page and f'name="inc" value="{carrots.id}"' in page
    assert "formaction" not in page  # the rows name their product, not its URL
    everything = {f"q-{carrots.id}": "1", f"q-{bread.id}": "2", "inc": str(carrots.id)}
    response = post(path, everything)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{path}#product-{carrots.id}")
    assert _lines(session) == {carrots.id: Decimal("1.5"), bread.id: 2}  # + is half a kilo
    page = client.get(path).get_data(as_text=True)
    assert f'name="was-{bread.id}" value="2"' in page  # what the page shows of the basket
    shown = {f"was-{carrots.id}": "1,5", f"was-{bread.id}": "2"}
    post(path, {**shown, f"q-{carrots.id}": "1,5", f"q-{bread.id}": "0", "dec": str(carrots.id)})
    assert _lines(session) == {carrots.id: Decimal(1)}


def test_a_field_left_as_shown_does_not_undo_a_change_made_elsewhere(post, session, shop, now):
    """The page showed 2 loaves; meanwhile the member's phone made it 3. Saving this page
    (another field typed) leaves the loaves at 3."""
    carrots, bread = shop["carrots"], shop["bread"]
    path = f"/distributions/{shop['d'].id}/shop"
    factories.order(
        session, distribution=shop["d"], user=shop["member"], now=now, lines=[(bread, 3)]
    )
    stale = {f"q-{bread.id}": "2", f"was-{bread.id}": "2", f"q-{carrots.id}": "1"}
    assert post(path, stale).status_code == 303
    assert _lines(session) == {bread.id: 3, carrots.id: 1}


def test_enter_with_nothing_changed_makes_no_basket(post, session, shop):
    path = f"/distributions/{shop['d'].id}/shop"
    fields = {f"q-{shop['carrots'].id}": "0", f"q-{shop['bread'].id}": "0"}
    assert post(path, fields).status_code == 303
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(Basket)) == 0


def test_enter_without_js_saves_every_quantity_typed(client, post, session, shop):
    """Enter presses the form's hidden default button: what differs from the basket is saved,
    a shortfall said."""
    carrots, bread = shop["carrots"], shop["bread"]
    path = f"/distributions/{shop['d'].id}/shop"
    page = client.get(path).get_data(as_text=True)
    assert page.index('name="save"') < page.index('name="dec"')  # the default button
    response = post(path, {f"q-{carrots.id}": "2,5", f"q-{bread.id}": "5", "save": "1"})
    assert response.status_code == 303
    assert _lines(session) == {carrots.id: Decimal("2.5"), bread.id: 3}  # 3 left of bread
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "vous en demandiez 5, il en reste 3" in html
    shown = {f"was-{carrots.id}": "2,5", f"was-{bread.id}": "3"}
    post(path, {**shown, f"q-{carrots.id}": "2,5", f"q-{bread.id}": "0"})
    assert _lines(session) == {carrots.id: Decimal("2.5")}


def test_the_one_form_without_js_keeps_a_bad_quantity_in_its_own_field(client, post, session, shop):
    carrots, bread = shop["carrots"], shop["bread"]
    path = f"/distributions/{shop['d'].id}/shop"
    for fields in (
        {f"q-{carrots.id}": "2", f"q-{bread.id}": "abc", "inc": str(bread.id)},
        {f"q-{carrots.id}": "1", f"q-{bread.id}": "abc"},  # Enter: nothing saved at all
        {f"q-{carrots.id}": "abc", f"q-{bread.id}": "1", "inc": str(bread.id)},
    ):
        response = post(path, fields)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "rien n’a été enregistré" in html  # said at the top, not only in the row
        assert html.count('aria-invalid="true"') == 1
        for pid, text in (
            (carrots.id, fields[f"q-{carrots.id}"]),
            (bread.id, fields[f"q-{bread.id}"]),
        ):
            assert f'name="q-{pid}" value="{text}"' in html  # every field keeps what was typed
        assert _lines(session) == {}


@pytest.mark.parametrize(
    "fields",
    [{"inc": "abc"}, {"dec": "999999999"}, {"q-abc": "1"}, {"q-999999": "1"}, {"inc": "²"}],
)
def test_the_one_form_without_js_refuses_unknown_products(post, session, shop, fields):
    response = post(f"/distributions/{shop['d'].id}/shop", fields)
    assert response.status_code == 404
    assert _lines(session) == {}


def test_rows_drawn_for_an_earlier_page_never_show_old_values(client, session, shop):
    """Rows not in the member's basket are kept once drawn (the same for every member): a
    changed product, another language or closed orders draw them again."""
    d, bread = shop["d"], shop["bread"]
    path = f"/distributions/{d.id}/shop"
    assert "4,50\xa0€" in client.get(path).get_data(as_text=True)
    bread.price_cents, bread.name, bread.stock = 475, "Pain bis", Decimal(1)
    session.commit()
    html = client.get(path).get_data(as_text=True)
    assert "4,75\xa0€" in html and "Pain bis" in html and "Reste\xa0: 1" in html
    assert "4,50\xa0€" not in html
    shop["member"].locale = "en"
    session.commit()
    html = client.get(path).get_data(as_text=True)
    assert "€4.75" in html and "Left: 1" in html and "Reste" not in html
    d.orders_close_at = d.orders_open_at + timedelta(seconds=1)
    session.commit()
    assert f'name="q-{bread.id}"' not in client.get(path).get_data(as_text=True)


def test_a_catalogue_drawn_for_everyone_never_shows_one_members_basket_to_another(
    client, auth, session, shop, now
):
    """A catalogue holding none of the member's products is drawn once for every member; one
    holding some is drawn for that member only."""
    d, bread = shop["d"], shop["bread"]
    factories.user(session, now=now, group=shop["group"], email="other@example.test")
    factories.order(session, distribution=d, user=shop["member"], now=now, lines=[(bread, 2)])
    path = f"/distributions/{d.id}/shop"
    other_row = f'name="q-{bread.id}" value="0"'
    auth.login("other@example.test")
    assert other_row in client.get(path).get_data(as_text=True)
    auth.login("m@example.test")
    html = client.get(path).get_data(as_text=True)
    assert f'name="q-{bread.id}" value="2"' in html and "product in-basket" in html
    auth.login("other@example.test")
    html = client.get(path).get_data(as_text=True)
    assert other_row in html and "in-basket" not in html


def test_what_is_kept_stays_within_its_budget():
    from webapp.web.shop_rows import _Kept

    kept = _Kept(budget=10)
    kept.put("a", (1,), "xxxx")
    kept.put("b", (2,), "yyyy")
    assert kept.get("a") == (1, "xxxx")  # now the most recently used
    kept.put("c", (3,), "zzzz")  # 12 characters: the least recently used ("b") goes
    assert kept.get("b") is None and kept.get("a") and kept.get("c") and kept.size == 8
    kept.put("a", (4,), "w")
    assert kept.get("a") == (4, "w") and kept.size == 5


def test_a_line_ordered_before_a_price_change_shows_the_price_it_was_ordered_at(
    client, session, shop, now
):
    bread = shop["bread"]
    factories.order(
        session, distribution=shop["d"], user=shop["member"], now=now, lines=[(bread, 2)]
    )
    bread.price_cents = 500
    session.commit()
    html = client.get(f"/distributions/{shop['d'].id}/shop").get_data(as_text=True)
    row = html[html.index(f'id="product-{bread.id}"') :]
    row = row[: row.index("</li>")]
    assert "5,00\xa0€" in row and "Votre prix (au moment de la commande)\xa0: 4,50\xa0€" in row
    assert f'name="q-{bread.id}" value="2"' in row and "in-basket" in html
