"""CSV files as coordinators open them: in a spreadsheet, safely.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet (OWASP "CSV injection"): such text cells get a leading apostrophe so they show
as text. Numbers stay numbers, negative ones included ("-4,50").

People and machines: a CSV speaks the reader's language, headers ("Prix unitaire"), names
("Espèces", not "cash") and numbers ("4,50" in French, "4.50" in English, no thousands
separator so a spreadsheet reads them as numbers). A program asks for `?codes=1` on the
same address (`...?format=csv&codes=1`): the first row then holds stable snake_case codes
(the English header: "unit_price"), coded values stay codes ("cash", "yes") and numbers
have a decimal point, whatever the account's language.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from babel.numbers import format_decimal
from flask import Response, has_request_context, request
from flask_babel import get_locale, get_translations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d[\d\u202f\xa0 ]*([.,]\d+)?$")


def safe_cell(value):
    """The cell as written: text that a spreadsheet would run is neutralised."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if NUMBER.match(value):
        return value
    return "'" + value


def machine() -> bool:
    """The CSV is read by a program (`?codes=1`): stable codes and decimal points."""
    return has_request_context() and request.args.get("codes") in ("1", "true", "yes")


def coded(code: str, label: str) -> str:
    """A coded value: its name for a person, the code itself for a program."""
    return code if machine() else label


def header_code(label: str) -> str:
    """The stable code of a translated header: its English msgid in snake_case."""
    reverse = {}
    catalog = getattr(get_translations(), "_catalog", {}) or {}
    for msgid, msgstr in catalog.items():
        if isinstance(msgid, str) and isinstance(msgstr, str) and msgid:
            reverse.setdefault(msgstr, msgid)
    return re.sub(r"[^0-9a-z]+", "_", reverse.get(label, label).lower()).strip("_")


def csv_response(rows: list[list], filename: str) -> Response:
    """A CSV download: semicolons and a BOM, as spreadsheets in France expect them."""
    if machine() and rows:
        rows = [[header_code(str(cell)) for cell in rows[0]], *rows[1:]]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _number(value, pattern: str) -> str:
    if machine() or not has_request_context():
        return format_decimal(value, format=pattern, locale="en").replace(",", "")
    return format_decimal(value, format=pattern, locale=str(get_locale()))


def cents(value: int) -> str:
    """An amount for a spreadsheet: "4,50" in French, "4.50" in English or for machines."""
    return _number(Decimal(int(value)) / 100, "0.00")


def qty(value) -> str:
    """A quantity: "1,5" in French, "1.5" in English or for machines."""
    return _number(Decimal(str(value)), "0.###")


def unit(product) -> str:
    """A product's unit: "botte" for a person, "bunch" for a program."""
    from .units import unit_label

    label = unit_label(product.unit, Decimal(product.quantity_per_unit or 1), str(get_locale()))
    return coded(product.unit, label)
