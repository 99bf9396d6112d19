"""Render a composed :class:`Document` to DOCX, HTML, plain text or Markdown.

Each format carries the noise its real counterparts have: DOCX running headers/footers and a typed
contents list; HTML partnership-website chrome (navigation, breadcrumbs, cookie banner, footer); TXT
as a ``pdftotext`` dump with form feeds, running headers, page numbers and hyphenated line breaks.
"""

from __future__ import annotations

import io
import textwrap
import zipfile
from html import escape
from pathlib import Path

from themes.synthetic.compose import MONTHS
from themes.synthetic.model import Document

KIND_LABEL = {
    "overview": "Overview Report",
    "executive_summary": "Executive Summary",
    "national_review": "National Review",
    "learning_brief": "Learning Brief",
}
_FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _published(doc: Document) -> str:
    return f"{MONTHS[int(doc.publication_date[5:7]) - 1]} {doc.publication_year}"


REDACTION = "[redacted]"
# How each format shows a blacked-out name; the loader maps every one back to "[redacted]".
REDACTION_MARKS = {
    "docx": "[REDACTED]",
    "html": "\u2588\u2588\u2588\u2588\u2588",
    "txt": "XXXXXXXX",
    "md": "\u2588\u2588\u2588\u2588",
}


def _with_marks(doc: Document, fmt: str) -> Document:
    """A copy of ``doc`` whose redactions look the way ``fmt`` shows them (input left unchanged)."""
    import copy

    if not doc.redactions:
        return doc
    marked = copy.deepcopy(doc)
    for section in marked.sections:
        for para in section.paras:
            para.text = para.text.replace(REDACTION, REDACTION_MARKS[fmt])
    return marked


def _para_line(para) -> str:
    if para.cells and para.role == "chronology_row":
        return f"{para.cells[0]} | {para.cells[1]} | {para.text}"
    if para.cells and para.role == "recommendation":
        return f"{para.text} | {para.cells[0]} | {para.cells[1]}"
    return f"{para.para_no} {para.text}" if para.para_no else para.text


# ------------------------------------------------------------------------------------------ DOCX
def docx_footer(doc: Document) -> str:
    """The running footer as the DOCX renderer writes it (no page-number field)."""
    return (
        doc.running_footer.replace("{page}", "")
        .replace(" of {pages}", "")
        .replace("Page", f"{doc.title} –")
        .strip()
    )


def render_docx(doc: Document, path: Path) -> int:
    """Write ``doc`` as a .docx file with byte-stable zip metadata; return 0 (pages unknown)."""
    doc = _with_marks(doc, "docx")
    import datetime as dt

    from docx import Document as Docx

    d = Docx()
    props = d.core_properties
    props.title, props.author = doc.title, doc.author
    props.created = props.modified = dt.datetime(2020, 1, 1)
    props.last_modified_by, props.revision = doc.author, 1
    section = d.sections[0]
    section.header.paragraphs[0].text = doc.running_header + (
        f"    {doc.restricted_banner}" if doc.restricted_banner else ""
    )
    section.footer.paragraphs[0].text = docx_footer(doc)
    d.add_paragraph(doc.partnership)
    d.add_heading(doc.title, level=0)
    d.add_paragraph(KIND_LABEL[doc.document_kind])
    d.add_paragraph(doc.statutory_basis)
    d.add_paragraph(f"Publication date: {_published(doc)}")
    d.add_paragraph(f"Lead reviewer: {doc.author}")
    d.add_page_break()
    d.add_heading("Contents", level=1)
    for i, s in enumerate(doc.sections):
        d.add_paragraph(f"{s.title} {'.' * max(3, 60 - len(s.title))} {3 + i}")
    d.add_page_break()
    for s in doc.sections:
        d.add_heading(s.title, level=1)
        if s.table_header:
            table = d.add_table(rows=1, cols=len(s.table_header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, s.table_header, strict=True):
                cell.text = text
            for para in s.paras:
                row = table.add_row().cells
                values = (
                    [para.cells[0], para.cells[1], para.text]
                    if s.section_type == "chronology"
                    else [para.text, *para.cells]
                )
                for cell, text in zip(row, values, strict=True):
                    cell.text = text
        else:
            for para in s.paras:
                d.add_paragraph(
                    _para_line(para), style="List Bullet" if para.role == "appendix_item" else None
                )
    buffer = io.BytesIO()
    d.save(buffer)
    _write_stable_zip(buffer.getvalue(), path)
    return 0


def _write_stable_zip(data: bytes, path: Path) -> None:
    """Rewrite a zip with fixed timestamps and order so the same document gives the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, src.read(name))


# ------------------------------------------------------------------------------------------ HTML
_NAV = (
    '<header class="site-header"><a class="skip" href="#main">Skip to main content</a>\n'
    '<div class="cookie-banner">We use cookies to make this site work. '
    "<button>Accept all cookies</button> <button>Reject</button></div>\n"
    '<nav aria-label="Main"><ul><li><a href="/">Home</a></li>'
    '<li><a href="/about">About the partnership</a></li>\n'
    '<li><a href="/reviews">Practice reviews</a></li>'
    '<li><a href="/training">Training and events</a></li>\n'
    '<li><a href="/contact">Report a concern</a></li></ul></nav>\n'
    '<ol class="breadcrumbs"><li><a href="/">Home</a></li>'
    '<li><a href="/reviews">Practice reviews</a></li><li>{title}</li></ol></header>'
)
_FOOT = (
    '<footer class="site-footer"><p>If you are worried about a child, contact children\'s services '
    "or call the police on 999 in an emergency.</p>\n"
    '<ul><li><a href="/accessibility">Accessibility statement</a></li>'
    '<li><a href="/privacy">Privacy notice</a></li><li><a href="/sitemap">Sitemap</a></li></ul>\n'
    "<p>&copy; {partnership}</p></footer>"
)


def render_html(doc: Document, path: Path) -> int:
    """Write ``doc`` as a partnership-website HTML page; return 0 (no pages)."""
    doc = _with_marks(doc, "html")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{escape(doc.title)} | {escape(doc.partnership)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>',
        _NAV.format(title=escape(doc.title)),
        '<main id="main"><article class="review">',
        f'<p class="partnership">{escape(doc.partnership)}</p>',
        f"<h1>{escape(doc.title)}</h1>",
        f'<p class="doc-kind">{KIND_LABEL[doc.document_kind]}</p>',
        f'<p class="basis">{escape(doc.statutory_basis)}</p>',
        f'<p class="meta">Published {_published(doc)}. '
        f"Independent reviewer: {escape(doc.author)}.</p>",
    ]
    if doc.restricted_banner:
        parts.append(f'<p class="banner">{escape(doc.restricted_banner)}</p>')
    for s in doc.sections:
        parts.append(f"<section><h2>{escape(s.title)}</h2>")
        if s.table_header:
            parts.append(
                "<table><thead><tr>"
                + "".join(f"<th>{escape(h)}</th>" for h in s.table_header)
                + "</tr></thead><tbody>"
            )
            for para in s.paras:
                values = (
                    [para.cells[0], para.cells[1], para.text]
                    if s.section_type == "chronology"
                    else [para.text, *para.cells]
                )
                parts.append("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in values) + "</tr>")
            parts.append("</tbody></table>")
        elif s.section_type in {"glossary", "references", "appendix"}:
            parts.append("<ul>" + "".join(f"<li>{escape(p.text)}</li>" for p in s.paras) + "</ul>")
        else:
            for para in s.paras:
                number = f'<span class="para-no">{para.para_no}</span> ' if para.para_no else ""
                parts.append(f"<p>{number}{escape(para.text)}</p>")
        parts.append("</section>")
    parts += [
        "</article></main>",
        _FOOT.format(partnership=escape(doc.partnership)),
        "</body></html>",
        "",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------------------------ TXT
def _hyphen_wrap(text: str, width: int, hyphenate: bool) -> list[str]:
    lines = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)
    if not hyphenate:
        return lines
    out = []
    carry = ""
    for i, line in enumerate(lines):
        line = carry + line
        carry = ""
        words = line.split(" ")
        last = words[-1]
        if i < len(lines) - 1 and len(last) >= 9 and last.isalpha():
            cut = len(last) // 2
            words[-1] = last[:cut] + "-"
            carry = last[cut:] + " " if False else last[cut:]
            out.append(" ".join(words))
            carry = carry + " " if carry else ""
            continue
        out.append(line)
    return out


def render_txt(doc: Document, path: Path) -> int:
    """Write ``doc`` as a pdftotext-style dump (form feeds, running headers, page numbers)."""
    doc = _with_marks(doc, "txt")
    lines: list[str] = [
        doc.partnership,
        "",
        doc.title,
        KIND_LABEL[doc.document_kind],
        doc.statutory_basis,
        f"Published: {_published(doc)}",
        "",
    ]
    pages: list[list[str]] = [lines]
    body: list[str] = ["Contents", ""] + [
        f"{s.title} {'.' * max(3, 70 - len(s.title))} {3 + i}" for i, s in enumerate(doc.sections)
    ]
    pages.append(body)
    current: list[str] = []
    for s in doc.sections:
        block = ["", s.title, ""]
        for para in s.paras:
            block += _hyphen_wrap(_para_line(para), 88, doc.hyphenate) + [""]
        for line in block:
            current.append(line)
            if len(current) >= 52:
                pages.append(current)
                current = []
    if current:
        pages.append(current)
    total = len(pages)
    out = []
    for number, page in enumerate(pages, start=1):
        decorated = (
            page
            if number == 1
            else [
                doc.running_header,
                "",
                *page,
                "",
                doc.running_footer.format(page=number, pages=total),
            ]
        )
        out.append("\n".join(decorated))
    path.write_text("\n\f".join(out) + "\n", encoding="utf-8")
    return total


def render_markdown(doc: Document, path: Path) -> int:
    """Write ``doc`` as Markdown (headings as ``#``; numbered paragraphs kept)."""
    doc = _with_marks(doc, "md")
    out = [
        f"# {doc.title}",
        "",
        f"**{doc.partnership}**",
        "",
        f"{KIND_LABEL[doc.document_kind]}. Published {_published(doc)}.",
        "",
        doc.statutory_basis,
        "",
    ]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        if s.table_header:
            out.append("| " + " | ".join(s.table_header) + " |")
            out.append("|" + "---|" * len(s.table_header))
            for para in s.paras:
                values = (
                    [para.cells[0], para.cells[1], para.text]
                    if s.section_type == "chronology"
                    else [para.text, *para.cells]
                )
                out.append("| " + " | ".join(v.replace("|", "/") for v in values) + " |")
            out.append("")
        else:
            for para in s.paras:
                prefix = "- " if s.section_type in {"glossary", "references", "appendix"} else ""
                out += [prefix + _para_line(para), ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return 0
