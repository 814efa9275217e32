"""`make bench` (part 3): reports of a distribution with 1,000 members x 10 lines.

Times the product summary, the global view of orders, the sign-in sheet (HTML) and its
PDF, served by gunicorn; writes bench/results/reports.json and prints it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Client, Gunicorn  # noqa: E402

MEMBERS = 1000
LINES = 10
PASSWORD = "bench-password"


def build(instance: Path) -> int:
    os.environ.update(
        {
            "COURT_CIRCUIT_INSTANCE": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'reports.sqlite3'}",
        }
    )
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    from sqlalchemy import insert

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import (
        Basket,
        Catalogue,
        Distribution,
        Group,
        Membership,
        OrderLine,
        Place,
        Producer,
        Product,
        User,
    )
    from webapp.services.passwords import hash_password

    app = create_app()
    now = datetime.now(UTC)
    with app.app_context():
        s = db.session
        group = Group(
            name="Bench", slug="bench", created_at=now, payment_methods=["cash", "cheque", "card"]
        )
        s.add(group)
        s.flush()
        place = Place(group_id=group.id, name="Hall")
        s.add(place)
        catalogues = []
        for i in range(4):
            producer = Producer(name=f"Producteur {i}", created_in_group_id=group.id)
            catalogue = Catalogue(group_id=group.id, producer=producer, name=f"Catalogue {i}")
            s.add_all([producer, catalogue])
            catalogues.append(catalogue)
        s.flush()
        products = [
            Product(
                catalogue_id=catalogues[i % 4].id,
                name=f"Produit {i:02d}",
                price_cents=120 + i * 13,
                vat_rate=Decimal("5.5"),
            )
            for i in range(60)
        ]
        s.add_all(products)
        coordinator = User(
            email="coord@bench.test",
            first_name="C",
            last_name="C",
            password_hash=hash_password(PASSWORD),
            created_at=now,
        )
        s.add(coordinator)
        s.flush()
        s.add(
            Membership(
                user_id=coordinator.id, group_id=group.id, role="coordinator", created_at=now
            )
        )
        d = Distribution(
            group_id=group.id,
            place_id=place.id,
            orders_open_at=now - timedelta(days=5),
            orders_close_at=now - timedelta(hours=1),
            starts_at=now + timedelta(hours=2),
            ends_at=now + timedelta(hours=4),
        )
        d.catalogues = catalogues
        s.add(d)
        s.flush()
        users = [
            {
                "email": f"m{i}@bench.test",
                "first_name": f"P{i}",
                "last_name": f"N{i:04d}",
                "phone": "06 00 00 00 00",
                "created_at": now,
            }
            for i in range(MEMBERS)
        ]
        user_ids = s.scalars(insert(User).returning(User.id), users).all()
        s.execute(
            insert(Membership),
            [
                {"user_id": u, "group_id": group.id, "role": "member", "created_at": now}
                for u in user_ids
            ],
        )
        basket_ids = s.scalars(
            insert(Basket).returning(Basket.id),
            [
                {"distribution_id": d.id, "user_id": u, "number": n + 1, "created_at": now}
                for n, u in enumerate(user_ids)
            ],
        ).all()
        s.execute(
            insert(OrderLine),
            [
                {
                    "basket_id": b,
                    "product_id": products[(n + k * 5) % 60].id,
                    "quantity": Decimal(1 + k % 3),
                    "unit_price_cents": products[(n + k * 5) % 60].price_cents,
                    "vat_rate": Decimal("5.5"),
                    "updated_at": now,
                }
                for n, b in enumerate(basket_ids)
                for k in range(LINES)
            ],
        )
        s.commit()
        return d.id


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
            "signin_sheet_pdf": timed(client, f"{base}/signin.pdf", 2),
            "targets": {"html_ms": 300, "pdf_ms": 5000},
        }
    out = ROOT / "bench" / "results" / "reports.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
