"""Units as people write them in catalogue files, mapped to the product's unit codes.

A product is sold by `unit` (its code, see `models.UNITS`) and holds `quantity_per_unit`
of it: a 'jar' of 0.5 (kg), a 'bottle' of 0.75 (l), 'g' 500 for a 500 g bag. A word may
also scale the quantity: '250 ml' is 25 cl, since millilitres have no code of their own.

Words are compared without case, accents, dots or a plural 's' ('Pièces', 'pcs.').
An unknown word is refused by the caller, never read as a piece.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

# code -> the words accepted for it, French and English, including the enum names that
# CAMAP and Cagette write in their exports (Piece, Kilogram, Gram, Litre, Centilitre,
# Millilitre: `enum Unit` in their common/Common.hx).
UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "piece": ("pièce", "piece", "pc", "pce", "u", "unité", "unit", "each", "item"),
    "kg": ("kg", "kilo", "kilogramme", "kilogram"),
    "g": ("g", "gr", "gramme", "gram"),
    "litre": ("l", "litre", "liter", "lt"),
    "cl": ("cl", "centilitre", "centiliter"),
    "bottle": ("bouteille", "bottle", "btl"),
    "bunch": ("botte", "bunch", "bunche"),
    "tray": ("barquette", "tray", "punnet"),
    "dozen": ("douzaine", "dozen", "dz"),
    "jar": ("pot", "jar", "bocal"),
    "box": ("boîte", "boite", "box", "boxe"),
}
# Words that convert into another code: (code, factor applied to the quantity).
SCALED_WORDS: dict[str, tuple[str, Decimal]] = {
    "ml": ("cl", Decimal("0.1")),
    "millilitre": ("cl", Decimal("0.1")),
    "milliliter": ("cl", Decimal("0.1")),
}


def plain(text: str) -> str:
    """Lower case, without accents or surrounding spaces."""
    text = unicodedata.normalize("NFKD", (text or "").strip().lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def _key(word: str) -> str:
    word = plain(word).rstrip(".").strip()
    return word[:-1] if len(word) > 2 and word.endswith("s") else word


_LOOKUP: dict[str, tuple[str, Decimal]] = {
    _key(word): (code, Decimal(1)) for code, words in UNIT_WORDS.items() for word in words
}
_LOOKUP.update({_key(word): target for word, target in SCALED_WORDS.items()})


def read_unit(word: str) -> tuple[str, Decimal] | None:
    """Return (unit code, quantity factor) for a written unit, or None when unknown."""
    return _LOOKUP.get(_key(word))
