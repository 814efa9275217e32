"""Catalogue file formats: which columns mean what, recognised from the header line.

Each format is data: a list of columns, each with the product field it feeds and the header
spellings it is known by. Positional formats (CAMAP, Cagette) read columns by position, as
those tools do, and are recognised when nearly every header cell is one they write; the
others read columns by name. Where each table comes from is written above it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..domain.money import AmountError, parse_amount_cents, parse_quantity
from ..domain.units import plain


@dataclass(frozen=True)
class Column:
    field: str
    headers: tuple[str, ...]  # plain spellings (see `header_key`)


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    by_position: bool
    columns: tuple[Column, ...]
    example: str  # the header line shown when no format matches

    def fields(self) -> list[str]:
        return list(dict.fromkeys(c.field for c in self.columns))


# What each field is, for parsing; fields not listed are free text.
FIELD_KINDS = {
    "price": "price",
    "vat_rate": "vat",
    "quantity_per_unit": "quantity",
    "stock": "quantity",
    "organic": "bool",
    "weighed": "bool",
    "bulk": "bool",
    "on_demand": "bool",
}
TEXT_FIELDS = ("name", "display_name", "description", "reference")

# CAMAP (github.com/CAMAP-APP/camap-hx, src/controller/Product.hx): `doExport` writes
# name;price;ref;desc;vat;quantity;unit;organic;bulk;variablePrice (sugoi's Csv: `;`, every
# value quoted, booleans as true/false, units as enum names), and `doImport` reads the same
# ten columns by position. Its template www/produits.xls titles them "Nom du produit",
# "Prix TTC", "Référence unique", "Description", "Taux de TVA%", "Quantité (dans l'unité
# définie colonne G)", "Unité (piece, Kg, g, L, cL, mL)", "Bio", "Vrac", "Prix variable
# selon pesée", with 1 or empty for yes and no. A variable price is a weighed product.
CAMAP = Format(
    "camap",
    "CAMAP",
    True,
    (
        Column("name", ("name", "nom du produit", "productname", "nom")),
        Column("price", ("price", "prix ttc", "prix")),
        Column("reference", ("ref", "reference unique", "reference")),
        Column("description", ("desc", "description")),
        Column("vat_rate", ("vat", "taux de tva", "tva")),
        Column("quantity_per_unit", ("quantity", "qt", "quantite")),
        Column("unit", ("unit", "unite")),
        Column("organic", ("organic", "bio")),
        Column("bulk", ("bulk", "vrac")),
        Column("weighed", ("variableprice", "prix variable selon pesee", "prix variable")),
    ),
    "name;price;ref;desc;vat;quantity;unit;organic;bulk;variablePrice",
)

# Cagette (github.com/philou511/cagette, src/controller/Product.hx `doImport`): by position
# productName, price, ref, desc, qt, unit, organic, floatQt, vat, stock; its template
# www/produits.xls titles them "Nom du produit", "Prix TTC", "Référence unique",
# "Description", "Quantité (dans l'unité définie colonne F)", "Unité (pièce, Kg, g ou
# litre)", "Bio", "Quantités "à virgule"", "Taux de TVA", "Stock". Decimal quantities
# ("0,5 poulet") make a weighed product here.
CAGETTE = Format(
    "cagette",
    "Cagette",
    True,
    (
        Column("name", ("productname", "nom du produit", "name", "nom")),
        Column("price", ("price", "prix ttc", "prix")),
        Column("reference", ("ref", "reference unique", "reference")),
        Column("description", ("desc", "description")),
        Column("quantity_per_unit", ("qt", "quantite", "quantity")),
        Column("unit", ("unit", "unite")),
        Column("organic", ("organic", "bio")),
        Column("weighed", ("floatqt", "quantites a virgule", "quantite a virgule")),
        Column("vat_rate", ("vat", "taux de tva", "tva")),
        Column("stock", ("stock",)),
    ),
    "productName;price;ref;desc;qt;unit;organic;floatQt;vat;stock",
)

# Open Food Network product import (github.com/openfoodfoundation/openfoodnetwork,
# public/product_list_template.csv and app/models/product_import/): columns by name,
# producer,sku,name,display_name,category,description,units,unit_type,variant_unit_name,
# price,on_hand,available_on,on_demand,shipping_category,tax_category. `units` counts
# `unit_type` (g, kg, ml, l...) or, for items, `variant_unit_name` ("bunches"); the tax
# category is a name, read here when it holds a rate ("TVA 5,5 %"). Producer, category,
# dates and shipping are the shop's business, not the group's, and are left out.
OPEN_FOOD_NETWORK = Format(
    "ofn",
    "Open Food Network",
    False,
    (
        Column("name", ("name",)),
        Column("display_name", ("display_name",)),
        Column("reference", ("sku",)),
        Column("description", ("description",)),
        Column("quantity_per_unit", ("units",)),
        Column("unit", ("unit_type",)),
        Column("unit_name", ("variant_unit_name",)),
        Column("price", ("price",)),
        Column("stock", ("on_hand",)),
        Column("on_demand", ("on_demand",)),
        Column("vat_rate", ("tax_category",)),
    ),
    "producer,sku,name,display_name,category,description,units,unit_type,variant_unit_name,"
    "price,on_hand,available_on,on_demand,shipping_category,tax_category",
)

# The project's own format: columns by name, French or English, in any order.
OWN = Format(
    "own",
    "Court-circuit",
    False,
    (
        Column("name", ("name", "nom", "produit", "product")),
        Column("price", ("price", "prix", "prix ttc", "price incl. vat")),
        Column("vat_rate", ("vat", "vat_rate", "tva", "taux tva", "taux de tva")),
        Column("unit", ("unit", "unite")),
        Column(
            "quantity_per_unit",
            ("quantity_per_unit", "quantite par unite", "contenance", "quantity per unit"),
        ),
        Column("stock", ("stock",)),
        Column("description", ("description",)),
        Column("weighed", ("weighed", "au poids", "vrac")),
        Column("organic", ("organic", "bio")),
        Column("reference", ("reference", "ref")),
    ),
    "nom;prix;tva;unité;contenance;stock;description;au poids",
)

FORMATS = (CAMAP, CAGETTE, OPEN_FOOD_NETWORK, OWN)
REQUIRED = ("name", "price")


def header_key(title: str) -> str:
    """'Quantité ( dans l'unité définie colonne F )' -> 'quantite'; 'TVA%' -> 'tva'."""
    text = plain(title).split("(")[0]
    text = re.sub(r"[\"'%*:]", " ", text)
    return " ".join(text.split())


@dataclass
class Layout:
    format: Format
    columns: dict[str, int]  # field -> column index
    missing: list[str]


def detect(header: list[str]) -> Layout | None:
    """The format of a file from its header line, or None when none matches."""
    keys = [header_key(cell) for cell in header]
    for fmt in (f for f in FORMATS if f.by_position):
        matched = sum(
            1 for i, col in enumerate(fmt.columns) if i < len(keys) and keys[i] in col.headers
        )
        if matched >= len(fmt.columns) - 1 and keys[0] in fmt.columns[0].headers:
            return Layout(fmt, {c.field: i for i, c in enumerate(fmt.columns)}, [])
    raw = [plain(cell) for cell in header]
    if {"units", "unit_type", "variant_unit_name"} <= set(raw) and "name" in raw:
        return _by_name(OPEN_FOOD_NETWORK, raw)
    layout = _by_name(OWN, keys)
    return layout if layout.columns else None


def _by_name(fmt: Format, keys: list[str]) -> Layout:
    columns: dict[str, int] = {}
    for index, key in enumerate(keys):
        for col in fmt.columns:
            if key in col.headers and col.field not in columns:
                columns[col.field] = index
    return Layout(fmt, columns, [f for f in REQUIRED if f not in columns])


def read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Split CSV text into its header and numbered records; `;`, `,` or tab."""
    first = text.split("\n", 1)[0]
    # The separator that splits the header into the most cells: a French header cell may
    # hold commas ("Unité (pièce, Kg, g ou litre)") in a file separated by semicolons.
    delimiter = max((";", ",", "\t"), key=lambda d: len(next(csv.reader([first], delimiter=d), [])))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    return header, [(reader.line_num, record) for record in reader]


# ---- cells -------------------------------------------------------------------------------

YES = {"1", "oui", "yes", "y", "o", "x", "vrai", "true"}
NO = {"", "0", "non", "no", "n", "faux", "false"}
FORMULA_START = ("=", "+", "@", "\t", "\r")


class CellError(ValueError):
    """A cell that does not hold what its column needs; args[0] is a reason code."""


def read_bool(text: str) -> bool:
    value = plain(text)
    if value in YES:
        return True
    if value in NO:
        return False
    raise CellError("not_yes_no")


def read_price_cents(text: str) -> int:
    """'12,50 €', '1 234,50', '1.234,50', '1,234.50', '12.5' -> cents."""
    cleaned = re.sub(r"[\s\u00a0\u202f'€$£]|eur|ttc", "", (text or "").lower())
    if "," in cleaned and "." in cleaned:
        thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
        cleaned = cleaned.replace(thousands, "")
    elif cleaned.count(",") > 1 or cleaned.count(".") > 1:
        cleaned = cleaned.replace(",", "").replace(".", "")
    cleaned = cleaned.replace(",", ".")
    try:
        return parse_amount_cents(cleaned)
    except AmountError as exc:
        if exc.args[0] != "too_many_decimals":
            raise CellError("not_a_price") from exc
    # An export written from floating point ("2.1999999999999997") is still a whole cent.
    value = Decimal(cleaned)
    cents = (value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if abs(value * 100 - cents) > Decimal("0.0001"):
        raise CellError("too_many_decimals")
    return parse_amount_cents(str(cents / 100))


def read_vat_rate(text: str) -> Decimal:
    """'5,5', '5.5 %', 'TVA 20%', '0.055' -> percent."""
    found = re.search(r"\d+(?:[.,]\d+)?", text or "")
    if not found:
        raise CellError("not_a_rate")
    try:
        rate = Decimal(found.group().replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern only lets digits in
        raise CellError("not_a_rate") from exc
    if 0 < rate < 1 and "%" not in text:
        rate *= 100  # a spreadsheet's percent cell saved as a fraction
    return rate.quantize(Decimal(1)) if rate == rate.to_integral() else rate.normalize()


def read_quantity(text: str) -> Decimal:
    try:
        return parse_quantity(re.sub(r"[\s\u00a0\u202f]", "", text))
    except AmountError as exc:
        raise CellError("not_a_number") from exc


def is_formula(text: str) -> bool:
    """A cell a spreadsheet would run as a formula (CSV injection), kept out of our data."""
    return text.startswith(FORMULA_START) or (
        text.startswith("-") and len(text) > 1 and not text[1].isspace()
    )
