"""Print pages as PDF with WeasyPrint (a contract, a purchase order), numbered "n / N".

The sign-in sheet, the one long document, is drawn with ReportLab instead
(`services/signin_pdf.py`): WeasyPrint laid out about 150 of its member blocks a second.
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlsplit


def _fetcher(static_root: str):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = Path(static_root).resolve()

    class StaticFetcher(URLFetcher):
        """Static files from disk only: a request back to this server could wait forever."""

        def fetch(self, url, headers=None):
            path = urlsplit(url).path
            file = (root / path.removeprefix("/static/")).resolve()
            if not path.startswith("/static/") or root not in file.parents or not file.is_file():
                raise ValueError(f"not fetched: {url}")
            kind = "text/css" if file.suffix == ".css" else "application/octet-stream"
            return URLFetcherResponse(url, body=file.read_bytes(), headers={"Content-Type": kind})

    return StaticFetcher()


def _render(html: str, base_url: str, static_root: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url, url_fetcher=_fetcher(static_root)).write_pdf()


def render_pdf(html: str, *, base_url: str, static_root: str) -> bytes:
    """Render HTML to PDF, pages numbered at their foot."""
    return number_pages(_render(html, base_url, static_root))


def number_pages(pdf: bytes) -> bytes:
    """The same PDF with "n / N" at the foot of every page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    _stamp_numbers(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _stamp_numbers(writer) -> None:
    """Append a small text stream to each page (no parsing of the page's own content, so
    a long document takes milliseconds): the page's content is wrapped in q/Q so its
    transformations do not move the number; Helvetica is one of PDF's standard fonts."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )

    def stream(data: bytes):
        s = DecodedStreamObject()
        s.set_data(data)
        return writer._add_object(s)

    total = len(writer.pages)
    before = stream(b"q\n")
    for number, page in enumerate(writer.pages, 1):
        text = f"{number} / {total}"
        x = float(page.mediabox.right) - 28 - 4.4 * len(text)  # right margin, 8 pt digits
        after = stream(f"\nQ\nq BT /CCPageNumber 8 Tf {x:.1f} 18 Td ({text}) Tj ET Q\n".encode())
        raw = page.raw_get("/Contents") if "/Contents" in page else ArrayObject()
        contents = raw.get_object()  # an array of streams, or one stream (kept by reference)
        parts = list(contents) if isinstance(contents, ArrayObject) else [raw]
        page[NameObject("/Contents")] = ArrayObject([before, *parts, after])
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else DictionaryObject()
        fonts = resources.get("/Font")
        fonts = fonts.get_object() if fonts is not None else DictionaryObject()
        fonts[NameObject("/CCPageNumber")] = font
        resources[NameObject("/Font")] = fonts
        page[NameObject("/Resources")] = resources
