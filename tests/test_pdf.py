"""Long PDFs are laid out in parallel chunks and joined, in order, with nothing lost."""

import io

from pypdf import PdfReader

from webapp.services import pdf


def test_chunks_are_joined_in_order(app, monkeypatch):
    monkeypatch.setattr(pdf, "PARALLEL_FROM", 1)
    blocks = "".join(
        f'{pdf.CHUNK_MARK}<section class="member-block"><p>Membre {i:03d}</p></section>'
        for i in range(8)
    )
    html = f"<html><body><h1>Liste</h1>{blocks}<footer>fin</footer></body></html>"
    data = pdf.render_pdf(html, base_url="http://localhost/", static_root=app.static_folder)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    positions = [text.index(f"Membre {i:03d}") for i in range(8)]
    assert positions == sorted(positions)
    assert text.count("Liste") >= 2 and "fin" in text  # each chunk keeps the header


def test_short_documents_are_rendered_in_one_go(app):
    html = f"<html><body>{pdf.CHUNK_MARK}<section><p>Seul</p></section></body></html>"
    data = pdf.render_pdf(html, base_url="http://localhost/", static_root=app.static_folder)
    assert "Seul" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
