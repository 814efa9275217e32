"""Error pages in the app's style, JSON errors for the API, and the one place where a
service's refusal (`ServiceError`) becomes what the user reads.

A refusal rolls the request's transaction back, then answers by how it was asked:
JSON for the API, a message fragment swapped into `#flashes` for htmx (4xx), and for a
plain form a flash and a 303 back to the page the form was on (`X-Refused` carries the
status for machines); a GET shows the error page with the status.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..services import ServiceError


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


def _back_url() -> str:
    """The page the form was sent from, when it is ours; else the home page."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for("main.home")


def refusal_response(error: ServiceError):
    """Answer a refused request; the caller has rolled back."""
    g.refused = True
    if _wants_json():
        return jsonify(error="refused", message=error.message, field=error.field), error.status
    if request.headers.get("HX-Request"):
        body = render_template("errors/_refusal.html", message=error.message)
        return body, error.status, {"HX-Retarget": "#flashes", "HX-Reswap": "innerHTML"}
    if request.method in ("GET", "HEAD") or error.status in (403, 404):
        # Nothing to correct on the form: the page itself is not for this person.
        return _render(error.status, _messages().get(error.status, ("", ""))[0], error.message)
    flash(error.message, "error")
    response = redirect(_back_url(), code=303)
    response.headers["X-Refused"] = str(error.status)
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _refused(error: ServiceError):
        db.session.rollback()
        return refusal_response(error)

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
        if error.description and error.description != type(error).description:
            message = error.description  # abort(status, description) says what was wrong
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
