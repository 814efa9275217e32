"""End-to-end fixtures: the app served by a real process on 127.0.0.1, seeded with the
demo, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1024, "height": 768}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app in a subprocess, so a test can kill it and start it again."""

    def __init__(self, instance: Path, port: int):
        self.instance = instance
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "COURT_CIRCUIT_INSTANCE": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'e2e.sqlite3'}",
            "SECRET_KEY": "e2e-secret",
            "RATELIMIT_ENABLED": "0",  # the tests log in far more often than a person
        }

    def flask(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "webapp", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "webapp",
                "run",
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--with-threads",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.instance / "server.log", "ab"),
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(
            "server did not start: " + (self.instance / "server.log").read_text()[-2000:]
        )

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    srv = Server(instance, _free_port())
    srv.flask("db", "upgrade")
    srv.flask("seed-demo")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def base_url(server):
    return server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def phone(browser, base_url):
    context = browser.new_context(
        viewport=PHONE, base_url=base_url, locale="fr-FR", has_touch=True, is_mobile=True
    )
    yield context
    context.close()


@pytest.fixture
def console_errors():
    """Collect errors printed in the browser console; a test asserts there are none."""
    return []


def watch_console(page, errors: list) -> None:
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))


def login(page, email: str, password: str = "demo-password") -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/")


def service_worker(context, page, base_url: str):
    """A CDP session on the page and the id of our service worker's registration."""
    cdp = context.new_cdp_session(page)
    registrations: list = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(25):
        match = [r for r in registrations if r["scopeURL"].startswith(base_url)]
        if match:
            return cdp, match[0]["registrationId"]
        page.wait_for_timeout(100)
    raise AssertionError("no service worker registered for " + base_url)
