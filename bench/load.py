"""A small closed-loop load generator: N clients, persistent connections, latencies kept.

Written here rather than taken from a tool because each simulated member needs its own
session cookie and CSRF token, and the figures must come out as JSON in the same run.
"""

from __future__ import annotations

import gzip
import http.client
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Client:
    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    wire_bytes: int = 0
    last_latency: float = 0.0

    def __post_init__(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(
        self,
        method: str,
        path: str,
        form: dict | None = None,
        headers: dict | None = None,
        raw: str | None = None,
        decode: bool = True,
    ):
        """Send one request; (status, body). `decode=False` leaves a gzipped body as it came:
        timing the server, not this client's gunzip (~0.4 ms for the shop's 620 KB)."""
        body = urlencode(form) if form is not None else raw
        head = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Accept-Encoding": "gzip",
            **(headers or {}),
        }
        if form is not None:
            head["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=head)
        response = self.conn.getresponse()
        data = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            self.wire_bytes = len(data)
            if decode:
                data = gzip.decompress(data)
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return response.status, data

    def login(self, email: str, password: str) -> None:
        _, page = self.request("GET", "/login")
        self.csrf = CSRF_RE.search(page.decode()).group(1)
        status, _ = self.request(
            "POST", "/login", {"email": email, "password": password, "csrf_token": self.csrf}
        )
        assert status == 302, f"login failed for {email}: {status}"
        _, page = self.request("GET", "/")
        self.csrf = CSRF_RE.search(page.decode()).group(1)


def summary(latencies: list[float], seconds: float) -> dict:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {
        "requests": len(ordered),
        "rps": round(len(ordered) / seconds, 1),
        "p50_ms": round(pick(0.50), 2),
        "p95_ms": round(pick(0.95), 2),
        "p99_ms": round(pick(0.99), 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def run(clients: list[Client], work, *, requests_per_client: int, timed: str | None = None) -> dict:
    """Each client runs `work(client, i)` in its own thread; return latency figures.

    With `timed`, the latency is read from that client attribute (set by `work`), so a
    pause before the request does not count.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []
    barrier = threading.Barrier(len(clients))

    def loop(client: Client):
        barrier.wait()
        mine = []
        for i in range(requests_per_client):
            start = time.perf_counter()
            status = work(client, i)
            mine.append(getattr(client, timed) if timed else time.perf_counter() - start)
            if status >= 400:
                errors.append(str(status))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = summary(latencies, time.perf_counter() - start)
    result["errors"] = len(errors)
    return result


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """The app under gunicorn (2 workers, gunicorn.conf.py) on a free loopback port."""

    def __init__(self, app_spec: str, *extra: str):
        import os
        import subprocess
        import sys
        from pathlib import Path

        root = Path(__file__).resolve().parent.parent
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                str(root / "gunicorn.conf.py"),
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                *extra,
                app_spec,
            ],
            cwd=root,
            env=os.environ.copy(),
        )

    def __enter__(self) -> Gunicorn:
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(10)
