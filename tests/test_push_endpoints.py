"""Push endpoints cannot make the server probe its own network: every spelling of a
private address is refused, names are resolved when subscribing and again when sending,
the connection goes to the address that was checked (no DNS rebinding), and an endpoint
of another account is not moved to a new one."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from py_vapid import Vapid02
from sqlalchemy import func, select

from webapp.models import PushSubscription
from webapp.services import ServiceError, push

from . import factories
from .conftest import csrf_token
from .messaging import BrowserKeys, Receiver, b64

PRIVATE_SPELLINGS = [
    "https://2130706433/x",  # decimal
    "https://2130706433:443/x",
    "https://0x7f.1/x",  # hex, short form
    "https://0x7f000001/x",
    "https://0X7F.0.0.1/x",
    "https://127.1/x",  # short form
    "https://127.0.1/x",
    "https://0/x",  # 0.0.0.0
    "https://0177.0.0.1/x",  # octal
    "https://017700000001/x",
    "https://127.0.0.1./x",  # trailing dot
    "https://10.0.0.5/x",
    "https://192.168.1.2/x",
    "https://172.16.0.1/x",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata
    "https://100.64.0.1/x",  # carrier-grade NAT
    "https://224.0.0.1/x",  # multicast
    "https://255.255.255.255/x",
    "https://1.2.3.256/x",  # a number that is no address
    "https://[::1]/x",
    "https://[::]/x",
    "https://[::ffff:127.0.0.1]/x",  # IPv4-mapped
    "https://[::ffff:7f00:1]/x",
    "https://[::ffff:10.0.0.1]/x",
    "https://[::127.0.0.1]/x",  # IPv4-compatible (deprecated)
    "https://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
    "https://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
    "https://[fe80::1]/x",  # link-local
    "https://[fc00::1]/x",  # unique local
    "https://[ff0e::1]/x",  # multicast
    "https://localhost/x",
    "https://LOCALHOST./x",
    "https://intranet/x",  # a single label: an internal name
    "https://printer.local/x",
    "https://db.internal/x",
    "https://router.lan/x",
    "https://api.localhost/x",
]


@pytest.fixture
def resolver(monkeypatch):
    """Names resolve to what the test says (this machine has no DNS); calls are counted."""
    table: dict[str, list[str]] = {}
    calls: list[str] = []

    def resolve(host, port):
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    monkeypatch.setattr(push, "resolve", resolve)
    resolve.table, resolve.calls = table, calls
    return resolve


@pytest.mark.parametrize("endpoint", PRIVATE_SPELLINGS)
def test_check_endpoint_refuses_every_spelling_of_a_private_address(resolver, endpoint):
    resolver.table["localhost"] = ["127.0.0.1"]
    with pytest.raises(ServiceError) as refused:
        push.check_endpoint(endpoint, allow_loopback=False)
    assert refused.value.status == 422


@pytest.mark.parametrize(
    ("endpoint", "address"),
    [
        ("https://8.8.8.8/x", "8.8.8.8"),
        ("https://[2606:4700::1111]/x", "2606:4700::1111"),
        ("https://push.example.com/x", "93.184.215.14"),
        ("https://push.example.com./x", "93.184.215.14"),
    ],
)
def test_check_endpoint_accepts_public_unicast_and_returns_the_address_to_use(
    resolver, endpoint, address
):
    resolver.table["push.example.com"] = ["93.184.215.14"]
    assert push.check_endpoint(endpoint, allow_loopback=False) == address


@pytest.mark.parametrize(
    "answers",
    [["127.0.0.1"], ["93.184.215.14", "10.0.0.1"], ["::1"], ["::ffff:192.168.0.1"]],
)
def test_a_name_resolving_to_any_private_address_is_refused(resolver, answers):
    resolver.table["push.example.com"] = answers
    with pytest.raises(ServiceError):
        push.check_endpoint("https://push.example.com/x", allow_loopback=False)


def test_a_name_that_does_not_resolve_is_refused(resolver):
    with pytest.raises(push.Unreachable):
        push.check_endpoint("https://nowhere.example.com/x", allow_loopback=False)


def test_plain_http_is_refused_even_on_a_public_address(resolver):
    with pytest.raises(ServiceError, match="https"):
        push.check_endpoint("http://8.8.8.8/x", allow_loopback=False)


def test_loopback_setting_only_opens_127_0_0_1(resolver):
    assert push.check_endpoint("http://127.0.0.1:9/x", allow_loopback=True) == "127.0.0.1"
    for endpoint in ("http://10.0.0.1/x", "https://[::1]/x", "http://8.8.8.8/x"):
        with pytest.raises(ServiceError):
            push.check_endpoint(endpoint, allow_loopback=True)


# --- through the web: subscription -------------------------------------------------------


@pytest.fixture
def keys():
    return BrowserKeys.make()


@pytest.fixture
def member(session, now, auth):
    group = factories.group(session, now=now)
    user = factories.user(session, now=now, group=group, email="m@example.test")
    auth.login("m@example.test")
    return user


def subscribe(client, endpoint, keys):
    body = {"endpoint": endpoint, "keys": {"p256dh": b64(keys.public), "auth": b64(keys.secret)}}
    return client.post(
        "/push/subscriptions",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, "/")},
    )


def _count(session) -> int:
    factories.fresh(session)
    return session.scalar(select(func.count()).select_from(PushSubscription))


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://2130706433:443/x",
        "https://0x7f.1/x",
        "https://127.1/x",
        "https://0/x",
        "https://0177.0.0.1/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost/x",
        "https://intranet/x",
        "https://rebind.example.com/x",
    ],
)
def test_subscribing_a_private_endpoint_is_refused_and_nothing_saved(
    client, session, member, keys, resolver, endpoint
):
    resolver.table["localhost"] = ["127.0.0.1"]
    resolver.table["rebind.example.com"] = ["127.0.0.1"]
    response = subscribe(client, endpoint, keys)
    assert response.status_code == 422
    assert "publique" in response.get_json()["message"]
    assert _count(session) == 0


def test_subscribing_a_public_name_is_accepted(client, session, member, keys, resolver):
    resolver.table["push.example.com"] = ["93.184.215.14"]
    assert subscribe(client, "https://push.example.com/abc", keys).status_code == 201
    assert resolver.calls == ["push.example.com"]
    assert _count(session) == 1


def test_an_endpoint_of_another_account_is_not_moved(
    app, client, session, now, member, keys, resolver, auth
):
    resolver.table["push.example.com"] = ["93.184.215.14"]
    assert subscribe(client, "https://push.example.com/abc", keys).status_code == 201
    auth.logout()
    factories.user(session, now=now, email="other@example.test")
    auth.login("other@example.test")
    other_keys = BrowserKeys.make()
    response = subscribe(client, "https://push.example.com/abc", other_keys)
    assert response.status_code == 409
    assert "autre compte" in response.get_json()["message"]
    factories.fresh(session)
    sub = session.scalar(select(PushSubscription))
    assert (sub.user_id, sub.p256dh) == (member.id, b64(keys.public))


# --- at send: resolved again, connected to the checked address -------------------------


@pytest.fixture
def vapid():
    key = Vapid02()
    key.generate_keys()
    return key


def _send(endpoint, keys, vapid, *, allow_loopback=False, http=None):
    push.send(
        {"endpoint": endpoint, "p256dh": b64(keys.public), "auth": b64(keys.secret)},
        {"title": "t"},
        vapid=vapid,
        subject="mailto:court-circuit@example.com",
        allow_loopback=allow_loopback,
        timeout=2,
        http=http,
    )


def test_a_name_that_now_resolves_to_loopback_is_refused_at_send(resolver, keys, vapid):
    receiver = Receiver()
    try:
        port = receiver.server.server_port
        resolver.table["push.example.com"] = ["93.184.215.14"]
        push.check_endpoint(f"https://push.example.com:{port}/x", allow_loopback=False)
        resolver.table["push.example.com"] = ["127.0.0.1"]  # the DNS answer changed
        with pytest.raises(push.PushGone):
            _send(f"https://push.example.com:{port}/x", keys, vapid)
        with pytest.raises(push.PushGone):
            _send(f"http://localhost:{port}/x", keys, vapid)
        assert receiver.received == []
    finally:
        receiver.close()


def test_a_stored_localhost_endpoint_is_refused_at_send(resolver, keys, vapid):
    resolver.table["localhost"] = ["127.0.0.1"]
    receiver = Receiver()
    try:
        with pytest.raises(push.PushGone):
            _send(f"https://localhost:{receiver.server.server_port}/x", keys, vapid)
        assert receiver.received == []
    finally:
        receiver.close()


def test_a_name_that_stops_resolving_is_retried_not_forgotten(resolver, keys, vapid):
    with pytest.raises(push.PushFailed) as failed:
        _send("https://push.example.com/x", keys, vapid)
    assert not isinstance(failed.value, push.PushGone)


def test_send_connects_to_the_checked_address_without_resolving_again(
    monkeypatch, resolver, keys, vapid
):
    """The name is resolved once, by the check; the connection goes to that address (the
    system resolver is not asked again) and the push service still sees its own name."""
    receiver = Receiver()
    real_getaddrinfo = socket.getaddrinfo

    def only_literals(host, *args, **kwargs):
        if isinstance(host, str) and not host.replace(".", "").isdigit():
            raise AssertionError(f"the name {host} was resolved again")
        return real_getaddrinfo(host, *args, **kwargs)

    try:
        port = receiver.server.server_port
        resolver.table["push.example.test"] = ["127.0.0.1"]
        monkeypatch.setattr(socket, "getaddrinfo", only_literals)
        _send(f"http://push.example.test:{port}/push/abc", keys, vapid, allow_loopback=True)
        assert resolver.calls == ["push.example.test"]
        ((path, headers, body),) = receiver.received
        assert headers["host"] == f"push.example.test:{port}"
        assert keys.decrypt(body) == {"title": "t"}
        # The signed audience is the push service's name, not the address.
        assert _vapid_audience(headers["authorization"]) == f"http://push.example.test:{port}"
    finally:
        receiver.close()


def _vapid_audience(authorization: str) -> str:
    import base64

    token = authorization.split("t=", 1)[1].split(",", 1)[0]
    claims = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["aud"]


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_to_the_pinned_address_checks_the_certificate_of_the_name(
    tmp_path, resolver, keys, vapid
):
    """TLS goes to the checked address, with the name in SNI and in the certificate check:
    a certificate valid only for push.example.test is accepted at 127.0.0.1."""
    cert_path, key_path = _certificate(tmp_path, "push.example.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    seen_sni = []
    context.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    receiver = Receiver()
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    try:
        port = receiver.server.server_port
        resolver.table["push.example.test"] = ["127.0.0.1"]
        http = push.http_session()
        http.verify = str(cert_path)
        with http:
            _send(
                f"https://push.example.test:{port}/a", keys, vapid, allow_loopback=True, http=http
            )
            assert seen_sni == ["push.example.test"] and len(receiver.received) == 1
            # The same certificate does not pass for another name at that address.
            resolver.table["other.example.test"] = ["127.0.0.1"]
            with pytest.raises(push.PushFailed):
                _send(
                    f"https://other.example.test:{port}/a",
                    keys,
                    vapid,
                    allow_loopback=True,
                    http=http,
                )
        assert len(receiver.received) == 1
    finally:
        receiver.close()


def test_the_push_client_refuses_a_url_it_was_not_given_an_address_for():
    http = push.http_session()
    with http, pytest.raises(Exception, match="checked"):
        http.post("https://push.example.com/x", data=b"")


def test_ipv6_literal_answers_parse(resolver):
    assert push.literal_address("[::ffff:127.0.0.1]") == ipaddress.ip_address("::ffff:7f00:1")
