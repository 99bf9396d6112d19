"""Tests for themes.readers: every fixture is generated here, in tmp_path; no real reports."""

from __future__ import annotations

import io
import os
import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from themes.errors import InputFileError
from themes.readers import HEADING_MARKER, RawDocument, read_document, sniff_format

HYPHEN_MARK = "\ufffe"
LONG_WORDS = (
    "The multi-agency safeguarding partnership considered the circumstances surrounding the "
    "child's hospitalisation and the interprofessional communication difficulties experienced by "
    "practitioners across organisational boundaries. "
)


# ------------------------------------------------------------------------------ fixture builders
def pdf_bytes(pages: list[str], *, hyphenate: bool = False, title: str | None = None) -> bytes:
    """A text PDF with one reportlab paragraph per page (hyphenated line breaks if asked)."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    style = ParagraphStyle(
        "body",
        fontName="Times-Roman",
        fontSize=11,
        leading=14,
        hyphenationLang="en_GB" if hyphenate else None,
        embeddedHyphenation=1 if hyphenate else 0,
    )
    buffer = io.BytesIO()
    template = SimpleDocTemplate(buffer, title=title or "")
    story = []
    for number, text in enumerate(pages):
        if number:
            story.append(PageBreak())
        story.append(Paragraph(text, style))
    template.build(story)
    return buffer.getvalue()


def canvas_pdf_bytes(draw, n_pages: int = 1, **canvas_options) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, **canvas_options)
    for number in range(n_pages):
        draw(pdf, number)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scanned_pdf_bytes(n_pages: int = 2) -> bytes:
    """Pages with only shapes and an image, as a scanner makes them: no text layer."""
    from reportlab.lib.utils import ImageReader

    def draw(pdf, number):
        pdf.rect(50, 50, 400, 600, fill=0)
        pdf.line(60, 700, 500, 700 - number)
        try:
            from PIL import Image

            image = Image.new("L", (40, 40), color=200)
            pdf.drawImage(ImageReader(image), 100, 100, width=200, height=200)
        except ImportError:  # pragma: no cover - Pillow comes with reportlab
            pdf.circle(200, 200, 50, fill=1)

    return canvas_pdf_bytes(draw, n_pages)


def docx_bytes(build) -> bytes:
    import docx

    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def report_docx(document) -> None:
    document.core_properties.title = "Serious Case Review: Child Q"
    document.sections[0].header.paragraphs[0].text = "Serious Case Review Child Q - Overview Report"
    document.sections[0].footer.paragraphs[0].text = "Restricted - not for circulation"
    document.add_heading("1 Introduction", level=1)
    document.add_paragraph("1.1 Child Q was 14 weeks old when admitted to hospital.")
    table = document.add_table(rows=2, cols=3)
    rows = [("Date", "Agency", "Event"), ("3.2.19", "GP", "Seen")]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("1.2 The review considered the period from birth.")
    document.add_page_break()
    document.add_heading("2 Findings", level=1)
    document.add_paragraph("2.1 Information was not shared.")


HTML_REPORT = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Learning Review: Child M | Partnership</title>
<style>body { font-family: sans-serif }</style><script>var tracking = "cookie";</script></head>
<body>
<header class="site-header"><a class="skip-link" href="#main">Skip to main content</a>
<div class="cookie-banner">We use cookies to make this site work. <button>Accept</button></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/reviews">Practice reviews</a></li></ul></nav>
<ol class="breadcrumbs"><li>Home</li><li>Reviews</li></ol></header>
<main id="main"><article>
<h1>Learning Review: Child M</h1>
<p>Child M was <em>seven   years</em> old when she was admitted to hospital with injuries that
the paediatrician considered non-accidental.</p>
<section><h2>1 Analysis</h2>
<p>1.1 Agencies did not share information about the household, and the views of the child were
not sought at any point during the period under review by the practitioners involved.</p>
<ul><li>Health visiting</li><li>Early help</li></ul>
<table><tr><th>Date</th><th>Agency</th><th>Event</th></tr>
<tr><td>4 May</td><td>School</td><td>Bruise seen on arm</td></tr></table>
<blockquote>Ask us first, we know what it is like.</blockquote>
</section></article></main>
<footer class="site-footer"><p>If you are worried about a child call 999.</p>
<ul><li><a href="/privacy">Privacy notice</a></li></ul></footer>
</body></html>
"""

HTML_NAVIGATION_ONLY = """<!DOCTYPE html><html><head><title>Practice reviews</title></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
<li><a href="/reviews">Practice reviews</a></li><li><a href="/training">Training</a></li></ul></nav>
</header>
<div class="cookie-notice">We use cookies on this website. Accept all cookies or reject them.</div>
<main><h1>Child Q</h1><p><a href="/media/child-q-overview.pdf">Download the report</a></p></main>
<footer><p>Copyright Borough Safeguarding Children Partnership. All rights reserved.</p>
<ul><li>Accessibility statement</li><li>Privacy notice</li><li>Sitemap</li><li>Contact</li></ul>
</footer></body></html>
"""


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Recommendation", "Lead agency", "RAG"])
    workbook.active.append(["Share information", "Police", "Green"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def expect_error(path, error_type: str, *words: str, **options) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_document(path, **options)
    error = caught.value
    assert error.error_type == error_type, str(error)
    assert error.source_file == str(path)
    message = str(error)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message, "messages must fit on one line"
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return error


# ------------------------------------------------------------------------------ good input
def test_pdf_pages_keep_hyphen_markers_and_metadata(tmp_path):
    pages = [LONG_WORDS * 4, "Second page about neglect.", "Third page: recommendations."]
    data = pdf_bytes(pages, hyphenate=True, title="Overview Report Child K")
    doc = read_document(write(tmp_path, "review.pdf", data))
    assert isinstance(doc, RawDocument)
    assert doc.format == "pdf"
    assert len(doc.pages) == 3
    assert "Second page about neglect." in doc.pages[1]
    assert HYPHEN_MARK in doc.pages[0], "pypdfium2's line-end hyphen marker must be kept raw"
    assert "\r" not in "".join(doc.pages)
    assert doc.title == "Overview Report Child K"
    assert doc.blocks is None and doc.running_text == []
    assert doc.n_bytes == len(data) and len(doc.sha256) == 64
    assert doc.warnings == []


def test_pdf_with_blank_page_warns_but_loads(tmp_path):
    def draw(pdf, number):
        if number != 1:
            pdf.drawString(
                72, 700, f"Page {number + 1}: the family was known to children's services."
            )

    doc = read_document(write(tmp_path, "blank.pdf", canvas_pdf_bytes(draw, 3)))
    assert doc.pages[1] == ""
    assert any("pages 2" in warning for warning in doc.warnings)


def test_docx_blocks_in_document_order_with_running_text(tmp_path):
    doc = read_document(write(tmp_path, "review.docx", docx_bytes(report_docx)))
    assert doc.format == "docx"
    assert doc.blocks == [
        [
            f"{HEADING_MARKER}1 Introduction",
            "1.1 Child Q was 14 weeks old when admitted to hospital.",
            "Date | Agency | Event",
            "3.2.19 | GP | Seen",
            "1.2 The review considered the period from birth.",
        ],
        [f"{HEADING_MARKER}2 Findings", "2.1 Information was not shared."],
    ]
    assert doc.pages[1] == f"{HEADING_MARKER}2 Findings\n\n2.1 Information was not shared."
    assert doc.running_text == [
        "Serious Case Review Child Q - Overview Report",
        "Restricted - not for circulation",
    ]
    assert "Restricted" not in "".join(doc.pages)
    assert doc.title == "Serious Case Review: Child Q"


def test_docx_automatic_list_numbers_are_written_out(tmp_path):
    """Reports number paragraphs with Word lists; the numbers are not in the text itself."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    def build(document):
        numbering = document.part.numbering_part.element
        numbering.append(
            parse_xml(
                f"<w:abstractNum {nsdecls('w')} w:abstractNumId='90'>"
                "<w:lvl w:ilvl='0'><w:start w:val='1'/><w:numFmt w:val='decimal'/>"
                "<w:lvlText w:val='%1'/></w:lvl>"
                "<w:lvl w:ilvl='1'><w:start w:val='1'/><w:numFmt w:val='decimal'/>"
                "<w:lvlText w:val='%1.%2'/></w:lvl>"
                "<w:lvl w:ilvl='2'><w:start w:val='1'/><w:numFmt w:val='lowerLetter'/>"
                "<w:lvlText w:val='(%3)'/></w:lvl></w:abstractNum>"
            )
        )
        numbering.append(
            parse_xml(f"<w:num {nsdecls('w')} w:numId='90'><w:abstractNumId w:val='90'/></w:num>")
        )
        for level, text in [(0, "Introduction"), (1, "First"), (1, "Second"), (2, "Sub"),
                            (0, "Analysis"), (1, "Third")]:  # fmt: skip
            paragraph = document.add_paragraph(text)
            paragraph._p.get_or_add_pPr().append(
                parse_xml(
                    f"<w:numPr {nsdecls('w')}><w:ilvl w:val='{level}'/><w:numId w:val='90'/>"
                    "</w:numPr>"
                )
            )

    doc = read_document(write(tmp_path, "numbered.docx", docx_bytes(build)))
    assert doc.blocks == [
        ["1 Introduction", "1.1 First", "1.2 Second", "(a) Sub", "2 Analysis", "2.1 Third"]
    ]


def test_html_chrome_stripped_and_blocks_in_order(tmp_path):
    doc = read_document(write(tmp_path, "review.html", HTML_REPORT))
    assert doc.format == "html"
    assert doc.title == "Learning Review: Child M | Partnership"
    blocks = doc.blocks[0]
    assert blocks[0] == f"{HEADING_MARKER}Learning Review: Child M"
    assert blocks[1].startswith("Child M was seven years old when")
    assert blocks[2:] == [
        f"{HEADING_MARKER}1 Analysis",
        blocks[3],
        "Health visiting",
        "Early help",
        "Date | Agency | Event",
        "4 May | School | Bruise seen on arm",
        "Ask us first, we know what it is like.",
    ]
    assert blocks[3].startswith("1.1 Agencies did not share")
    text = doc.pages[0]
    for chrome in ("cookies", "Skip to", "Practice reviews", "Privacy", "999", "tracking"):
        assert chrome not in text
    assert len(doc.pages) == 1


def test_txt_form_feeds_split_pages(tmp_path):
    text = "Cover page\r\n\fContents\n1 Introduction ..... 3\n\f1 Introduction\n1.1 Text.\n\f"
    doc = read_document(write(tmp_path, "dump.txt", text))
    assert doc.format == "txt"
    assert doc.pages == [
        "Cover page\n",
        "Contents\n1 Introduction ..... 3\n",
        "1 Introduction\n1.1 Text.\n",
    ]
    assert doc.blocks is None and doc.title is None and doc.warnings == []


def test_markdown_headings_marked(tmp_path):
    text = (
        "# Child R\n\n**Partnership**\n\n## 1 Introduction ##\n\n1.1 Text.\n\n"
        "Findings\n========\n\n```\n# not a heading\n```\n"
    )
    doc = read_document(write(tmp_path, "review.md", text))
    assert doc.format == "md"
    lines = doc.pages[0].split("\n")
    assert lines[0] == f"{HEADING_MARKER}Child R"
    assert f"{HEADING_MARKER}1 Introduction" in lines
    assert f"{HEADING_MARKER}Findings" in lines and "========" not in lines
    assert "# not a heading" in lines


# ------------------------------------------------------------------------------ bad input
def test_encrypted_pdf(tmp_path):
    def draw(pdf, number):
        pdf.drawString(72, 700, "Confidential serious case review text.")

    path = write(tmp_path, "locked.pdf", canvas_pdf_bytes(draw, 1, encrypt="secret"))
    expect_error(path, "encrypted_pdf", "password-protected", "qpdf", "--decrypt")


def test_scanned_pdf_without_text_layer(tmp_path):
    path = write(tmp_path, "scan.pdf", scanned_pdf_bytes(3))
    expect_error(path, "no_text_layer", "scanned", "OCR", "ocrmypdf")


def test_truncated_pdf(tmp_path):
    data = pdf_bytes([LONG_WORDS, LONG_WORDS, LONG_WORDS])
    path = write(tmp_path, "cut.pdf", data[: len(data) // 2])
    expect_error(path, "corrupt_pdf", "corrupt or truncated")


def test_zero_byte_file(tmp_path):
    expect_error(write(tmp_path, "empty.pdf", b""), "empty_file", "empty")


def test_whitespace_only_text_is_empty(tmp_path):
    expect_error(write(tmp_path, "blank.txt", "  \n\f\n"), "empty_file", "no text")


def test_pdf_saved_as_txt_is_read_as_pdf(tmp_path):
    doc = read_document(write(tmp_path, "report.txt", pdf_bytes(["Text of a real report here."])))
    assert doc.format == "pdf"
    assert "Text of a real report here." in doc.pages[0]
    assert any(".txt" in warning and "PDF" in warning for warning in doc.warnings)


def test_html_saved_as_pdf_is_read_as_html(tmp_path):
    doc = read_document(write(tmp_path, "report.pdf", HTML_REPORT))
    assert doc.format == "html"
    assert any(".pdf" in warning and "HTML" in warning for warning in doc.warnings)


def test_file_over_byte_limit(tmp_path):
    path = write(tmp_path, "big.txt", "word " * 1000)
    expect_error(path, "too_large", "limit", "max_bytes", max_bytes=1000)


def test_document_over_page_limit(tmp_path):
    pdf = write(tmp_path, "long.pdf", pdf_bytes(["one page", "two page", "three page"]))
    expect_error(pdf, "too_large", "3", "max_pages", max_pages=2)
    txt = write(tmp_path, "long.txt", "page\f" * 5 + "last")
    expect_error(txt, "too_large", "max_pages", max_pages=5)


def test_non_utf8_text_loads_with_warning(tmp_path):
    text = "The review cost \u00a3500 and \u201cChild W\u201d said \u2018no\u2019 \u2013 twice.\n"
    path = write(tmp_path, "legacy.txt", text.encode("cp1252"))
    doc = read_document(path)
    assert doc.pages == [text]
    assert any("cp1252" in warning.lower() or "1252" in warning for warning in doc.warnings)


def test_mostly_utf8_with_stray_byte_keeps_utf8(tmp_path):
    data = "Caf\u00e9 \u2013 \u201cquote\u201d \u00a3".encode() * 20 + b" bad \x96 byte"
    doc = read_document(write(tmp_path, "mixed.txt", data))
    assert "\u201cquote\u201d" in doc.pages[0]
    assert any("UTF-8" in warning for warning in doc.warnings)


def test_utf16_text_with_bom_loads(tmp_path):
    path = write(tmp_path, "notepad.txt", "Child X \u2013 learning review".encode("utf-16"))
    assert read_document(path).pages == ["Child X \u2013 learning review"]


def test_html_with_only_navigation(tmp_path):
    path = write(tmp_path, "landing.html", HTML_NAVIGATION_ONLY)
    expect_error(path, "navigation_only_html", "navigation", "child-q-overview.pdf")


def test_docx_with_no_body_text(tmp_path):
    def build(document):
        document.sections[0].header.paragraphs[0].text = "Header only"
        document.add_paragraph("   ")

    expect_error(write(tmp_path, "blank.docx", docx_bytes(build)), "empty_docx", "no body text")


def test_truncated_docx(tmp_path):
    data = docx_bytes(report_docx)
    expect_error(write(tmp_path, "cut.docx", data[: len(data) // 2]), "corrupt_docx", "DOCX")


def test_docx_with_broken_xml(tmp_path):
    source = zipfile.ZipFile(io.BytesIO(docx_bytes(report_docx)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content[:200] if name == "word/document.xml" else content)
    expect_error(write(tmp_path, "broken.docx", buffer.getvalue()), "corrupt_docx", "corrupt")


def test_spreadsheet_named_pdf(tmp_path):
    expect_error(write(tmp_path, "actions.pdf", xlsx_bytes()), "unsupported_format", "Excel")


def test_legacy_doc(tmp_path):
    data = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504) + "WordDocument".encode("utf-16-le")
    expect_error(
        write(tmp_path, "old.doc", data), "unsupported_format", "Word", "save it as DOCX or PDF"
    )


def test_image_and_random_binary(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    expect_error(write(tmp_path, "scan.pdf", png), "unsupported_format", "PNG image", "OCR")
    junk = random.Random(7).randbytes(4096)
    expect_error(write(tmp_path, "junk.bin", junk), "unsupported_format", "binary")
    expect_error(write(tmp_path, "junk.txt", junk), "not_text", "binary")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_permissions(tmp_path):
    path = write(tmp_path, "secret.txt", "text")
    path.chmod(0)
    try:
        expect_error(path, "permission_denied", "permission")
    finally:
        path.chmod(0o644)


def test_permission_error_while_opening(tmp_path, monkeypatch):
    """Runs as root too: the failure is simulated where the reader opens the file."""
    path = write(tmp_path, "secret.txt", "text")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    expect_error(path, "permission_denied", "permission")


def test_directory_path(tmp_path):
    expect_error(tmp_path, "is_directory", "folder")


def test_nonexistent_path(tmp_path):
    expect_error(tmp_path / "missing.pdf", "not_found", "not found")
    expect_error(tmp_path / "missing" / "deeper.pdf", "not_found")


# ------------------------------------------------------------------------------ sniffing
@pytest.mark.parametrize(
    ("data", "suffix", "expected"),
    [
        (b"%PDF-1.4\n...", ".txt", "pdf"),
        (b"junk before header %PDF-1.7", ".pdf", "pdf"),
        (b"\xef\xbb\xbf  <!DOCTYPE HTML><p>x", "", "html"),
        (b"<?xml version='1.0'?>\n<!-- saved -->\n<html><body>x", ".txt", "html"),
        (b"<P CLASS=MsoNormal>Text", ".pdf", "html"),
        (b"Some text <div>with a tag</div>", ".htm", "html"),
        (b"Some text mentioning <p> later", ".txt", "txt"),
        (b"# Title\n\ntext", "MD", "md"),
        (b"# Title\n\ntext", ".txt", "txt"),
        (b"{\\rtf1\\ansi text}", ".doc", None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), ".doc", None),
        (b"GIF89a" + bytes(10), ".html", None),
        (b"\x00\x01\x02\x03\x04", ".txt", None),
    ],
)
def test_sniff_format(data, suffix, expected):
    assert sniff_format(data, suffix) == expected


def test_sniff_zip_kinds(tmp_path):
    assert sniff_format(docx_bytes(report_docx), ".pdf") == "docx"
    assert sniff_format(xlsx_bytes(), ".docx") is None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.pdf", b"%PDF-1.4")
    assert sniff_format(buffer.getvalue(), ".zip") is None
    expect_error(write(tmp_path, "bundle.zip", buffer.getvalue()), "unsupported_format", "ZIP")


# ------------------------------------------------------------------------------ fuzzing
@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


_SEEDS = {
    ".pdf": pdf_bytes([LONG_WORDS, "Second page."], hyphenate=True),
    ".docx": docx_bytes(report_docx),
    ".html": HTML_REPORT.encode(),
}


@st.composite
def mutated(draw, suffix: str) -> bytes:
    data = bytearray(_SEEDS[suffix])
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=32))
        else:
            del data[position:]
    return bytes(data)


def _read_fuzzed(fuzz_dir: Path, suffix: str, data: bytes) -> None:
    path = fuzz_dir / f"mutant{suffix}"
    path.write_bytes(data)
    try:
        doc = read_document(path)
    except InputFileError as error:
        assert error.error_type and "\n" not in str(error)
    else:
        assert isinstance(doc, RawDocument) and doc.pages
        assert all(isinstance(page, str) for page in doc.pages)


_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("suffix", sorted(_SEEDS))
def test_mutated_files_fail_cleanly(fuzz_dir, suffix):
    @_FUZZ
    @given(data=mutated(suffix))
    def check(data):
        _read_fuzzed(fuzz_dir, suffix, data)

    check()
