"""The sheet snapshot tells the tablet which lines are weighed, with plain decimal quantities;
the page gives the script the words for weighed lines in its language."""

import json
import re

from . import factories


def _day(session, now):
    group = factories.group(session, now=now, payment_methods=["cash"])
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    catalogue = factories.catalogue(session, group=group)
    return factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )


def test_sheet_page_words_for_weighed_lines(client, auth, session, now):
    d = _day(session, now)
    auth.login("c@example.test")
    page = client.get(f"/distributions/{d.id}/sheet", headers={"Accept-Language": "fr"})
    i18n = json.loads(
        re.search(r'<script type="application/json" id="i18n">(.*?)</script>', page.text, re.S)[1]
    )
    words = {**i18n["strings"], "units": i18n["units"]}  # one place: web/sheet.py sheet_i18n()
    assert words["weight"] == "Poids"
    assert words["weighed_as"] == "pesé\u00a0: %(quantity)s"  # the script fills it in
    assert words["weighed_quantity"] == "Quantité pesée de %(product)s"
    assert words["units"]["kg"] == "kg"
    assert words["taken"] == "Pris"  # the view's words are all still there


def test_snapshot_lines_say_weighed_and_write_quantities_plainly(client, auth, session, now):
    group = factories.group(session, now=now, payment_methods=["cash"])
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    member = factories.user(session, now=now, group=group, email="m@example.test")
    catalogue = factories.catalogue(session, group=group)
    carrots = factories.product(
        session, catalogue=catalogue, name="Carottes", price_cents=260, unit="kg", weighed=True
    )
    eggs = factories.product(session, catalogue=catalogue, name="Œufs", price_cents=3)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    factories.order(
        session, distribution=d, user=member, now=now, lines=[(carrots, "1.250"), (eggs, 10)]
    )
    auth.login("c@example.test")
    [basket] = client.get(f"/api/distributions/{d.id}/sheet").get_json()["baskets"]
    lines = {line["product"]: line for line in basket["lines"]}
    assert lines["Carottes"]["weighed"] is True
    assert lines["Carottes"]["quantity"] == "1.25"
    assert lines["Œufs"]["weighed"] is False
    assert lines["Œufs"]["quantity"] == "10"  # not "1E+1"
    assert basket["due_cents"] == 325 + 30
