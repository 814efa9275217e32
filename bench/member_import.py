"""Members by the list: preview a 10,000-row CSV (target: under 5 s).

Builds a migrated SQLite database with a group of 500 members (some of them in the
file, so the lookups of people already in the group are exercised), then posts the file
to /members/import as the coordinator would and times the answer (reading, checking
every row, and rendering the preview page). Prints the figures.
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402

ROWS = 10_000
MEMBERS = 500
PASSWORD = "bench-password-1"


def csv_file() -> bytes:
    lines = ["Prénom;Nom;E-mail;Téléphone"]
    for n in range(ROWS):
        email = f"personne{n}@example.org" if n % 1000 else f"mauvaise-adresse-{n}"
        lines.append(f"Prénom{n};Nom{n};{email};06 00 00 {n % 100:02d} {n % 97:02d}")
    return "\n".join(lines).encode("utf-8")


def build(app) -> None:
    from flask_migrate import upgrade

    from webapp.models import Membership
    from webapp.services.accounts import create_user
    from webapp.services.groups import create_group

    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        coordinator = create_user(
            db.session,
            email="coord@example.org",
            first_name="C",
            last_name="Oord",
            password=PASSWORD,
            now=now,
        )
        group = create_group(
            db.session, name="Bench", place_name="Halle", coordinator=coordinator, now=now
        )
        for n in range(0, MEMBERS * 20, 20):  # every 20th person of the file is a member
            user = create_user(
                db.session,
                email=f"personne{n}@example.org",
                first_name="P",
                last_name=str(n),
                password=None,
                now=now,
            )
            db.session.add(Membership(user=user, group=group, role="member", created_at=now))
        db.session.commit()


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
        build(app)
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        client.post(
            "/login", data={"email": "coord@example.org", "password": PASSWORD, "csrf_token": token}
        )
        content = csv_file()
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            response = client.post(
                "/members/import",
                data={"csrf_token": token, "file": (io.BytesIO(content), "membres.csv")},
                content_type="multipart/form-data",
            )
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        html = response.get_data(as_text=True)
        invite = re.search(r"Inviter (\d+) personnes", html)
        print(f"rows: {ROWS}, already members: {MEMBERS}, file: {len(content) / 1e6:.2f} MB")
        print(f"to invite: {invite.group(1) if invite else '?'}")
        print("preview (upload, check, render): " + ", ".join(f"{t:.2f} s" for t in timings))
        best = min(timings)
        print(f"best: {best:.2f} s (target < 5 s): {'OK' if best < 5 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
