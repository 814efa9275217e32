"""The outbox sender against real servers on 127.0.0.1: requests only queue; the sender
delivers each message once, in isolation (a push service that refuses, hangs or answers
500, or an SMTP server that is down, stops no one else), retries with backoff and gives
up on record; two senders at once, a sender killed between sending and recording."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.models import NotificationPreference, OutboxMessage, PushSubscription
from webapp.sender import BACKOFF, LEASE, MAX_ATTEMPTS, deliver_due, message_id, wake
from webapp.services import outbox

from . import factories
from .conftest import NOW
from .messaging import BrowserKeys, Hanger, Receiver, Smtp, b64, closed_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def smtp(app):
    server = Smtp()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port)
    yield server
    server.close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hanger():
    server = Hanger()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def fast(app, tmp_path):
    app.config.update(
        PUSH_ALLOW_LOOPBACK=True,
        PUSH_TIMEOUT=1,
        SMTP_TIMEOUT=1,
        SENDER_WAKE_FILE=str(tmp_path / "outbox.wake"),
    )


def subscribe(session, user, endpoint: str) -> BrowserKeys:
    keys = BrowserKeys.make()
    session.add(
        PushSubscription(
            user_id=user.id,
            endpoint=endpoint,
            p256dh=b64(keys.public),
            auth=b64(keys.secret),
            created_at=NOW,
        )
    )
    return keys


def rows(session) -> dict[int | None, OutboxMessage]:
    factories.fresh(session)
    return {m.user_id: m for m in session.scalars(select(OutboxMessage))}


@pytest.fixture
def day(session, now):
    """A coordinator; members who ordered bread: `pushed` and `failing` have a device,
    `mailed` has none (e-mail)."""
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    people = {
        name: factories.user(session, now=now, group=group, email=f"{name}@example.test")
        for name in ("pushed", "failing", "mailed")
    }
    catalogue = factories.catalogue(session, group=group)
    bread = factories.product(session, catalogue=catalogue, name="Pain")
    leeks = factories.product(session, catalogue=catalogue, name="Poireaux")
    d = factories.distribution(session, group=group, now=now, catalogues=[catalogue])
    for user in people.values():
        factories.order(session, distribution=d, user=user, now=now, lines=[(bread, 1), (leeks, 2)])
    session.commit()
    return {"group": group, "d": d, "leeks": leeks, **people}


def failing_endpoint(mode: str, request) -> tuple[str, object]:
    if mode == "refuses":
        return f"http://127.0.0.1:{closed_port()}/push/refused", None
    if mode == "hangs":
        hanger = request.getfixturevalue("hanger")
        return hanger.url, hanger
    server = Receiver(status=500)
    request.addfinalizer(server.close)
    return server.url, server


def text_of(envelope) -> str:
    return message_from_bytes(envelope.content, policy=default).get_content()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.parametrize("mode", ["refuses", "hangs", "500"])
def test_one_failing_push_service_stops_no_one_and_is_given_up_on_record(
    app, session, auth, post, now, day, smtp, receiver, mode, request
):
    endpoint, failing_server = failing_endpoint(mode, request)
    keys = subscribe(session, day["pushed"], receiver.url)
    subscribe(session, day["failing"], endpoint)
    session.commit()
    auth.login("c@example.test")

    response, took = timed(lambda: post(f"/distributions/{day['d'].id}/cancel"))
    assert response.status_code == 302 and took < 2
    assert receiver.received == [] and smtp.messages == []  # the request only queued
    assert {m.state for m in rows(session).values()} == {"queued"}

    counts = deliver_due(app, now=now)
    assert counts == {"push": 1, "email": 1, "retry": 1}
    payload = keys.decrypt(receiver.bodies[0])
    assert "la distribution du" in payload["title"] and "annulée" in payload["title"]
    assert [m.rcpt_tos for m in smtp.messages] == [["mailed@example.test"]]
    failing = rows(session)[day["failing"].id]
    assert (failing.state, failing.attempts) == ("queued", 1)
    expected = {"refuses": "unreachable", "hangs": "unreachable", "500": "answered 500"}[mode]
    assert expected in failing.last_error
    if mode == "hangs":
        assert "Timeout" in failing.last_error and failing_server.accepted == 1

    # Retried with backoff: not before it is due, then at each step; given up at the end.
    for attempt in range(1, MAX_ATTEMPTS):
        due = failing.next_attempt_at
        assert abs((due - now) - BACKOFF[attempt - 1]) < timedelta(seconds=10)
        assert deliver_due(app, now=due - timedelta(seconds=5)) == {}
        now = due + timedelta(seconds=1)
        expected_counts = {"retry": 1} if attempt < MAX_ATTEMPTS - 1 else {"failed": 1}
        assert deliver_due(app, now=now) == expected_counts
        failing = rows(session)[day["failing"].id]
        assert failing.attempts == attempt + 1
    assert failing.state == "failed" and expected in failing.last_error
    assert deliver_due(app, now=now + timedelta(days=2)) == {}
    # The others got theirs once, however often the sender ran.
    assert len(receiver.received) == 1 and len(smtp.messages) == 1
    everyone = rows(session)
    assert everyone[day["pushed"].id].state == everyone[day["mailed"].id].state == "sent"
    assert len(everyone) == 3


def test_removing_unavailable_products_answers_at_once_with_a_hanging_push_service(
    app, session, auth, post, now, day, smtp, receiver, hanger
):
    keys = subscribe(session, day["pushed"], receiver.url)
    subscribe(session, day["failing"], hanger.url)
    day["leeks"].active = False
    session.commit()
    auth.login("c@example.test")
    url = f"/distributions/{day['d'].id}/remove-unavailable"
    response, took = timed(lambda: post(url))
    assert response.status_code == 302 and took < 2 and hanger.accepted == 0
    assert deliver_due(app, now=now) == {"push": 1, "email": 1, "retry": 1}
    assert "Poireaux" in keys.decrypt(receiver.bodies[0])["body"]
    assert "Poireaux" in text_of(smtp.messages[0])
    # Removing again finds nothing more to remove and tells no one twice.
    assert post(url).status_code == 302
    assert deliver_due(app, now=now + timedelta(seconds=30)) == {}
    assert len(rows(session)) == 3


def test_smtp_down_does_not_stop_the_push_messages(app, session, auth, post, now, day, receiver):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port())
    subscribe(session, day["pushed"], receiver.url)
    subscribe(session, day["failing"], receiver.url + "/2")
    session.commit()
    auth.login("c@example.test")
    assert post(f"/distributions/{day['d'].id}/cancel").status_code == 302
    assert deliver_due(app, now=now) == {"push": 2, "retry": 1}
    assert len(receiver.received) == 2
    mailed = rows(session)[day["mailed"].id]
    assert mailed.state == "queued" and "ConnectionRefusedError" in mailed.last_error


def test_a_push_service_that_redirects_is_not_followed(app, session, now, day, receiver):
    redirecting = Receiver(status=307, location=receiver.url)
    try:
        subscribe(session, day["pushed"], redirecting.url)
        session.commit()
        outbox.queue(session, kind="k", ref="r", title="t", body="b", user=day["pushed"], now=now)
        session.commit()
        assert deliver_due(app, now=now) == {"retry": 1}
        assert len(redirecting.received) == 1 and receiver.received == []
        assert "answered 307" in rows(session)[day["pushed"].id].last_error
    finally:
        redirecting.close()


def test_a_gone_device_falls_back_to_email(app, session, now, day, smtp):
    gone = Receiver(status=410)
    try:
        subscribe(session, day["pushed"], gone.url)
        session.commit()
        outbox.queue(session, kind="k", ref="r", title="t", body="b", user=day["pushed"], now=now)
        session.commit()
        assert deliver_due(app, now=now) == {"email": 1}
        assert [m.rcpt_tos for m in smtp.messages] == [["pushed@example.test"]]
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
    finally:
        gone.close()


def test_a_refused_recipient_is_given_up_at_once(app, session, now, day):
    server = Smtp(refuse="550 5.1.1 no such user")
    try:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port)
        outbox.queue(session, kind="k", ref="r", title="t", body="b", user=day["mailed"], now=now)
        session.commit()
        assert deliver_due(app, now=now) == {"failed": 1}
        row = rows(session)[day["mailed"].id]
        assert row.attempts == 1 and "no such user" in row.last_error
    finally:
        server.close()


def test_email_only_messages_skip_push_and_reach_people_without_an_account(
    app, session, now, day, smtp, receiver
):
    subscribe(session, day["pushed"], receiver.url)
    session.commit()
    outbox.queue(
        session,
        kind="invite",
        ref="i1",
        title="Rejoignez",
        body="b",
        email="new@example.test",
        channel="email",
        now=now,
    )
    outbox.queue(
        session,
        kind="k",
        ref="r",
        title="t",
        body="b",
        user=day["pushed"],
        channel="email",
        now=now,
    )
    session.commit()
    assert deliver_due(app, now=now) == {"email": 2}
    assert receiver.received == []
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "new@example.test",
        "pushed@example.test",
    ]


def test_running_the_sender_twice_sends_nothing_twice(
    app, session, auth, post, now, day, smtp, receiver
):
    subscribe(session, day["pushed"], receiver.url)
    session.commit()
    auth.login("c@example.test")
    assert post(f"/distributions/{day['d'].id}/cancel").status_code == 302
    assert deliver_due(app, now=now) == {"push": 1, "email": 2}
    assert deliver_due(app, now=now) == {}
    assert deliver_due(app, now=now + LEASE * 3) == {}
    assert len(receiver.received) == 1 and len(smtp.messages) == 2
    assert {(m.state, m.attempts) for m in rows(session).values()} == {("sent", 1)}


def test_queueing_the_same_event_twice_keeps_one_row(app, session, now, day):
    for _ in range(2):
        outbox.queue(session, kind="k", ref="r", title="t", body="b", user=day["pushed"], now=now)
    session.commit()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_muted_kind_is_not_sent(app, session, auth, post, now, day, smtp):
    session.add(NotificationPreference(user_id=day["mailed"].id, muted=["distribution_cancelled"]))
    session.commit()
    auth.login("c@example.test")
    assert post(f"/distributions/{day['d'].id}/cancel").status_code == 302
    assert deliver_due(app, now=now) == {"email": 2, "muted": 1}
    assert rows(session)[day["mailed"].id].state == "muted"
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "failing@example.test",
        "pushed@example.test",
    ]


def test_without_smtp_host_messages_are_logged_not_sent(app, session, auth, post, now, day):
    app.config["SMTP_HOST"] = None
    auth.login("c@example.test")
    assert post(f"/distributions/{day['d'].id}/cancel").status_code == 302
    assert deliver_due(app, now=now) == {"log": 3}
    assert {(m.state, m.delivered_via) for m in rows(session).values()} == {("sent", "log")}


def test_two_senders_at_once_send_each_message_once(app, session, now, smtp, receiver):
    group = factories.group(session, now=now)
    users = [factories.user(session, now=now, group=group) for _ in range(24)]
    keys = {}
    for user in users[:12]:
        keys[user.id] = subscribe(session, user, f"{receiver.base}/push/u{user.id}")
    session.commit()
    for user in users:
        outbox.queue(session, kind="k", ref="r", title="Hello", body="b", user=user, now=now)
    session.commit()
    results: list[dict] = []
    start = threading.Barrier(2)

    def sender():
        start.wait()
        results.append(deliver_due(app, now=now))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r.get("push", 0) for r in results) == 12
    assert sum(r.get("email", 0) for r in results) == 12
    for user in users[:12]:
        [(headers, body)] = receiver.to(f"/push/u{user.id}")
        assert keys[user.id].decrypt(body)["title"] == "Hello"
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(u.email for u in users[12:])
    assert {(m.state, m.attempts) for m in rows(session).values()} == {("sent", 1)}


CRASHING_SENDER = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from webapp import create_app
    from webapp.sender import deliver_due

    uri, smtp_port, now = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "t", "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port, "PUSH_ALLOW_LOOPBACK": True, "PUSH_TIMEOUT": 1,
    })

    def killed(job, outcome):  # after the network call, before the outcome is recorded
        print(f"sent {job.id} via {outcome.via}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    deliver_due(app, now=now, after_send=killed)
    """
)


def run_crashing_sender(app, smtp, now, tmp_path):
    env = {**os.environ, "COURT_CIRCUIT_INSTANCE": str(tmp_path / "crash-instance")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_SENDER,
            app.config["SQLALCHEMY_DATABASE_URI"],
            str(smtp.port),
            now.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("channel", ["push", "email"])
def test_a_sender_killed_between_sending_and_recording_sends_the_same_message_again(
    app, session, now, smtp, receiver, tmp_path, channel
):
    user = factories.user(session, now=now, group=factories.group(session, now=now))
    keys = subscribe(session, user, receiver.url) if channel == "push" else None
    session.commit()
    outbox.queue(session, kind="k", ref="r", title="Hello", body="b", user=user, now=now)
    session.commit()

    done = run_crashing_sender(app, smtp, now, tmp_path)
    assert done.returncode == -9 and f"via {channel}" in done.stdout, done.stderr
    row = rows(session)[user.id]
    assert (row.state, row.attempts, row.sent_at) == ("sending", 1, None)

    # Another sender within the lease leaves it alone: the first may still be at work.
    assert deliver_due(app, now=now + LEASE / 2) == {}
    # After the lease the message is sent again, the same message to the person.
    assert deliver_due(app, now=now + LEASE + timedelta(seconds=1)) == {channel: 1}
    row = rows(session)[user.id]
    assert (row.state, row.attempts, row.delivered_via) == ("sent", 2, channel)
    assert deliver_due(app, now=now + LEASE * 3) == {}
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    if channel == "push":
        first, second = receiver.received
        assert first[1]["topic"] == second[1]["topic"]
        tags = {keys.decrypt(body)["tag"] for _, _, body in receiver.received}
        assert tags == {first[1]["topic"]}  # the notification replaces the first one
    else:
        ids = {message_from_bytes(m.content)["Message-ID"] for m in smtp.messages}
        assert len(smtp.messages) == 2 and ids == {message_id(app.config, row.dedupe_key)}


def test_a_sender_that_died_on_the_last_attempt_is_given_up(app, session, now, day):
    row = outbox.queue(session, kind="k", ref="r", title="t", body="b", user=day["pushed"], now=now)
    row.state, row.attempts, row.claimed_at = "sending", MAX_ATTEMPTS, now
    session.commit()
    assert deliver_due(app, now=now + LEASE * 2) == {}
    row = rows(session)[day["pushed"].id]
    assert row.state == "failed" and "stopped" in row.last_error


def test_a_request_that_queues_wakes_the_sender(app, session, auth, post, day, tmp_path):
    wake_file = tmp_path / "outbox.wake"
    auth.login("c@example.test")
    assert not wake_file.exists()
    assert post(f"/distributions/{day['d'].id}/cancel").status_code == 302
    assert wake_file.exists()


def test_waking_never_raises(app, tmp_path):
    app.config["SENDER_WAKE_FILE"] = str(tmp_path / "missing" / "folder" / "outbox.wake")
    wake(app)  # no error: the loop's periodic run sends the messages anyway


def test_the_sender_loop_is_woken_at_once(app, session, auth, post, now, day, smtp, tmp_path):
    instance = tmp_path / "loop-instance"
    instance.mkdir()
    app.config["SENDER_WAKE_FILE"] = str(instance / "outbox.wake")
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "COURT_CIRCUIT_INSTANCE": str(instance),
        "COURT_CIRCUIT_FROZEN_NOW": now.isoformat(),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SECRET_KEY": "t",
        "PUBLIC_URL": "http://127.0.0.1",
    }
    flask = [sys.executable, "-m", "flask", "--app", "webapp", "notify-loop", "--every", "3600"]
    loop = subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "Sender loop started" in loop.stdout.readline()
        auth.login("c@example.test")
        assert post(f"/distributions/{day['d'].id}/cancel").status_code == 302
        deadline = time.monotonic() + 10
        while len(smtp.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(smtp.messages) == 3  # long before the next hourly run
    finally:
        loop.terminate()
        loop.wait(timeout=10)
    assert {m.state for m in rows(session).values()} == {"sent"}


def test_links_in_messages_are_absolute_and_written_once(app):
    """An e-mail is read far from the site: its link is absolute (PUBLIC_URL, else the
    address the request came to), and a body that holds it already does not repeat it."""
    from webapp.services.outbox import absolute

    with app.test_request_context(base_url="https://amap.example.org"):
        assert absolute("/distributions/3/shop") == "https://amap.example.org/distributions/3/shop"
        assert absolute("https://elsewhere.test/x") == "https://elsewhere.test/x"
    app.config["PUBLIC_URL"] = "https://court-circuit.example/"
    with app.test_request_context(base_url="http://internal:8000"):
        assert absolute("/join/abc") == "https://court-circuit.example/join/abc"
