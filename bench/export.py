"""A member's own data: the export of a member with 5 years of weekly orders (target:
under 3 s).

Builds a migrated SQLite database with a group of 11 members who all ordered every week
for 5 years (260 distributions, 8 lines a basket), with the ledger entries, tablet records
(pickup, payment, signature), duty sign-ups, notifications and messages such years leave,
then downloads /account/export as the member would and times the answer (collecting
every table, writing the CSV and JSON files, zipping). Prints the figures.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

WEEKS = 5 * 52
LINES = 8
MEMBERS = 11  # the one who exports, and ten others ordering alongside
PASSWORD = "bench-password-1"


def build(app) -> None:
    from flask_migrate import upgrade

    from webapp.models import (
        Basket,
        Catalogue,
        Distribution,
        DutyAssignment,
        LedgerEntry,
        Membership,
        OrderLine,
        OutboxMessage,
        Place,
        Producer,
        Product,
        SheetEvent,
        distribution_catalogues,
    )
    from webapp.services.accounts import create_user
    from webapp.services.groups import create_group

    now = datetime.now(UTC)
    start = now - timedelta(weeks=WEEKS + 1)
    s = db.session
    with app.app_context():
        upgrade()
        first = create_user(
            s,
            email="member@example.org",
            first_name="M",
            last_name="Ember",
            password=PASSWORD,
            now=start,
        )
        group = create_group(s, name="Bench", place_name="Halle", coordinator=first, now=start)
        users = [first] + [
            create_user(
                s,
                email=f"m{n}@example.org",
                first_name="P",
                last_name=str(n),
                password=None,
                now=start,
            )
            for n in range(1, MEMBERS)
        ]
        for user in users[1:]:
            s.add(Membership(user=user, group=group, role="member", created_at=start))
        producer = Producer(name="Ferme", created_in_group_id=group.id)
        catalogue = Catalogue(group_id=group.id, producer=producer, name="Légumes")
        s.add_all([producer, catalogue])
        s.flush()
        products = [
            Product(
                catalogue_id=catalogue.id,
                name=f"Produit {n}",
                unit="piece",
                price_cents=150 + 25 * n,
                vat_rate=Decimal("5.5"),
                active=True,
            )
            for n in range(LINES)
        ]
        place = s.query(Place).filter_by(group_id=group.id).first()
        s.add_all(products)
        s.flush()
        baskets, lines, entries, events, duties, outbox = [], [], [], [], [], []
        for week in range(WEEKS):
            day = start + timedelta(weeks=week)
            d = Distribution(
                group_id=group.id,
                place_id=place.id,
                starts_at=day,
                ends_at=day + timedelta(hours=2),
                orders_open_at=day - timedelta(days=6),
                orders_close_at=day - timedelta(days=1),
                validated_at=day + timedelta(days=1),
                validated_by_id=first.id,
            )
            s.add(d)
            s.flush()
            s.execute(
                insert(distribution_catalogues),
                [{"distribution_id": d.id, "catalogue_id": catalogue.id}],
            )
            for number, user in enumerate(users, start=1):
                b = Basket(
                    distribution_id=d.id,
                    user_id=user.id,
                    number=number,
                    created_at=day - timedelta(days=3),
                    validated_at=d.validated_at,
                )
                baskets.append((b, user, d, day))
            duties.append(
                {
                    "distribution_id": d.id,
                    "user_id": users[week % MEMBERS].id,
                    "role_name": "accueil",
                    "created_at": day - timedelta(days=7),
                }
            )
        s.add_all(b for b, *_ in baskets)
        s.flush()
        for b, user, d, day in baskets:
            due = 0
            for p in products:
                lines.append(
                    {
                        "basket_id": b.id,
                        "product_id": p.id,
                        "quantity": Decimal(2),
                        "unit_price_cents": p.price_cents,
                        "vat_rate": p.vat_rate,
                        "updated_at": day,
                    }
                )
                due += 2 * p.price_cents
            for kind, amount, method in (("order", -due, None), ("payment", due, "cash")):
                entries.append(
                    {
                        "group_id": group.id,
                        "user_id": user.id,
                        "distribution_id": d.id,
                        "basket_id": b.id,
                        "kind": kind,
                        "amount_cents": amount,
                        "payment_method": method,
                        "pending": False,
                        "note": "",
                        "created_at": d.validated_at,
                    }
                )
            for kind, payload in (
                ("pickup", {"state": "taken"}),
                ("payment", {"method": "cash", "amount_cents": due}),
                ("signature", {"svg_path": "M10 10 L20 20 L30 15" * 20}),
            ):
                events.append(
                    {
                        "id": str(uuid.uuid4()),
                        "distribution_id": d.id,
                        "basket_id": b.id,
                        "device_id": "tablet-1",
                        "kind": kind,
                        "payload": payload,
                        "recorded_at": day,
                        "received_at": day,
                        "late": False,
                    }
                )
            outbox.append(
                {
                    "dedupe_key": f"orders_open:{d.id}:u{user.id}",
                    "group_id": group.id,
                    "user_id": user.id,
                    "kind": "orders_open",
                    "ref": str(d.id),
                    "channel": "auto",
                    "title": "Les commandes sont ouvertes",
                    "body": "Bonjour, les commandes sont ouvertes jusqu'à jeudi.",
                    "url": f"/distributions/{d.id}/shop",
                    "state": "sent",
                    "attempts": 1,
                    "next_attempt_at": day,
                    "sent_at": day,
                    "delivered_via": "email",
                    "created_at": day - timedelta(days=6),
                }
            )
        for model, rows in (
            (OrderLine, lines),
            (LedgerEntry, entries),
            (SheetEvent, events),
            (DutyAssignment, duties),
            (OutboxMessage, outbox),
        ):
            for at in range(0, len(rows), 5000):
                s.execute(insert(model), rows[at : at + 5000])
        s.commit()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
                "SECRET_KEY": "bench",
                "RATELIMIT_ENABLED": False,
                "SERVER_NAME": "localhost",
            }
        )
        began = time.perf_counter()
        build(app)
        print(f"built in {time.perf_counter() - began:.1f} s")
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post(
            "/login",
            data={"email": "member@example.org", "password": PASSWORD, "csrf_token": token},
        )
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            response = client.get("/account/export")
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        archive = zipfile.ZipFile(io.BytesIO(response.data))
        data = json.loads(archive.read("court-circuit.json"))
        counts = ", ".join(f"{k}: {len(v)}" for k, v in data.items() if v)
        print(f"weeks: {WEEKS}, zip: {len(response.data) / 1e6:.2f} MB")
        print(f"rows: {counts}")
        print("export (collect, CSV + JSON, zip): " + ", ".join(f"{t:.2f} s" for t in timings))
        best = min(timings)
        print(f"best: {best:.2f} s (target < 3 s): {'OK' if best < 3 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
