"""Web push for real (a local receiver decrypts with http_ece and checks VAPID), pruning,
e-mail through a local SMTP server, reminders queued once and sent by the outbox sender,
subscription checks, roster."""

import json
import threading
from datetime import timedelta

import pytest
from py_vapid import Vapid02
from sqlalchemy import func, select

from webapp.cli import notify_once
from webapp.models import DutyAssignment, DutyRole, NotificationLog, OutboxMessage, PushSubscription
from webapp.sender import deliver_due

from . import factories
from .conftest import NOW, csrf_token, refusal
from .messaging import BrowserKeys, Receiver, Smtp, b64


@pytest.fixture
def browser_keys():
    keys = BrowserKeys.make()
    return keys.private, keys.public, keys.secret


@pytest.fixture
def loopback(app):
    app.config["PUSH_ALLOW_LOOPBACK"] = True
    return app


@pytest.fixture
def member(session, now, auth):
    group = factories.group(session, now=now)
    user = factories.user(session, now=now, group=group, email="m@example.test", role="coordinator")
    auth.login("m@example.test")
    return group, user


def subscribe(client, endpoint, public, auth_secret):
    body = {"endpoint": endpoint, "keys": {"p256dh": b64(public), "auth": b64(auth_secret)}}
    return client.post(
        "/push/subscriptions",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, "/")},
    )


def _test_message(client):
    return client.post("/push/test", headers={"X-CSRFToken": csrf_token(client, "/")})


def test_push_round_trip_is_encrypted_and_signed(app, loopback, client, member, browser_keys):
    private, public, secret = browser_keys
    receiver = Receiver()
    try:
        assert subscribe(client, receiver.url, public, secret).status_code == 201
        assert _test_message(client).get_json() == {"queued": 1, "sent": 1}
        assert receiver.bodies == []  # the request only queued it
        assert deliver_due(app, now=NOW) == {"push": 1}
        keys = BrowserKeys(private, public, secret)
        payload = keys.decrypt(receiver.bodies[0])
        assert payload == {
            "title": "Court-circuit",
            "body": "Les notifications fonctionnent sur cet appareil.",
            "url": "http://localhost/",  # absolute: it is opened from the notification
            "tag": receiver.headers[0]["topic"],
        }
        assert receiver.headers[0]["ttl"] == "86400"
    finally:
        receiver.close()


def test_the_test_message_needs_a_device(app, client, session, member):
    assert _test_message(client).get_json() == {"queued": 0, "sent": 0}
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_vapid_signature_verifies(app, loopback, client, member, browser_keys):
    private, public, secret = browser_keys
    receiver = Receiver()
    try:
        subscribe(client, receiver.url, public, secret)
        _test_message(client)
        deliver_due(app, now=NOW)
        authorization = receiver.headers[0]["authorization"]
        key = client.get("/push/key").get_json()["publicKey"]
        assert f"k={key}" in authorization
        assert Vapid02.verify(authorization) is True
    finally:
        receiver.close()


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscriptions_are_removed(
    app, loopback, client, session, member, browser_keys, status
):
    private, public, secret = browser_keys
    receiver = Receiver(status=status)
    try:
        subscribe(client, receiver.url, public, secret)
        _test_message(client)
        assert deliver_due(app, now=NOW) == {"failed": 1}
        factories.fresh(session)
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
        message = session.scalar(select(OutboxMessage))
        assert (message.state, message.last_error) == ("failed", "no push subscription")
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("endpoint", "status"),
    [
        ("http://push.example.com/x", 422),
        ("https://10.0.0.5/x", 422),
        ("https://localhost/x", 422),
        ("https://192.168.1.2/x", 422),
        ("http://127.0.0.1:9/x", 422),
        ("https://[::1]/x", 422),
    ],
)
def test_subscriptions_must_be_https_on_public_addresses(
    client, member, browser_keys, endpoint, status
):
    _, public, secret = browser_keys
    assert subscribe(client, endpoint, public, secret).status_code == status


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{}",
        '{"endpoint": "https://push.example.com/x"}',
        '{"endpoint": "https://push.example.com/x", "keys": {"p256dh": "AAAA", "auth": "BBBB"}}',
        json.dumps(
            {
                "endpoint": "https://push.example.com/" + "x" * 5000,
                "keys": {"p256dh": "a", "auth": "b"},
            }
        ),
    ],
)
def test_malformed_or_huge_subscriptions_are_refused(client, session, member, body):
    response = client.post(
        "/push/subscriptions",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, "/")},
    )
    assert response.status_code in (400, 413) and "error" in response.get_json()
    factories.fresh(session)
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_a_public_https_endpoint_is_accepted(client, member, browser_keys, monkeypatch):
    from webapp.services import push

    # no DNS here: the push service's name resolves to a public address
    monkeypatch.setattr(push, "resolve", lambda host, port: ["142.250.1.1"])
    _, public, secret = browser_keys
    assert (
        subscribe(client, "https://fcm.googleapis.com/fcm/send/abc", public, secret).status_code
        == 201
    )


@pytest.fixture
def smtp():
    server = Smtp()
    yield server.controller, server.messages
    server.close()


def _run_sender(app):
    return notify_once(app)


def test_orders_open_goes_by_email_once_to_each_member(app, session, now, smtp):
    controller, messages = smtp
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    group = factories.group(session, now=now)
    for i in range(3):
        factories.user(session, now=now, group=group, email=f"u{i}@example.test")
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.commit()
    assert _run_sender(app) == {"queued": 3, "email": 3}
    assert _run_sender(app) == {"queued": 0}
    assert sorted(m.rcpt_tos[0] for m in messages) == [
        "u0@example.test",
        "u1@example.test",
        "u2@example.test",
    ]
    assert (
        b"les commandes sont ouvertes" in messages[0].content
        or b"Orders are open" in messages[0].content
    )


def test_two_senders_at_once_send_nothing_twice(app, session, now):
    group = factories.group(session, now=now)
    for _ in range(10):
        factories.user(session, now=now, group=group)
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.commit()
    results = []
    threads = [threading.Thread(target=lambda: results.append(_run_sender(app))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["queued"] for r in results) == 10
    assert sum(r.get("log", 0) for r in results) == 10  # no SMTP_HOST: logged, not sent
    factories.fresh(session)
    rows = session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 10 and {(r.state, r.attempts, r.delivered_via) for r in rows} == {
        ("sent", 1, "log")
    }


def test_reminders_logged_before_the_outbox_are_not_sent_again(app, session, now):
    group = factories.group(session, now=now)
    old, new = (factories.user(session, now=now, group=group) for _ in range(2))
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.add(NotificationLog(user_id=old.id, kind="orders_open", ref=f"d{d.id}", created_at=now))
    session.commit()
    assert _run_sender(app) == {"queued": 1, "log": 1}
    factories.fresh(session)
    assert session.scalars(select(OutboxMessage.user_id)).all() == [new.id]


def test_roster_sign_up_withdraw_and_refusals(client, auth, post, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, email="a@example.test")
    other = factories.user(session, now=now, group=group, email="b@example.test")
    d = factories.distribution(session, group=group, now=now, state="open")
    role = DutyRole(group_id=group.id, name="accueil", needed=1)
    session.add(role)
    session.commit()
    auth.login("a@example.test")
    assert "accueil" in client.get("/roster/").get_data(as_text=True)
    assert post(f"/roster/{d.id}/signup", {"role_id": role.id}).status_code == 302
    full = post(f"/roster/{d.id}/signup", {"role_id": role.id})
    assert refusal(client, full)[0] == 409
    factories.fresh(session)
    duty = session.scalar(select(DutyAssignment))
    assert duty.role_name == "accueil"
    no_reason = post(f"/roster/duties/{duty.id}/withdraw", {"reason": ""})
    assert refusal(client, no_reason)[0] == 400
    auth.logout()
    auth.login("b@example.test")
    assert post(f"/roster/duties/{duty.id}/withdraw", {"reason": "not mine"}).status_code == 403
    auth.logout()
    auth.login("a@example.test")
    assert post(f"/roster/duties/{duty.id}/withdraw", {"reason": "malade"}).status_code == 302
    factories.fresh(session)
    d.validated_at = now
    session.commit()
    assert refusal(client, post(f"/roster/{d.id}/signup", {"role_id": role.id}))[0] == 409
    assert other.id


def test_coordinator_adds_a_role_tied_to_a_catalogue(client, auth, post, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    catalogue = factories.catalogue(session, group=group, name="Fromages")
    foreign = factories.catalogue(session, group=factories.group(session, now=now))
    auth.login("c@example.test")
    assert (
        post(
            "/roster/roles", {"name": "fromages", "needed": "2", "catalogue_id": catalogue.id}
        ).status_code
        == 302
    )
    assert (
        post(
            "/roster/roles", {"name": "autre", "needed": "1", "catalogue_id": foreign.id}
        ).status_code
        == 404
    )
    assert refusal(client, post("/roster/roles", {"name": "", "needed": "1"}))[0] == 400
    factories.fresh(session)
    assert [(r.name, r.catalogue_id) for r in session.scalars(select(DutyRole))] == [
        ("fromages", catalogue.id)
    ]


def test_cancelling_tells_the_members_who_ordered_once(app, client, auth, post, session, now, smtp):
    controller, messages = smtp
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    buyer = factories.user(session, now=now, group=group, email="buyer@example.test")
    factories.user(session, now=now, group=group, email="idle@example.test")
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue)
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    factories.order(session, distribution=d, user=buyer, now=now, lines=[(bread, 1)])
    auth.login("c@example.test")
    assert post(f"/distributions/{d.id}/cancel").status_code == 302
    assert messages == []  # nothing leaves inside the request
    assert deliver_due(app, now=now) == {"email": 1}
    assert deliver_due(app, now=now + timedelta(hours=1)) == {}
    assert [m.rcpt_tos for m in messages] == [["buyer@example.test"]]
    factories.fresh(session)
    rows = session.scalars(select(OutboxMessage)).all()
    assert [(r.kind, r.state, r.delivered_via) for r in rows] == [
        ("distribution_cancelled", "sent", "email")
    ]


def test_what_was_queued_is_not_built_again_and_a_newcomer_still_gets_it(app, session, now):
    """Every minute the reminders are looked for again: what was queued already is skipped
    before any text is made (at 1,000 groups that was 80 s a run), and someone who joins
    later still gets what is due."""
    from webapp.cli import queue_reminders
    from webapp.services.notify import due_messages

    group = factories.group(session, now=now)
    for _ in range(3):
        factories.user(session, now=now, group=group)
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.commit()
    assert queue_reminders(app, now=now) == 3
    with app.test_request_context():
        assert due_messages(session, now=now) == []
    newcomer = factories.user(session, now=now, group=group)
    session.commit()
    with app.test_request_context():
        assert [(m.user.id, m.kind) for m in due_messages(session, now=now)] == [
            (newcomer.id, "orders_open")
        ]
    assert queue_reminders(app, now=now) == 1
    assert queue_reminders(app, now=now) == 0


def test_reminders_are_committed_batch_by_batch(app, session, now, monkeypatch):
    """A failure in one batch of distributions keeps what the batches before it queued."""
    from webapp import cli
    from webapp.services import notify

    days = []
    for _ in range(3):
        group = factories.group(session, now=now)
        factories.user(session, now=now, group=group)
        d = factories.distribution(session, group=group, now=now, state="open")
        d.orders_open_at = now - timedelta(hours=1)
        days.append(d)
    session.commit()
    broken = days[2].id
    real = notify._for_distribution

    def failing(session, d, *args):
        if d.id == broken:
            raise RuntimeError("broken distribution")
        return real(session, d, *args)

    monkeypatch.setattr(cli, "REMINDER_BATCH", 1)
    monkeypatch.setattr(notify, "_for_distribution", failing)
    with pytest.raises(RuntimeError):
        cli.queue_reminders(app, now=now)
    factories.fresh(session)
    refs = sorted(session.scalars(select(OutboxMessage.ref)).all())
    assert refs == sorted(f"d{d.id}" for d in days[:2])


def test_one_sender_at_a_time_queues_reminders_on_postgresql(app, session, now):
    """Two machines' senders: while one holds the queueing lock the other skips the minute."""
    from sqlalchemy import text

    from webapp.cli import REMINDER_LOCK, queue_reminders
    from webapp.extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("an advisory lock is PostgreSQL's (SQLite: one machine, one writer)")
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group)
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.commit()
    with engine.connect() as other_sender:
        assert other_sender.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": REMINDER_LOCK})
        assert queue_reminders(app, now=now) == 0
        other_sender.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": REMINDER_LOCK})
    assert queue_reminders(app, now=now) == 1


def test_notify_without_reminders_delivers_and_queues_none(app, session, now):
    """Cron's every-minute line (`notify --no-reminders`) only delivers; the every-10-minute
    line also looks for the reminders due."""
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group)
    d = factories.distribution(session, group=group, now=now, state="open")
    d.orders_open_at = now - timedelta(hours=1)
    session.commit()
    runner = app.test_cli_runner()
    quiet = runner.invoke(args=["notify", "--no-reminders"])
    assert quiet.exit_code == 0 and quiet.output.startswith("0 reminders queued")
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    full = runner.invoke(args=["notify"])
    assert full.exit_code == 0 and full.output.startswith("1 reminder queued")
