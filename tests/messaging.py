"""Real counterparts for the sender's tests, all on 127.0.0.1: a push service that keeps
what it receives (or answers an error), one that accepts and never answers, a closed
port, an SMTP server (aiosmtpd); browser-side push keys to decrypt with http_ece."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class BrowserKeys:
    """What a browser keeps for one push subscription."""

    private: ec.EllipticCurvePrivateKey
    public: bytes
    secret: bytes

    @classmethod
    def make(cls) -> BrowserKeys:
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return cls(private, public, os.urandom(16))

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(
                body, private_key=self.private, auth_secret=self.secret, version="aes128gcm"
            )
        )


class Receiver:
    """A push service on 127.0.0.1 that keeps what it receives, or answers `status`."""

    def __init__(self, status: int = 201, location: str | None = None):
        self.received: list[tuple[str, dict, bytes]] = []  # path, headers, body
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append((self.path, headers, body))
                self.send_response(receiver.status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/push/abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[bytes]:
        return [body for _, _, body in self.received]

    @property
    def headers(self) -> list[dict]:
        return [headers for _, headers, _ in self.received]

    def to(self, path: str) -> list[tuple[dict, bytes]]:
        return [(h, b) for p, h, b in self.received if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Hanger:
    """Accepts connections and never answers (a push service that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/push/hang"
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)  # kept open, never read, never answered

    def close(self):
        self.stopped = True
        for conn in self.held:
            conn.close()
        self.sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Smtp:
    """An SMTP server on 127.0.0.1 that keeps the envelopes it accepts."""

    def __init__(self, refuse: str | None = None):
        self.messages = []
        messages = self.messages

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if refuse:
                    return refuse
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                messages.append(envelope)
                return "250 OK"

        self.port = closed_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m.rcpt_tos]

    def close(self):
        self.controller.stop()
