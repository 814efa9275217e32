"""Import a catalogue file: our own CSV, CAMAP's, Cagette's or Open Food Network's.

The format is recognised from the header line (see `catalogue_formats`); UTF-8 or Latin-1,
commas, semicolons or tabs. The preview shows every row with its errors first. Nothing is
imported while a row is wrong, unless the coordinator chooses to skip the wrong rows. A
product already in the catalogue under the same name is updated, never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.units import plain, read_unit
from ..models import Catalogue, Group, Product
from . import ServiceError
from . import catalogue_formats as formats
from .catalogues import ProductInput, check_product, save_product

MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000
MAX_NAME = 120

CELL_ERRORS = {
    "not_a_price": lazy_gettext("Not a valid price."),
    "too_many_decimals": lazy_gettext("At most two decimals in a price."),
    "not_a_rate": lazy_gettext("Not a valid VAT rate."),
    "not_a_number": lazy_gettext("Not a valid number."),
    "not_yes_no": lazy_gettext("Write yes or no (oui/non, 1/0)."),
}


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
    updates: bool = False  # a product of that name is already in the catalogue


@dataclass
class Preview:
    format: formats.Format
    fields: list[str]  # the fields the file has, in the format's order
    rows: list[ImportRow]

    @property
    def wrong(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]


def parse(text: str, group: Group, catalogue: Catalogue, session: Session) -> Preview:
    """Read the file into rows, each with its product or its errors."""
    if len(text.encode()) > MAX_BYTES:
        raise ServiceError(_("The file is too large (1 MB at most)."), status=413)
    header, records = formats.read_rows(text)
    if not any(cell.strip() for cell in header):
        raise ServiceError(_("The file is empty."))
    layout = formats.detect(header)
    if layout is None:
        raise ServiceError(no_format_message())
    if layout.missing:
        raise ServiceError(
            _(
                "Missing columns: %(columns)s. The first line must name the columns "
                "(nom, prix, tva, unité, stock...).",
                columns=", ".join(layout.missing),
            )
        )
    existing = _existing_names(session, catalogue)
    seen: dict[str, int] = {}
    rows = []
    for number, record in records:
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_ROWS:
            raise ServiceError(_("At most %(n)d products at a time.", n=MAX_ROWS))
        values = {
            f: (record[i].strip() if i < len(record) else "") for f, i in layout.columns.items()
        }
        row = _row(number, values, group)
        key = plain(row.product.name if row.product else values.get("name", ""))
        if key in seen:
            row.errors["name"] = _("Same product as line %(n)d.", n=seen[key])
            row.product = None
        seen.setdefault(key, number)
        row.updates = key in existing
        rows.append(row)
    if not rows:
        raise ServiceError(_("The file has no product lines."))
    fields = [f for f in layout.format.fields() if f in layout.columns]
    return Preview(layout.format, fields, rows)


def no_format_message() -> str:
    expected = " — ".join(f"{fmt.label}: {fmt.example}" for fmt in formats.FORMATS)
    return _(
        "The first line of this file matches no catalogue format we know. "
        "Expected column names: %(expected)s.",
        expected=expected,
    )


def _existing_names(session: Session, catalogue: Catalogue) -> dict[str, Product]:
    products = session.scalars(
        select(Product).where(Product.catalogue_id == catalogue.id, Product.archived_at.is_(None))
    )
    return {plain(p.name): p for p in products}


def _cell(errors: dict, key: str, read, text: str, default=None):
    """Read one cell, noting its error under `key`; `default` when it is empty or wrong."""
    if not text:
        return default
    try:
        return read(text)
    except formats.CellError as exc:
        errors[key] = str(CELL_ERRORS[exc.args[0]])
        return default


def _row(number: int, values: dict[str, str], group: Group) -> ImportRow:
    row = ImportRow(number, values)
    errors = row.errors
    for key in formats.TEXT_FIELDS:
        if formats.is_formula(values.get(key, "")):
            errors[key] = _("A cell cannot start with =, +, - or @ (a spreadsheet formula).")
    price = _cell(errors, "price", formats.read_price_cents, values.get("price", ""), -1)
    if price == -1 and "price" not in errors:
        errors["price"] = _("A price is required.")
    rate = _cell(errors, "vat_rate", formats.read_vat_rate, values.get("vat_rate", ""))
    unit, factor = _unit(errors, values.get("unit") or values.get("unit_name") or "")
    per_unit = _cell(
        errors,
        "quantity_per_unit",
        formats.read_quantity,
        values.get("quantity_per_unit", ""),
        Decimal(1),
    )
    flags = {
        key: _cell(errors, key, formats.read_bool, values.get(key, ""), False)
        for key in ("organic", "weighed", "bulk", "on_demand")
    }
    stock = _cell(errors, "stock", formats.read_quantity, values.get("stock", ""))
    name = values.get("name", "")
    if values.get("display_name") and plain(values["display_name"]) != plain(name):
        name = f"{name} – {values['display_name']}"  # Open Food Network's variant name
    if len(name) > MAX_NAME:
        errors["name"] = _("At most %(n)d characters.", n=MAX_NAME)
    product = ProductInput(
        name=name,
        description=values.get("description", ""),
        unit=unit,
        quantity_per_unit=_tidy(per_unit * factor),
        price_cents=max(price, 0),
        vat_rate=rate if rate is not None else Decimal(group.vat_rates[0]),
        stock=None if flags["on_demand"] else stock,
        active=True,
        weighed=flags["weighed"],
    )
    for key, message in check_product(group, product).items():
        errors.setdefault(key, message)
    if not errors:
        row.product = product
    return row


def _tidy(value: Decimal) -> Decimal:
    """500 rather than 5E+2, 0.5 rather than 0.50."""
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def _unit(errors: dict, word: str) -> tuple[str, Decimal]:
    """The unit code of a written unit; empty means a piece, as in CAMAP and Cagette."""
    if not word:
        return "piece", Decimal(1)
    found = read_unit(word)
    if found is None:
        errors["unit"] = _("Unknown unit “%(unit)s”: see the accepted units below.", unit=word)
        return "piece", Decimal(1)
    return found


def import_rows(
    session: Session, group: Group, catalogue: Catalogue, rows: list[ImportRow], *, skip_wrong: bool
) -> int:
    """Create or update the products of the rows; refuse everything if a row is wrong."""
    wrong = [row for row in rows if row.errors]
    if wrong and not skip_wrong:
        raise ServiceError(
            ngettext(
                "%(num)d row has errors: nothing was imported.",
                "%(num)d rows have errors: nothing was imported.",
                len(wrong),
            )
        )
    existing = _existing_names(session, catalogue)
    count = 0
    for row in rows:
        if row.product is not None:
            current = existing.get(plain(row.product.name))
            save_product(session, group, catalogue, current, row.product)
            count += 1
    return count
