"""WeasyPrint's PDFs (contracts, purchase orders): static files from disk, pages numbered."""

import io

from pypdf import PdfReader

from webapp.services import pdf


def test_a_document_is_rendered_and_numbered(app):
    html = "<html><body><section><p>Seul</p></section></body></html>"
    data = pdf.render_pdf(html, base_url="http://localhost/", static_root=app.static_folder)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Seul" in text and "1 / 1" in text
