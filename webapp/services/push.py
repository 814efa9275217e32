"""Web push with VAPID: keys, subscriptions checked before they are stored, sending one
message (short timeouts, no redirects; the sender records what happened)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import re
import socket
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from flask_babel import force_locale
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import PushSubscription, User
from . import ServiceError

log = logging.getLogger(__name__)
MAX_SUBSCRIPTION_BYTES = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_vapid(instance: Path, private_pem: str | None = None):
    """The VAPID key pair: from the environment, else from (or generated into) the instance."""
    # Vapid02: the RFC 8292 header ("vapid t=..., k=...") that aes128gcm push services expect.
    from py_vapid import Vapid02

    if private_pem:
        return Vapid02.from_pem(private_pem.encode())
    path = instance / "vapid_private.pem"
    if not path.exists():
        vapid = Vapid02()
        vapid.generate_keys()
        vapid.save_key(str(path))
        path.chmod(0o600)
    return Vapid02.from_file(str(path))


def public_key(vapid) -> str:
    """The application server key browsers need, base64url of the uncompressed point."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _b64(vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


INTERNAL_SUFFIXES = (
    ".local",
    ".localhost",
    ".internal",
    ".lan",
    ".home.arpa",
    ".intranet",
    ".corp",
)
# Ranges that carry an IPv4 address inside an IPv6 one: the embedded address is checked too.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Unreachable(ServiceError):
    """The push service's name does not resolve now: refused at subscription, retried
    later by the sender (a DNS outage must not forget every device)."""

    def __init__(self):
        super().__init__(_("This push service cannot be reached."), status=422)


def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a name (tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def literal_address(host: str) -> Address | None:
    """The address a host written as a number stands for, in any spelling the C library
    accepts (2130706433, 0x7f.1, 0177.0.0.1, 127.1, 0, [::ffff:127.0.0.1]); None for a name."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(label and _NUMBER.fullmatch(label) for label in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise ValueError(host) from None  # looks like a number, is none: refused
    return None


_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


def is_public_unicast(address: Address) -> bool:
    """A public unicast address; IPv6 forms that embed an IPv4 address are judged by it."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and (address in _NAT64 or address in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_unicast(embedded)
    return True


def _loopback_allowed(address: Address, allow_loopback: bool) -> bool:
    return allow_loopback and address == ipaddress.IPv4Address("127.0.0.1")


def check_endpoint(endpoint: str, *, allow_loopback: bool) -> str:
    """Check a push endpoint and return the one address to connect to.

    Only https on a public unicast address: the host is resolved here and every address it
    resolves to must be public (a name that also resolves to 127.0.0.1 is refused). The
    caller connects to the returned address, never resolving the name again, so a DNS
    answer that changes between this check and the connection cannot redirect us.
    `allow_loopback` (tests only) also accepts http and https on 127.0.0.1.
    """
    not_public = _("A push subscription must point to a public address.")
    try:
        parts = urlsplit(endpoint)
        host, port = (parts.hostname or "").rstrip("."), parts.port
    except ValueError as error:
        raise ServiceError(_("This is not a push subscription."), status=422) from error
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise ServiceError(_("A push subscription must use https."), status=422)
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal = literal_address(host)
    except ValueError as error:
        raise ServiceError(not_public, status=422) from error
    if literal is not None:
        addresses = [literal]
    elif host == "localhost" or "." not in host or host.endswith(INTERNAL_SUFFIXES):
        raise ServiceError(not_public, status=422)
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
        except (OSError, UnicodeError, ValueError) as error:
            raise Unreachable() from error
    if not addresses:
        raise Unreachable()
    if all(_loopback_allowed(a, allow_loopback) for a in addresses):
        return str(addresses[0])
    if parts.scheme != "https":
        raise ServiceError(_("A push subscription must use https."), status=422)
    if not all(is_public_unicast(a) for a in addresses):
        raise ServiceError(not_public, status=422)
    return str(addresses[0])


def save_subscription(
    session: Session, user: User, raw: bytes, *, allow_loopback: bool, now: datetime
) -> PushSubscription:
    """Store the browser's PushSubscription JSON for a user (refreshed when it exists).

    An endpoint registered by another account stays theirs: moving it silently would hand
    one person's notifications to whoever learnt the endpoint.
    """
    if len(raw) > MAX_SUBSCRIPTION_BYTES:
        raise ServiceError(_("This subscription is too large."), status=413)
    try:
        data = json.loads(raw)
        endpoint, keys = data["endpoint"], data["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
        if not all(isinstance(v, str) for v in (endpoint, p256dh, auth)):
            raise TypeError
        if len(_unb64(p256dh)) != 65 or len(_unb64(auth)) != 16:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ServiceError(_("This is not a push subscription.")) from error
    check_endpoint(endpoint, allow_loopback=allow_loopback)
    sub = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if sub is not None and sub.user_id != user.id:
        raise ServiceError(
            _("This device already receives the notifications of another account."),
            status=409,
        )
    if sub is None:
        sub = PushSubscription(endpoint=endpoint, user_id=user.id, created_at=now)
        session.add(sub)
    sub.p256dh, sub.auth = p256dh, auth
    session.flush()
    return sub


class PushFailed(Exception):
    """The push service did not take the message (network error, timeout, refusal)."""


class PushGone(PushFailed):
    """The subscription is gone for good (404/410, or an endpoint no longer allowed)."""


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address given in the URL while the TLS handshake (SNI) and the
    certificate check use the push service's name."""

    def __init__(self, server_hostname: str):
        self._server_hostname = server_hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._server_hostname
        super().init_poolmanager(*args, **kwargs)


class PushHttp(requests.Session):
    """The push HTTP client: each POST goes to the address `pinned()` was given (the one
    checked), never to a new DNS answer; no redirects (a 3xx is a failure), no proxy or
    netrc from the environment."""

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self._pin: tuple[str, str] | None = None
        self._adapters: dict[str, _PinnedAdapter] = {}

    @contextmanager
    def pinned(self, host: str, address: str):
        self._pin = (host, address)
        try:
            yield self
        finally:
            self._pin = None

    def get_adapter(self, url):
        if self._pin is None:
            raise requests.exceptions.InvalidURL("push: no checked address to connect to")
        host = self._pin[0]
        if host not in self._adapters:
            self._adapters[host] = _PinnedAdapter(host)
        return self._adapters[host]

    def close(self):
        for adapter in self._adapters.values():
            adapter.close()
        super().close()

    def post(self, url, *args, **kwargs):
        if self._pin is None:
            raise requests.exceptions.InvalidURL("push: no checked address to connect to")
        host, address = self._pin
        parts = urlsplit(url)
        if (parts.hostname or "").rstrip(".") != host:
            raise requests.exceptions.InvalidURL("push: URL is not the checked endpoint")
        shown = f"[{address}]" if ":" in address else address
        netloc = f"{shown}:{parts.port}" if parts.port else shown
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Host"] = parts.netloc.rsplit("@", 1)[-1]
        kwargs["allow_redirects"] = False
        return super().post(
            parts._replace(netloc=netloc).geturl(), *args, headers=headers, **kwargs
        )


def http_session() -> PushHttp:
    return PushHttp()


def topic(key: str) -> str:
    """RFC 8030 Topic (at most 32 base64url characters) derived from a message's key:
    the push service replaces an undelivered message of the same topic."""
    return _b64(hashlib.sha256(key.encode()).digest())[:32]


def send(
    subscription: dict,
    payload: dict,
    *,
    vapid,
    subject: str,
    allow_loopback: bool,
    timeout: float,
    topic: str | None = None,
    ttl: int = 86400,
    http: PushHttp | None = None,
) -> None:
    """Send one encrypted message to one subscription ({"endpoint", "p256dh", "auth"}).

    Raises PushGone when the subscription must be forgotten, PushFailed otherwise.
    Touches no database: the caller records the outcome.
    """
    from pywebpush import WebPushException, webpush

    try:
        # Checked again and resolved again: DNS answers and settings change. The sender
        # has no request (hence no language): its log is in English.
        with force_locale("en"):
            address = check_endpoint(subscription["endpoint"], allow_loopback=allow_loopback)
    except Unreachable as error:
        raise PushFailed(f"push service unreachable: {error.message}") from error
    except ServiceError as error:
        raise PushGone(error.message) from error
    host = (urlsplit(subscription["endpoint"]).hostname or "").rstrip(".")
    info = {
        "endpoint": subscription["endpoint"],
        "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
    }
    headers = {"Topic": topic} if topic else None
    own = http is None
    http = http or http_session()
    try:
        with http.pinned(host, address):
            webpush(
                info,
                data=json.dumps(payload),
                vapid_private_key=vapid,
                vapid_claims={"sub": subject},
                timeout=(timeout, timeout),
                ttl=ttl,
                headers=headers,
                requests_session=http,
            )
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in (404, 410):
            raise PushGone(f"push service answered {status}: subscription gone") from error
        raise PushFailed(f"push service answered {status}") from error
    except requests.RequestException as error:
        raise PushFailed(f"push service unreachable: {type(error).__name__}: {error}") from error
    finally:
        if own:
            http.close()
