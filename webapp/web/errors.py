"""Error pages in the app's style, JSON errors for the API."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import db


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/push/")) or request.is_json


def _render(status: int, title: str, message: str):
    if _wants_json():
        return jsonify(error=title, message=message), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        403: (_("Access refused"), _("You do not have access to this page.")),
        404: (_("Page not found"), _("This page does not exist, or is not in your group.")),
        405: (_("Not allowed"), _("This action is not allowed here.")),
        409: (_("Conflict"), _("This changed in the meantime; reload and try again.")),
        413: (_("Too large"), _("What you sent is too large.")),
        429: (_("Too many requests"), _("Please wait a moment and try again.")),
    }


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        db.session.rollback()
        return _render(
            400,
            _("Form expired"),
            _("The form expired or was sent from elsewhere. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        db.session.rollback()
        title, message = _messages().get(error.code or 500, (error.name, error.description))
        return _render(error.code or 500, title, message)

    @app.errorhandler(Exception)
    def _crash(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s", request.path)
        return _render(
            500,
            _("Something went wrong"),
            _("The error was logged. Nothing was saved; please try again."),
        )
