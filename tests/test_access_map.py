"""Who reaches what, for the whole URL map: every route x every actor -> the answer.

`EXPECTED` names the rule of every (method, endpoint) of `app.url_map`; `RULES` gives
each rule's answer for each actor of `world.ACTORS`. A new route without a line here
fails `test_every_route_has_a_rule`; a route answering otherwise than its rule fails
`test_route_answers_as_its_rule_says`.

Answers: "ok" the actor reached the page or the action (2xx, 3xx, or a form refused
for its content: 400/409/413 or a 303 with X-Refused of those); "login" sent to sign in
(or 401); 403 refused; 404 does not exist for them. A POST is sent with a valid CSRF
token and no other field (JSON routes: `{}`), so it stops at the first check that
refuses. The world is built once for the module; every request's transaction is rolled
back, so no request changes what the next one sees.
"""

from __future__ import annotations

import os
import uuid

import pytest
from flask import g
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from webapp.db_setup import read_only_transaction
from webapp.extensions import db
from webapp.models import TabletLink
from webapp.services import tablets

from . import world as world_module
from .conftest import NOW, csrf_token, fresh_app
from .world import ACTORS

OK, LOGIN = "ok", "login"

# rule -> answer per actor, in world.ACTORS' order:
#   anonymous, member, member_other_group, volunteer_on_duty, volunteer_off_duty,
#   producer, producer_other, manager, coordinator_other_group, coordinator
# fmt: off
RULES: dict[str, tuple] = {
    # anyone: signing in, joining, the app's shell; a token is checked by its page
    "public": ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    # anyone signed in: their own account and data
    "signed_in": ("login", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    # no such token or file: nobody
    "nobody": (404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    # signing out: everyone ends on the sign-in page
    "logout": ("login", "login", "login", "login", "login", "login", "login", "login", "login", "login"),
    # a member of a group, in their own group
    "member": ("login", "ok", "ok", "ok", "ok", 403, 403, "ok", "ok", "ok"),
    # members of the row's group
    "group_member": ("login", "ok", 404, "ok", "ok", 403, 403, "ok", 404, "ok"),
    # members of that group (others: no such group)
    "group_member_switch": ("login", "ok", 404, "ok", "ok", 404, 404, "ok", 404, "ok"),
    # the basket's member only
    "basket_owner": ("login", "ok", 404, 404, 404, 403, 403, 404, 404, 404),
    # the message's recipients and its author
    "message_recipient": ("login", "ok", 404, 404, 404, 403, 403, 404, 404, "ok"),
    # the day's sheet: coordinators, volunteers on duty (and a tablet link)
    "sheet": ("login", 403, 404, "ok", 403, 404, 404, 403, 404, "ok"),
    # the duty's volunteer and the coordinators
    "duty_owner": ("login", 403, 404, 403, "ok", 403, 403, 403, 404, "ok"),
    # signing up for a day whose sign-up is over: nobody
    "duty_signup_closed": ("login", 404, 404, 404, 404, 403, 403, 404, 404, 404),
    # producers with an account
    "producer": ("login", 403, 403, 403, 403, "ok", "ok", 403, 403, 403),
    # the catalogue's coordinators, managers and producer
    "catalogue": ("login", 403, 404, 403, 403, "ok", 403, "ok", 404, "ok"),
    # the catalogue's coordinators and managers, not its producer
    "catalogue_day": ("login", 403, 404, 403, 403, 403, 403, "ok", 404, "ok"),
    # catalogue managers and coordinators, in their own group
    "managers": ("login", 403, 403, 403, 403, 403, 403, "ok", "ok", "ok"),
    # coordinators, in their own group
    "coordinator": ("login", 403, 403, 403, 403, 403, 403, 403, "ok", "ok"),
    # coordinators of the row's group; other groups do not see it exists
    "coordinator_of_the_row": ("login", 403, 403, 403, 403, 403, 403, 403, 404, "ok"),
    # an AMAP subscription: its subscriber (and partner) and the group's coordinators
    "subscriber": ("login", "ok", 404, 404, 404, 403, 403, 404, 404, "ok"),
}

# (method, route, endpoint, rule), every route of app.url_map
EXPECTED = [
    ("GET", "/", "main.home", "signed_in"),
    ("GET", "/account/", "account.profile", "signed_in"),
    ("POST", "/account/", "account.profile", "signed_in"),
    ("GET", "/account/delete", "privacy.delete", "signed_in"),
    ("POST", "/account/delete", "privacy.delete", "signed_in"),
    ("GET", "/account/export", "privacy.export", "signed_in"),
    ("GET", "/account/history", "validation.history", "member"),
    ("GET", "/account/notifications", "account.notifications", "signed_in"),
    ("POST", "/account/notifications", "account.notifications", "signed_in"),
    ("POST", "/account/password", "account.password", "signed_in"),
    ("POST", "/account/sessions/end", "account.end_other_sessions", "signed_in"),
    ("POST", "/api/distributions/<int:distribution_id>/events", "sheet.api_events", "sheet"),
    ("GET", "/api/distributions/<int:distribution_id>/sheet", "sheet.api_snapshot", "sheet"),
    ("GET", "/baskets/<int:basket_id>", "shop.receipt", "basket_owner"),
    ("GET", "/catalogues/", "catalogues.index", "managers"),
    ("GET", "/catalogues/<int:catalogue_id>", "catalogues.show", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/archive", "catalogues.archive", "coordinator_of_the_row"),
    ("GET", "/catalogues/<int:catalogue_id>/distributions", "reports.catalogue_days", "catalogue"),
    ("GET", "/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>", "reports.catalogue_orders", "catalogue"),
    ("GET", "/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>/purchase-order.pdf", "reports.purchase_order_pdf", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>/remove-unavailable", "reports.remove_unavailable", "catalogue_day"),
    ("POST", "/catalogues/<int:catalogue_id>/duplicate", "catalogues.duplicate", "coordinator_of_the_row"),
    ("GET", "/catalogues/<int:catalogue_id>/edit", "catalogues.edit", "coordinator_of_the_row"),
    ("POST", "/catalogues/<int:catalogue_id>/edit", "catalogues.edit", "coordinator_of_the_row"),
    ("GET", "/catalogues/<int:catalogue_id>/import", "catalogues.import_products", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/import", "catalogues.import_products", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/managers", "catalogues.add_manager", "coordinator_of_the_row"),
    ("POST", "/catalogues/<int:catalogue_id>/managers/<int:membership_id>/remove", "catalogues.remove_manager", "coordinator_of_the_row"),
    ("GET", "/catalogues/<int:catalogue_id>/products/<int:product_id>", "catalogues.product", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/products/<int:product_id>", "catalogues.product", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/products/<int:product_id>/archive", "catalogues.archive_product", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/products/active", "catalogues.bulk_active", "catalogue"),
    ("GET", "/catalogues/<int:catalogue_id>/products/new", "catalogues.product", "catalogue"),
    ("POST", "/catalogues/<int:catalogue_id>/products/new", "catalogues.product", "catalogue"),
    ("GET", "/catalogues/new", "catalogues.edit", "coordinator"),
    ("POST", "/catalogues/new", "catalogues.edit", "coordinator"),
    ("GET", "/catalogues/producers/<int:producer_id>", "catalogues.producer", "coordinator_of_the_row"),
    ("POST", "/catalogues/producers/<int:producer_id>", "catalogues.producer", "coordinator_of_the_row"),
    ("POST", "/catalogues/producers/<int:producer_id>/archive", "catalogues.archive_producer", "coordinator_of_the_row"),
    ("POST", "/catalogues/producers/<int:producer_id>/invite", "catalogues.invite_producer", "coordinator_of_the_row"),
    ("GET", "/catalogues/producers/new", "catalogues.producer", "coordinator"),
    ("POST", "/catalogues/producers/new", "catalogues.producer", "coordinator"),
    ("GET", "/contracts/", "contracts.index", "member"),
    ("GET", "/contracts/<int:contract_id>", "contracts.show", "coordinator_of_the_row"),
    ("POST", "/contracts/<int:contract_id>/archive", "contracts.archive", "coordinator_of_the_row"),
    ("POST", "/contracts/<int:contract_id>/edit", "contracts.edit", "coordinator_of_the_row"),
    ("GET", "/contracts/<int:contract_id>/export.csv", "contracts.csv", "coordinator_of_the_row"),
    ("GET", "/contracts/<int:contract_id>/signup", "contracts.signup", "group_member"),
    ("POST", "/contracts/<int:contract_id>/signup", "contracts.signup_post", "group_member"),
    ("GET", "/contracts/new", "contracts.new", "coordinator"),
    ("POST", "/contracts/new", "contracts.create", "coordinator"),
    ("POST", "/contracts/payments/<int:payment_id>/cash", "contracts.cash", "coordinator_of_the_row"),
    ("POST", "/contracts/payments/<int:payment_id>/receive", "contracts.receive", "coordinator_of_the_row"),
    ("GET", "/contracts/subscriptions/<int:subscription_id>", "contracts.subscription", "subscriber"),
    ("POST", "/contracts/subscriptions/<int:subscription_id>/absences", "contracts.absence", "subscriber"),
    ("POST", "/contracts/subscriptions/<int:subscription_id>/absences/withdraw", "contracts.withdraw_absence", "subscriber"),
    ("POST", "/contracts/subscriptions/<int:subscription_id>/cancel", "contracts.cancel", "subscriber"),
    ("GET", "/contracts/subscriptions/<int:subscription_id>/document", "contracts.document", "subscriber"),
    ("GET", "/contracts/subscriptions/<int:subscription_id>/document.pdf", "contracts.document_pdf", "subscriber"),
    ("POST", "/contracts/subscriptions/<int:subscription_id>/schedule", "contracts.schedule", "coordinator_of_the_row"),
    ("POST", "/contracts/subscriptions/<int:subscription_id>/validate", "contracts.validate", "coordinator_of_the_row"),
    ("GET", "/distributions/", "distributions.index", "coordinator"),
    ("GET", "/distributions/<int:distribution_id>/baskets/<int:user_id>", "distributions.edit_basket", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/baskets/<int:user_id>", "distributions.edit_basket", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/baskets/pick", "distributions.pick_member", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/cancel", "distributions.cancel", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/close-now", "distributions.close_now", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/edit", "distributions.edit", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/edit", "distributions.edit", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/offer", "distributions.offer", "catalogue_day"),
    ("POST", "/distributions/<int:distribution_id>/offer", "distributions.offer", "catalogue_day"),
    ("POST", "/distributions/<int:distribution_id>/open-now", "distributions.open_now", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/orders", "distributions.orders", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/remove-unavailable", "distributions.remove_unavailable", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/sheet", "sheet.page", "sheet"),
    ("GET", "/distributions/<int:distribution_id>/shop", "shop.shop", "group_member"),
    ("POST", "/distributions/<int:distribution_id>/shop", "shop.save", "group_member"),
    ("POST", "/distributions/<int:distribution_id>/shop/products/<int:product_id>", "shop.line", "group_member"),
    ("GET", "/distributions/<int:distribution_id>/signin", "reports.signin", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/signin.pdf", "reports.signin_pdf", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/summary", "reports.summary", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/tablet", "sheet.tablet_link", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/tablet", "sheet.tablet_link", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/tablet/revoke", "sheet.revoke_tablet_links", "coordinator_of_the_row"),
    ("GET", "/distributions/<int:distribution_id>/validation", "validation.page", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/validation/baskets/<int:basket_id>/<action>", "validation.basket_action", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/validation/cash-up", "validation.cash_up", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/validation/products/<int:product_id>/<action>", "validation.product_action", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/validation/undo", "validation.undo", "coordinator_of_the_row"),
    ("POST", "/distributions/<int:distribution_id>/validation/validate", "validation.validate", "coordinator_of_the_row"),
    ("GET", "/distributions/new", "distributions.new", "coordinator"),
    ("POST", "/distributions/new", "distributions.new", "coordinator"),
    ("POST", "/group", "main.switch_group", "group_member_switch"),
    ("GET", "/groups/", "groups.index", "signed_in"),
    ("POST", "/groups/<int:group_id>/leave", "groups.leave", "group_member_switch"),
    ("GET", "/groups/join/<token>", "groups.ask_to_join", "public"),
    ("POST", "/groups/join/<token>", "groups.ask_to_join", "public"),
    ("GET", "/groups/join/<token>/sent", "groups.join_sent", "public"),
    ("GET", "/groups/new", "groups.new", "public"),
    ("POST", "/groups/new", "groups.new", "public"),
    ("GET", "/healthz", "main.healthz", "public"),
    ("GET", "/join/<token>", "auth.join", "nobody"),
    ("POST", "/join/<token>", "auth.join", "nobody"),
    ("POST", "/lang", "main.set_language", "public"),
    ("GET", "/login", "auth.login", "public"),
    ("POST", "/login", "auth.login", "public"),
    ("GET", "/login/link", "auth.request_signin_link", "public"),
    ("POST", "/login/link", "auth.request_signin_link", "public"),
    ("GET", "/login/link/<token>", "auth.signin_link", "public"),
    ("POST", "/login/link/<token>", "auth.signin_link", "public"),
    ("POST", "/logout", "auth.logout", "logout"),
    ("GET", "/manifest.webmanifest", "pwa.manifest", "public"),
    ("GET", "/members/", "members.index", "coordinator"),
    ("POST", "/members/<int:membership_id>/remove", "members.remove", "coordinator_of_the_row"),
    ("POST", "/members/<int:membership_id>/role", "members.change_role", "coordinator_of_the_row"),
    ("POST", "/members/<int:user_id>/erase", "privacy.member_erase", "coordinator_of_the_row"),
    ("GET", "/members/<int:user_id>/export", "privacy.member_export", "coordinator_of_the_row"),
    ("GET", "/members/<int:user_id>/history", "validation.member_history", "coordinator_of_the_row"),
    ("GET", "/members/<int:user_id>/privacy", "privacy.member", "coordinator_of_the_row"),
    ("GET", "/members/balances", "validation.balances", "coordinator"),
    ("POST", "/members/balances", "validation.record_money", "coordinator_of_the_row"),
    ("GET", "/members/import", "members.import_members", "coordinator"),
    ("POST", "/members/import", "members.import_members", "coordinator"),
    ("POST", "/members/import/confirm", "members.confirm_members_import", "coordinator"),
    ("POST", "/members/invite", "members.invite", "coordinator"),
    ("GET", "/members/join-link", "members.join_link", "coordinator"),
    ("POST", "/members/join-link", "members.join_link", "coordinator"),
    ("GET", "/members/requests", "members.requests", "coordinator"),
    ("POST", "/members/requests/<int:request_id>/<any(accept, refuse):decision>", "members.decide_request", "coordinator_of_the_row"),
    ("GET", "/members/settings", "members.settings", "coordinator"),
    ("POST", "/members/settings", "members.settings", "coordinator"),
    ("GET", "/memberships/", "memberships.index", "coordinator"),
    ("POST", "/memberships/fees", "memberships.record_fee", "coordinator_of_the_row"),
    ("GET", "/memberships/mine", "memberships.mine", "member"),
    ("POST", "/memberships/settings", "memberships.settings", "coordinator"),
    ("GET", "/messages/", "messages.inbox", "member"),
    ("GET", "/messages/<int:message_id>", "messages.show", "message_recipient"),
    ("GET", "/messages/new", "messages.new", "managers"),
    ("POST", "/messages/new", "messages.new", "managers"),
    ("GET", "/messages/sent", "messages.sent", "managers"),
    ("GET", "/offline", "pwa.offline", "public"),
    ("GET", "/orders", "shop.orders", "member"),
    ("GET", "/password/forgot", "auth.forgot_password", "public"),
    ("POST", "/password/forgot", "auth.forgot_password", "public"),
    ("GET", "/password/reset/<token>", "auth.reset_password", "public"),
    ("POST", "/password/reset/<token>", "auth.reset_password", "public"),
    ("GET", "/photos/<path:name>", "main.photo", "nobody"),
    ("GET", "/places", "distributions.places", "coordinator"),
    ("POST", "/places", "distributions.places", "coordinator"),
    ("GET", "/privacy", "privacy.page", "public"),
    ("GET", "/producer/", "reports.producer_home", "producer"),
    ("GET", "/producer/catalogues/<int:catalogue_id>/distributions/<int:distribution_id>", "reports.producer_orders", "catalogue"),
    ("GET", "/push/key", "push.key", "public"),
    ("POST", "/push/subscriptions", "push.subscribe", "signed_in"),
    ("POST", "/push/test", "push.test", "signed_in"),
    ("GET", "/roster/", "roster.index", "member"),
    ("POST", "/roster/<int:distribution_id>/signup", "roster.signup", "duty_signup_closed"),
    ("POST", "/roster/duties/<int:duty_id>/withdraw", "roster.withdraw", "duty_owner"),
    ("POST", "/roster/roles", "roster.add_role", "coordinator"),
    ("GET", "/sheet/waiting", "sheet.waiting_message", "public"),
    ("GET", "/static/<path:filename>", "static", "public"),
    ("GET", "/sw-manifest.json", "pwa.service_worker_manifest", "public"),
    ("GET", "/sw.js", "pwa.service_worker", "public"),
    ("GET", "/tablet/<token>", "sheet.open_tablet", "public"),
]
# fmt: on


def url_map_routes(app):
    """(method, endpoint, rule) for every route, HEAD and OPTIONS aside."""
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.endpoint, rule


def url_values(app, rule, ids: dict) -> dict:
    values = {}
    for name in rule.arguments:
        if name in ids:
            values[name] = ids[name]
        elif name == "token":
            values[name] = ids["tokens"].get(rule.endpoint, "no-such-token-0123456789")
        elif name == "action":
            values[name] = "not-delivered" if "product" in rule.rule else "payment"
        elif name == "decision":
            values[name] = "accept"
        elif name == "name":
            values[name] = "no-such-photo.jpg"
        elif name == "filename":
            values[name] = "sw.js"
        else:  # pragma: no cover - a new kind of argument: tell the test how to fill it
            raise AssertionError(f"no value for <{name}> of {rule.rule}")
    return values


@pytest.fixture(scope="module")
def mapped(database, tmp_path_factory):
    """The app, the world and a signed-in cookie jar per actor, built once."""
    folder = tmp_path_factory.mktemp("access-map")
    app = fresh_app(database, folder)

    probing = []  # once the actors are signed in (their sign-ins written), nothing is kept

    @app.after_request
    def _roll_back_everything(response):  # runs before the request's own commit hook
        if probing:
            g.refused = True
        return response

    token = read_only_transaction.set(True)
    try:
        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with Session(bind=engine, expire_on_commit=False) as session:
            built = world_module.build(session, NOW)
            link = session.get(TabletLink, built["ids"]["tablet_link_id"])
            tablet_token = tablets.sign(app.secret_key, link)
        engine.dispose()
    finally:
        read_only_transaction.reset(token)
    ids = dict(built["ids"])
    # The ids a form names (whose balance, which group): the member's, in their group.
    ids["form"] = {
        "user_id": str(ids["user_id"]),
        "membership_id": str(ids["membership_id"]),
        "group_id": str(ids["group_id"]),
        "product_id": str(ids["product_id"]),
    }
    ids["tokens"] = {
        "groups.ask_to_join": world_module.JOIN_TOKEN,
        "groups.join_sent": world_module.JOIN_TOKEN,
        "sheet.open_tablet": tablet_token,
    }
    jars = {}
    for actor in ACTORS:
        client = app.test_client()
        if actor != "anonymous":
            from .factories import PASSWORD

            data = {
                "email": built["emails"][actor],
                "password": PASSWORD,
                "csrf_token": csrf_token(client),
            }
            assert client.post("/login", data=data).status_code == 302, actor
        token_value = csrf_token(client, "/login" if actor == "anonymous" else "/account/")
        jars[actor] = (
            [(c.key, c.value) for c in client._cookies.values()],
            token_value,
        )
    probing.append(True)
    yield app, ids, jars
    with app.app_context():
        db.engine.dispose()


def answer(app, jar, method: str, url: str, form: dict) -> str | int:
    cookies, token = jar
    client = app.test_client()
    for key, value in cookies:
        client.set_cookie(key, value, domain="localhost")
    if method == "GET":
        response = client.get(url)
    elif url.startswith(("/api/", "/push/")):
        response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
    else:
        data = {"csrf_token": token, "form_key": uuid.uuid4().hex, **form}
        response = client.open(url, method=method, data=data)
    status = int(response.headers.get("X-Refused", response.status_code))
    assert status < 500, f"{method} {url}: {response.status_code}"
    location = response.headers.get("Location", "")
    if status == 401 or (status in (302, 303) and "/login" in location and "/login" not in url):
        return LOGIN
    if status in (403, 404):
        return status
    return OK


def observed_table(app, ids, jars) -> dict:
    table = {}
    for method, endpoint, rule in url_map_routes(app):
        url = app.url_map.bind("localhost").build(endpoint, url_values(app, rule, ids))
        url = url.replace("http://localhost", "")
        row = tuple(answer(app, jars[actor], method, url, ids["form"]) for actor in ACTORS)
        table.setdefault((method, endpoint), {})[rule.rule] = row
    return table


@pytest.mark.skipif(not os.environ.get("ACCESS_MAP_PRINT"), reason="a tool: prints the table")
def test_print_observed_table(mapped):
    app, ids, jars = mapped
    for (method, endpoint), by_rule in sorted(observed_table(app, ids, jars).items()):
        for path, row in by_rule.items():
            print(f"ROW {method!r} {path!r} {endpoint!r} {row!r}")


def test_every_route_has_a_rule(mapped):
    """A new route fails here until it has its line in EXPECTED (and a rule in RULES)."""
    app = mapped[0]
    in_map = {(method, rule.rule) for method, _endpoint, rule in url_map_routes(app)}
    in_table = {(method, path) for method, path, _endpoint, _rule in EXPECTED}
    assert in_map - in_table == set(), "routes without a rule"
    assert in_table - in_map == set(), "rules of routes that no longer exist"
    endpoints = {rule.endpoint for _method, _endpoint, rule in url_map_routes(app)}
    assert {endpoint for _m, _p, endpoint, _r in EXPECTED} == endpoints
    assert len(in_table) == len(EXPECTED), "a route listed twice"
    assert {rule for *_, rule in EXPECTED} <= set(RULES)
    assert all(len(row) == len(ACTORS) for row in RULES.values())


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "rule"),
    [pytest.param(*line, id=f"{line[0]} {line[1]}") for line in EXPECTED],
)
def test_route_answers_as_its_rule_says(mapped, method, path, endpoint, rule):
    app, ids, jars = mapped
    url_rule = next(
        r for r in app.url_map.iter_rules() if r.rule == path and r.endpoint == endpoint
    )
    url = app.url_map.bind("localhost").build(endpoint, url_values(app, url_rule, ids))
    url = url.replace("http://localhost", "")
    observed = {actor: answer(app, jars[actor], method, url, ids["form"]) for actor in ACTORS}
    expected = dict(zip(ACTORS, RULES[rule], strict=True))
    assert observed == expected
