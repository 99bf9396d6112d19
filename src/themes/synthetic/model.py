"""The in-memory document model the generator composes and the renderers draw.

Every block keeps its gold annotation (library passage id, variant, labels), so the rendered corpus
comes with exact ground truth for the loader (section type, paragraph number) and the taggers
(themes, polarity, recommendation types).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Para:
    """One paragraph of body text (or one table row / list item) with its gold labels."""

    text: str
    para_no: str | None = None
    passage_ref: str | None = None
    variant: int | None = None
    labels: list[dict] = field(default_factory=list)
    rec_types: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    asks_about: list[str] = field(default_factory=list)
    role: str = (
        "body"  # body | chronology_row | recommendation | glossary | reference | cover | contents
    )
    cells: list[str] | None = None  # for table rows: the other cells (date, agency, timescale ...)


@dataclass
class Section:
    """A headed section of a report."""

    section_type: str
    heading: str
    number: str | None = None
    paras: list[Para] = field(default_factory=list)
    table_header: list[str] | None = None  # rows of this section are drawn as a table when set
    two_column: bool = False

    @property
    def title(self) -> str:
        """The heading as printed, with its number."""
        return f"{self.number} {self.heading}" if self.number else self.heading


@dataclass
class Document:
    """One report file: metadata, layout choices and sections."""

    file_stem: str
    report_id: str
    review_id: str
    file_format: str  # pdf | docx | html | txt | md
    document_kind: str  # overview | executive_summary | learning_brief | national_review
    title: str
    partnership: str
    nation: str
    review_type: str
    publication_year: int
    publication_date: str  # ISO yyyy-mm
    child_pseudonym: str
    child_age_months: int
    child_sex: str
    outcome: str  # death | serious_harm | other
    incident_date: str  # ISO yyyy-mm
    author: str
    split: str
    running_header: str
    running_footer: str
    sections: list[Section] = field(default_factory=list)
    statutory_basis: str = ""  # cover line naming the guidance the review was held under
    watermark: str | None = None
    restricted_banner: str | None = None
    redactions: bool = False
    hyphenate: bool = False
    footer_style: str = "page_of"  # page_of | bare | published
    style_seed: int = 0
