"""Signing a person in and out on this device (`services/tokens.py` keeps each device's
sign-in): every view that signs someone in goes through `sign_in`."""

from __future__ import annotations

from flask_login import current_user, login_user, logout_user

from .. import clock
from ..extensions import db
from ..models import User
from ..services.tokens import end_session, start_session


def sign_in(user: User, remember: bool = False) -> None:
    """A new sign-in for this device, then the session (and remember-me) cookie for it."""
    start_session(db.session, user, now=clock.now())
    login_user(user, remember=remember)


def sign_out() -> None:
    """Log this device out; the person's other devices stay signed in."""
    if current_user.is_authenticated:
        end_session(db.session, current_user._get_current_object())
    logout_user()
