"""The sync API: snapshot, idempotent batches, per-event results, access, CSRF."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.models import DutyAssignment, SheetEvent, TabletLink
from webapp.services import tablets

from . import factories
from .conftest import csrf_token


@pytest.fixture
def day(session, now):
    group = factories.group(session, now=now, payment_methods=["cash", "cheque"])
    coordinator = factories.user(
        session, now=now, group=group, role="coordinator", email="c@example.test"
    )
    volunteer = factories.user(session, now=now, group=group, email="v@example.test")
    member = factories.user(session, now=now, group=group, email="m@example.test", first_name="Léa")
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name="Pain", price_cents=450)
    eggs = factories.product(session, catalogue=catalogue, name="Œufs", price_cents=320)
    d = factories.distribution(
        session, group=group, now=now, state="closed", catalogues=[catalogue]
    )
    basket = factories.order(
        session, distribution=d, user=member, now=now, lines=[(bread, 2), (eggs, 1)]
    )
    session.add(
        DutyAssignment(
            distribution_id=d.id, user_id=volunteer.id, role_name="accueil", created_at=now
        )
    )
    session.commit()
    return dict(
        group=group,
        d=d,
        basket=basket,
        member=member,
        lines=[line.id for line in basket.lines],
        coordinator=coordinator,
    )


def event(basket_id, kind="payment", payload=None, **kw):
    return {
        "id": str(uuid.uuid4()),
        "device_id": kw.get("device", "tab-A"),
        "kind": kind,
        "basket_id": basket_id,
        "recorded_at": kw.get("at", "2026-11-24T09:59:00Z"),
        "payload": payload if payload is not None else {"method": "cash", "amount_cents": 1220},
    }


def send(client, d, events, *, device="tab-A", cursor=None, token=None):
    token = token or csrf_token(client)
    return client.post(
        f"/api/distributions/{d.id}/events",
        data=json.dumps({"device_id": device, "cursor": cursor, "events": events}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def stored(session):
    factories.fresh(session)
    return session.scalar(select(func.count()).select_from(SheetEvent))


def test_snapshot_follows_the_contract(client, auth, day):
    auth.login("c@example.test")
    data = client.get(f"/api/distributions/{day['d'].id}/sheet").get_json()
    assert set(data) >= {"distribution", "baskets", "events", "cursor"}
    assert set(data["distribution"]) >= {"id", "starts_at", "ends_at", "status", "payment_methods"}
    assert data["distribution"]["status"] == "closed"
    [basket] = data["baskets"]
    assert set(basket) >= {"id", "number", "member", "lines", "due_cents", "balance_cents"}
    assert basket["due_cents"] == 1220
    assert set(basket["member"]) >= {"id", "name", "phone"}
    assert set(basket["lines"][0]) >= {
        "id",
        "product",
        "unit",
        "quantity",
        "unit_price_cents",
        "total_cents",
        "available",
    }


def test_batch_results_one_per_event_and_replay_is_harmless(client, auth, session, day):
    auth.login("c@example.test")
    b = day["basket"].id
    batch = [event(b), event(b, "pickup", {"state": "taken"}), event(b, "note", {"text": "merci"})]
    first = send(client, day["d"], batch).get_json()
    assert [r["status"] for r in first["results"]] == ["accepted"] * 3
    for _ in range(3):
        again = send(client, day["d"], batch).get_json()
        assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert stored(session) == 3


def test_the_same_event_twice_in_one_batch_is_stored_once(client, auth, session, day):
    auth.login("c@example.test")
    e = event(day["basket"].id)
    results = send(client, day["d"], [e, e]).get_json()["results"]
    assert [r["status"] for r in results] == ["accepted", "duplicate"]
    assert stored(session) == 1


def test_one_bad_event_never_loses_the_others(client, auth, session, now, day):
    auth.login("c@example.test")
    b = day["basket"].id
    other_group = factories.group(session, now=now)
    foreign = factories.distribution(session, group=other_group, now=now, state="closed")
    stranger = factories.user(session, now=now, group=other_group)
    foreign_basket = factories.order(
        session, distribution=foreign, user=stranger, now=now, lines=[]
    )
    batch = [
        event(b),
        event(b, "teleport", {}),
        event(foreign_basket.id),
        event(b, payload={"method": "cash", "amount_cents": -100}),
        event(b, payload={"method": "cash", "amount_cents": 10**8}),
        event(b, "signature", {"svg_path": "M1 1 " * 20000}),
        event(b, at="2030-01-01T00:00:00Z"),
        event(b, "payment", {"method": "card", "amount_cents": 100}),  # not a method of this group
        "garbage",
        event(b, "pickup", {"state": "taken", "line_id": day["lines"][0]}),
    ]
    results = send(client, day["d"], batch).get_json()["results"]
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 8 + ["accepted"]
    assert [r.get("reason") for r in results[1:9]] == [
        "unknown_kind",
        "unknown_basket",
        "amount_out_of_range",
        "amount_out_of_range",
        "signature_too_large",
        "recorded_in_the_future",
        "unknown_payment_method",
        "not_an_object",
    ]
    assert stored(session) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ("[]", 400),
        ('{"device_id": "a", "events": {}}', 400),
        ('{"device_id": "", "events": []}', 400),
        ('{"device_id": "a", "events": [], "cursor": "x"}', 400),
    ],
)
def test_malformed_batches_get_a_clear_400(client, auth, day, body, status):
    auth.login("c@example.test")
    response = client.post(
        f"/api/distributions/{day['d'].id}/events",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == status
    assert "error" in response.get_json()


def test_a_batch_over_the_limit_is_refused(client, auth, day):
    auth.login("c@example.test")
    response = send(client, day["d"], [event(day["basket"].id) for _ in range(1001)])
    assert response.status_code == 413


def test_without_csrf_token_nothing_is_stored(client, auth, session, day):
    auth.login("c@example.test")
    response = client.post(
        f"/api/distributions/{day['d'].id}/events",
        data=json.dumps({"device_id": "a", "events": [event(day["basket"].id)]}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert stored(session) == 0


def test_two_tablets_see_each_others_events_since_their_cursor(client, auth, day):
    auth.login("c@example.test")
    b = day["basket"].id
    a1 = send(client, day["d"], [event(b, device="tab-A")], device="tab-A").get_json()
    b1 = send(
        client, day["d"], [event(b, "note", {"text": "hello"}, device="tab-B")], device="tab-B"
    ).get_json()
    assert [e["device_id"] for e in b1["events"]] == ["tab-A"]
    a2 = send(client, day["d"], [], device="tab-A", cursor=a1["cursor"]).get_json()
    assert [e["payload"] for e in a2["events"]] == [{"text": "hello"}]
    a3 = send(client, day["d"], [], device="tab-A", cursor=a2["cursor"]).get_json()
    assert a3["events"] == []


def test_events_before_the_close_are_refused(client, auth, session, now, day):
    day["d"].orders_close_at = now + timedelta(hours=1)
    day["d"].starts_at = now + timedelta(hours=2)
    day["d"].ends_at = now + timedelta(hours=4)
    session.commit()
    auth.login("c@example.test")
    assert send(client, day["d"], [event(day["basket"].id)]).status_code == 409


def test_events_after_validation_are_kept_and_flagged_late(client, auth, session, now, day):
    day["d"].validated_at = now
    session.commit()
    auth.login("c@example.test")
    results = send(client, day["d"], [event(day["basket"].id)]).get_json()["results"]
    assert results[0]["status"] == "accepted"
    factories.fresh(session)
    assert session.scalar(select(SheetEvent.late)) is True


@pytest.mark.parametrize(
    ("email", "expected"),
    [("c@example.test", 200), ("v@example.test", 200), ("m@example.test", 403), (None, 401)],
)
def test_who_may_read_the_snapshot(client, auth, day, email, expected):
    if email:
        auth.login(email)
    assert client.get(f"/api/distributions/{day['d'].id}/sheet").status_code == expected


def test_volunteer_access_ends_with_the_day(client, auth, session, now, day):
    d = day["d"]
    d.starts_at, d.ends_at = now - timedelta(days=3), now - timedelta(days=3) + timedelta(hours=2)
    d.orders_close_at, d.orders_open_at = (
        d.starts_at - timedelta(days=1),
        d.starts_at - timedelta(days=5),
    )
    session.commit()
    auth.login("v@example.test")
    assert client.get(f"/api/distributions/{d.id}/sheet").status_code == 403


def test_another_groups_distribution_is_404_for_a_coordinator(client, auth, session, now, day):
    other_group = factories.group(session, now=now)
    foreign = factories.distribution(session, group=other_group, now=now, state="closed")
    auth.login("c@example.test")
    assert client.get(f"/api/distributions/{foreign.id}/sheet").status_code == 404
    assert client.get(f"/distributions/{foreign.id}/sheet").status_code == 404


def _tablet_url(app, session, day, now):
    link = tablets.create_link(session, day["d"], day["group"], actor=day["coordinator"], now=now)
    session.commit()
    return f"/tablet/{tablets.sign(app.config['SECRET_KEY'], link)}", link


def test_tablet_link_opens_that_sheet_only(app, client, session, now, day):
    url, _ = _tablet_url(app, session, day, now)
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/distributions/{day['d'].id}/sheet"
    )
    assert client.get(f"/api/distributions/{day['d'].id}/sheet").status_code == 200
    token = csrf_token(client, f"/distributions/{day['d'].id}/sheet")
    assert send(client, day["d"], [event(day["basket"].id)], token=token).status_code == 200
    other = factories.distribution(session, group=day["group"], now=now, state="closed")
    assert client.get(f"/api/distributions/{other.id}/sheet").status_code == 401


def test_revoked_expired_and_forged_links_get_a_clear_page(app, client, session, now, day):
    url, link = _tablet_url(app, session, day, now)
    assert client.get(url[:-3] + "abc").status_code == 403
    link.revoked_at = now
    session.commit()
    response = client.get(url)
    assert response.status_code == 403 and "révoqué" in response.get_data(as_text=True)
    url2, link2 = _tablet_url(app, session, day, now)
    link2.expires_at = now - timedelta(seconds=1)
    session.commit()
    assert "expiré" in client.get(url2).get_data(as_text=True)


def test_coordinator_creates_a_tablet_link_with_a_qr_code(client, auth, post, session, day):
    auth.login("c@example.test")
    response = post(f"/distributions/{day['d'].id}/tablet")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<svg" in html and "/tablet/" in html
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(TabletLink)) == 1


def test_members_cannot_create_tablet_links(client, auth, post, day):
    auth.login("m@example.test")
    assert post(f"/distributions/{day['d'].id}/tablet").status_code == 403


def test_sheet_page_and_pwa_files(client, auth, day):
    auth.login("c@example.test")
    page = client.get(f"/distributions/{day['d'].id}/sheet").get_data(as_text=True)
    assert 'id="sync-status"' in page and "/manifest.webmanifest" in page
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Service-Worker-Allowed"] == "/"
    # a plain file: no template syntax, what it needs comes from the manifest
    text = sw.get_data(as_text=True)
    assert "{{" not in text and "/sw-manifest.json" in text
    assert text == (Path(__file__).parent.parent / "webapp/static/sw.js").read_text()
    sw_manifest = client.get("/sw-manifest.json").get_json()
    assert any(a.startswith("/static/js/sheet.js?v=") for a in sw_manifest["assets"])
    assert sw_manifest["version"] and sw_manifest["offline"] == "/offline"
    manifest = client.get("/manifest.webmanifest").get_json()
    assert manifest["display"] == "standalone" and manifest["start_url"] and manifest["icons"]


def test_snapshot_queries_do_not_grow_with_baskets(app, client, auth, session, now, day):
    from .test_web_shop import _count_queries

    auth.login("c@example.test")
    path = f"/api/distributions/{day['d'].id}/sheet"
    before = _count_queries(app, client, path)
    product = session.get(type(day["basket"].lines[0].product), day["basket"].lines[0].product_id)
    for _ in range(20):
        m = factories.user(session, now=now, group=day["group"])
        factories.order(
            session, distribution=day["d"], user=m, now=now, lines=[(product, Decimal(1))]
        )
    assert _count_queries(app, client, path) == before


def test_late_events_are_listed_for_coordinators(client, auth, session, now, day):
    day["d"].validated_at = now
    session.commit()
    auth.login("c@example.test")
    send(client, day["d"], [event(day["basket"].id, "note", {"text": "arrivé en retard"})])
    html = client.get(f"/distributions/{day['d'].id}/tablet").get_data(as_text=True)
    assert "Arrivés après la validation" in html and "arrivé en retard" in html and "Léa" in html


def test_tablet_page_title_is_plain_text(client, auth, day):
    auth.login("c@example.test")
    html = client.get(f"/distributions/{day['d'].id}/tablet").get_data(as_text=True)
    title = html.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and "Lien tablette" in title


def test_tablet_link_works_from_the_close_of_orders_not_its_creation(
    app, client, session, now, day
):
    day["d"].orders_close_at = now + timedelta(hours=2)
    session.commit()
    url, _ = _tablet_url(app, session, day, now)
    response = client.get(url)
    assert response.status_code == 403
    assert "clôture des commandes" in response.get_data(as_text=True)
    # a link opened before (session kept) does not open the sheet either
    assert client.get(f"/api/distributions/{day['d'].id}/sheet").status_code == 401
    day["d"].orders_close_at = now - timedelta(minutes=1)
    session.commit()
    assert client.get(url).status_code == 302
    assert client.get(f"/api/distributions/{day['d'].id}/sheet").status_code == 200


def test_a_revoked_link_closes_the_api_at_once(app, client, session, now, day):
    url, link = _tablet_url(app, session, day, now)
    client.get(url)
    assert client.get(f"/api/distributions/{day['d'].id}/sheet").status_code == 200
    link.revoked_at = now
    session.commit()
    # the tablet's page reads 401 as "access lost" and removes its copy (sheet.js)
    assert client.get(f"/api/distributions/{day['d'].id}/sheet").status_code == 401


def test_snapshot_says_until_when_the_tablet_keeps_it(client, auth, day):
    auth.login("c@example.test")
    data = client.get(f"/api/distributions/{day['d'].id}/sheet").get_json()
    keep_until = data["distribution"]["keep_until"]
    assert keep_until.endswith("Z") and keep_until > data["distribution"]["ends_at"]


def _post_raw(client, d, data: bytes, headers=None):
    return client.post(
        f"/api/distributions/{d.id}/events",
        data=data,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client), **(headers or {})},
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000, "json_too_deep"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "json_too_deep"),
        (b'{"device_id": "a", "events": [], "cursor": NaN}', "body_is_not_json"),
        (b'{"device_id": "a", "events": [' + b"1," * 10 + b"]}", "body_is_not_json"),
    ],
)
def test_deep_or_broken_json_is_refused_before_parsing(client, auth, day, body, reason):
    auth.login("c@example.test")
    response = _post_raw(client, day["d"], body)
    assert response.status_code == 400 and response.get_json()["error"] == reason


def test_brackets_inside_strings_do_not_count_as_depth(client, auth, session, day):
    auth.login("c@example.test")
    note = event(day["basket"].id, "note", {"text": '[[[[{{{{[[[[{{{{ \\" [[[[ }}}}'})
    response = send(client, day["d"], [note])
    assert response.status_code == 200
    assert response.get_json()["results"][0]["status"] == "accepted"


def test_a_body_too_large_is_refused_before_reading(client, auth, session, day):
    from webapp.web.sheet import MAX_SYNC_BODY

    auth.login("c@example.test")
    before = stored(session)
    padding = "x" * (MAX_SYNC_BODY + 10)
    body = json.dumps({"device_id": "a", "events": [], "pad": padding}).encode()
    response = _post_raw(client, day["d"], body)
    assert response.status_code == 413 and response.get_json()["error"] == "body_too_large"
    assert stored(session) == before


def test_signatures_per_basket_are_capped_with_a_reason(client, auth, session, day, monkeypatch):
    from webapp.services import sheet as sheet_service

    monkeypatch.setattr(sheet_service, "MAX_SIGNATURES_PER_BASKET", 3)
    auth.login("c@example.test")
    basket = day["basket"].id
    first = [event(basket, "signature", {"svg_path": f"M{i} 0 L1 1"}) for i in range(2)]
    assert [r["status"] for r in send(client, day["d"], first).get_json()["results"]] == [
        "accepted",
        "accepted",
    ]
    more = [event(basket, "signature", {"svg_path": f"M{i} 2 L1 1"}) for i in range(2)]
    results = send(client, day["d"], [*more, first[0]]).get_json()["results"]
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("accepted", None),
        ("rejected", "too_many_signatures"),
        ("duplicate", None),  # a replay is never refused by the cap
    ]
    assert stored(session) == 3


def test_events_per_distribution_are_capped_in_count_and_size(
    client, auth, session, day, monkeypatch
):
    from webapp.services import sheet as sheet_service

    auth.login("c@example.test")
    basket = day["basket"].id
    monkeypatch.setattr(sheet_service, "MAX_EVENTS_PER_DISTRIBUTION", 3)
    results = send(client, day["d"], [event(basket) for _ in range(4)]).get_json()["results"]
    assert [r.get("reason") for r in results] == [None, None, None, "too_many_events"]
    monkeypatch.setattr(sheet_service, "MAX_EVENTS_PER_DISTRIBUTION", 100)
    monkeypatch.setattr(sheet_service, "MAX_BYTES_PER_DISTRIBUTION", 200)
    big = event(basket, "note", {"text": "x" * 300})
    results = send(client, day["d"], [big, event(basket)]).get_json()["results"]
    assert [r.get("reason") for r in results] == ["distribution_storage_full", None]
    assert stored(session) == 4


def test_the_sheet_strings_come_from_one_place(client, auth, day):
    auth.login("c@example.test")
    html = client.get(f"/distributions/{day['d'].id}/sheet").get_data(as_text=True)
    i18n = json.loads(html.split('<script type="application/json" id="i18n">')[1].split("<")[0])
    assert i18n["formats"] == {"locale": "fr-FR", "decimal": ",", "currency": "EUR"}
    assert i18n["units"]["kg"] == "kg" and i18n["units"]["bunch"] == "botte"
    assert i18n["methods"]["cheque"] == "Chèque"
    assert i18n["strings"]["sync_refused"] == "synchro refusée : %(reason)s"
    assert i18n["strings"]["weighed_as"].endswith("%(quantity)s")


def test_signing_out_says_how_many_records_wait(client):
    message = client.get("/sheet/waiting?n=3").get_json()["message"]
    assert message.startswith("3 saisies") and "Se déconnecter" in message
    assert client.get("/sheet/waiting?n=abc").get_json()["message"].startswith("0")
