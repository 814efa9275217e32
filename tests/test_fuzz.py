"""No 500 on bad input, and nothing written when the answer is a refusal.

First the known cases of the security review, one by one; then Hypothesis drives every
form and JSON endpoint of `app.url_map` (writes, and GETs reading query parameters) as a
coordinator, with random values in the fields the page's own form has (parsed from the
GET page when there is one, else the fields the view reads). After each request: no 500,
and when the answer is a refusal (4xx, or a 303 with X-Refused) nothing is written: the
row count of every table is unchanged, both in the request's own transaction just before
it would commit and in the database afterwards. FUZZ_EXAMPLES=200 runs it longer (default:
a few per endpoint).

The world (tests/world.py) is built once for the module, as for the access map: every
request's transaction is rolled back after it has been checked, so each example starts
from the same world without rebuilding it.
"""

from __future__ import annotations

import inspect
import os
import re
import uuid
from html.parser import HTMLParser

import pytest
from flask import g
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from webapp.db_setup import read_only_transaction
from webapp.extensions import db

from . import world as world_module
from .conftest import NOW, csrf_token, fresh_app
from .factories import PASSWORD

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))


def refused(response) -> bool:
    return response.status_code >= 400 or "X-Refused" in response.headers


def counts(session) -> dict[str, int]:
    session.rollback()
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


@pytest.fixture(scope="module")
def fuzzed(database, tmp_path_factory):
    """The app and the world, built once; the coordinator's signed-in cookies and token.

    Every request is checked, then rolled back: an `after_request` hook (it runs before
    the app's own, which commits) notes the row counts of the request's transaction when
    the app would commit it, then marks the request refused so that the app rolls back.
    """
    folder = tmp_path_factory.mktemp("fuzz")
    app = fresh_app(database, folder)
    seen: dict = {}
    probing = []  # once the coordinator is signed in (the sign-in written), nothing is kept

    @app.after_request
    def _check_then_roll_back(response):
        if not probing:
            return response
        would_commit = response.status_code < 400 and not g.get("refused")
        seen["committing"] = counts_now(db.session) if would_commit else None
        g.refused = True
        return response

    token = read_only_transaction.set(True)
    try:
        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        with Session(bind=engine, expire_on_commit=False) as session:
            built = world_module.build(session, NOW)
        engine.dispose()
    finally:
        read_only_transaction.reset(token)
    client = app.test_client()
    data = {
        "email": built["emails"]["coordinator"],
        "password": PASSWORD,
        "csrf_token": csrf_token(client),
    }
    assert client.post("/login", data=data).status_code == 302
    token_value = csrf_token(client, "/account/")
    cookies = [(c.key, c.value) for c in client._cookies.values()]
    probing.append(True)
    yield {"app": app, "built": built, "cookies": cookies, "token": token_value, "seen": seen}
    with app.app_context():
        db.engine.dispose()


def counts_now(session) -> dict[str, int]:
    """Row counts as this session sees them, its pending writes included."""
    session.flush()
    return {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


# The conftest's fixtures of the same names, on the module's world instead of a new one.
@pytest.fixture
def app(fuzzed):
    return fuzzed["app"]


@pytest.fixture
def built(fuzzed):
    return fuzzed["built"]


@pytest.fixture
def session(app):
    token = read_only_transaction.set(True)  # the test's reads must not hold SQLite's lock
    with app.app_context():
        engine = db.engine
    test_session = Session(bind=engine, expire_on_commit=False)
    yield test_session
    test_session.rollback()
    test_session.close()
    read_only_transaction.reset(token)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def coordinator(client, fuzzed):
    """Signs this client in as the coordinator; its CSRF token."""
    for key, value in fuzzed["cookies"]:
        client.set_cookie(key, value, domain="localhost")
    return fuzzed["token"]


def test_the_harness_sees_what_a_request_would_commit_then_rolls_it_back(
    client, session, coordinator, fuzzed
):
    """What the fuzz test relies on: the hook counts the rows a committing request wrote,
    and nothing a request does outlives it, so every example starts from the same world."""
    before = counts(session)
    fuzzed["seen"].clear()
    response = client.post(
        "/places", data={"csrf_token": coordinator, "name": "Halle", "address": ""}
    )
    assert response.status_code < 400 and not refused(response)
    committing = fuzzed["seen"]["committing"]
    assert committing["places"] == before["places"] + 1
    assert counts(session) == before


# ---- the review's cases ------------------------------------------------------------------


def test_json_nested_5000_deep_or_100000_brackets_is_refused(client, built, coordinator):
    for body in ("[" * 5000 + "]" * 5000, "[" * 100000):
        for path in (
            "/push/subscriptions",
            f"/api/distributions/{built['ids']['distribution_id']}/events",
        ):
            response = client.post(
                path,
                data=body,
                content_type="application/json",
                headers={"X-CSRFToken": coordinator},
            )
            assert response.status_code == 400, (path, response.status_code)
            assert response.get_json()["message"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_recorded_at_in_year_1_or_9999_is_refused_with_a_reason(client, built, coordinator, moment):
    event = {
        "id": str(uuid.uuid4()),
        "device_id": "tablet-1",
        "kind": "payment",
        "basket_id": built["ids"]["basket_id"],
        "recorded_at": moment,
        "payload": {"method": "cash", "amount_cents": 100},
    }
    response = client.post(
        f"/api/distributions/{built['ids']['distribution_id']}/events",
        json={"device_id": "tablet-1", "events": [event]},
        headers={"X-CSRFToken": coordinator},
    )
    assert response.status_code < 500
    body = response.get_json()
    assert "bad_recorded_at" in str(body)


@pytest.mark.parametrize("value", ["NaN", "sNaN", "²", "Infinity", "1e999999"])
@pytest.mark.parametrize(
    "field", ["vat_rates", "duty_signup_days", "duty_reminder_days", "max_members"]
)
def test_group_settings_refuse_what_is_not_a_number(
    client, session, built, coordinator, field, value
):
    form = {
        "csrf_token": coordinator,
        "name": "AMAP du Centre",
        "payment_methods": ["cash"],
        "vat_rates": "5,5 ; 20",
        "sheet_instructions": "",
        "duty_signup_days": "30",
        "duty_reminder_days": "2",
        "max_members": "",
        field: value,
    }
    before = counts(session)
    response = client.post("/members/settings", data=form)
    assert response.status_code == 400 or "X-Refused" in response.headers
    assert counts(session) == before


@pytest.mark.parametrize("count", ["²", "NaN", "99999999999999999999"])
def test_a_series_count_that_is_not_a_number_is_refused(client, session, built, coordinator, count):
    response = client.post(
        "/distributions/new",
        data={"csrf_token": coordinator, "repeat": "weekly", "count": count},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("year", ["9999", "2999"])
def test_distribution_dates_far_away_are_refused(client, session, built, coordinator, year):
    page = client.get("/distributions/new").get_data(as_text=True)
    place = re.search(r'name="place_id"[^>]*value="(\d+)"|<option value="(\d+)"', page)
    form = {
        "csrf_token": coordinator,
        "place_id": next(g for g in place.groups() if g) if place else "1",
        "catalogue_id": str(built["ids"]["catalogue_id"]),
        "starts_at": f"{year}-12-30T18:00",
        "ends_at": f"{year}-12-30T20:00",
        "orders_open_at": f"{year}-12-20T18:00",
        "orders_close_at": f"{year}-12-28T18:00",
        "repeat": "monthly",
        "count": "12",
    }
    before = counts(session)
    response = client.post("/distributions/new", data=form)
    assert response.status_code == 400
    assert counts(session) == before


def test_an_unknown_refund_method_is_refused(client, session, built, coordinator):
    ids = built["ids"]
    before = counts(session)
    response = client.post(
        f"/distributions/{ids['distribution_id']}/validation/baskets/{ids['basket_id']}/refund",
        data={
            "csrf_token": coordinator,
            "form_key": uuid.uuid4().hex,
            "amount": "1",
            "method": "bitcoin",
        },
    )
    assert refused(response) and response.status_code < 500
    assert counts(session) == before


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_25_digit_id_is_a_missing_page(client, auth, built, signed_in):
    if signed_in:
        auth.login(built["emails"]["coordinator"])
    big = "1" * 25
    for path in (
        f"/distributions/{big}/shop",
        f"/catalogues/{big}",
        f"/members/{big}/history",
        f"/baskets/{big}",
        f"/distributions/{2**31}/sheet",
    ):
        assert client.get(path).status_code == 404, path


def test_nul_characters_are_refused_everywhere(client, session, built, coordinator):
    before = counts(session)
    response = client.post(
        "/members/settings",
        data={"csrf_token": coordinator, "name": "AMAP\x00", "payment_methods": ["cash"]},
    )
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert client.get("/members/?q=a%00b").status_code == 400
    response = client.post(
        "/push/subscriptions",
        json={"endpoint": "https://push.example.com/\u0000"},
        headers={"X-CSRFToken": coordinator},
    )
    assert response.status_code == 400
    assert counts(session) == before


def test_an_over_long_name_is_refused_with_its_field(client, session, built, coordinator):
    before = counts(session)
    response = client.post(
        "/places", data={"csrf_token": coordinator, "name": "x" * 5000, "address": ""}
    )
    assert refused(response) and response.status_code < 500
    assert counts(session) == before
    factories_session_is_clean = counts(session) == before
    assert factories_session_is_clean


# ---- every form and JSON endpoint of the URL map -------------------------------------------


class _Forms(HTMLParser):
    """The fields of the forms on a page: name -> (tag/type, options)."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict]] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(((attrs.get("action") or ""), {}))
        elif tag in ("input", "select", "textarea") and self.forms and attrs.get("name"):
            kind = attrs.get("type", tag) if tag == "input" else tag
            self.forms[-1][1].setdefault(attrs["name"], (kind, []))
            if tag == "select":
                self._select = attrs["name"]
            elif kind in ("radio", "checkbox") and attrs.get("value"):
                self.forms[-1][1][attrs["name"]][1].append(attrs["value"])
        elif tag == "option" and self._select and self.forms:
            self.forms[-1][1][self._select][1].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


_READS = re.compile(
    r"""(?:request\.(?:form|args|values|files)|form)\.(?:get|getlist)\(\s*["']([\w.-]+)["']"""
)
GENERIC = ["name", "amount", "quantity", "count", "method", "note", "q", "date", "email"]
SKIP = {
    "static",
    "main.photo",
    "auth.logout",
    "privacy.delete",
    "account.end_other_sessions",
    "groups.leave",
    "account.password",
    "auth.login",
}  # they end the coordinator's session
TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "NaN",
            "sNaN",
            "²",
            "1e999999",
            "9" * 30,
            "9999-12-31T23:59",
            "0001-01-01T00:00",
            "x" * 5000,
            "=cmd|' /C calc'!A0",
            "12,50",
            "<b>",
            "Infinity",
        ]
    ),
    st.text(max_size=40),
)


def endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        view = app.view_functions[rule.endpoint]
        if not methods and "request.args" in inspect.getsource(inspect.unwrap(view)):
            methods = {"GET"}
        for method in sorted(methods):
            yield method, rule


def _fields(client, app, rule, url, method) -> dict:
    fields = {}
    if "GET" in rule.methods and method != "GET":
        page = client.get(url)
        if page.status_code == 200 and page.mimetype == "text/html":
            parser = _Forms()
            parser.feed(page.get_data(as_text=True))
            for action, found in parser.forms:
                if action in ("", url) or action.endswith(url):
                    fields.update(found)
    if not fields:
        source = inspect.getsource(inspect.unwrap(app.view_functions[rule.endpoint]))
        names = set(_READS.findall(source)) or set(GENERIC)
        fields = {name: ("text", []) for name in names}
    fields.pop("csrf_token", None)
    fields.pop("form_key", None)
    return fields


def _url(app, rule, ids):
    from .test_access_map import url_values

    ids = {**ids, "tokens": {}}
    for name in rule.arguments:  # ids of rows the world does not have: a missing row
        if name.endswith("_id") and name not in ids:
            ids[name] = 1
    url = app.url_map.bind("localhost").build(rule.endpoint, url_values(app, rule, ids))
    return url.replace("http://localhost", "")


ROUTES = [
    pytest.param(method, rule_text, id=f"{method} {rule_text}")
    for method, rule_text in sorted(
        {
            (m, r.rule)
            for m, r in endpoints(
                __import__("webapp").create_app(
                    {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
                )
            )
        }
    )
]

# Found by this test in files of other developers: fixed there, then the mark goes.
XFAIL: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(("method", "rule_text"), ROUTES)
def test_no_500_and_refusals_write_nothing(
    app, client, session, built, coordinator, fuzzed, method, rule_text
):
    if (method, rule_text) in XFAIL:
        pytest.xfail(XFAIL[(method, rule_text)])  # noqa: PT017 (known, reported)
    rule = next(r for r in app.url_map.iter_rules() if r.rule == rule_text)
    url = _url(app, rule, built["ids"])
    fields = _fields(client, app, rule, url, method)
    is_json = url.startswith(("/api/", "/push/"))

    def value_for(kind_options):
        kind, options = kind_options
        if options:
            return st.one_of(st.sampled_from(options), TEXT)
        return TEXT

    strategy = st.fixed_dictionaries({name: value_for(spec) for name, spec in fields.items()})

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(values=strategy)
    def run(values):
        before = counts(session)
        fuzzed["seen"].clear()
        if method == "GET":
            response = client.get(url, query_string=values)
        elif is_json:
            response = client.open(
                url, method=method, json=values, headers={"X-CSRFToken": coordinator}
            )
        else:
            data = {"csrf_token": coordinator, "form_key": uuid.uuid4().hex, **values}
            response = client.open(url, method=method, data=data)
        assert response.status_code < 500, (method, url, values)
        if refused(response):
            committing = fuzzed["seen"].get("committing")
            # what the app was about to commit (a refusal answered without raising) ...
            assert committing in (None, before), (method, url, values, response.status_code)
            # ... and what any other transaction committed meanwhile
            assert counts(session) == before, (method, url, values, response.status_code)

    run()


@pytest.mark.parametrize("text", ["²", "٣", "1²"])
def test_digits_that_python_reads_but_int_refuses_are_not_ids(text):
    from webapp.domain.money import whole

    assert whole(text) is None
    assert whole("42") == 42 and whole("9" * 19) is None


def test_ids_and_rates_found_by_longer_fuzz_runs_are_refused_not_crashes(
    client, built, coordinator
):
    """Found with FUZZ_EXAMPLES=25: an id of 30 nines in a form or a query string, and a
    VAT rate of sNaN, crashed the request; they are a missing id and a field error."""
    huge = "9" * 30
    from .conftest import csrf_token

    token = csrf_token(client, "/")
    ids = built["ids"]
    answers = [
        client.post(
            f"/catalogues/{ids['catalogue_id']}/managers",
            data={"csrf_token": token, "membership_id": huge},
        ),
        client.get(f"/contracts/new?catalogue={huge}"),
        client.post(
            f"/catalogues/{ids['catalogue_id']}/products/new",
            data={
                "csrf_token": token,
                "name": "X",
                "price": "1",
                "vat_rate": "sNaN",
                "unit": "piece",
            },
        ),
        client.post(
            f"/distributions/{ids['distribution_id']}/validation/validate",
            data={"csrf_token": token, "form_key": "0" * 32, "basket_id": huge},
        ),
    ]
    assert all(a.status_code < 500 for a in answers), [a.status_code for a in answers]
