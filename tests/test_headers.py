"""Headers: no copy of a personal page in any cache, HSTS over https (also behind a
trusted proxy), the strict CSP on every page."""

from __future__ import annotations

from webapp import create_app

from . import factories


def test_signed_in_pages_and_downloads_are_not_stored(client, auth, session, now):
    group = factories.group(session, now=now)
    factories.user(session, now=now, group=group, role="coordinator", email="c@example.test")
    auth.login("c@example.test")
    for path in ("/", "/account/", "/members/", "/account/export"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "private, no-store", path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_files_and_the_service_worker_keep_their_own_caching(client):
    assert "no-store" not in client.get("/static/sw.js").headers.get("Cache-Control", "")
    assert client.get("/sw.js").headers["Cache-Control"] == "no-cache"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(app):
    proxied = create_app({**app.config, "TRUSTED_PROXIES": 1})  # TRUSTED_PROXIES=1 in env
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "localhost"}
    response = proxied.test_client().get("/login", headers=forwarded)
    assert "Strict-Transport-Security" in response.headers
    # without the setting, the same header from anyone is ignored
    response = app.test_client().get("/login", headers=forwarded)
    assert "Strict-Transport-Security" not in response.headers
