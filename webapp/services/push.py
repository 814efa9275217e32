"""Web push with VAPID: keys, subscriptions checked before they are stored, sending one
message (short timeouts, no redirects; the sender records what happened)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from flask_babel import gettext as _
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


def check_endpoint(endpoint: str, *, allow_loopback: bool) -> None:
    """Only https push services on public addresses (http on 127.0.0.1 when allowed, for tests)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if allow_loopback and parts.scheme in ("http", "https") and host == "127.0.0.1":
        return
    if parts.scheme != "https" or not host:
        raise ServiceError(_("A push subscription must use https."), status=422)
    if host == "localhost" or host.endswith((".local", ".localhost", ".internal", ".lan")):
        raise ServiceError(_("A push subscription must point to a public address."), status=422)
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return  # a name: resolved by the push library when sending
    if not address.is_global:
        raise ServiceError(_("A push subscription must point to a public address."), status=422)


def save_subscription(
    session: Session, user: User, raw: bytes, *, allow_loopback: bool, now: datetime
) -> PushSubscription:
    """Store the browser's PushSubscription JSON for a user (refreshed when it exists)."""
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
    except (ValueError, KeyError, TypeError) as error:
        raise ServiceError(_("This is not a push subscription.")) from error
    check_endpoint(endpoint, allow_loopback=allow_loopback)
    sub = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if sub is None:
        sub = PushSubscription(endpoint=endpoint, created_at=now)
        session.add(sub)
    sub.user_id, sub.p256dh, sub.auth = user.id, p256dh, auth
    session.flush()
    return sub


class PushFailed(Exception):
    """The push service did not take the message (network error, timeout, refusal)."""


class PushGone(PushFailed):
    """The subscription is gone for good (404/410, or an endpoint no longer allowed)."""


class _NoRedirects(requests.Session):
    """A push service answers; it never sends us elsewhere (a 3xx is a failure)."""

    def post(self, url, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().post(url, *args, **kwargs)


def http_session() -> requests.Session:
    return _NoRedirects()


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
    http: requests.Session | None = None,
) -> None:
    """Send one encrypted message to one subscription ({"endpoint", "p256dh", "auth"}).

    Raises PushGone when the subscription must be forgotten, PushFailed otherwise.
    Touches no database: the caller records the outcome.
    """
    from pywebpush import WebPushException, webpush

    try:
        check_endpoint(subscription["endpoint"], allow_loopback=allow_loopback)
    except ServiceError as error:  # checked again: data can age, settings change
        raise PushGone(error.message) from error
    info = {
        "endpoint": subscription["endpoint"],
        "keys": {"p256dh": subscription["p256dh"], "auth": subscription["auth"]},
    }
    headers = {"Topic": topic} if topic else None
    own = http is None
    http = http or http_session()
    try:
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
