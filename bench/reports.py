"""`make bench` (part 3): reports of a distribution with 1,000 members x 10 lines.

Times the product summary, the global view of orders, the sign-in sheet (HTML) and its
PDF (ReportLab, page numbers included: under 3 s is the target of issue #17), served by
gunicorn; writes bench/results/reports.json and prints it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import data  # noqa: E402
from bench.load import Client, Gunicorn  # noqa: E402

MEMBERS = 1000
LINES = 10
PASSWORD = data.PASSWORD


def build(instance: Path) -> int:
    return data.build(
        instance,
        data.Spec(
            "reports.sqlite3", producers=4, products=60, members=MEMBERS, lines_per_basket=LINES
        ),
    )


def timed(client: Client, path: str, runs: int) -> dict:
    timings, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        status, body = client.request("GET", path)
        timings.append((time.perf_counter() - start) * 1000)
        assert status == 200, (path, status)
        size = len(body)
    return {
        "median_ms": round(statistics.median(timings), 1),
        "max_ms": round(max(timings), 1),
        "bytes": size,
    }


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="cc-bench-reports-"))
    distribution_id = build(instance)
    with Gunicorn("webapp:create_app()", "--timeout", "60") as server:
        client = Client("127.0.0.1", server.port)
        client.login("coord@bench.test", PASSWORD)
        base = f"/distributions/{distribution_id}"
        results = {
            "members": MEMBERS,
            "lines": MEMBERS * LINES,
            "product_summary_html": timed(client, f"{base}/summary", 10),
            "product_summary_csv": timed(client, f"{base}/summary?format=csv", 5),
            "global_view_html": timed(client, f"{base}/orders", 10),
            "signin_sheet_html": timed(client, f"{base}/signin", 10),
            "signin_sheet_pdf": timed(client, f"{base}/signin.pdf", 5),
            "targets": {"html_ms": 300, "pdf_ms": 3000},
        }
    out = ROOT / "bench" / "results" / "reports.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
