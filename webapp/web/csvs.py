"""CSV files as coordinators open them: in a spreadsheet, safely.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet (OWASP "CSV injection"): such text cells get a leading apostrophe so they show
as text. Numbers stay numbers, negative ones included ("-4,50").
"""

from __future__ import annotations

import csv
import io
import re

from flask import Response

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d[\d\u202f\xa0 ]*([.,]\d+)?$")


def safe_cell(value):
    """The cell as written: text that a spreadsheet would run is neutralised."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if NUMBER.match(value):
        return value
    return "'" + value


def csv_response(rows: list[list], filename: str) -> Response:
    """A CSV download: semicolons and a BOM, as spreadsheets in France expect them."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def cents(value: int) -> str:
    return f"{value / 100:.2f}".replace(".", ",")


def qty(value) -> str:
    return format(value.normalize(), "f").replace(".", ",")
