"""Every CSV the product writes opens safely in a spreadsheet (no formula runs)."""

import pytest

from webapp.web.csvs import safe_cell

from . import factories


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 6 12", "'+33 6 12"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("-4,50", "-4,50"),  # a negative amount stays a number
        ("-1\u202f234,50", "-1\u202f234,50"),
        ("Dupont", "Dupont"),
        (12, 12),
        ("", ""),
    ],
)
def test_safe_cell(cell, written):
    assert safe_cell(cell) == written


def test_a_member_named_like_a_formula_is_text_in_the_orders_csv(client, auth, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    evil = factories.user(
        session, now=now, group=group, last_name="=cmd|' /C calc'!A0", phone="+33 6 00"
    )
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name="@Pain", price_cents=450)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    factories.order(session, distribution=d, user=evil, now=now, lines=[(bread, 1)])
    auth.login("c@example.test")
    for path in (
        f"/distributions/{d.id}/orders?format=csv",
        f"/distributions/{d.id}/summary?format=csv",
        "/members/balances?format=csv",
    ):
        text = client.get(path).get_data(as_text=True)
        cells = [c.strip('"') for line in text.splitlines() for c in line.split(";")]
        assert not any(c.startswith(("=", "+", "@")) for c in cells), (path, text)
