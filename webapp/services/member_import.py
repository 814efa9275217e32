"""Members by the list: read a CSV of people, preview it row by row, then invite them all.

The file is read twice, at the preview and at the confirmation, so what is invited is
checked against the group as it is at that moment (nothing is kept between the two).
Columns are found by their header (French or English, any order, case and accents
ignored); `;` or `,`; UTF-8 with or without BOM, else Windows-1252/Latin-1.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Group, Invitation, Membership, User
from . import ServiceError
from .accounts import new_invitation, normalise_email, queue_invitation, valid_email

MAX_ROWS = 10_000
# Normalised header (lower case, no accents, letters and digits only) -> our field.
HEADERS = {
    "first_name": ("prenom", "firstname", "first", "givenname", "prenoms"),
    "last_name": ("nom", "lastname", "last", "surname", "familyname", "nomdefamille"),
    "email": (
        "email",
        "mail",
        "courriel",
        "adressemail",
        "adresseemail",
        "emailaddress",
        "adressecourriel",
    ),
    "phone": ("telephone", "tel", "phone", "phonenumber", "mobile", "portable", "telportable"),
}
_FIELD_OF = {alias: name for name, aliases in HEADERS.items() for alias in aliases}


@dataclass
class ImportRow:
    line: int
    first_name: str
    last_name: str
    email: str
    phone: str
    # new | member | invited (an open invitation exists) | duplicate | error
    status: str = "new"
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    text: str
    rows: list[ImportRow]
    ignored_columns: list[str]

    def with_status(self, status: str) -> list[ImportRow]:
        return [r for r in self.rows if r.status == status]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("new", "member", "invited", "duplicate", "error"), 0)
        for row in self.rows:
            counts[row.status] += 1
        return counts


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM is dropped), else Windows-1252, else Latin-1."""
    if b"\x00" in data[:4096]:
        raise ServiceError(_("This file is not a CSV file (text)."), field="file")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _normalise_header(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(c for c in text if c.isalnum())


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    ignored = []
    for index, name in enumerate(header):
        key = _FIELD_OF.get(_normalise_header(name))
        if key and key not in columns:
            columns[key] = index
        elif name.strip():
            ignored.append(name.strip())
    if "email" not in columns:
        raise ServiceError(
            _(
                "No e-mail column found. The first line must name the columns, e.g. %(example)s.",
                example="Prénom;Nom;E-mail;Téléphone",
            ),
            field="file",
        )
    return columns, ignored


def _records(text: str) -> tuple[dict[str, int], list[str], list[tuple[int, list[str]]]]:
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise ServiceError(_("The file is empty."), field="file")
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
        while not any(c.strip() for c in header):
            header = next(reader)
        columns, ignored = _columns(header)
        records = [(reader.line_num, rec) for rec in reader if any(c.strip() for c in rec)]
    except csv.Error as error:
        raise ServiceError(
            _("This file is not a CSV file we can read (line %(line)d).", line=reader.line_num),
            field="file",
        ) from error
    if not records:
        raise ServiceError(_("The file has no one in it, only a header line."), field="file")
    if len(records) > MAX_ROWS:
        raise ServiceError(
            _("At most %(n)d people per file: split the file.", n=MAX_ROWS), field="file"
        )
    return columns, ignored, records


def _cell(record: list[str], columns: dict[str, int], name: str, limit: int) -> str:
    index = columns.get(name)
    value = record[index].strip() if index is not None and index < len(record) else ""
    return value[:limit]


def _existing(session: Session, group: Group, emails: set[str], now) -> tuple[set, set]:
    members: set[str] = set()
    invited: set[str] = set()
    addresses = sorted(emails)
    for start in range(0, len(addresses), 500):  # SQLite's limit on bound parameters
        chunk = addresses[start : start + 500]
        members.update(
            session.scalars(
                select(User.email)
                .join(Membership)
                .where(Membership.group_id == group.id, User.email.in_(chunk))
            )
        )
        invited.update(
            session.scalars(
                select(Invitation.email).where(
                    Invitation.group_id == group.id,
                    Invitation.email.in_(chunk),
                    Invitation.accepted_at.is_(None),
                    Invitation.expires_at > now,
                )
            )
        )
    return members, invited


def preview_import(session: Session, group: Group, data: bytes, *, now: datetime) -> ImportPreview:
    """Read the file and say, row by row, what confirming it would do."""
    text = decode(data)
    columns, ignored, records = _records(text)
    rows = []
    for line, record in records:
        row = ImportRow(
            line=line,
            first_name=_cell(record, columns, "first_name", 80),
            last_name=_cell(record, columns, "last_name", 80),
            email=normalise_email(_cell(record, columns, "email", 300)),
            phone=_cell(record, columns, "phone", 30),
        )
        if not row.email:
            row.errors.append(_("No e-mail address."))
        elif not valid_email(row.email) or len(row.email) > 254:
            row.errors.append(_("Malformed e-mail address: %(email)s", email=row.email))
        row.status = "error" if row.errors else "new"
        rows.append(row)
    members, invited = _existing(session, group, {r.email for r in rows if r.status == "new"}, now)
    seen: dict[str, ImportRow] = {}
    for row in rows:
        if row.status != "new":
            continue
        if row.email in seen:
            row.status = "duplicate"
            _merge(seen[row.email], row)
        elif row.email in members:
            row.status = "member"
        elif row.email in invited:
            row.status = "invited"
        seen.setdefault(row.email, row)
    return ImportPreview(text=text, rows=rows, ignored_columns=ignored)


def _merge(kept: ImportRow, duplicate: ImportRow) -> None:
    """A second row for the same address fills in what the first one lacked."""
    for name in ("first_name", "last_name", "phone"):
        if not getattr(kept, name):
            setattr(kept, name, getattr(duplicate, name))


def confirm_import(
    session: Session,
    group: Group,
    data: bytes,
    *,
    actor: User,
    now: datetime,
    join_url: Callable[[str], str],
) -> list[Invitation]:
    """Invite every new person of the file and queue all their e-mails, in one go."""
    preview = preview_import(session, group, data, now=now)
    pairs = [
        new_invitation(
            group,
            email=row.email,
            role="member",
            actor=actor,
            now=now,
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone,
        )
        for row in preview.with_status("new")
    ]
    session.add_all([invitation for invitation, _token in pairs])
    session.flush()
    for invitation, token in pairs:
        queue_invitation(session, invitation, token, inviter=actor.name, join_url=join_url, now=now)
    return [invitation for invitation, _token in pairs]
