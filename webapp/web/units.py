"""Unit names as members read them: 'kg', 'botte', 'pot de 0,5 kg', '75 cl'.

The one place that names units; `filters.unit_label` is meant to call `unit_label` here.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_decimal
from flask_babel import gettext as _

from ..domain.units import UNIT_WORDS
from ..models import UNITS


@lru_cache(maxsize=512)
def unit_label(unit: str, per_unit: Decimal, locale: str) -> str:
    """The unit of sale of a product in `locale`, with its content when it is not one."""
    q = format_decimal(per_unit, format="#,##0.###", locale=locale)
    if per_unit == 1:
        single = {
            "kg": _("kg"),
            "g": _("g"),
            "litre": _("litre"),
            "cl": _("cl"),
            "bottle": _("bottle"),
            "bunch": _("bunch"),
            "tray": _("tray"),
            "dozen": _("dozen"),
            "jar": _("jar"),
            "box": _("box"),
        }
        return single.get(unit) or _("piece")
    with_content = {
        "kg": _("%(q)s kg", q=q),
        "g": _("%(q)s g", q=q),
        "litre": _("bottle of %(q)s l", q=q),
        "cl": _("%(q)s cl", q=q),
        "bottle": _("bottle of %(q)s l", q=q),
        "bunch": _("bunch"),
        "tray": _("tray of %(q)s kg", q=q),
        "dozen": _("dozen"),
        "jar": _("jar of %(q)s kg", q=q),
        "box": _("box of %(q)s", q=q),
    }
    return with_content.get(unit) or _("piece of %(q)s kg", q=q)


def accepted_units(locale: str) -> list[tuple[str, list[str]]]:
    """Each unit's name with the words a catalogue file may use for it, for the import page."""
    words = dict(UNIT_WORDS)
    words["cl"] = [*words["cl"], "ml (÷ 10)"]
    return [(unit_label(code, Decimal(1), locale), list(words.get(code, ()))) for code in UNITS]
