"""`make bench-scale` (run by bench/scale.sh inside deploy/check.sh's stack): the busiest
hour of a closing evening for 1,000 groups, through nginx over HTTPS, all at once:

- members of 200 groups ordering (the shop page, then + on products, with a person's pauses),
- 50 tablets syncing their sheets (the snapshot, then 200 events in one batch),
- 20 coordinators of 100-member groups reading the product summary and the global view,
- the sender delivering the reminders that the evening queues (to a local SMTP server),
- the bare endpoint in the same run (the floor).

Every client loop stops after a fixed count of requests or at DEADLINE, whichever comes
first. Then, out of the load: queries per request of each kind (the app in this process,
counting statements), memory of each gunicorn worker, the database size.
Writes bench/results/scale.json.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import ssl
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import summary  # noqa: E402

URL = urlsplit(os.environ["DEPLOY_URL"])
DB = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
DEADLINE_S = float(os.environ.get("BENCH_SECONDS", "90"))
SHOPPERS, TABLETS, COORDINATORS = 200, 50, 20
# Shoppers arrive over this many seconds (as tablets over 10): the evening's members come
# in over the hour, not 200 in the same instant. 0 starts them all at once.
ARRIVALS_S = float(os.environ.get("BENCH_ARRIVALS", "20"))
WEEK_TODAY, WEEK_TONIGHT = 53, 54
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
TLS = ssl._create_unverified_context()  # the certificate made at set-up


def distribution(group: int, week: int) -> int:
    return (group - 1) * 56 + week  # as bench/scale_data.py numbers them


class Client:
    """One person's browser: HTTPS to nginx, keep-alive, cookies, the CSRF token."""

    def __init__(self, cookie: str):
        self.cookies = {"session": cookie}
        self.conn = http.client.HTTPSConnection(URL.hostname, URL.port, timeout=60, context=TLS)
        self.csrf = ""

    def request(self, method, path, form=None, raw=None, headers=None):
        head = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Accept-Encoding": "gzip",
            **(headers or {}),
        }
        body = urlencode(form) if form is not None else raw
        if form is not None:
            head["Content-Type"] = "application/x-www-form-urlencoded"
        if method != "GET":
            head["X-CSRFToken"] = self.csrf
            head["Referer"] = f"https://{URL.netloc}/"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=head)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if attempt == 2:
                    raise
                self.conn.close()  # nginx closed an idle keep-alive connection
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";")[0]
        if response.headers.get("Content-Encoding") == "gzip":
            import gzip

            data = gzip.decompress(data)
        return response.status, data

    def start(self):
        status, page = self.request("GET", "/")
        assert status == 200, status
        self.csrf = CSRF_RE.search(page.decode()).group(1)


def forge_sessions(people: list[tuple[int, int]]) -> list[str]:
    """Session cookies as a login would set them (signed with the shared SECRET_KEY):
    60,000 argon2 logins would measure the password hash, not the evening."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app = Flask("bench")
    app.secret_key = os.environ["SECRET_KEY"]
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    return [signer.dumps({"_user_id": f"{u}:0", "_fresh": True, "group_id": g}) for u, g in people]


def pick_people():
    with psycopg.connect(DB) as conn:
        sizes = dict(
            conn.execute("SELECT group_id, count(*) FROM memberships GROUP BY group_id").fetchall()
        )
        coordinators = dict(
            conn.execute(
                "SELECT group_id, user_id FROM memberships WHERE role = 'coordinator'"
            ).fetchall()
        )
        # a member of each of 200 groups who has no basket yet tonight (k odd)
        shoppers = conn.execute(
            """SELECT DISTINCT ON (m.group_id) m.user_id, m.group_id FROM memberships m
               WHERE m.group_id <= %s AND m.role = 'member' AND NOT EXISTS (
                 SELECT 1 FROM baskets b WHERE b.user_id = m.user_id
                 AND b.distribution_id = (m.group_id - 1) * 56 + %s)
               ORDER BY m.group_id, m.user_id""",
            (SHOPPERS, WEEK_TONIGHT),
        ).fetchall()
    big = sorted((g for g, n in sizes.items() if n == 100), key=lambda g: -g)[:COORDINATORS]
    small = [g for g in range(SHOPPERS + 1, SHOPPERS + 1 + TABLETS)]
    return (
        [(u, g) for u, g in shoppers],
        [(coordinators[g], g) for g in small],
        [(coordinators[g], g) for g in big],
        sizes,
    )


class Recorder:
    def __init__(self):
        self.latencies = defaultdict(list)
        self.errors = defaultdict(list)
        self.lock = threading.Lock()

    def timed(self, kind, client, method, path, **kw):
        start = time.perf_counter()
        status, data = client.request(method, path, **kw)
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latencies[kind].append(elapsed)
            if status >= 400:
                self.errors[kind].append(f"{status} {path}")
        return status, data


def shopper(rec: Recorder, client: Client, group: int, stop: float, rng: random.Random):
    d = distribution(group, WEEK_TONIGHT)
    shop = f"/distributions/{d}/shop"
    products = [(group - 1) * 40 + p for p in range(1, 41)]
    time.sleep(rng.uniform(0, ARRIVALS_S))
    for _ in range(3):  # at most 3 visits of the shop, 5 changes each
        if time.monotonic() > stop:
            return
        rec.timed("shop_page", client, "GET", shop)
        for pid in rng.sample(products, 5):
            time.sleep(rng.uniform(1.0, 4.0))  # a person reads, then taps
            if time.monotonic() > stop:
                return
            rec.timed(
                "order_change",
                client,
                "POST",
                f"{shop}/products/{pid}",
                form={"q": "0", "op": "inc"},
                headers={"HX-Request": "true"},
            )
        time.sleep(rng.uniform(2.0, 6.0))


def tablet(rec: Recorder, client: Client, group: int, stop: float, rng: random.Random):
    d = distribution(group, WEEK_TODAY)
    time.sleep(rng.uniform(0, 10))
    status, data = rec.timed("sheet_snapshot", client, "GET", f"/api/distributions/{d}/sheet")
    baskets = json.loads(data)["baskets"] if status == 200 else []
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    device = f"bench-tablet-{group}"
    events = [
        {
            "id": str(uuid.uuid4()),
            "device_id": device,
            "kind": kind,
            "basket_id": b["id"],
            "recorded_at": now,
            "payload": payload,
        }
        for b in baskets
        for kind, payload in (
            ("pickup", {"state": "taken"}),
            ("payment", {"method": "cash", "amount_cents": b["due_cents"]}),
        )
    ]
    cursor = None
    for batch in range(0, min(len(events), 600), 200):  # up to 3 batches of 200 events
        time.sleep(rng.uniform(3.0, 8.0))
        if time.monotonic() > stop:
            return
        body = json.dumps(
            {"device_id": device, "cursor": cursor, "events": events[batch : batch + 200]}
        )
        status, answer = rec.timed(
            "sheet_sync_200_events",
            client,
            "POST",
            f"/api/distributions/{d}/events",
            raw=body,
            headers={"Content-Type": "application/json"},
        )
        if status == 200:
            cursor = json.loads(answer).get("cursor", cursor)


def coordinator(rec: Recorder, client: Client, group: int, stop: float, rng: random.Random):
    d = distribution(group, WEEK_TODAY)
    for _ in range(4):
        time.sleep(rng.uniform(2.0, 8.0))
        if time.monotonic() > stop:
            return
        rec.timed("summary_100_members", client, "GET", f"/distributions/{d}/summary")
        time.sleep(rng.uniform(2.0, 6.0))
        if time.monotonic() > stop:
            return
        rec.timed("global_view_100_members", client, "GET", f"/distributions/{d}/orders")


def bare(rec: Recorder, client: Client, stop: float):
    for _ in range(400):
        if time.monotonic() > stop:
            return
        rec.timed("bare_endpoint", client, "GET", "/_bare")
        time.sleep(0.2)


def sent_by_sender() -> tuple[int, int]:
    with psycopg.connect(DB) as conn:
        sent, waiting = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'sent'), "
            "count(*) FILTER (WHERE state IN ('queued', 'sending')) FROM outbox_messages"
        ).fetchone()
    return sent, waiting


def database_activity() -> list:
    """What the database's backends are doing right now (mid-run): waits and long queries."""
    with psycopg.connect(DB) as conn:
        rows = conn.execute(
            """SELECT state, wait_event_type, wait_event, application_name,
                      round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_s,
                      left(query, 160)
               FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
               ORDER BY xact_start NULLS LAST"""
        ).fetchall()
    return [
        list(map(lambda v: v if isinstance(v, (int, str, type(None))) else str(v), r)) for r in rows
    ]


def worker_memory() -> list[dict]:
    """PSS (shared pages split between the processes that share them) and RSS per worker."""
    out = []
    for master in os.environ.get("DEPLOY_APP_PIDS", "").split():
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            continue
        for pid in [master, *children]:
            fields = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value = line.split(":")
                fields[name] = int(value.split()[0])
            out.append(
                {
                    "pid": int(pid),
                    "role": "master" if pid == master else "worker",
                    "rss_mb": round(fields["Rss"] / 1024, 1),
                    "pss_mb": round(fields["Pss"] / 1024, 1),
                }
            )
    return out


def reminder_runs() -> dict:
    """Queueing the reminders for every group, as the sender does each minute, twice in a
    row in this process: the first run queues what the evening made due (if the sender
    has not yet), the second is the steady cost of a minute with nothing new."""
    os.environ.setdefault("COURT_CIRCUIT_INSTANCE", "/tmp")
    from webapp import create_app
    from webapp.cli import REMINDER_BATCH, queue_reminders
    from webapp.services.notify import due_distribution_ids

    app = create_app({"RATELIMIT_ENABLED": False})
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        from webapp.extensions import db

        distributions = len(due_distribution_ids(db.session, now=now))
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        queued = queue_reminders(app, now=now)
        runs.append({"queued": queued, "seconds": round(time.perf_counter() - start, 2)})
    return {"distributions_looked_at": distributions, "batch": REMINDER_BATCH, "runs": runs}


def queries_per_request(people) -> dict:
    """Each kind of request once in this process, counting the SQL statements it runs."""
    from sqlalchemy import event

    os.environ.setdefault("COURT_CIRCUIT_INSTANCE", "/tmp")
    from webapp import create_app
    from webapp.extensions import db

    app = create_app(
        {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": False}
    )
    counted = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: counted.append(1))
    shoppers, tablets, coordinators, _ = people
    result = {}

    def count(kind, user, group, method, path, **kw):
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"], s["_fresh"], s["group_id"] = f"{user}:0", True, group
        client.get("/")  # the session settles
        counted.clear()
        response = client.open(path, method=method, **kw)
        result[kind] = {"queries": len(counted), "status": response.status_code}

    u, g = shoppers[0]
    count("shop_page", u, g, "GET", f"/distributions/{distribution(g, WEEK_TONIGHT)}/shop")
    count(
        "order_change",
        u,
        g,
        "POST",
        f"/distributions/{distribution(g, WEEK_TONIGHT)}/shop/products/{(g - 1) * 40 + 3}",
        data={"q": "0", "op": "inc"},
        headers={"HX-Request": "true"},
    )
    u, g = tablets[0]
    count("sheet_snapshot", u, g, "GET", f"/api/distributions/{distribution(g, WEEK_TODAY)}/sheet")
    u, g = coordinators[0]
    d = distribution(g, WEEK_TODAY)
    count("summary_100_members", u, g, "GET", f"/distributions/{d}/summary")
    count("global_view_100_members", u, g, "GET", f"/distributions/{d}/orders")
    count("members_page", u, g, "GET", "/members/")
    count("bare_endpoint", u, g, "GET", "/healthz")
    return result


KIND_OF_PATH = [
    ("order_change", re.compile(r"^POST /distributions/\d+/shop/products/")),
    ("shop_page", re.compile(r"^GET /distributions/\d+/shop$")),
    ("sheet_sync_200_events", re.compile(r"^POST /api/distributions/\d+/events")),
    ("sheet_snapshot", re.compile(r"^GET /api/distributions/\d+/sheet")),
    ("summary_100_members", re.compile(r"^GET /distributions/\d+/summary")),
    ("global_view_100_members", re.compile(r"^GET /distributions/\d+/orders")),
    ("bare_endpoint", re.compile(r"^GET /_bare")),
]


def server_side(since: int) -> dict:
    """nginx's own view (its access log): time to the upstream's answer, per kind; this
    leaves out the load generator's waits (it shares the 2 cores)."""
    path = os.environ.get("DEPLOY_ACCESS_LOG")
    if not path:
        return {}
    times = defaultdict(list)
    for line in Path(path).read_text().splitlines()[since:]:
        request = line.split('"')[1].rsplit(" ", 1)[0]
        upstream = line.split()[-1]
        for kind, pattern in KIND_OF_PATH:
            if pattern.match(request) and upstream != "-":
                times[kind].append(float(upstream.split(",")[-1]))
                break
    out = {}
    for kind, values in sorted(times.items()):
        ordered = sorted(values)
        pick = lambda q, o=ordered: round(o[min(len(o) - 1, int(q * len(o)))] * 1000, 1)  # noqa: E731
        out[kind] = {
            "n": len(ordered),
            "p50_ms": pick(0.5),
            "p95_ms": pick(0.95),
            "p99_ms": pick(0.99),
        }
    return out


def log_lines() -> int:
    path = os.environ.get("DEPLOY_ACCESS_LOG")
    return len(Path(path).read_text().splitlines()) if path else 0


def quiet(client: Client, coordinator_client: Client, group: int, coord_group: int) -> dict:
    """Before the rush: one request at a time through the whole stack (nginx, TLS,
    gunicorn, PostgreSQL), the floor of each kind next to the bare endpoint."""
    rec = Recorder()
    shop = f"/distributions/{distribution(group, WEEK_TONIGHT)}/shop"
    today = distribution(coord_group, WEEK_TODAY)
    for i in range(30):
        rec.timed("bare_endpoint", client, "GET", "/_bare")
        rec.timed("shop_page", client, "GET", shop)
        rec.timed(
            "order_change",
            client,
            "POST",
            f"{shop}/products/{(group - 1) * 40 + 1 + i % 40}",
            form={"q": "0", "op": "inc"},
            headers={"HX-Request": "true"},
        )
        if i % 3 == 0:
            rec.timed(
                "summary_100_members", coordinator_client, "GET", f"/distributions/{today}/summary"
            )
            rec.timed(
                "global_view_100_members",
                coordinator_client,
                "GET",
                f"/distributions/{today}/orders",
            )
            rec.timed(
                "sheet_snapshot", coordinator_client, "GET", f"/api/distributions/{today}/sheet"
            )
    out = {}
    for kind, values in sorted(rec.latencies.items()):
        figures = summary(values, 1)
        figures.pop("rps")
        figures["errors"] = len(rec.errors[kind])
        out[kind] = figures
    return out


def cpu_seconds(pid: str | None) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, TypeError, IndexError):
        return None


def main() -> None:
    import resource

    started = time.perf_counter()
    people = pick_people()
    shoppers, tablets, coordinators, sizes = people
    cookies = forge_sessions(shoppers + tablets + coordinators + [coordinators[0]])
    clients = [Client(c) for c in cookies]
    for client in clients:
        client.start()
    setup_s = time.perf_counter() - started
    one_at_a_time = quiet(clients[0], clients[-1], shoppers[0][1], coordinators[0][1])
    sender_pid = os.environ.get("DEPLOY_SENDER_PID")
    sender_cpu_before = cpu_seconds(sender_pid)
    own_cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    smtp_file = os.environ.get("BENCH_SMTP_COUNT")
    smtp_before = int(Path(smtp_file).read_text() or 0) if smtp_file else 0
    sent_before, waiting_before = sent_by_sender()

    rec = Recorder()
    stop = time.monotonic() + DEADLINE_S
    threads = []
    n_s, n_t = len(shoppers), len(tablets)
    for i, (_, g) in enumerate(shoppers):
        threads.append(
            threading.Thread(target=shopper, args=(rec, clients[i], g, stop, random.Random(i)))
        )
    for i, (_, g) in enumerate(tablets):
        threads.append(
            threading.Thread(
                target=tablet, args=(rec, clients[n_s + i], g, stop, random.Random(1000 + i))
            )
        )
    for i, (_, g) in enumerate(coordinators):
        c = clients[n_s + n_t + i]
        threads.append(
            threading.Thread(target=coordinator, args=(rec, c, g, stop, random.Random(2000 + i)))
        )
    threads.append(threading.Thread(target=bare, args=(rec, clients[-1], stop)))
    since = log_lines()
    load_before = os.getloadavg()
    begin = time.perf_counter()
    for t in threads:
        t.start()
    memory_during = activity_during = None
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        if memory_during is None and time.perf_counter() - begin > DEADLINE_S / 2:
            memory_during = worker_memory()
            activity_during = database_activity()
    seconds = time.perf_counter() - begin
    upstream = server_side(since)
    own_cpu = resource.getrusage(resource.RUSAGE_SELF)
    sender_cpu_after = cpu_seconds(sender_pid)
    load_after = os.getloadavg()
    sent_after, waiting_after = sent_by_sender()
    smtp_after = int(Path(smtp_file).read_text() or 0) if smtp_file else 0

    kinds = {}
    for kind, values in sorted(rec.latencies.items()):
        figures = summary(values, seconds)
        figures["errors"] = len(rec.errors[kind])
        if rec.errors[kind]:
            figures["first_errors"] = rec.errors[kind][:5]
        kinds[kind] = figures
    total = sum(len(v) for v in rec.latencies.values())
    with psycopg.connect(DB) as conn:
        db_size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    data_file = ROOT / "bench" / "results" / "scale_data.json"
    results = {
        "date": dt.date.today().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "stack": "nginx 1.22 (HTTPS, HTTP/1.1 from the load) -> 2 gunicorn masters x 2 "
            "sync workers -> PostgreSQL 15 (fsync off, throwaway); load generator and sender "
            "on the same 2 cores",
        },
        "data": json.loads(data_file.read_text()) if data_file.exists() else None,
        "groups_with_100_members": sum(1 for n in sizes.values() if n == 100),
        "clients": {
            "shoppers_arrive_over_s": ARRIVALS_S,
            "shoppers": len(shoppers),
            "tablets": len(tablets),
            "coordinators": len(coordinators),
        },
        "setup_seconds": round(setup_s, 1),
        "run_seconds": round(seconds, 1),
        "requests": total,
        "requests_per_second": round(total / seconds, 1),
        "errors": sum(len(v) for v in rec.errors.values()),
        "one_request_at_a_time_before_the_rush": one_at_a_time,
        "kinds": kinds,
        "cpu_seconds_during_run": {
            "load_generator": round(
                own_cpu.ru_utime
                + own_cpu.ru_stime
                - own_cpu_before.ru_utime
                - own_cpu_before.ru_stime,
                1,
            ),
            "sender": round(sender_cpu_after - sender_cpu_before, 1)
            if sender_cpu_after is not None and sender_cpu_before is not None
            else None,
            "available": round(2 * seconds, 1),
        },
        "upstream_time_per_kind": upstream,
        "load_average_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
        "sender": {
            "sent_during_run": sent_after - sent_before,
            "smtp_received_during_run": smtp_after - smtp_before,
            "per_second": round((sent_after - sent_before) / seconds, 1),
            "waiting_before": waiting_before,
            "waiting_after": waiting_after,
        },
        "memory_per_process_during_load": memory_during,
        "database_activity_mid_run": activity_during,
        "database_mb": round(db_size / 2**20),
        "targets": {
            "shop_page_p95_ms": 100,
            "order_change_p95_ms": 100,
            "sheet_sync_200_events_p95_ms": 200,
            "summary_100_members_ms": 300,
            "errors": 0,
        },
    }
    results["queries_per_request"] = queries_per_request(people)
    results["reminders_queueing"] = reminder_runs()
    out = ROOT / "bench" / "results" / "scale.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
