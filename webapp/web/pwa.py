"""The service worker (served from the root so its scope is the whole site), the web app
manifest, and the offline page."""

from __future__ import annotations

import hashlib

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _

from .assets import asset_url

bp = Blueprint("pwa", __name__)

# What the offline sheet needs, precached at install with their hashed URLs.
SHEET_ASSETS = [
    "vendor/pico.min.css",
    "css/app.css",
    "css/sheet.css",
    "icons/icon.svg",
    "vendor/idb.umd.js",
    "vendor/signature_pad.umd.min.js",
    "js/sheet-state.js",
    "js/sheet-model.js",
    "js/sheet-store.js",
    "js/sheet.js",
    "vendor/htmx.min.js",
    "js/app.js",
]


@bp.route("/sw.js")
def service_worker():
    """The worker is a plain file (static/sw.js); served from the root, its scope is the
    whole site. What it needs from the server comes from /sw-manifest.json."""
    response = send_from_directory(
        current_app.static_folder, "sw.js", mimetype="text/javascript", max_age=0
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/sw-manifest.json")
def service_worker_manifest():
    """What the worker precaches (hashed URLs), its version, and the offline page."""
    assets = [asset_url(name) for name in SHEET_ASSETS]
    # The version changes whenever an asset changes: the worker then precaches again.
    version = hashlib.sha256("|".join(assets).encode()).hexdigest()[:12]
    response = jsonify(
        version=version,
        assets=assets,
        offline=url_for("pwa.offline"),
        icon=asset_url("icons/icon.svg"),
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    data = {
        "name": "Court-circuit",
        "short_name": "Court-circuit",
        "description": _("Orders and distribution days of your food-buying group"),
        "start_url": url_for("main.home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#2f7d5b",
        "icons": [
            {
                "src": asset_url("icons/icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            },
            {"src": asset_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": asset_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    import json

    return Response(json.dumps(data), mimetype="application/manifest+json")


@bp.route("/offline")
def offline():
    return render_template("sheet/offline.html")
