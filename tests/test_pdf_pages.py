"""WeasyPrint's PDFs are numbered "n / N" at the foot of every page."""

import io

from pypdf import PdfReader

from webapp.services import pdf


def _sheet(blocks: int) -> str:
    body = "".join(
        '<section class="member-block" style="height: 60mm; border: 1px solid">'
        f"<p>Membre {n}</p></section>"
        for n in range(blocks)
    )
    return f"<!doctype html><html><body><h1>Feuille</h1>{body}<footer>fin</footer></body></html>"


def _numbers(data: bytes) -> list[str]:
    pages = PdfReader(io.BytesIO(data)).pages
    return [page.extract_text().split("\n")[-1].strip() for page in pages], len(pages)


def test_every_page_of_a_long_document_is_numbered(tmp_path):
    data = pdf.render_pdf(_sheet(12), base_url="http://localhost/", static_root=str(tmp_path))
    numbers, total = _numbers(data)
    assert total >= 3
    assert numbers == [f"{n} / {total}" for n in range(1, total + 1)]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert all(f"Membre {n}" in text for n in range(12)) and "fin" in text


def test_a_short_sheet_is_numbered_too(tmp_path):
    data = pdf.render_pdf(_sheet(2), base_url="http://localhost/", static_root=str(tmp_path))
    numbers, total = _numbers(data)
    assert numbers == [f"{n} / {total}" for n in range(1, total + 1)]
