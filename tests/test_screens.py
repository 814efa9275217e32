"""What a person notices on the screens (issue 16): the shop's edge cases, guidance instead
of dead ends, confirmations before destructive actions, notifications that say what they
are about."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from webapp.models import DutyRole, OrderLine

from . import factories


@pytest.fixture
def shop(session, now, auth):
    group = factories.group(session, now=now)
    member = factories.user(session, now=now, group=group, email="m@example.test")
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(
        session, catalogue=catalogue, name="Pain", price_cents=450, stock=Decimal(3)
    )
    gone = factories.product(
        session, catalogue=catalogue, name="Brioche", price_cents=300, stock=Decimal(0)
    )
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    auth.login("m@example.test")
    return dict(group=group, member=member, bread=bread, gone=gone, d=d, catalogue=catalogue)


def _set(post, shop, product, q, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return post(
        f"/distributions/{shop['d'].id}/shop/products/{product.id}", {"q": q}, headers=headers
    )


def test_asking_more_than_is_left_says_what_was_granted(client, post, shop):
    response = _set(post, shop, shop["bread"], "9")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Pain : vous en demandiez 9, il en reste 3 : votre panier en contient 3." in html


def test_nothing_left_reads_sold_out_not_only_zero_left(client, post, shop):
    html = _set(post, shop, shop["gone"], "2", htmx=True).get_data(as_text=True)
    assert "Brioche est épuisé" in html
    assert "reste 0" not in html and "que 0" not in html
    page = client.get(f"/distributions/{shop['d'].id}/shop").get_data(as_text=True)
    assert "Épuisé" in page and "Reste\xa0: 0" not in page


def test_a_field_in_error_keeps_what_was_typed_without_javascript(post, session, shop):
    response = _set(post, shop, shop["bread"], "deux")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="deux"' in html and 'aria-invalid="true"' in html
    assert "Saisissez un nombre" in html
    assert session.scalars(select(OrderLine)).all() == []


def test_a_past_distributions_basket_opens_the_receipt(client, session, now, shop):
    past = factories.distribution(
        session, group=shop["group"], now=now, state="distributed", catalogues=[shop["catalogue"]]
    )
    basket = factories.order(
        session, distribution=past, user=shop["member"], now=now, lines=[(shop["bread"], 1)]
    )
    html = client.get("/").get_data(as_text=True)
    assert f'href="/baskets/{basket.id}"' in html
    receipt = client.get(f"/baskets/{basket.id}").get_data(as_text=True)
    assert "Retour à la boutique" not in receipt  # that shop is closed


def test_the_receipt_says_a_line_was_removed_and_why(client, session, now, shop):
    basket = factories.order(
        session, distribution=shop["d"], user=shop["member"], now=now, lines=[(shop["bread"], 2)]
    )
    line = basket.lines[0]
    line.ordered_quantity, line.quantity = Decimal(2), Decimal(0)
    line.removed_at = now - timedelta(hours=1)
    session.commit()
    html = client.get(f"/baskets/{basket.id}").get_data(as_text=True)
    assert "Retiré de votre panier" in html
    assert "commandé : 2" in html
    assert "Indisponible à cette distribution" in html and "non facturé" in html


def test_a_volunteer_not_on_duty_is_told_how_to_get_access(client, auth, session, now):
    group = factories.group(session, now=now)
    factories.user(
        session, now=now, group=group, role="coordinator", email="c@example.test", last_name="Co"
    )
    factories.user(session, now=now, group=group, email="v@example.test")
    session.add(DutyRole(group_id=group.id, name="Accueil"))  # a group with duties to take
    d = factories.distribution(session, group=group, now=now, state="closed")
    auth.login("v@example.test")
    response = client.get(f"/distributions/{d.id}/sheet")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "inscrivez-vous à une permanence" in html and 'href="/roster/"' in html
    assert "demandez le lien de la tablette" in html and "mailto:c@example.test" in html
    # the sheet's API still answers a bare 403 to its script
    assert client.get(f"/api/distributions/{d.id}/sheet").status_code == 403


def test_cancel_is_offered_only_before_the_day_and_says_what_will_happen(
    client, auth, session, now
):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    coming = factories.distribution(session, group=group, now=now, state="open")
    past = factories.distribution(session, group=group, now=now, state="distributed")
    auth.login("c@example.test")
    html = client.get("/distributions/").get_data(as_text=True)
    coming_card = html.split(f'id="distribution-{coming.id}"')[1].split("</li>")[0]
    past_card = html.split(f'id="distribution-{past.id}"')[1].split("</li>")[0]
    assert "/cancel" in coming_card and '<details class="confirm">' in coming_card
    assert "leurs paniers ne sont pas facturés" in coming_card
    assert "/cancel" not in past_card and "Annuler cette distribution" not in past_card


def test_destructive_validation_actions_sit_behind_a_confirmation(client, auth, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    member = factories.user(session, now=now, group=group, email="m@example.test")
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="distributed", catalogues=[catalogue]
    )
    factories.order(session, distribution=d, user=member, now=now, lines=[(bread, 1)])
    auth.login("c@example.test")
    html = client.get(f"/distributions/{d.id}/validation").get_data(as_text=True)
    assert "Marquer Pain non livré" in html
    assert "passe à zéro dans tous les paniers du jour" in html
    details = html.split('<details class="confirm">')
    assert any("not-delivered" in part.split("</details>")[0] for part in details[1:])


def _basket_titles(app, session, now, starts_at):
    from webapp.cli import queue_reminders
    from webapp.models import OutboxMessage

    group = factories.group(session, now=now, name="AMAP du Lavoir")
    member = factories.user(session, now=now, group=group, email="m@example.test")
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name="Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    d.starts_at, d.ends_at = starts_at, starts_at + timedelta(hours=2)
    session.commit()
    factories.order(session, distribution=d, user=member, now=now, lines=[(bread, 1)])
    queue_reminders(app, now=now)
    factories.fresh(session)
    return [
        m.title
        for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "basket_tomorrow")
        )
    ]


def test_the_basket_reminder_says_tomorrow_only_when_it_is_tomorrow(app, session, now):
    # now: Tuesday 24 November 2026, 11:00 in Paris; the distribution starts at 14:00
    titles = _basket_titles(app, session, now, now + timedelta(hours=3))
    assert titles == ["AMAP du Lavoir : votre panier est prêt aujourd’hui"]


def test_the_basket_reminder_for_tomorrow_names_the_group(app, session, now):
    titles = _basket_titles(app, session, now, now + timedelta(hours=22))
    assert titles == ["AMAP du Lavoir : votre panier est prêt pour demain"]


def test_reminders_name_the_group_and_the_day_with_absolute_links(app, session, now):
    from webapp.cli import queue_reminders
    from webapp.models import OutboxMessage

    group = factories.group(session, now=now, name="AMAP du Lavoir")
    factories.user(session, now=now, group=group, email="m@example.test", locale="en")
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.commit()
    queue_reminders(app, now=now)
    factories.fresh(session)
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "orders_open")
    ).one()
    assert message.title == "AMAP du Lavoir: orders are open for Sunday, November 29, 2026"
    assert message.body.startswith("Order until Thursday, November 26, 11:00")
    assert message.url.startswith("http")


def test_empty_lists_say_what_to_do_next(client, auth, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    factories.user(session, now=now, group=group, email="m@example.test")
    auth.login("m@example.test")
    assert "dès que vous commandez" in client.get("/orders").get_data(as_text=True)
    assert "une fois la journée validée" in client.get("/account/history").get_data(as_text=True)
    assert "prévenu à l’ouverture des commandes" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login("c@example.test")
    html = client.get("/distributions/").get_data(as_text=True)
    assert "Planifier une distribution" in html
