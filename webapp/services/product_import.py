"""Import products from a spreadsheet's CSV: UTF-8 or Latin-1, commas or semicolons.

Nothing is imported while a row is wrong, unless the coordinator chooses to skip the
wrong rows; the preview shows every row with its errors first.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..domain.money import AmountError, parse_amount_cents, parse_quantity
from ..models import UNITS, Catalogue, Group
from . import ServiceError
from .catalogues import ProductInput, check_product, save_product

MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000

HEADERS = {
    "name": ("name", "nom", "produit", "product"),
    "price": ("price", "prix", "prix ttc", "price incl. vat"),
    "vat_rate": ("vat", "vat_rate", "tva", "taux tva", "taux de tva"),
    "unit": ("unit", "unite"),
    "quantity_per_unit": ("quantity_per_unit", "quantite par unite", "contenance"),
    "stock": ("stock",),
    "description": ("description",),
    "weighed": ("weighed", "au poids", "vrac"),
}
UNIT_WORDS = {
    "piece": "piece",
    "pièce": "piece",
    "pc": "piece",
    "kg": "kg",
    "g": "g",
    "litre": "litre",
    "l": "litre",
    "botte": "bunch",
    "bunch": "bunch",
    "douzaine": "dozen",
    "dozen": "dozen",
    "pot": "jar",
    "jar": "jar",
    "boite": "box",
    "boîte": "box",
    "box": "box",
}
YES = {"1", "oui", "yes", "x", "vrai", "true"}


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes, else Windows-1252 (Excel's Latin-1)."""
    if len(data) > MAX_BYTES:
        raise ServiceError(_("The file is too large (1 MB at most)."), status=413)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@dataclass
class ImportRow:
    number: int
    values: dict[str, str]
    product: ProductInput | None = None
    errors: dict[str, str] = field(default_factory=dict)


def parse(text: str, group: Group) -> list[ImportRow]:
    """Read the CSV text into rows, each with its product or its errors."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
        dialect.delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise ServiceError(_("The file is empty."))
    columns = {}
    for index, title in enumerate(header):
        for key, names in HEADERS.items():
            if _plain(title) in names:
                columns[key] = index
    missing = [key for key in ("name", "price") if key not in columns]
    if missing:
        raise ServiceError(
            _(
                "Missing columns: %(columns)s. The first line must name the columns "
                "(nom, prix, tva, unité, stock...).",
                columns=", ".join(missing),
            )
        )
    rows = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_ROWS:
            raise ServiceError(_("At most %(n)d products at a time.", n=MAX_ROWS))
        values = {key: (record[i].strip() if i < len(record) else "") for key, i in columns.items()}
        rows.append(_row(number, values, group))
    if not rows:
        raise ServiceError(_("The file has no product lines."))
    return rows


def _row(number: int, values: dict[str, str], group: Group) -> ImportRow:
    row = ImportRow(number, values)
    errors = row.errors
    try:
        price = parse_amount_cents(values.get("price", ""))
    except AmountError:
        price, errors["price"] = 0, _("Not a valid price.")
    try:
        rate = Decimal(
            (values.get("vat_rate") or group.vat_rates[0]).replace(",", ".").rstrip("%").strip()
        )
    except InvalidOperation:
        rate, errors["vat_rate"] = Decimal(-1), _("Not a valid VAT rate.")
    unit = UNIT_WORDS.get(_plain(values.get("unit") or "piece"), _plain(values.get("unit") or ""))
    try:
        per_unit = parse_quantity(values.get("quantity_per_unit") or "1")
        stock = parse_quantity(values["stock"]) if values.get("stock") else None
    except AmountError:
        per_unit, stock, errors["stock"] = Decimal(1), None, _("Not a valid number.")
    product = ProductInput(
        name=values.get("name", ""),
        description=values.get("description", ""),
        unit=unit if unit in UNITS else "?",
        quantity_per_unit=per_unit,
        price_cents=price,
        vat_rate=rate,
        stock=stock,
        active=True,
        weighed=_plain(values.get("weighed", "")) in YES,
    )
    for key, message in check_product(group, product).items():
        errors.setdefault(key, message)
    if not errors:
        row.product = product
    return row


def import_rows(
    session: Session, group: Group, catalogue: Catalogue, rows: list[ImportRow], *, skip_wrong: bool
) -> int:
    """Create the products of the rows; refuse everything if a row is wrong and not skipped."""
    wrong = [row for row in rows if row.errors]
    if wrong and not skip_wrong:
        raise ServiceError(_("%(n)d row(s) have errors: nothing was imported.", n=len(wrong)))
    count = 0
    for row in rows:
        if row.product is not None:
            save_product(session, group, catalogue, None, row.product)
            count += 1
    return count
