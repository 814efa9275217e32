"""The sign-in sheet ("feuille d'émargement") as a PDF, drawn with ReportLab.

WeasyPrint laid out about 150 member blocks a second here (Pango shapes and breaks every
line of text), so a 1,000-member day took 15-30 s. This sheet has a fixed shape, so it is
placed by hand instead: each member is one block (name, what they ordered with quantities
listed inline, amount due, balance, payment methods to tick, a box to sign), blocks are
never split across pages unless one is taller than a page, and every page ends with
"n / N". The text is measured with the font's own widths (no shaping), which is all Latin
text needs. A 1,000-member sheet takes well under a second.

The caller passes plain, already translated and formatted strings (`Sheet`, `Member`):
this module knows nothing of the database, the request or the locale.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM  # A4
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 10 * MM, 12 * MM, 14 * MM
WIDTH = PAGE_W - 2 * MARGIN_X

TITLE_SIZE, HEAD_SIZE, TEXT_SIZE, SMALL_SIZE = 14, 10.5, 9, 7.5
LEADING = TEXT_SIZE * 1.25
HEAD_LEADING = HEAD_SIZE * 1.3
PAD = 4  # inside a block's border
GAP = 5  # between blocks
SIGN_W, SIGN_MIN_H = 62 * MM, 12 * MM
TEXT_W = WIDTH - 2 * PAD - SIGN_W - 6  # the text column, left of the signature box
FOOT_Y = 7 * MM

_FONT_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
}
_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
)


@dataclass
class Member:
    head: str  # "#12 · Lovelace Ada · 06 12 34 56 78"
    due: str  # "Dû : 12,50 €"
    items: list[str]  # "2 × Pain", one per line ordered
    notes: list[str] = field(default_factory=list)  # "Lignes de contrat : Panier"
    given_to: str = ""  # "Donné à Jeanne Dupont": an AMAP basket someone else takes, in bold
    foot: str = ""  # "Solde : 0,00 € · ☐ Espèces ☐ Chèque"


@dataclass
class Sheet:
    title: str  # "Le Panier — Liste d'émargement"
    lines: list[str]  # under the title: the day and place, who is on duty, instructions
    running: str  # at the foot of every page, left of "n / N"
    signature: str  # the label in each signature box
    members: list[Member]
    empty: str  # when nobody ordered
    printed: str  # "Imprimé le ...", after the last block
    continued: str = "(…)"  # after a member's name when their block goes on another page


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """Register DejaVu Sans (French accents, ☐, ✗, €) once per process; the PDF's
    standard Helvetica if the font cannot be found (accents still print, ☐ does not)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names = []
    for style, filename in _FONT_FILES.items():
        path = _find_font(filename)
        if path is None:
            return "Helvetica", "Helvetica-Bold"
        name = f"CCDejaVu-{style}"
        pdfmetrics.registerFont(TTFont(name, str(path)))
        names.append(name)
    return names[0], names[1]


def _find_font(filename: str) -> Path | None:
    for folder in _FONT_DIRS:
        path = Path(folder) / filename
        if path.is_file():
            return path
    if shutil.which("fc-match"):
        family = "DejaVu Sans:bold" if "Bold" in filename else "DejaVu Sans"
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", family], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found.endswith(filename):
            return Path(found)
    return None


class _Measure:
    """String widths, cached per (text, font, size): product names repeat all day long."""

    def __init__(self):
        from reportlab.pdfbase.pdfmetrics import stringWidth

        self._width = lru_cache(maxsize=65536)(stringWidth)

    def __call__(self, text: str, font: str, size: float) -> float:
        return self._width(text, font, size)


def _wrap(words: list[str], width: float, font: str, size: float, measure, sep: str) -> list[str]:
    """Greedy wrap of `words` (whole items, joined by `sep`) to `width`; an item wider
    than a line is itself wrapped at its spaces, and cut at a character as a last resort."""
    lines: list[str] = []
    current = ""
    for index, word in enumerate(words):
        piece = word + (sep.rstrip() if index < len(words) - 1 else "")
        candidate = f"{current}{' ' if current else ''}{piece}"
        if measure(candidate, font, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
        if measure(piece, font, size) <= width:
            current = piece
            continue
        for part in piece.split(" "):  # one item longer than the line
            candidate = f"{current}{' ' if current else ''}{part}"
            if measure(candidate, font, size) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while measure(part, font, size) > width:
                cut = len(part) - 1
                while cut > 1 and measure(part[:cut], font, size) > width:
                    cut -= 1
                lines.append(part[:cut])
                part = part[cut:]
            current = part
    if current:
        lines.append(current)
    return lines


def _fit(text: str, width: float, font: str, size: float, measure) -> str:
    """`text` cut with an ellipsis to fit `width` (a member's name line)."""
    if measure(text, font, size) <= width:
        return text
    while text and measure(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


class _Strong(str):
    """A line of a block drawn in bold (who takes a basket given away)."""


@dataclass
class _Block:
    head: str
    due: str
    lines: list[str]  # wrapped items, notes and foot, in the text column
    signature: bool  # the member's last (usually only) piece carries the box

    @property
    def height(self) -> float:
        text = len(self.lines) * LEADING
        body = max(text, SIGN_MIN_H) if self.signature else text
        return PAD + HEAD_LEADING + body + PAD


def render_signin_pdf(sheet: Sheet) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = _fonts()
    measure = _Measure()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1)
    canvas.setTitle(sheet.title)
    canvas.setCreator("Court-circuit")

    intro = [(_fit(sheet.title, WIDTH, bold, TITLE_SIZE, measure), bold, TITLE_SIZE)]
    for line in (part for text in sheet.lines for part in text.splitlines() if part.strip()):
        intro += [
            (t, regular, TEXT_SIZE) for t in _wrap([line], WIDTH, regular, TEXT_SIZE, measure, "")
        ]
    intro_h = TITLE_SIZE * 1.3 + (len(intro) - 1) * LEADING + 4

    pages = _paginate(sheet, intro_h, regular, bold, measure)
    total = len(pages)
    for number, blocks in enumerate(pages, 1):
        y = PAGE_H - MARGIN_TOP
        if number == 1:
            for text, font, size in intro:
                y -= size * 1.3 if size == TITLE_SIZE else LEADING
                canvas.setFont(font, size)
                canvas.drawString(MARGIN_X, y, text)
            y -= 4
        for block in blocks:
            if block is None:  # the closing lines, after the last block
                canvas.setFont(regular, TEXT_SIZE)
                if not sheet.members:
                    y -= LEADING
                    canvas.drawString(MARGIN_X, y, sheet.empty)
                y -= LEADING + 2
                canvas.setFont(regular, SMALL_SIZE)
                canvas.setFillGray(0.35)
                canvas.drawString(MARGIN_X, y, sheet.printed)
                canvas.setFillGray(0)
                continue
            y = _draw_block(canvas, block, y, regular, bold, sheet.signature, measure)
        canvas.setFont(regular, SMALL_SIZE)
        canvas.setFillGray(0.35)
        canvas.drawString(
            MARGIN_X, FOOT_Y, _fit(sheet.running, WIDTH - 40 * MM, regular, SMALL_SIZE, measure)
        )
        canvas.setFillGray(0)
        canvas.setFont(regular, TEXT_SIZE)
        canvas.drawRightString(PAGE_W - MARGIN_X, FOOT_Y, f"{number} / {total}")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _blocks(
    member: Member, room: float, page_room: float, continued: str, regular, bold, measure
) -> list[_Block]:
    """A member's block, or its pieces when it is taller than a whole page (the name
    repeated on each, followed by `continued` after the first)."""
    lines = (
        [_Strong(line) for line in _wrap([member.given_to], TEXT_W, bold, TEXT_SIZE, measure, "")]
        if member.given_to
        else []
    )
    lines += _wrap(member.items, TEXT_W, regular, TEXT_SIZE, measure, ", ")
    for note in member.notes:
        lines += _wrap([note], TEXT_W, regular, TEXT_SIZE, measure, "")
    if member.foot:
        lines += _wrap([member.foot], TEXT_W, regular, TEXT_SIZE, measure, "")
    due_w = measure(member.due, bold, HEAD_SIZE) + 8
    head_w = WIDTH - 2 * PAD - due_w
    head = _fit(member.head, head_w, bold, HEAD_SIZE, measure)
    whole = _Block(head, member.due, lines, True)
    if whole.height <= page_room:
        return [whole]
    per_page = max(1, int((page_room - 2 * PAD - HEAD_LEADING) // LEADING))
    first = int((room - 2 * PAD - HEAD_LEADING) // LEADING)
    if first < 3:  # hardly any room left on this page: the block starts on the next one
        first = per_page
    pieces, start, size = [], 0, first
    suffix = f" {continued}"
    more = _fit(member.head, head_w - measure(suffix, bold, HEAD_SIZE), bold, HEAD_SIZE, measure)
    while start < len(lines):
        pieces.append(
            _Block(more + suffix if start else head, member.due, lines[start : start + size], False)
        )
        start, size = start + size, per_page
    last = pieces[-1]
    if _Block(head, "", last.lines, True).height > page_room:  # no room left for the box
        pieces.append(_Block(more + suffix, member.due, [], True))
    else:
        last.signature = True
    return pieces


def _paginate(sheet: Sheet, intro_h: float, regular, bold, measure) -> list[list]:
    """Blocks per page: a block that does not fit in what is left of a page starts the
    next one; `None` stands for the closing lines after the last member."""
    page_room = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM
    pages: list[list] = [[]]
    left = page_room - intro_h
    for member in sheet.members:
        pieces = _blocks(member, left, page_room, sheet.continued, regular, bold, measure)
        for block in pieces:
            needed = block.height + GAP
            if needed > left and pages[-1]:
                pages.append([])
                left = page_room
            pages[-1].append(block)
            left -= needed
    closing = 2 * LEADING + 4
    if closing > left and pages[-1]:
        pages.append([])
    pages[-1].append(None)
    return pages


def _draw_block(canvas, block: _Block, top: float, regular, bold, signature, measure) -> float:
    height = block.height
    bottom = top - height
    canvas.setStrokeGray(0.6)
    canvas.setLineWidth(0.7)
    canvas.rect(MARGIN_X, bottom, WIDTH, height)
    y = top - PAD - HEAD_SIZE
    canvas.setFont(bold, HEAD_SIZE)
    canvas.drawString(MARGIN_X + PAD, y, block.head)
    if block.due:
        canvas.drawRightString(MARGIN_X + WIDTH - PAD, y, block.due)
    y = top - PAD - HEAD_LEADING
    canvas.setFont(regular, TEXT_SIZE)
    text = canvas.beginText(MARGIN_X + PAD, y - TEXT_SIZE)
    text.setFont(regular, TEXT_SIZE, LEADING)
    for line in block.lines:
        text.setFont(bold if isinstance(line, _Strong) else regular, TEXT_SIZE, LEADING)
        text.textLine(line)
    canvas.drawText(text)
    if block.signature:
        box_top = top - PAD - HEAD_LEADING + 2
        box_h = box_top - (bottom + PAD)
        x = MARGIN_X + WIDTH - PAD - SIGN_W
        canvas.rect(x, bottom + PAD, SIGN_W, box_h)
        canvas.setFont(regular, SMALL_SIZE)
        canvas.setFillGray(0.35)
        canvas.drawString(x + 3, box_top - SMALL_SIZE - 1, signature)
        canvas.setFillGray(0)
    return bottom - GAP
