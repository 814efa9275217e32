"""`make bench`: the shop under load, served by gunicorn (2 workers) on a SQLite file.

Builds a distribution with 1,000 products and 50 members, then measures in one run:
- a bare Flask endpoint on the same server (the floor),
- the shop page (one client, then 10 at once),
- order submission (50 members at once, the HTMX +1 on random products).
Writes bench/results/shop.json and prints it.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402
from bench.load import Client, Gunicorn, run  # noqa: E402

PASSWORD = data.PASSWORD
PRODUCTS = 1000
MEMBERS = 50


def build(instance: Path) -> int:
    """Migrate and fill the database; return the distribution id."""
    return data.build(
        instance,
        data.Spec(
            "bench.sqlite3",
            producers=10,
            products=PRODUCTS,
            members=MEMBERS,
            orders_open=True,
            member_passwords=True,
            price=lambda i: 100 + i,
            stock=lambda i: Decimal(10_000) if i % 3 == 0 else None,
        ),
    )


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="cc-bench-"))
    distribution_id = build(instance)
    with Gunicorn("bench.app:app") as server:
        port = server.port
        results = measure(port, distribution_id)
    results["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "database": "sqlite (WAL)",
        "server": "gunicorn -w 2 (sync)",
    }
    out = ROOT / "bench" / "results" / "shop.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def measure(port: int, distribution_id: int) -> dict:
    shop = f"/distributions/{distribution_id}/shop"
    one = Client("127.0.0.1", port)
    one.login("m0@bench.test", PASSWORD)
    status, page = one.request("GET", shop)
    assert status == 200, status
    product_ids = sorted({int(x) for x in __import__("re").findall(rb'name="q-(\d+)"', page)})
    assert len(product_ids) == PRODUCTS, len(product_ids)
    for _ in range(20):  # warm up both workers
        one.request("GET", shop)
        one.request("GET", "/_bare")

    results = {"shop_page_bytes": len(page), "shop_page_gzip_bytes": one.wire_bytes}
    results["bare_endpoint_1_client"] = run(
        [one], lambda c, i: c.request("GET", "/_bare")[0], requests_per_client=500
    )
    # The page as received (not unzipped: that is the client's time, as a browser's would be).
    results["shop_page_1_client"] = run(
        [one], lambda c, i: c.request("GET", shop, decode=False)[0], requests_per_client=200
    )
    # Issue #17: the shop within 10 times the bare endpoint (p50, same run).
    results["shop_vs_bare_p50"] = round(
        results["shop_page_1_client"]["p50_ms"] / results["bare_endpoint_1_client"]["p50_ms"], 1
    )
    members = []
    for i in range(MEMBERS):
        client = Client("127.0.0.1", port)
        client.login(f"m{i}@bench.test", PASSWORD)
        members.append(client)
    results["bare_endpoint_50_clients"] = run(
        members, lambda c, i: c.request("GET", "/_bare")[0], requests_per_client=20
    )
    results["shop_page_10_clients"] = run(
        members[:10], lambda c, i: c.request("GET", shop, decode=False)[0], requests_per_client=20
    )
    rng = random.Random(7)

    def submit(client: Client, i: int) -> int:
        pid = rng.choice(product_ids)
        status, _ = client.request(
            "POST",
            f"{shop}/products/{pid}",
            {"q": "0", "op": "inc"},
            headers={"HX-Request": "true", "X-CSRFToken": client.csrf},
        )
        return status

    # 50 members at once, each tapping + every 0.3-1.5 s as a person does on a phone.
    def submit_like_a_person(client: Client, i: int) -> int:
        time.sleep(rng.uniform(0.3, 1.5))
        start = time.perf_counter()
        status = submit(client, i)
        client.last_latency = time.perf_counter() - start
        return status

    results["order_submission_50_members"] = run(
        members, submit_like_a_person, requests_per_client=10, timed="last_latency"
    )
    # Saturation: the same 50 members with no pause at all (a closed loop on 2 cores).
    results["order_submission_50_members_no_pause"] = run(members, submit, requests_per_client=10)
    results["targets"] = {
        "shop_page_p95_ms": 50,
        "shop_vs_bare_p50": 10,
        "order_submission_p95_ms": 100,
    }
    return results


if __name__ == "__main__":
    main()
