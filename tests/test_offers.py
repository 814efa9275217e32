"""Each distribution's own offer: a product switched off or sold out for one week leaves the
other weeks as they were; the closing step's red lines and removal follow it; the shop
refuses what is not offered; "Open orders now" and "Close orders now"; who may do it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from webapp.extensions import db
from webapp.models import AuditEntry, Basket, Distribution, DistributionOffer, OrderLine, Product
from webapp.services import ServiceError, offers, reports
from webapp.services.sheet import snapshot

from . import factories
from .conftest import refusal


@pytest.fixture
def weeks(session, now, auth):
    """Two coming distributions of the same catalogue: this week and next week."""
    group = factories.group(session, now=now)
    coordinator = factories.user(
        session, now=now, group=group, role="coordinator", email="c@example.test"
    )
    member = factories.user(session, now=now, group=group, email="m@example.test")
    catalogue = factories.catalogue(session, group=group, name="Fromages")
    crottin = factories.product(
        session, catalogue=catalogue, name="Crottin", price_cents=300, stock=Decimal(20)
    )
    tomme = factories.product(session, catalogue=catalogue, name="Tomme", price_cents=900)
    this = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    following = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    following.starts_at += timedelta(days=7)
    following.ends_at += timedelta(days=7)
    following.orders_close_at += timedelta(days=7)
    session.commit()
    return dict(
        group=group,
        coordinator=coordinator,
        member=member,
        catalogue=catalogue,
        crottin=crottin,
        tomme=tomme,
        this=this,
        following=following,
    )


def _offer_form(rows: dict[int, dict]) -> dict:
    """The offer form as the page sends it: every product listed, as shown, then changed."""
    data = {"p": list(rows)}
    for pid, row in rows.items():
        data[f"was-on-{pid}"] = "1"
        if row.get("on", True):
            data[f"on-{pid}"] = "1"
        data[f"was-stock-{pid}"] = row.get("was", "")
        data[f"stock-{pid}"] = row.get("stock", row.get("was", ""))
    return data


def _shop(client, distribution) -> str:
    return client.get(f"/distributions/{distribution.id}/shop").get_data(as_text=True)


def _row(html: str, product) -> str:
    start = html.index(f'id="product-{product.id}"')
    return html[start : html.index("</li>", start)]


def test_switching_a_product_off_for_one_week_leaves_the_next_week_as_it_was(
    client, auth, post, session, weeks
):
    auth.login("c@example.test")
    crottin, tomme = weeks["crottin"], weeks["tomme"]
    form = _offer_form({crottin.id: {"on": False, "was": "20"}, tomme.id: {}})
    response = post(f"/distributions/{weeks['this'].id}/offer", form)
    assert response.status_code == 302
    assert "1 produit modifié, pour cette distribution seulement" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    factories.fresh(session)
    assert session.get(Product, crottin.id).active is True  # the catalogue is untouched
    auth.logout()
    auth.login("m@example.test")
    this_week = _row(_shop(client, weeks["this"]), crottin)
    assert "Indisponible" in this_week and 'name="q-' not in this_week
    next_week = _row(_shop(client, weeks["following"]), crottin)
    assert "Indisponible" not in next_week and 'name="q-' in next_week
    assert "Reste\xa0: 20" in next_week


def test_stock_set_for_one_week_only(client, auth, post, session, weeks):
    auth.login("c@example.test")
    crottin = weeks["crottin"]
    form = _offer_form({crottin.id: {"was": "20", "stock": "2"}})
    assert post(f"/distributions/{weeks['this'].id}/offer", form).status_code == 302
    auth.logout()
    auth.login("m@example.test")
    assert "Reste\xa0: 2" in _row(_shop(client, weeks["this"]), crottin)
    assert "Reste\xa0: 20" in _row(_shop(client, weeks["following"]), crottin)
    post(f"/distributions/{weeks['this'].id}/shop/products/{crottin.id}", {"q": "2"})
    assert "Épuisé" in _row(_shop(client, weeks["this"]), crottin)
    assert "Reste\xa0: 20" in _row(_shop(client, weeks["following"]), crottin)


def test_the_shop_refuses_a_product_switched_off_for_this_week(
    app, client, auth, post, session, now, weeks
):
    with app.test_request_context():
        offers.set_offer(
            session,
            weeks["this"],
            {weeks["crottin"].id: offers.OfferChange(active=False)},
            actor=weeks["coordinator"],
            now=now,
        )
    session.commit()
    auth.login("m@example.test")
    path = f"/distributions/{weeks['this'].id}/shop/products/{weeks['crottin'].id}"
    htmx = post(path, {"q": "1"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 400
    assert "Crottin n’est plus disponible." in htmx.get_data(as_text=True)
    plain = post(path, {"q": "1"})
    assert "Crottin n’est plus disponible." in client.get(plain.headers["Location"]).get_data(
        as_text=True
    )
    factories.fresh(session)
    assert session.scalars(select(OrderLine)).all() == []
    assert session.scalars(select(Basket)).all() == []
    # next week's shop takes it
    post(f"/distributions/{weeks['following'].id}/shop/products/{weeks['crottin'].id}", {"q": "1"})
    factories.fresh(session)
    assert [line.quantity for line in session.scalars(select(OrderLine))] == [1]


def _closed_weeks(session, now, weeks):
    """Both weeks closed, with a member's crottins and tomme in each."""
    for d in (weeks["this"], weeks["following"]):
        d.orders_open_at = now - timedelta(days=3)
        d.orders_close_at = now - timedelta(hours=1)
    session.commit()
    for d in (weeks["this"], weeks["following"]):
        factories.order(
            session,
            distribution=d,
            user=weeks["member"],
            now=now,
            lines=[(weeks["crottin"], 2), (weeks["tomme"], 1)],
        )


def test_red_lines_and_removal_follow_this_weeks_offer_only(
    app, client, auth, post, session, now, weeks
):
    _closed_weeks(session, now, weeks)
    this, following, crottin = weeks["this"], weeks["following"], weeks["crottin"]
    auth.login("c@example.test")
    form = _offer_form({crottin.id: {"on": False, "was": "20"}})
    assert post(f"/distributions/{this.id}/offer", form).status_code == 302
    factories.fresh(session)

    def red(d):
        return {
            line.product.name
            for order in reports.day_orders(session, d)
            for line in order.lines
            if not line.product.active
        }

    assert red(this) == {"Crottin"} and red(following) == set()
    with app.test_request_context():
        sheets = {d.id: snapshot(session, d, weeks["group"], now=now) for d in (this, following)}
    available = {
        d_id: {ln["product"]: ln["available"] for b in s["baskets"] for ln in b["lines"]}
        for d_id, s in sheets.items()
    }
    assert available[this.id] == {"Crottin": False, "Tomme": True}
    assert available[following.id] == {"Crottin": True, "Tomme": True}
    orders_page = client.get(f"/distributions/{this.id}/orders").get_data(as_text=True)
    assert "1 ligne d’un produit indisponible" in orders_page
    assert "indisponible" not in client.get(f"/distributions/{following.id}/orders").get_data(
        as_text=True
    )
    post(f"/distributions/{this.id}/remove-unavailable")
    factories.fresh(session)
    lines = {
        (line.basket.distribution_id, line.product_id): line.quantity
        for line in session.scalars(select(OrderLine))
    }
    assert lines[(this.id, crottin.id)] == 0
    assert lines[(this.id, weeks["tomme"].id)] == 1
    assert lines[(following.id, crottin.id)] == 2  # next week keeps its crottins


def test_switching_off_in_the_catalogue_takes_it_off_every_week_not_yet_validated(
    app, session, now, weeks
):
    _closed_weeks(session, now, weeks)
    validated = factories.distribution(
        session, group=weeks["group"], now=now, state="validated", catalogues=[weeks["catalogue"]]
    )
    factories.order(
        session,
        distribution=validated,
        user=weeks["member"],
        now=now,
        lines=[(weeks["crottin"], 1)],
    )
    weeks["crottin"].active = False
    session.commit()
    for d in (weeks["this"], weeks["following"]):
        assert offers.unavailable_ids(session, d) == {weeks["crottin"].id}
    assert offers.unavailable_ids(session, validated) == set()  # history keeps its offer
    assert all(
        line.product.active for o in reports.day_orders(session, validated) for line in o.lines
    )


def test_switching_back_on_in_the_catalogue_keeps_a_week_switched_off_on_its_own(
    app, session, now, weeks
):
    with app.test_request_context():
        offers.set_offer(
            session,
            weeks["this"],
            {weeks["crottin"].id: offers.OfferChange(active=False)},
            actor=weeks["coordinator"],
            now=now,
        )
    weeks["crottin"].active = False
    session.commit()
    weeks["crottin"].active = True
    session.commit()
    assert offers.unavailable_ids(session, weeks["this"]) == {weeks["crottin"].id}
    assert offers.unavailable_ids(session, weeks["following"]) == set()


def test_the_offer_page_does_not_write_back_a_stock_that_orders_counted_down(
    client, auth, post, session, now, weeks
):
    auth.login("c@example.test")
    page = client.get(f"/distributions/{weeks['this'].id}/offer").get_data(as_text=True)
    assert f'name="was-stock-{weeks["crottin"].id}" value="20"' in page
    # a member takes 3 while the coordinator has the page open
    factories.order(session, distribution=weeks["this"], user=weeks["member"], now=now, lines=[])
    with client.application.test_request_context():
        from webapp.services.orders import set_quantities

        set_quantities(
            session,
            weeks["this"],
            {weeks["crottin"].id: Decimal(3)},
            actor=weeks["member"],
            now=now,
        )
    session.commit()
    form = _offer_form({weeks["crottin"].id: {"was": "20"}, weeks["tomme"].id: {"on": False}})
    assert post(f"/distributions/{weeks['this'].id}/offer", form).status_code == 302
    factories.fresh(session)
    own = {r.product_id: r for r in session.scalars(select(DistributionOffer))}
    assert own[weeks["crottin"].id].stock == 17 and own[weeks["crottin"].id].active is True
    assert own[weeks["tomme"].id].active is False and own[weeks["tomme"].id].stock is None
    page = client.get(f"/distributions/{weeks['this'].id}/offer").get_data(as_text=True)
    crottin_id = weeks["crottin"].id
    assert f'name="stock-{crottin_id}" id="stock-{crottin_id}"' in page
    assert 'value="17"' in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "Un stock ne peut pas être négatif."),
        ("abc", "Saisissez un nombre"),
        ("1,5", "à l’unité"),
        ("99999999", "Ce stock est trop grand."),
    ],
)
def test_a_bad_stock_gets_its_message_and_nothing_is_saved(
    client, auth, post, session, weeks, typed, message
):
    auth.login("c@example.test")
    form = _offer_form(
        {weeks["crottin"].id: {"was": "20", "stock": typed}, weeks["tomme"].id: {"on": False}}
    )
    response = post(f"/distributions/{weeks['this'].id}/offer", form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert f'value="{typed}"' in html  # what was typed stays in the field
    factories.fresh(session)
    assert session.scalars(select(DistributionOffer)).all() == []


def test_an_offer_change_is_in_the_audit_trail(app, session, now, weeks):
    with app.test_request_context():
        changed = offers.set_offer(
            session,
            weeks["this"],
            {weeks["crottin"].id: offers.OfferChange(active=False, stock=Decimal(5))},
            actor=weeks["coordinator"],
            now=now,
        )
    session.commit()
    assert changed == 1
    entry = session.scalar(select(AuditEntry))
    assert (entry.action, entry.target, entry.distribution_id) == (
        "edit_offer",
        "Crottin",
        weeks["this"].id,
    )
    assert entry.before == {"active": True, "stock": "20"}
    assert entry.after == {"active": False, "stock": "5"}


def test_the_offer_of_a_validated_day_cannot_change(app, session, now, weeks):
    validated = factories.distribution(
        session, group=weeks["group"], now=now, state="validated", catalogues=[weeks["catalogue"]]
    )
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        offers.set_offer(
            session,
            validated,
            {weeks["crottin"].id: offers.OfferChange(active=False)},
            actor=weeks["coordinator"],
            now=now,
        )
    assert error.value.status == 409


def test_a_product_of_another_catalogue_is_refused(client, auth, post, session, now, weeks):
    stranger = factories.product(
        session, catalogue=factories.catalogue(session, group=weeks["group"], name="Autre")
    )
    auth.login("c@example.test")
    response = post(f"/distributions/{weeks['this'].id}/offer", _offer_form({stranger.id: {}}))
    assert response.status_code == 404
    factories.fresh(session)
    assert session.scalars(select(DistributionOffer)).all() == []


def test_open_orders_now_then_close_them_now(client, auth, post, session, now, weeks):
    d = factories.distribution(
        session, group=weeks["group"], now=now, state="scheduled", catalogues=[weeks["catalogue"]]
    )
    auth.login("c@example.test")
    index = client.get("/distributions/").get_data(as_text=True)
    assert f"/distributions/{d.id}/open-now" in index and "Ouvrir les commandes maintenant" in index
    response = post(f"/distributions/{d.id}/open-now", {"next": f"/distributions/{d.id}/orders"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/distributions/{d.id}/orders")
    factories.fresh(session)
    d = session.get(Distribution, d.id)
    assert d.orders_open_at == now and d.status(now) == "open"
    status, page = refusal(client, post(f"/distributions/{d.id}/open-now"))
    assert status == 409 and "Les commandes sont déjà ouvertes." in page
    later = now + timedelta(minutes=5)
    client.application.config["FROZEN_NOW"] = later.isoformat()
    assert post(f"/distributions/{d.id}/close-now").status_code == 303
    factories.fresh(session)
    d = session.get(Distribution, d.id)
    assert d.orders_close_at == later and d.status(later) == "closed"
    status, page = refusal(client, post(f"/distributions/{d.id}/close-now"))
    assert status == 409 and "Commandes fermées le" in page
    trail = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in trail] == ["open_orders", "close_orders"]
    assert trail[1].after == {"orders_close_at": later.isoformat()}


def test_close_now_before_orders_open_is_refused(client, auth, post, session, now, weeks):
    d = factories.distribution(
        session, group=weeks["group"], now=now, state="scheduled", catalogues=[weeks["catalogue"]]
    )
    auth.login("c@example.test")
    status, page = refusal(client, post(f"/distributions/{d.id}/close-now"))
    assert status == 409 and "Les commandes ouvrent le" in page
    factories.fresh(session)
    assert session.scalars(select(AuditEntry)).all() == []


def test_open_now_with_a_next_elsewhere_goes_to_the_list(client, auth, post, session, now, weeks):
    d = factories.distribution(
        session, group=weeks["group"], now=now, state="scheduled", catalogues=[weeks["catalogue"]]
    )
    auth.login("c@example.test")
    response = post(f"/distributions/{d.id}/open-now", {"next": "//evil.example/"})
    assert response.headers["Location"].endswith("/distributions/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/distributions/{d}/offer"),
        ("post", "/distributions/{d}/offer"),
        ("post", "/distributions/{d}/open-now"),
        ("post", "/distributions/{d}/close-now"),
    ],
)
def test_members_cannot_change_the_offer_or_the_window(
    client, auth, post, session, now, weeks, method, path
):
    auth.login("m@example.test")
    url = path.format(d=weeks["this"].id)
    response = client.get(url) if method == "get" else post(url, _offer_form({}))
    assert response.status_code == 403
    factories.fresh(session)
    assert session.scalars(select(DistributionOffer)).all() == []
    assert (
        session.get(Distribution, weeks["this"].id).orders_close_at == weeks["this"].orders_close_at
    )


def test_another_groups_distribution_answers_404(client, auth, post, session, now, weeks):
    other = factories.group(session, now=now)
    foreign = factories.distribution(session, group=other, now=now, state="scheduled")
    auth.login("c@example.test")
    assert client.get(f"/distributions/{foreign.id}/offer").status_code == 404
    assert post(f"/distributions/{foreign.id}/open-now").status_code == 404


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


def test_offer_page_queries_do_not_grow_with_products(app, client, auth, session, now, weeks):
    auth.login("c@example.test")
    path = f"/distributions/{weeks['this'].id}/offer"
    before = _count_queries(app, client, path)
    for _ in range(30):
        p = factories.product(session, catalogue=weeks["catalogue"], stock=Decimal(4))
        session.add(DistributionOffer(distribution_id=weeks["this"].id, product_id=p.id, stock=1))
    session.commit()
    assert _count_queries(app, client, path) == before


def test_a_catalogue_manager_sets_the_offer_of_their_catalogue_only(
    client, auth, post, session, now, weeks
):
    from webapp.models import CatalogueManager, Membership

    other = factories.catalogue(session, group=weeks["group"], name="Pain")
    bread = factories.product(session, catalogue=other, name="Pain", price_cents=400)
    weeks["this"].catalogues.append(other)
    referent = factories.user(session, now=now, group=weeks["group"], email="r@example.test")
    membership = session.scalar(select(Membership).where(Membership.user_id == referent.id))
    session.add(CatalogueManager(membership_id=membership.id, catalogue_id=weeks["catalogue"].id))
    session.commit()
    auth.login("r@example.test")
    days = client.get(f"/catalogues/{weeks['catalogue'].id}/distributions").get_data(as_text=True)
    assert f"/distributions/{weeks['this'].id}/offer" in days
    page = client.get(f"/distributions/{weeks['this'].id}/offer").get_data(as_text=True)
    assert "Crottin" in page and "Pain" not in page  # only their catalogue
    crottin = weeks["crottin"]
    form = _offer_form({crottin.id: {"on": False, "was": "20"}})
    assert post(f"/distributions/{weeks['this'].id}/offer", form).status_code == 302
    # another catalogue's product is not theirs to change
    assert (
        post(
            f"/distributions/{weeks['this'].id}/offer", _offer_form({bread.id: {"on": False}})
        ).status_code
        == 404
    )
    factories.fresh(session)
    offer = session.get(DistributionOffer, (weeks["this"].id, crottin.id))
    assert offer.active is False
    assert session.get(DistributionOffer, (weeks["following"].id, crottin.id)) is None
    # a plain member may not
    auth.logout()
    auth.login("m@example.test")
    assert client.get(f"/distributions/{weeks['this'].id}/offer").status_code == 403


def test_a_manager_sees_no_coordinator_action_on_the_offer_page(client, auth, session, now, weeks):
    from webapp.models import CatalogueManager, Membership

    referent = factories.user(session, now=now, group=weeks["group"], email="r@example.test")
    membership = session.scalar(select(Membership).where(Membership.user_id == referent.id))
    session.add(CatalogueManager(membership_id=membership.id, catalogue_id=weeks["catalogue"].id))
    session.commit()
    auth.login("r@example.test")
    page = client.get(f"/distributions/{weeks['this'].id}/offer").get_data(as_text=True)
    assert "close-now" not in page and f"/distributions/{weeks['this'].id}/orders" not in page
    assert f"/catalogues/{weeks['catalogue'].id}/distributions" in page
