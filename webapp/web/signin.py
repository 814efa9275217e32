"""Signing a person in and out on this device (`services/tokens.py` keeps each device's
sign-in): every view that signs someone in goes through `sign_in`."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user, login_user, logout_user
from flask_login.utils import decode_cookie

from .. import clock
from ..extensions import db
from ..models import User
from ..services.tokens import end_device_keys, end_session, read_session_id, start_session


def _keys_held() -> list[str]:
    """The device keys this browser's cookies carry now (its session, its remember-me
    cookie): the sign-ins a new one replaces."""
    ids = [session.get("_user_id") or ""]
    remembered = request.cookies.get(
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    )
    if remembered:
        ids.append(decode_cookie(remembered) or "")
    return [read[2] for read in map(read_session_id, ids) if read is not None and read[2]]


def sign_in(user: User, remember: bool = False) -> None:
    """A new sign-in for this device, then the session (and remember-me) cookie for it. The
    sign-in(s) this browser held before, whoever's, end: their copies are worthless."""
    end_device_keys(db.session, _keys_held())
    start_session(db.session, user, now=clock.now())
    login_user(user, remember=remember)


def sign_out() -> None:
    """Log this device out; the person's other devices stay signed in."""
    if current_user.is_authenticated:
        end_session(db.session, current_user._get_current_object())
    logout_user()
