"""Print pages as PDF with WeasyPrint, using both cores for long documents.

WeasyPrint lays out about 150 sign-in blocks a second here. A 1,000-member sheet is
therefore cut into chunks at member boundaries, laid out in worker processes at once,
and the PDFs joined with pypdf. Page numbers ("12 / 140") are stamped on the joined
document, so they run across the chunks (a CSS page counter would restart in each).
"""

from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

CHUNK_MARK = "<!--pdf-chunk-->"
PARALLEL_FROM = 150  # chunks below this are not worth a process


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
    """Render HTML to PDF; HTML whose blocks are separated by CHUNK_MARK may go in parallel."""
    head, _, rest = html.partition(CHUNK_MARK)
    blocks = rest.split(CHUNK_MARK) if rest else []
    workers = min(os.cpu_count() or 1, 4)
    if len(blocks) < 2 * PARALLEL_FROM or workers < 2:
        return number_pages(_render(html.replace(CHUNK_MARK, ""), base_url, static_root))
    tail_split = blocks[-1].rpartition("</section>")
    blocks[-1], tail = tail_split[0] + tail_split[1], tail_split[2]
    size = -(-len(blocks) // workers)
    parts = [head + "".join(blocks[i : i + size]) + tail for i in range(0, len(blocks), size)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pdfs = list(pool.map(_render, parts, [base_url] * len(parts), [static_root] * len(parts)))
    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    _stamp_numbers(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
    a 150-page sheet takes milliseconds): the page's content is wrapped in q/Q so its
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
