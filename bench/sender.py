"""The outbox sender scaled out, measured: 10,000 queued messages (half web push to a local
push service, half e-mail to a local SMTP server), delivered by several sender processes
sharing the outbox on PostgreSQL (rows claimed FOR UPDATE SKIP LOCKED).

    DATABASE_URL=postgresql://... (migrated, with users) python bench/sender.py [SENDERS]

Checks that no message went out twice (push: one Topic per row; e-mail: one Message-ID
per row) and writes bench/results/sender.json. Bounded: each sender stops when the outbox
is empty or after 10 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.messaging import BrowserKeys, Receiver, Smtp, b64  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
DB = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")

SENDER = """
import sys, time
from datetime import UTC, datetime
from webapp import create_app
from webapp.sender import deliver_due
app = create_app()
deadline = time.monotonic() + 600
total = {}
while time.monotonic() < deadline:
    counts = deliver_due(app, now=datetime.now(UTC), limit=500)
    for k, v in counts.items():
        total[k] = total.get(k, 0) + v
    if not counts:
        break
print(total)
"""


def queue(receiver: Receiver, keys: BrowserKeys) -> None:
    """Half the people get a push subscription on the local push service; queue MESSAGES."""
    with psycopg.connect(DB, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("DELETE FROM outbox_messages WHERE kind = 'bench'")
        conn.execute(
            "DELETE FROM push_subscriptions WHERE endpoint LIKE %s", (receiver.base + "%",)
        )
        users = [
            r[0] for r in conn.execute("SELECT id FROM users ORDER BY id LIMIT %s", (MESSAGES,))
        ]
        assert len(users) == MESSAGES, f"need {MESSAGES} users, found {len(users)}"
        pushed = users[: MESSAGES // 2]
        with conn.cursor().copy(
            "COPY push_subscriptions (user_id, endpoint, p256dh, auth, created_at) FROM STDIN"
        ) as copy:
            for u in pushed:
                copy.write_row(
                    (
                        u,
                        f"{receiver.base}/push/{u}",
                        b64(keys.public),
                        b64(keys.secret),
                        "2026-01-01",
                    )
                )
        with conn.cursor().copy(
            "COPY outbox_messages (dedupe_key, user_id, kind, ref, channel, title, body, url, "
            "state, attempts, next_attempt_at, created_at) FROM STDIN"
        ) as copy:
            for u in users:
                copy.write_row(
                    (
                        f"bench:r:{u}",
                        u,
                        "bench",
                        "r",
                        "auto",
                        "Les commandes ferment ce soir",
                        "Il reste une heure pour commander.",
                        "/",
                        "queued",
                        0,
                        "2026-01-01",
                        "2026-01-01",
                    )
                )


def main() -> None:
    senders = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    receiver, smtp, keys = Receiver(), Smtp(), BrowserKeys.make()
    queue(receiver, keys)
    instance = tempfile.mkdtemp(prefix="cc-bench-sender-")
    env = {
        **os.environ,
        "COURT_CIRCUIT_INSTANCE": instance,
        "PUSH_ALLOW_LOOPBACK": "1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
    }
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SENDER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(senders)
    ]
    counts = [p.communicate(timeout=660)[0].strip().splitlines()[-1] for p in processes]
    seconds = time.perf_counter() - started
    topics = Counter(h.get("topic") for h in receiver.headers)
    message_ids = Counter(
        m.content.split(b"Message-ID:", 1)[1].split(b"\r\n", 1)[0].strip().lower()
        if isinstance(m.content, bytes)
        else m.content.split("Message-ID:", 1)[1].split("\n", 1)[0].strip().lower()
        for m in smtp.messages
    )
    with psycopg.connect(DB) as conn:
        states = dict(
            conn.execute(
                "SELECT state, count(*) FROM outbox_messages WHERE kind = 'bench' GROUP BY state"
            ).fetchall()
        )
    assert all(v == 1 for v in topics.values()), "a push message went out twice"
    assert all(v == 1 for v in message_ids.values()), "an e-mail went out twice"
    sample = receiver.bodies[0]
    results = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "senders": senders,
        "messages": MESSAGES,
        "seconds": round(seconds, 1),
        "per_second": round(MESSAGES / seconds, 1),
        "push_received": len(receiver.received),
        "push_distinct": len(topics),
        "emails_received": len(smtp.messages),
        "emails_distinct": len(message_ids),
        "outbox_states": states,
        "per_sender": counts,
        "push_payload_decrypts": keys.decrypt(sample)["title"] == "Les commandes ferment ce soir",
    }
    out = ROOT / "bench" / "results" / f"sender_{senders}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    smtp.close()


if __name__ == "__main__":
    main()
