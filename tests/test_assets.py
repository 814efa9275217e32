"""Static files carry a hash of their content in their URL: built once per process (a
deployment restarts it), built again each time in debug mode, where files change."""

from __future__ import annotations

import os

from webapp.web import assets


def _write(folder, text: str, mtime: int) -> None:
    path = folder / "x.css"
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_urls_are_built_once_per_process_and_again_in_debug_mode(app, tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "_built", {})
    app.static_folder = str(tmp_path)
    _write(tmp_path, "a { color: red }", 1_000_000)
    with app.test_request_context("/"):
        first = assets.asset_url("x.css")
        assert first.startswith("/static/x.css?v=")
        _write(tmp_path, "a { color: blue }", 2_000_000)
        assert assets.asset_url("x.css") == first  # not looked at again
        app.debug = True
        changed = assets.asset_url("x.css")
        assert changed != first and changed.startswith("/static/x.css?v=")
        assert assets.asset_url("missing.css").endswith("v=missing")
