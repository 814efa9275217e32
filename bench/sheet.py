"""`make bench` (part 2): the distribution sheet with 500 baskets.

Measures, in one run:
- the snapshot's size, raw and gzipped, and the time to build it;
- a batch of 1,000 events applied by the server (POST /api/.../events);
- in headless Chromium at tablet size: the sheet usable from the service worker's cache
  and IndexedDB with the network off (navigation start to rows on screen), and the time
  from a keystroke in the search box to the filtered list.
Writes bench/results/sheet.json and prints it.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402
from bench.load import Client, Gunicorn  # noqa: E402

BASKETS = 500
PASSWORD = data.PASSWORD
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def build(instance: Path) -> int:
    return data.build(
        instance,
        data.Spec("sheet.sqlite3", producers=1, products=40, members=BASKETS, lines_per_basket=5),
    )


def measure_server(port: int, distribution_id: int) -> dict:
    client = Client("127.0.0.1", port)
    client.login("coord@bench.test", PASSWORD)
    client.request("GET", f"/distributions/{distribution_id}/sheet")
    timings = []
    for _ in range(10):
        start = time.perf_counter()
        status, data = client.request("GET", f"/api/distributions/{distribution_id}/sheet")
        timings.append((time.perf_counter() - start) * 1000)
    snapshot = json.loads(data)
    baskets = snapshot["baskets"]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events = [
        {
            "id": str(uuid.uuid4()),
            "device_id": "bench-tablet",
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
    batch_timings = []
    for chunk in (events[:1000], events[:1000]):  # the second time: all duplicates
        body = json.dumps({"device_id": "bench-tablet", "cursor": None, "events": chunk})
        start = time.perf_counter()
        status, answer = client.request(
            "POST",
            f"/api/distributions/{distribution_id}/events",
            None,
            headers={"X-CSRFToken": client.csrf, "Content-Type": "application/json"},
            raw=body,
        )
        batch_timings.append((time.perf_counter() - start) * 1000)
        assert status == 200, (status, answer[:200])
    results = json.loads(answer)["results"]
    return {
        "baskets": len(baskets),
        "snapshot_bytes": len(data),
        "snapshot_gzip_bytes": len(gzip.compress(data, 5)),
        "snapshot_wire_bytes": client.wire_bytes,
        "snapshot_ms_median": round(statistics.median(timings), 1),
        "batch_1000_events_ms": round(batch_timings[0], 1),
        "batch_1000_duplicates_ms": round(batch_timings[1], 1),
        "duplicates_reported": sum(r["status"] == "duplicate" for r in results),
    }


def measure_browser(port: int, distribution_id: int) -> dict:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1024, "height": 768}, base_url=base, locale="fr-FR"
        )
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", "coord@bench.test")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"/distributions/{distribution_id}/sheet")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_selector("body[data-offline-ready=true]")
        context.set_offline(True)
        loads = []
        for _ in range(5):
            page.reload()
            page.wait_for_selector(".basket-row")
            loads.append(page.evaluate("performance.now()"))
        searches = []
        for text in ("Nom1", "Nom12", "42", "Prénom3", "Nom499"):
            page.fill("#search", "")
            searches.append(
                page.evaluate(
                    """(text) => { const input = document.getElementById('search');
                   const start = performance.now(); input.value = text;
                   input.dispatchEvent(new Event('input'));
                   return new Promise(r => requestAnimationFrame(() => r(performance.now() - start))); }""",
                    text,
                )
            )
        browser.close()
    return {
        "usable_from_cache_offline_ms_median": round(statistics.median(loads), 1),
        "usable_from_cache_offline_ms_max": round(max(loads), 1),
        "search_keystroke_to_list_ms_median": round(statistics.median(searches), 1),
        "search_keystroke_to_list_ms_max": round(max(searches), 1),
    }


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="cc-bench-sheet-"))
    distribution_id = build(instance)
    with Gunicorn("webapp:create_app()") as server:
        port = server.port
        results = measure_server(port, distribution_id)
        results.update(measure_browser(port, distribution_id))
    results["targets"] = {
        "snapshot_gzip_bytes": 150_000,
        "usable_from_cache_ms": 1000,
        "search_ms": 50,
        "batch_1000_events_ms": 1000,
    }
    out = ROOT / "bench" / "results" / "sheet.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
