"""Data for `make bench-scale`: 1,000 groups on PostgreSQL, built in the database itself.

Every row comes from INSERT ... SELECT over generate_series (no ORM, no row crosses the
wire), so millions of rows take about a minute. Sizes:

- 1,000 groups of 20 to 100 members (60,000 in all), one coordinator each;
- 4 producers x 10 products per group (40,000 products);
- a year of history: 52 weekly distributions per group, validated, where about half of the
  members ordered 3 products, each basket charged and paid in the ledger;
- 4 distributions coming per group: today's (orders closed, being handed out: every
  member has a basket of 5 lines), tonight's (orders close in an hour, half already
  ordered), and two next weeks (not open yet).

`python bench/scale_data.py` with DATABASE_URL set (migrated). Prints the figures as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GROUPS = int(os.environ.get("BENCH_GROUPS", "1000"))
PASSWORD = "bench-password"
WEEKS = 52

SQL = [
    # members of group g: k = 1 .. size(g); size runs 20 .. 100, 60 on average.
    """CREATE UNLOGGED TABLE bench_members AS
       SELECT g, k, (row_number() OVER (ORDER BY g, k))::int AS uid
       FROM generate_series(1, {groups}) g, generate_series(1, 20 + ((g * 37) % 81)) k""",
    """INSERT INTO groups (id, name, slug, timezone, payment_methods, vat_rates,
           sheet_instructions, duty_signup_days, duty_reminder_days, locale, created_at)
       SELECT g, 'Groupe ' || g, 'groupe-' || g, 'Europe/Paris', '["cash", "cheque", "card"]',
              '["5.5", "20"]', '', 30, 2, 'fr', now() - interval '400 days'
       FROM generate_series(1, {groups}) g""",
    """INSERT INTO users (id, first_name, last_name, email, phone, password_hash,
           session_version, created_at)
       SELECT uid, 'Prénom' || k, 'Nom' || lpad(k::text, 3, '0') || ' G' || g,
              'm' || k || '.g' || g || '@bench.test', '06 12 34 56 78', %(hash)s, 0,
              now() - interval '400 days'
       FROM bench_members""",
    """INSERT INTO memberships (user_id, group_id, role, created_at)
       SELECT uid, g, CASE WHEN k = 1 THEN 'coordinator' ELSE 'member' END,
              now() - interval '400 days'
       FROM bench_members""",
    """INSERT INTO places (id, group_id, name, address)
       SELECT g, g, 'Salle ' || g, '' FROM generate_series(1, {groups}) g""",
    """INSERT INTO producers (id, name, trade, city, description, created_in_group_id)
       SELECT (g - 1) * 4 + c, 'Producteur ' || c || ' G' || g, '', '', '', g
       FROM generate_series(1, {groups}) g, generate_series(1, 4) c""",
    """INSERT INTO catalogues (id, group_id, producer_id, name, kind, description,
           producer_can_edit)
       SELECT (g - 1) * 4 + c, g, (g - 1) * 4 + c, 'Catalogue ' || c, 'variable', '', false
       FROM generate_series(1, {groups}) g, generate_series(1, 4) c""",
    """INSERT INTO products (id, catalogue_id, name, description, unit, quantity_per_unit,
           weighed, price_cents, vat_rate, active)
       SELECT (g - 1) * 40 + p, (g - 1) * 4 + (p - 1) / 10 + 1,
              'Produit ' || lpad(p::text, 2, '0'), '', 'piece', 1, false,
              150 + p * 37, 5.5, true
       FROM generate_series(1, {groups}) g, generate_series(1, 40) p""",
    # w = 1..52: past weeks; 53: today, being handed out; 54: orders close in an hour;
    # 55, 56: next weeks, not open yet.
    """INSERT INTO distributions (id, group_id, place_id, starts_at, ends_at, orders_open_at,
           orders_close_at, validated_at)
       SELECT (g - 1) * 56 + w, g, g, s, s + interval '2 hours',
              CASE WHEN w = 54 THEN now() - interval '5 days'
                   ELSE s - interval '6 days' END,
              CASE WHEN w = 53 THEN now() - interval '1 day'
                   WHEN w = 54 THEN now() + interval '1 hour'
                   ELSE s - interval '1 day' END,
              CASE WHEN w <= 52 THEN s + interval '3 hours' END
       FROM generate_series(1, {groups}) g, generate_series(1, 56) w,
            LATERAL (SELECT (now() AT TIME ZONE 'UTC')::timestamp
                     + CASE WHEN w = 53 THEN - interval '30 minutes'
                            WHEN w = 54 THEN interval '2 days'
                            ELSE (w - 53) * interval '7 days' END AS s) t""",
    """INSERT INTO distribution_catalogues (distribution_id, catalogue_id)
       SELECT (g - 1) * 56 + w, (g - 1) * 4 + c
       FROM generate_series(1, {groups}) g, generate_series(1, 56) w, generate_series(1, 4) c""",
    # Baskets: past weeks half the members (alternating), today everyone, tonight half.
    """INSERT INTO baskets (distribution_id, user_id, number, created_at, validated_at)
       SELECT (m.g - 1) * 56 + w, m.uid,
              row_number() OVER (PARTITION BY m.g, w ORDER BY m.k),
              d.orders_open_at + interval '1 hour', CASE WHEN w <= 52 THEN d.starts_at END
       FROM bench_members m, generate_series(1, 54) w, distributions d
       WHERE d.id = (m.g - 1) * 56 + w
         AND (w = 53 OR (w <> 53 AND (m.k + w) % 2 = 0))""",
    """INSERT INTO order_lines (basket_id, product_id, quantity, unit_price_cents, vat_rate,
           updated_at)
       SELECT b.id, p.id, 1 + (b.user_id + j) % 3, p.price_cents, 5.5, b.created_at
       FROM baskets b
       JOIN distributions d ON d.id = b.distribution_id,
       LATERAL generate_series(0, CASE WHEN (d.id - 1) % 56 + 1 = 53 THEN 4 ELSE 2 END) j,
       LATERAL (SELECT (d.group_id - 1) * 40 + ((b.user_id * 7 + d.id * 3 + j * 11) % 40) + 1
                AS id) pid
       JOIN products p ON p.id = pid.id""",
    # The ledger of the past year: each validated basket charged, then paid in cash.
    """CREATE UNLOGGED TABLE bench_due AS
       SELECT b.id AS basket_id, b.user_id, d.id AS distribution_id, d.group_id,
              d.validated_at, sum(l.quantity * l.unit_price_cents)::bigint AS due
       FROM baskets b JOIN distributions d ON d.id = b.distribution_id
       JOIN order_lines l ON l.basket_id = b.id
       WHERE d.validated_at IS NOT NULL
       GROUP BY b.id, b.user_id, d.id, d.group_id, d.validated_at""",
    """INSERT INTO ledger_entries (group_id, user_id, distribution_id, basket_id, kind,
           amount_cents, payment_method, pending, note, created_at)
       SELECT group_id, user_id, distribution_id, basket_id, kind,
              CASE WHEN kind = 'order' THEN -due ELSE due END,
              CASE WHEN kind = 'payment' THEN 'cash' END, false, '', validated_at
       FROM bench_due, (VALUES ('order'), ('payment')) k(kind)""",
    "DROP TABLE bench_due",
    "DROP TABLE bench_members",
]

SEQUENCES = ["groups", "users", "places", "producers", "catalogues", "products", "distributions"]


def build(url: str) -> dict:
    from webapp.services.passwords import hash_password

    url = url.replace("postgresql+psycopg://", "postgresql://")
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # the app stores naive UTC times
        # Foreign keys are not re-checked row by row (the rows are made consistent by
        # construction): a bulk load's usual switch, superuser only.
        conn.execute("SET session_replication_role = replica")
        params = {"hash": hash_password(PASSWORD)}
        for statement in SQL:
            step = time.perf_counter()
            text = statement.format(groups=GROUPS)
            conn.execute(text, params if "%(hash)s" in text else None)
            name = " ".join(text.split()[:3])
            timings[name] = round(time.perf_counter() - step, 1)
        for table in SEQUENCES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        step = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        timings["VACUUM ANALYZE"] = round(time.perf_counter() - step, 1)
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "groups",
                "users",
                "products",
                "distributions",
                "baskets",
                "order_lines",
                "ledger_entries",
            )
        }
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {
        "build_seconds": round(time.perf_counter() - started, 1),
        "steps_seconds": timings,
        "rows": counts,
        "database_mb": round(size / 2**20),
    }


if __name__ == "__main__":
    result = build(os.environ["DATABASE_URL"])
    out = ROOT / "bench" / "results" / "scale_data.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
