"""Locale and time zone of a request."""

from flask import current_app, g, request, session
from flask_login import current_user


def select_locale() -> str:
    """The user's setting, else the session's choice, else the browser's, else French."""
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or languages[0]


def select_timezone() -> str:
    group = getattr(g, "group", None)
    return group.timezone if group else current_app.config["BABEL_DEFAULT_TIMEZONE"]
