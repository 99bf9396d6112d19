"""Render a composed :class:`Document` to PDF with reportlab.

Layout features real reports have and the loader must cope with: a cover page, a contents page with
dot leaders, running headers and footers with page numbers ("Page 3 of 27"), decimal-numbered
paragraphs, chronology and recommendation tables, a two-column section in some reports, hyphenated
line breaks (pyphen), a "DRAFT" watermark and "RESTRICTED" banners in some.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from themes.synthetic.model import Document

rl_config.invariant = 1  # no creation dates or random ids: same input, same bytes

try:  # pyphen enables real hyphenated line breaks; without it reports are simply not hyphenated
    import pyphen  # noqa: F401

    _HYPHENATION = "en_GB"
except ImportError:  # pragma: no cover - pyphen is pinned in requirements.txt
    _HYPHENATION = None


def _styles(doc: Document) -> dict[str, ParagraphStyle]:
    serif = doc.style_seed % 2 == 0
    body_font = "Times-Roman" if serif else "Helvetica"
    hyph = _HYPHENATION if doc.hyphenate else None
    return {
        "body": ParagraphStyle(
            "body",
            fontName=body_font,
            fontSize=10.5,
            leading=14,
            alignment=TA_JUSTIFY,
            spaceAfter=6,
            hyphenationLang=hyph,
            embeddedHyphenation=1 if hyph else 0,
        ),
        "cell": ParagraphStyle(
            "cell", fontName=body_font, fontSize=9, leading=11, hyphenationLang=hyph
        ),
        "h1": ParagraphStyle(
            "h1", fontName="Helvetica-Bold", fontSize=14, leading=18, spaceBefore=10, spaceAfter=8
        ),
        "title": ParagraphStyle(
            "title", fontName="Helvetica-Bold", fontSize=22, leading=28, spaceAfter=18
        ),
        "cover": ParagraphStyle(
            "cover", fontName="Helvetica", fontSize=13, leading=18, spaceAfter=10
        ),
        "list": ParagraphStyle(
            "list", fontName=body_font, fontSize=10, leading=13, leftIndent=12, spaceAfter=3
        ),
        "toc0": ParagraphStyle("toc0", fontName=body_font, fontSize=11, leading=16),
    }


class _Template(BaseDocTemplate):
    """Doc template whose headings feed the table of contents."""

    def afterFlowable(self, flowable):  # noqa: N802 - reportlab's hook name
        if isinstance(flowable, Paragraph) and flowable.style.name == "h1":
            self.notify("TOCEntry", (0, flowable.getPlainText(), self.page))


def _numbered_canvas(doc: Document):
    header, footer = doc.running_header, doc.running_footer

    class NumberedCanvas(rl_canvas.Canvas):
        """Defers page decoration until the page count is known ("Page 3 of 27")."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved = []

        def showPage(self):  # noqa: N802
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                if self._pageNumber > 1:  # the cover carries no running header or footer
                    self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            width, height = A4
            self.saveState()
            self.setFont("Helvetica", 8)
            self.setFillColor(colors.grey)
            self.drawString(20 * mm, height - 12 * mm, header)
            if doc.restricted_banner:
                self.drawRightString(width - 20 * mm, height - 16 * mm, doc.restricted_banner)
            self.drawCentredString(
                width / 2, 10 * mm, footer.format(page=self._pageNumber, pages=total)
            )
            if doc.watermark:
                self.setFont("Helvetica-Bold", 70)
                self.setFillColor(colors.Color(0.85, 0.85, 0.85))
                self.translate(width / 2, height / 2)
                self.rotate(45)
                self.drawCentredString(0, 0, doc.watermark)
            self.restoreState()

    return NumberedCanvas


REDACTION = "[redacted]"
# A blacked-out name: black text on black, which PDF text extraction reads as "XXXXXXXX".
_PDF_REDACTION = '<span backColor="black" textColor="black">XXXXXXXX</span>'


def _cell_text(para) -> str:
    return escape(para.text).replace(REDACTION, _PDF_REDACTION)


def _para_text(para, style_name: str) -> str:
    text = escape(para.text).replace(REDACTION, _PDF_REDACTION)
    if para.para_no:
        return f"{para.para_no}&nbsp;&nbsp;{text}"
    return text


def render_pdf(doc: Document, path: Path) -> int:
    """Write ``doc`` as a PDF at ``path``; return the number of pages."""
    styles = _styles(doc)
    width, height = A4
    margin = 22 * mm
    template = _Template(
        str(path),
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=24 * mm,
        bottomMargin=20 * mm,
        title=doc.title,
        author=doc.author,
        invariant=1,
    )
    one = Frame(margin, 20 * mm, width - 2 * margin, height - 44 * mm, id="one")
    gap = 8 * mm
    col = (width - 2 * margin - gap) / 2
    two = [
        Frame(margin, 20 * mm, col, height - 44 * mm, id="left"),
        Frame(margin + col + gap, 20 * mm, col, height - 44 * mm, id="right"),
    ]
    template.addPageTemplates(
        [PageTemplate(id="one", frames=[one]), PageTemplate(id="two", frames=two)]
    )

    story = [
        Spacer(1, 30 * mm),
        Paragraph(escape(doc.partnership), styles["cover"]),
        Paragraph(escape(doc.title), styles["title"]),
    ]
    kind = {
        "overview": "Overview Report",
        "executive_summary": "Executive Summary",
        "national_review": "National Review",
        "learning_brief": "Learning Brief",
    }[doc.document_kind]
    story += [
        Paragraph(kind, styles["cover"]),
        Paragraph(escape(doc.statutory_basis), styles["cover"]),
        Paragraph(f"Independent reviewer: {escape(doc.author)}", styles["cover"]),
    ]
    month, year = doc.publication_date.split("-")[1], doc.publication_year
    from themes.synthetic.compose import MONTHS

    story.append(Paragraph(f"Published: {MONTHS[int(month) - 1]} {year}", styles["cover"]))
    story.append(PageBreak())
    toc = TableOfContents(dotsMinLevel=0, levelStyles=[styles["toc0"]])
    story += [Paragraph("Contents", styles["title"]), toc, PageBreak()]

    two_column_type = "analysis" if doc.style_seed % 5 == 0 else None
    for section in doc.sections:
        is_two = section.section_type == two_column_type
        if is_two:
            story += [NextPageTemplate("two"), PageBreak()]
        story.append(Paragraph(escape(section.title), styles["h1"]))
        if section.table_header:
            header = [
                Paragraph(f"<b>{escape(h)}</b>", styles["cell"]) for h in section.table_header
            ]
            rows = [header]
            for para in section.paras:
                cells = para.cells or []
                if section.section_type == "chronology":
                    rows.append(
                        [
                            Paragraph(escape(cells[0]), styles["cell"]),
                            Paragraph(escape(cells[1]), styles["cell"]),
                            Paragraph(_cell_text(para), styles["cell"]),
                        ]
                    )
                else:
                    rows.append(
                        [
                            Paragraph(_cell_text(para), styles["cell"]),
                            Paragraph(escape(cells[0]), styles["cell"]),
                            Paragraph(escape(cells[1]), styles["cell"]),
                        ]
                    )
            avail = width - 2 * margin
            widths = (
                [avail * 0.17, avail * 0.18, avail * 0.65]
                if section.section_type == "chronology"
                else [avail * 0.62, avail * 0.22, avail * 0.16]
            )
            table = Table(rows, colWidths=widths, repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                    ]
                )
            )
            story.append(table)
        else:
            list_like = section.section_type in {"glossary", "references", "appendix"}
            for para in section.paras:
                story.append(
                    Paragraph(_para_text(para, "body"), styles["list" if list_like else "body"])
                )
        if is_two:
            story += [NextPageTemplate("one"), PageBreak()]
    template.multiBuild(story, canvasmaker=_numbered_canvas(doc))
    return template.page
