"""The bundled corpus's data card (``corpus/README.md``), computed from corpus and generator.

:func:`render_data_card` reads a corpus folder (``manifest.csv`` and ``annotations/``), the passage
library and the generating design, and returns the card as Markdown. Every number in the card is
computed here, none is typed in, so the card cannot drift from the files it describes:
:func:`~themes.synthetic.build_bundled_corpus` writes it beside the corpus and a test checks that
the committed card is current.

Examples:
    >>> from themes.config import settings
    >>> from themes.synthetic.datacard import render_data_card
    >>> card = render_data_card(settings().corpus_dir)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pandas as pd

from themes.synthetic import BUNDLED_SEED, GENERATOR_VERSION, _cases
from themes.synthetic.compose import HEADINGS
from themes.synthetic.design import (
    AGE_EXCLUSIONS,
    THEME_TRENDS,
    YEARS,
    _logistic,
    trend_direction,
)
from themes.synthetic.library import load_library
from themes.synthetic.render_other import REDACTION, REDACTION_MARKS
from themes.synthetic.render_pdf import _PDF_REDACTION

FORMATS = ["pdf", "docx", "html", "txt", "md"]
FORMAT_NAMES = {"pdf": "PDF", "docx": "DOCX", "html": "HTML", "txt": "TXT", "md": "Markdown"}
SECTION_TYPES = [
    "introduction",
    "terms_of_reference",
    "methodology",
    "family_background",
    "chronology",
    "analysis",
    "findings",
    "lessons",
    "other",
    "recommendations",
    "glossary",
    "references",
    "appendix",
]
AGE_BANDS = {
    "infant": "infants (under 1)",
    "toddler": "toddlers (1-4)",
    "child": "children (5-10)",
    "adolescent": "adolescents (11-17)",
}
DIRECTION_LABELS = {
    "stable": "**Stable** (same probability every year)",
    "rising": "**Rising** (logistic, start → end, midpoint year)",
    "falling": "**Falling**",
    "period": "**Period**",
    "age-driven": "**Age-driven** (set by the child's age band; no trend of its own)",
}
# What the PDF renderer's redaction box extracts as ("XXXXXXXX"): its span without the markup.
PDF_REDACTION_MARK = re.sub(r"<[^>]+>", "", _PDF_REDACTION)

_MANIFEST_FIELDS = [
    ("review_id", "the review (`rv0001` ...); an overview and its executive summary share it"),
    (
        "report_id",
        "the document: `<review_id>-ov` (overview or national review) or `<review_id>-es` "
        "(executive summary)",
    ),
    (
        "file",
        "path relative to `corpus/`: `reports/<area>-<abbrev>-<pseudonym>-<kind>-<year>.<ext>` "
        "(with `-<review_id>` appended if that name is already taken); national reviews "
        "`reports/national-review-<title>-<year>.<ext>`",
    ),
    ("format", "`pdf`, `docx`, `html`, `txt` or `md`"),
    ("nation", "`england`, `wales`, `scotland`, `northern_ireland`"),
    (
        "review_type",
        "statutory review type in force for nation and year (`regime()`): Serious Case Review "
        "(England to 2021, Wales to 2016), Local Child Safeguarding Practice Review (England from "
        "2019), Child Practice Review (Wales from 2017; the title says Extended or Concise), "
        "Significant Case Review (Scotland to 2021), Learning Review (Scotland from 2022), Case "
        "Management Review (Northern Ireland), National Review",
    ),
    (
        "partnership",
        "invented commissioning body, named as the regime names it (Local Safeguarding Children "
        "Board, Safeguarding Children Partnership, Regional Safeguarding Children Board, Child "
        "Protection Committee, Safeguarding Panel / Area Child Protection Committee; the Panel for "
        "national reviews)",
    ),
    ("publication_year", "year published ({years})"),
    ("publication_date", "month published, ISO `yyyy-mm`"),
    ("document_kind", "`overview`, `executive_summary` or `national_review`"),
    (
        "title",
        "title as printed on the cover (`<review type>: <pseudonym>`, or the national review's "
        "own title, naming its subject)",
    ),
    (
        "child_pseudonym",
        'pseudonym as the report uses it: "Child M", "Baby T", "Young Person K", a first name '
        "(LCSPR, Learning Review) or a Welsh CPR code such as `CA/12/19`; blank for national "
        "reviews",
    ),
    (
        "child_age_months",
        "child's age in months at the incident ({ages}); blank for national reviews",
    ),
    ("child_sex", "`male` / `female`; blank for national reviews"),
    (
        "outcome",
        "`death`, `serious_harm` or `other` (significant harm without a single serious "
        "incident); blank for national reviews",
    ),
    (
        "incident_date",
        "month of the death or serious harm, `yyyy-mm` ({lags} months before publication); blank "
        "for national reviews",
    ),
    ("author", 'invented independent reviewer; "The Panel" for national reviews'),
    ("split", "`train`, `dev` or `test` (by review; same as `splits.csv`)"),
    (
        "n_pages",
        "pages: rendered PDF pages, or form-feed pages of a TXT dump; blank for DOCX, HTML and "
        "Markdown (no fixed pagination)",
    ),
    ("sha256", "SHA-256 of the file's bytes (checked by the tests and by a rebuild)"),
]

_PASSAGE_FIELDS = [
    ("report_id", "document (joins `manifest.csv`)"),
    ("review_id", "review"),
    ("split", "`train` / `dev` / `test`"),
    (
        "section_type",
        "gold section: "
        + ", ".join(f"`{s}`" for s in SECTION_TYPES)
        + " (`other` = conclusions / predictability and preventability)",
    ),
    (
        "heading",
        'the section heading as printed, with its number (e.g. "5 Appraisal of practice"); '
        "wordings vary by report",
    ),
    ("order_in_section", "0-based position within the section"),
    ("para_no", 'printed paragraph number ("5.3") or `null` (table rows, list items)'),
    (
        "role",
        "`body`, `recommendation`, `chronology_row`, `glossary`, `reference`, `appendix_item`",
    ),
    (
        "text",
        "the text exactly as composed (placeholders filled; a redacted name is `{redaction}` "
        "whatever mark the file draws; for table rows, the event or recommendation cell only)",
    ),
    (
        "labels",
        'gold theme labels: list of `{{"theme": <codebook id>, "polarity": "concern" \\| '
        '"good_practice" \\| "absent"}}`; `[]` if none',
    ),
    ("rec_types", "gold recommendation types (recommendation records only; codebook `rec_*` ids)"),
    ("addresses", "themes a recommendation responds to (recommendation records only)"),
    (
        "asks_about",
        "themes a terms-of-reference question asks about (not findings; `labels` is empty)",
    ),
    (
        "passage_ref",
        "library passage id (e.g. `pb-0123`); `null` for the generated case summary, glossary, "
        "references and appendix items",
    ),
    (
        "variant",
        "which wording of the passage was used (0 = first, 1 = second); `null` where "
        "`passage_ref` is null",
    ),
]

# layout.jsonl fields that vary by format, with what each records; report_id, file and
# statutory_basis are described in prose.
_LAYOUT_FIELDS = [
    (
        "running_header",
        "header text drawn at the top of every page after the cover (PDF, TXT) or in the Word "
        "header (DOCX); names the review and its subject (the child's pseudonym, or a national "
        "review's subject); `null` for HTML and Markdown",
    ),
    (
        "running_footer",
        "footer as drawn: PDF and TXT a template whose `{page}` / `{pages}` are filled per page; "
        'DOCX the static footer line written (no page field: `<title> –`, "<review type> '
        'published MM.YY", or `""` where the template was a bare page number); `null` for HTML '
        "and Markdown",
    ),
    ("watermark", '`"DRAFT"` where the PDF draws the diagonal watermark, else `null`'),
    (
        "restricted_banner",
        "RESTRICTED banner text (PDF under the header, DOCX in the Word header, HTML a paragraph "
        "under the cover block), else `null`",
    ),
    ("hyphenated", "`true` where line ends are hyphenated (PDF with pyphen, TXT mid-word splits)"),
    (
        "redactions",
        "`true` for every file of a review whose mother's partner's name is redacted",
    ),
    ("two_column_analysis", "`true` where the PDF sets the analysis section in two columns"),
]


def _n(x) -> str:
    return f"{x:,}"


def _pct(a, b) -> str:
    return f"{100 * a / b:.0f}%"


def _span(lo, hi) -> str:
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _count_word(k: int) -> str:
    words = "no one two three four five six seven eight nine ten".split()
    return words[k] if 0 <= k < len(words) else str(k)


def _in(k: int) -> str:
    return f"in {k}" if k else "(none in this corpus)"


def _is_set(value) -> bool:
    """A layout field counts as drawn when it is true or a non-empty string."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    return bool(value)


class _Card:
    """Loads a corpus once and writes the card section by section into ``self.out``."""

    def __init__(self, corpus_dir: Path):
        c = Path(corpus_dir)
        m = pd.read_csv(
            c / "manifest.csv", dtype={"child_age_months": "Int64"}, keep_default_na=True
        )
        with open(c / "annotations" / "passages.jsonl", encoding="utf-8") as fh:
            g = pd.DataFrame([json.loads(line) for line in fh])
        with open(c / "annotations" / "layout.jsonl", encoding="utf-8") as fh:
            raw_layout = pd.DataFrame([json.loads(line) for line in fh])
        self.layout_columns = list(raw_layout.columns)
        self.lay = raw_layout.merge(m[["report_id", "review_id", "format", "document_kind"]])
        self.sp = pd.read_csv(c / "annotations" / "splits.csv")
        self.lib = load_library()
        self.m, self.g = m, g
        self.r = m.drop_duplicates("review_id").copy()
        self.n_rev, self.n_doc = self.r.review_id.nunique(), len(m)
        self.fmt = dict(zip(m.report_id, m.format, strict=True))
        self.y0, self.y1 = int(m.publication_year.min()), int(m.publication_year.max())
        self.nat = m[m.document_kind == "national_review"].sort_values("publication_year")
        self.lib_rows = g[g.passage_ref.notna()]
        self.pages = m.n_pages.dropna()
        self.case_summaries = g[
            g.passage_ref.isna() & (g.section_type == "introduction") & (g.role == "body")
        ]
        counted = g[g.section_type != "terms_of_reference"].explode("labels")
        counted = counted.dropna(subset=["labels"])
        self.counted = counted[
            counted.labels.map(lambda lab: lab["polarity"] in {"concern", "good_practice"})
        ]
        bands = ["under 1", "1-4", "5-10", "11-15", "16-17"]
        self.bands = bands
        self.r["band"] = pd.cut(
            self.r.child_age_months.astype(float),
            [-0.5, 11.5, 59.5, 131.5, 191.5, 215.5],
            labels=bands,
        )
        self.r["period"] = pd.cut(
            self.r.publication_year,
            [2007, 2013, 2019, 2025],
            labels=["2008-2013", "2014-2019", "2020-2025"],
        )
        self.ct = pd.crosstab(self.r.band, self.r.period)
        # Redactions: which documents' gold text carries the marker, and which table rows (the
        # PDF renderer draws its black box in paragraphs, not in table cells).
        has_mark = g.text.str.contains(REDACTION, regex=False)
        table_row = (g.role == "chronology_row") | ((g.role == "recommendation") & g.para_no.isna())
        self.marked_docs = set(g[has_mark].report_id)
        self.pdf_literal = g[has_mark & table_row & (g.report_id.map(self.fmt) == "pdf")]
        self.pdf_boxed_docs = set(
            g[has_mark & ~table_row & (g.report_id.map(self.fmt) == "pdf")].report_id
        )
        self.out: list[str] = []
        self.w = self.out.append

    # ------------------------------------------------------------------------------ helpers
    def _table(self, col, title, order=None, rename=None) -> None:
        a = self.r[col].fillna("(blank)").value_counts()
        b = self.m[col].fillna("(blank)").value_counts()
        idx = order or list(b.index)
        self.w(f"| {title} | Reviews | Documents |")
        self.w("|---|---:|---:|")
        for k in idx:
            label = (rename or {}).get(k, k)
            self.w(f"| {label} | {a.get(k, 0)} | {b.get(k, 0)} |")
        self.w(f"| **Total** | **{self.n_rev}** | **{self.n_doc}** |")
        self.w("")

    def _marks_in(self, fmt: str) -> int:
        """Files of a format that draw a redaction mark (gold text carries the marker)."""
        if fmt == "pdf":
            return len(self.pdf_boxed_docs)
        return sum(self.fmt[x] == fmt for x in self.marked_docs)

    def _redacted_reviews(self) -> set[str]:
        return set(self.lay[self.lay.redactions.astype(bool)].review_id)

    # ------------------------------------------------------------------------------ sections
    def header(self) -> None:
        w = self.w
        n_nat = len(self.nat)
        w("# Data card: the bundled fictional corpus")
        w("")
        w(
            "> **Every report in this folder is fiction written by the safeguarding-themes "
            "project.** No text is"
        )
        w(
            "> copied from, or closely paraphrases, any real published case review. No real "
            "child, family,"
        )
        w(
            '> practitioner or safeguarding partnership is named: the areas ("Westmoor", "Hollin '
            'Bay", "Cwm'
        )
        w(
            '> Arian", "Glenardoch", "Lough Carrow" ...), partnerships, reviewers, children and '
            "family members"
        )
        w(
            f"> are invented. The {_count_word(n_nat)} national reviews are attributed to the "
            "statutory national Panel by its"
        )
        w(
            '> generic name ("Child Safeguarding Practice Review Panel", author "The Panel"); '
            "their content is"
        )
        w(
            "> equally fictional. Real statutory guidance is named only where a real report "
            "would name it (the"
        )
        w("> cover line saying which guidance a review was held under).")
        w("")
        w(
            "**Licence:** [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/) for the "
            "corpus text and all"
        )
        w(
            "files in `corpus/` (reports, `manifest.csv`, `annotations/`): fictional; free to "
            "reuse with attribution"
        )
        w('("safeguarding-themes bundled fictional corpus").')
        w("")
        w(
            "**Purpose:** a realistic, fully labelled test bed for the pipeline (loading "
            "PDF/DOCX/HTML/TXT/MD,"
        )
        w(
            "metadata extraction, section segmentation, theme tagging with polarity, "
            "recommendation typing,"
        )
        w(
            "cross-review trend analysis) that can be shipped, shared and rebuilt without "
            "data-protection or"
        )
        w(
            "copyright concerns. It is **not** evidence about real reviews: the theme "
            "prevalences below are a"
        )
        w("design chosen by the project, not findings.")
        w("")
        w("Contents: [What is here](#what-is-here) · [How it was made](#how-it-was-made) ·")
        w(
            "[Counts](#counts) · [Fields](#fields) · [Gold labels and "
            "splits](#gold-labels-and-splits) ·"
        )
        w(
            "[The generating design](#the-generating-design) · [Layout "
            "realism](#layout-realism-per-format) ·"
        )
        w("[Known limits](#known-limits)")
        w("")

    def what_is_here(self) -> None:
        w, m = self.w, self.m
        w("## What is here")
        w("")
        w("```")
        w("corpus/")
        w(f"  reports/                 {self.n_doc} report files (PDF, DOCX, HTML, TXT, Markdown)")
        w("  manifest.csv             one row per file: true metadata, split, page count, SHA-256")
        w("  annotations/")
        w(
            "    passages.jsonl         one record per paragraph / table row / list item "
            f"({_n(len(self.g))}), with gold labels"
        )
        w("    splits.csv             review_id -> train | dev | test")
        w("    layout.jsonl           one record per file: the layout noise its renderer drew")
        w("  README.md                this card")
        w("```")
        w("")
        nat_titles = self.nat.title.tolist()
        nat_years = [str(y) for y in self.nat.publication_year]
        if len(nat_titles) > 1 and len(set(nat_titles)) == 1:
            nat_words = f'both titled "{nat_titles[0]}", ' + " and ".join(nat_years)
        else:
            nat_words = "; ".join(f'"{t}", {y}' for t, y in zip(nat_titles, nat_years, strict=True))
        w(
            f"{self.n_rev} fictional reviews published {self.y0}-{self.y1} in all four UK "
            f"nations, in {self.n_doc} documents: {(m.document_kind == 'overview').sum()} overview "
            f"reports, {(m.document_kind == 'executive_summary').sum()} executive summaries (each "
            f"beside its own overview) and {len(self.nat)} national reviews ({nat_words})."
        )
        w("")

    def how_it_was_made(self) -> None:
        w, lib = self.w, self.lib
        kinds = Counter(p.kind for p in lib)
        nvar = Counter(len(p.variants) for p in lib)
        libpol = Counter(pol for p in lib for _, pol in p.labels)
        lib_words = [len(v.split()) for p in lib for v in p.variants]
        files = sorted({p.id.split("-")[0] for p in lib})
        if set(nvar) != {2}:  # the card's wording assumes exactly two wordings per passage
            raise ValueError(f"data card assumes two wordings per passage, found {dict(nvar)}")
        local = self.r[self.r.document_kind != "national_review"]
        redacted = self._redacted_reviews()
        w("## How it was made")
        w("")
        w(
            "1. **Passage library** (`src/themes/synthetic/library/*.yaml`, schema and writing "
            "rules in"
        )
        w(
            f"   `library/SCHEMA.md`): {_n(len(lib))} hand-written fictional passages in "
            f"{len(files)} files, each with"
        )
        w(
            f"   exactly {list(nvar)[0]} independently worded variants "
            f"({_n(sum(len(p.variants) for p in lib))} wordings; mean "
            f"{statistics.mean(lib_words):.0f} words, range {min(lib_words)}-{max(lib_words)}). "
            "Kinds:"
        )
        w("   " + ", ".join(f"{k} {kinds[k]}" for k, _ in kinds.most_common()) + ".")
        w(
            "   The authors labelled each passage with every codebook theme it substantively "
            "expresses and a"
        )
        w(
            f"   polarity ({_n(libpol['concern'])} concern, {libpol['good_practice']} good "
            f"practice, {libpol['absent']} stated-absence labels),"
        )
        w(
            "   recommendation passages with their recommendation types and the themes they "
            "address, and"
        )
        w(
            "   terms-of-reference passages with the themes they ask about. Unlabelled passages "
            "and deliberate"
        )
        w(
            '   confusions ("poor practice", "challenging behaviour", "supervision order", '
            '"early years" ...) are'
        )
        w("   included as hard cases.")
        w(
            "2. **Cases** (`design.py`, `compose.py`): for each review the generator draws a "
            "nation, a"
        )
        w(
            "   publication year, the review regime in force (`regime()`: review type, "
            "commissioning body,"
        )
        w(
            "   pseudonym style), a child (age, sex, pseudonym), an outcome and a set of themes "
            "from the"
        )
        w("   generating design ([below](#the-generating-design)).")
        w(
            "3. **Composer** (`compose.py`): builds each report section by section (introduction "
            "with a case"
        )
        w(
            "   summary, terms of reference, methodology, family background, chronology, "
            "analysis, findings,"
        )
        w(
            "   lessons, conclusion, recommendations, glossary, references, panel appendix), "
            "choosing only"
        )
        w(
            "   library passages consistent with the case: a passage may be used only if every "
            "theme it makes"
        )
        w(
            "   present is one of the case's themes, none of its stated-absence labels "
            "contradicts the case, and"
        )
        w(
            "   it fits the child's age band, the year and the nation. No passage is repeated "
            "within a review."
        )
        w(
            "   Placeholders (`{child}`, `{mother}`, pronouns, `{date}` ...) are filled from the "
            "case. In"
        )
        w(
            f"   {len(redacted)} of the {len(local)} non-national reviews "
            f"({_pct(len(redacted), len(local))}, drawn at random) the mother's partner's name "
            "is redacted:"
        )
        w(
            f"   the gold text says `Mr {REDACTION}` and each format draws the blacked-out name "
            "its own way"
        )
        w("   ([below](#layout-realism-per-format)).")
        w(
            "4. **Renderers** (`render_pdf.py` with reportlab; `render_other.py` with "
            "python-docx and plain"
        )
        w(
            "   text) draw each document to PDF, DOCX, HTML, TXT or Markdown with the layout "
            "noise described"
        )
        w(
            "   [below](#layout-realism-per-format), then the manifest, gold annotations "
            "(`layout.jsonl`: what each"
        )
        w("   renderer drew), checksums and this card are written.")
        w("")
        w(
            f"Rebuild, byte-identically (generator version {GENERATOR_VERSION}, fixed seed "
            f"`{BUNDLED_SEED}`, reportlab invariant mode, fixed zip timestamps;"
        )
        w(
            "needs the pinned versions in `requirements.txt`, including `pyphen`, or "
            "hyphenation changes the bytes):"
        )
        w("")
        w("```bash")
        w("make corpus                               # same as:")
        w(f"themes synth --bundled --out corpus       # --seed defaults to {BUNDLED_SEED}")
        w("```")
        w("")
        w(
            "The slow test `test_bundled_corpus_regenerates_byte_identically_from_source` "
            "checks every file's"
        )
        w(
            "SHA-256 against `manifest.csv`. The build writes this card too "
            "(`themes.synthetic.datacard.render_data_card`"
        )
        w(
            "computes every number in it from the corpus, the library and the design), and "
            "`test_data_card_is_current`"
        )
        w(
            "checks it. `themes synth --reviews N --pages P --formats mixed --out DIR` makes "
            "larger corpora for"
        )
        w("benchmarks from the same library (not described by this card).")
        w("")

    def counts(self) -> None:
        w, m, r, ct, sp = self.w, self.m, self.r, self.ct, self.sp
        w("## Counts")
        w("")
        w(
            "All counts are from `manifest.csv`. A review has one overview (or national review) "
            "and sometimes an"
        )
        w("executive summary, so document counts exceed review counts.")
        w("")
        w("| Format | Documents | Reviews with a document in this format |")
        w("|---|---:|---:|")
        for f in FORMATS:
            label = f.upper() if f != "md" else "Markdown"
            w(f"| {label} | {(m.format == f).sum()} | {m[m.format == f].review_id.nunique()} |")
        w(f"| **Total** | **{self.n_doc}** | {self.n_rev} reviews |")
        w("")
        self._table(
            "nation",
            "Nation",
            order=["england", "wales", "scotland", "northern_ireland"],
            rename={
                "england": "England",
                "wales": "Wales",
                "scotland": "Scotland",
                "northern_ireland": "Northern Ireland",
            },
        )
        self._table("review_type", "Review type", order=list(m.review_type.value_counts().index))
        w("| Document kind | Documents |")
        w("|---|---:|")
        for k, v in m.document_kind.value_counts().items():
            w(f"| {k} | {v} |")
        w("")
        self._table(
            "outcome",
            "Outcome",
            order=["death", "serious_harm", "other", "(blank)"],
            rename={"(blank)": "(blank: national reviews)"},
        )
        a = r.publication_year.value_counts().sort_index()
        b = m.publication_year.value_counts().sort_index()
        w("| Publication year | " + " | ".join(str(y) for y in a.index) + " |")
        w("|---|" + "---:|" * len(a))
        w("| Reviews | " + " | ".join(str(v) for v in a) + " |")
        w("| Documents | " + " | ".join(str(b[y]) for y in a.index) + " |")
        w("")
        w("Child's age at the incident, from `child_age_months` (years; reviews):")
        w("")
        w("| Age band (years) | 2008-2013 | 2014-2019 | 2020-2025 | All |")
        w("|---|---:|---:|---:|---:|")
        for bnd in self.bands:
            cells = " | ".join(str(ct.loc[bnd, p]) if bnd in ct.index else "0" for p in ct.columns)
            w(f"| {bnd} | {cells} | {(r.band == bnd).sum()} |")
        nat_n = r.child_age_months.isna().sum()
        cells = " | ".join(
            str(((r.period == p) & r.child_age_months.isna()).sum()) for p in ct.columns
        )
        w(f"| (blank: national reviews) | {cells} | {nat_n} |")
        w("")
        w("| Split | Reviews | Documents |")
        w("|---|---:|---:|")
        for s in ["train", "dev", "test"]:
            w(f"| {s} | {(sp.split == s).sum()} | {(m.split == s).sum()} |")
        w(f"| **Total** | **{len(sp)}** | **{self.n_doc}** |")
        w("")
        sex = r.child_sex.value_counts()
        w(
            f"Children: {sex.get('female', 0)} girls, {sex.get('male', 0)} boys (reviews; blank "
            f"for national reviews). Pages (PDF and TXT only): {int(self.pages.min())}-"
            f"{int(self.pages.max())}, mean {self.pages.mean():.1f}."
        )
        w("")

    def fields(self) -> None:
        w, m, g, lay = self.w, self.m, self.g, self.lay
        ages = m.child_age_months.dropna()
        pub = pd.to_datetime(m.publication_date, format="%Y-%m")
        inc = pd.to_datetime(m.incident_date, format="%Y-%m")
        lags = ((pub.dt.year - inc.dt.year) * 12 + pub.dt.month - inc.dt.month).dropna()
        values = {
            "years": f"{self.y0}-{self.y1}",
            "ages": f"{int(ages.min())}-{int(ages.max())}",
            "lags": f"{int(lags.min())}-{int(lags.max())}",
        }
        w("## Fields")
        w("")
        w("### `manifest.csv` (one row per report file)")
        w("")
        w("| Column | Meaning |")
        w("|---|---|")
        if [f for f, _ in _MANIFEST_FIELDS] != list(m.columns):
            raise ValueError(f"data card does not describe manifest columns {list(m.columns)}")
        for f, meaning in _MANIFEST_FIELDS:
            w(f"| `{f}` | {meaning.format(**values)} |")
        w("")
        w(f"### `annotations/passages.jsonl` (one JSON object per line; {_n(len(g))} lines)")
        w("")
        w(
            "Every paragraph, chronology or recommendation table row and list item of every "
            "document, in reading"
        )
        w(
            "order. Executive summaries repeat (renumbered) paragraphs of their overview, so "
            "they have their own records."
        )
        w("")
        w("| Field | Meaning |")
        w("|---|---|")
        if sorted(f for f, _ in _PASSAGE_FIELDS) != sorted(g.columns):
            raise ValueError(f"data card does not describe passage fields {list(g.columns)}")
        for f, meaning in _PASSAGE_FIELDS:
            w(f"| `{f}` | {meaning.format(redaction=REDACTION)} |")
        w("")
        roles = g.role.value_counts()
        w("Records by role: " + ", ".join(f"{k} {_n(v)}" for k, v in roles.items()) + ".")
        w("")
        w("### `annotations/splits.csv`")
        w("")
        w(
            f"Two columns, `review_id,split`, one row per review ({len(self.sp)} rows). Use it "
            "(not per-document rows) to"
        )
        w("split anything by review.")
        w("")
        described = {"report_id", "file", "statutory_basis"} | {f for f, _ in _LAYOUT_FIELDS}
        if described != set(self.layout_columns):
            raise ValueError(f"data card does not describe layout fields {self.layout_columns}")
        flagged = lay[lay.redactions.astype(bool)]
        unmarked = flagged[~flagged.report_id.isin(self.marked_docs)]
        w(f"### `annotations/layout.jsonl` (one JSON object per file; {len(lay)} lines)")
        w("")
        w(
            "Each record says what **that file's renderer actually drew**, so noise leaking "
            "into extracted text"
        )
        w(
            "can be measured exactly: a field is `null` or `false` where the file does not show "
            "it, even if the"
        )
        w(
            "composed document had it (a watermark or hyphenation chosen for a report that ended "
            "up as HTML is"
        )
        w(
            "not recorded). `report_id` and `file` join `manifest.csv`; `statutory_basis` is the "
            "cover line naming"
        )
        w("the guidance in force (every file). The other fields, and the files that have each set:")
        w("")
        w("| Field | Meaning | " + " | ".join(FORMAT_NAMES[f] for f in FORMATS) + " |")
        w("|---|---|" + "---:|" * len(FORMATS))
        for f, meaning in _LAYOUT_FIELDS:
            cells = " | ".join(
                str(int(lay[lay.format == fmt][f].map(_is_set).sum())) for fmt in FORMATS
            )
            w(f"| `{f}` | {meaning} | {cells} |")
        w(f"| (files) | | {' | '.join(str((lay.format == f).sum()) for f in FORMATS)} |")
        w("")
        w(
            f"`redactions` is set by review: {len(flagged)} files of {flagged.review_id.nunique()} "
            f"reviews. {len(unmarked)} of them"
        )
        w(
            "never mention the partner, so show no mark; the others carry "
            f"`{REDACTION}` in `passages.jsonl` wherever"
        )
        w("the file draws its mark.")
        w("")

    def gold_labels(self) -> None:
        w, g, r = self.w, self.g, self.r
        polc = Counter(lab["polarity"] for ls in g.labels for lab in ls)
        themes_seen = len({lab["theme"] for ls in g.labels for lab in ls})
        rec_seen = len({t for ts in g.rec_types for t in ts})
        labelled = (g.labels.str.len() > 0).sum()
        w("## Gold labels and splits")
        w("")
        w(
            "**How labels were assigned.** Labels were assigned once, per library passage, by "
            "the library authors"
        )
        w(
            "when they wrote it; both wordings of a passage carry the same labels. The composer "
            "copies a passage's"
        )
        w(
            "labels onto every paragraph made from it, and only uses passages consistent with "
            "the case, so the"
        )
        w(
            "labels follow the text: a theme is present in a review exactly when some paragraph "
            "of the review says"
        )
        w(
            "so. **Theme presence for a review = the union of its paragraph labels with "
            "polarity `concern` or"
        )
        w(
            "`good_practice`, outside `terms_of_reference`** (`absent` means the text states "
            "the factor was not"
        )
        w(
            "there; terms-of-reference questions only ask). The only labels not from the "
            "library are on the"
        )
        w(
            "generated case-summary sentence, which carries `suicide_self_harm_mental_health` "
            "when it says the"
        )
        w(
            "young person took their own life "
            f"({(self.case_summaries.labels.str.len() > 0).sum()} records)."
        )
        w("")
        w(
            f"In numbers: {_n(labelled)} of {_n(len(g))} records carry at least one theme label "
            f"({_n(sum(polc.values()))} labels: {_n(polc['concern'])} concern, "
            f"{_n(polc['good_practice'])} good practice, {_n(polc['absent'])} absent); all "
            f"{themes_seen} codebook themes occur. {_n((g.rec_types.str.len() > 0).sum())} "
            f"recommendation records carry all {rec_seen} recommendation types; "
            f"{_n((g.asks_about.str.len() > 0).sum())} terms-of-reference records carry "
            "`asks_about`."
        )
        w("")
        drawn_cases = _cases(self.n_rev, BUNDLED_SEED, bundled=True)
        counted = self.counted
        pairs = set(
            zip(counted.review_id, counted.labels.map(lambda lab: lab["theme"]), strict=True)
        )
        drawn = {(c.review_id, t) for c in drawn_cases for t in c.themes}
        w(
            f"Of the {len(drawn):,} (review, theme) pairs the design drew, "
            f"{len(drawn & pairs):,} reached the text (no passage chosen"
        )
        if pairs <= drawn:
            w(
                "for the review expressed the other few); no theme is present that the design "
                "did not draw."
            )
        else:
            w(
                f"for the review expressed the other few); {len(pairs - drawn):,} present "
                f"(review, theme) pairs were not drawn with seed `{BUNDLED_SEED}`."
            )
        w("")
        lib_rows = self.lib_rows
        tr = lib_rows[lib_rows.split == "train"]
        te = lib_rows[lib_rows.split == "test"]
        dv = lib_rows[lib_rows.split == "dev"]
        per_year_split = pd.crosstab(r.publication_year, r.split)
        nat = [f"{s} ({y})" for s, y in zip(self.nat.split, self.nat.publication_year, strict=True)]
        nat_words = " and ".join([", ".join(nat[:-1]), nat[-1]] if len(nat) > 1 else nat)
        w(
            "**Split design.** Splits are by review (an executive summary goes with its "
            "overview). Every"
        )
        w(
            "publication year has "
            f"{_span(per_year_split['train'].min(), per_year_split['train'].max())} train, "
            f"{_span(per_year_split['dev'].min(), per_year_split['dev'].max())} dev and "
            f"{_span(per_year_split['test'].min(), per_year_split['test'].max())} test reviews, "
            f"so each split spans {self.y0}-{self.y1};"
        )
        w(
            f"the {_count_word(len(nat))} national reviews are in {nat_words}. Wordings are "
            "split too: **train uses the"
        )
        w(
            "first wording of each passage, dev the second, test the last.** Test wordings "
            "therefore never appear in"
        )
        leaked = te.text.isin(set(tr.text)).sum()
        w(
            f"train: {'none' if not leaked else _n(leaked)} of the {_n(len(te))} library-derived "
            "test records has a text found in train, although"
        )
        w(
            f"{_pct(te.passage_ref.isin(set(tr.passage_ref)).sum(), len(te))} of them express a "
            "passage whose *other* wording is in train (same content,"
        )
        w(
            "different words: the test measures generalisation across paraphrase, not to "
            "unseen content)."
        )
        w("")
        w(
            "**Limitation:** every passage in the current library has exactly two wordings, so "
            'the "last" wording'
        )
        w(
            "is the second and **dev and test share the held-out wording**. "
            f"{_pct(te.passage_ref.isin(set(dv.passage_ref)).sum(), len(te))} of library-derived "
            "test records come from passages that also appear"
        )
        w(
            "in dev, in the same words apart from filled placeholders. Thresholds or models "
            "tuned on dev have seen"
        )
        w(
            "test-like wording, so dev-tuned test scores are optimistic; report them as such. "
            "Text not from the"
        )
        w(
            "library (the glossary, reference and panel lists, and the case-summary templates) "
            "is shared by all"
        )
        w("splits.")
        w("")

    def design(self) -> None:
        w, r, ct = self.w, self.r, self.ct
        by_dir: dict[str, list[tuple[str, dict]]] = {}
        for t, s in THEME_TRENDS.items():
            by_dir.setdefault(trend_direction(t), []).append((t, s))
        w("## The generating design")
        w("")
        w(
            "`THEME_TRENDS` in `src/themes/synthetic/design.py` gives, for each theme, the "
            "probability that a"
        )
        w(
            "review published in a year, about a child in an age band, has that theme (as a "
            "concern in the case)."
        )
        w(
            "Each review then gets at least three practice themes (topped up at random if the "
            "draw gave fewer),"
        )
        w(
            "and each national review four extra practice themes. `trend_direction()` names "
            "each theme's kind. In words:"
        )
        w("")
        w("| Kind | Themes |")
        w("|---|---|")

        def band_values(s: dict) -> str:
            return ", ".join(f"{v:.2f} for {AGE_BANDS[k]}" for k, v in s.items() if k in AGE_BANDS)

        def curve(t: str, s: dict) -> str:
            return f"`{t}` {s['start']:.2f} → {s['end']:.2f}, {s['mid']:g}"

        cells = {
            "stable": "; ".join(
                f"`{t}` {s['p']:.2f}"
                for t, s in sorted(by_dir.get("stable", []), key=lambda x: -x[1]["p"])
            ),
            "rising": "; ".join(curve(t, s) for t, s in by_dir.get("rising", [])),
            "falling": "; ".join(curve(t, s) for t, s in by_dir.get("falling", [])),
            "period": "; ".join(
                f"`{t}` {s['p_in']:.2f} in {s['years'][0]}-{s['years'][1]}, {s['p']:.2f} in "
                "every other year"
                for t, s in by_dir.get("period", [])
            ),
            "age-driven": "; ".join(
                f"`{t}` {band_values(s)}, otherwise {s['p']:.2f}"
                for t, s in by_dir.get("age-driven", [])
            ),
        }
        for direction, label in DIRECTION_LABELS.items():
            if by_dir.get(direction):
                w(f"| {label} | {cells[direction]} |")
        unknown = set(by_dir) - set(DIRECTION_LABELS)
        if unknown:
            raise ValueError(f"data card does not describe trend directions {sorted(unknown)}")
        w("")
        curves = by_dir.get("rising", []) + by_dir.get("falling", [])
        w(
            "Rising and falling themes follow `start + (end - start) / (1 + exp(-0.6 (year - "
            "midpoint)))`, so the"
        )
        w(
            f"values actually reached in {YEARS[0]} and {YEARS[-1]} are: "
            + "; ".join(
                f"`{t}` {_logistic(YEARS[0], s['start'], s['end'], s['mid']):.2f} → "
                f"{_logistic(YEARS[-1], s['start'], s['end'], s['mid']):.2f}"
                for t, s in curves
            )
            + "."
        )
        w(
            "`exploitation_extrafamilial_harm` and `online_harm` are multiplied by 1.6 for "
            "adolescents (at most 0.95)."
        )
        order = list(AGE_BANDS)
        w(
            "`AGE_EXCLUSIONS` rule some themes out by age: "
            + "; ".join(
                f"`{t}` never for " + " or ".join(AGE_BANDS[b] for b in sorted(v, key=order.index))
                for t, v in AGE_EXCLUSIONS.items()
            )
            + "."
        )
        w("")
        # Age-driven themes drift with the age mix: up if they favour older bands, down if younger.
        age_driven = by_dir.get("age-driven", [])
        older = {"child", "adolescent"}
        up = [t for t, s in age_driven if any(k in older and v > s["p"] for k, v in s.items())]
        down = [t for t, _ in age_driven if t not in up]
        w(
            "**Ages:** the child's age band is drawn with weights that move linearly from 2008 "
            "to 2025: infant"
        )
        w(
            "0.42 → 0.30, toddler (1-4) 0.25 → 0.20, child (5-10) 0.15, adolescent (11-17) "
            "0.18 → 0.35, so"
        )
        w(
            "**adolescents become more common over the period** (adding to the rise of "
            "exploitation and online"
        )
        w(
            "harm, which are scaled up for adolescents). Age-driven themes have no trend of "
            "their own but"
        )
        drift = []
        if up:
            verb = "drifts" if len(up) == 1 else "drift"
            drift.append(" and ".join(f"`{t}`" for t in up) + f" {verb} up with the adolescents")
        if down:
            verb = "drifts" if len(down) == 1 else "drift"
            drift.append(" and ".join(f"`{t}`" for t in down) + f" {verb} down with the infants")
        w("follow the age mix (" + "; ".join(drift) + "), so they are not stable either.")
        w(
            "At this sample size the realised age mix is noisy (see the age table above: aged "
            "11-17 in"
        )
        ado = [int(((r.period == p) & r.band.isin(["11-15", "16-17"])).sum()) for p in ct.columns]
        tot = [int(((r.period == p) & r.child_age_months.notna()).sum()) for p in ct.columns]
        w(
            f"{ado[0]} of {tot[0]}, {ado[1]} of {tot[1]} and {ado[2]} of {tot[2]} reviews in the "
            "three periods)."
        )
        w("")
        w(
            "**Outcome:** death if the case has `sudi_unsafe_sleep`, or (with probability 0.6) "
            "an adolescent with"
        )
        w("`suicide_self_harm_mental_health`; otherwise death 0.45, serious harm 0.45, other 0.10.")
        w("")
        self._prevalence()

    def _prevalence(self) -> None:
        w, r, counted = self.w, self.r, self.counted
        years = r.set_index("review_id").publication_year
        pres = counted.groupby(counted.labels.map(lambda lab: lab["theme"])).review_id.agg(set)
        periods = [(2008, 2013), (2014, 2019), (2020, 2025)]
        sizes = [sum(a <= y <= b for y in years) for a, b in periods]

        def shares(t: str) -> list[float]:
            return [
                sum(x in pres.get(t, set()) for x in years.index if a <= years[x] <= b) / size
                for (a, b), size in zip(periods, sizes, strict=True)
            ]

        stable = [t for t in THEME_TRENDS if trend_direction(t) == "stable"]
        wander = sorted(stable, key=lambda t: -(max(shares(t)) - min(shares(t))))[:3]
        w("### Realised prevalence")
        w("")
        w(
            "Share of reviews with each theme **present** (a `concern` or `good_practice` label "
            "outside"
        )
        w(
            "`terms_of_reference`, in any of the review's documents), by publication period, "
            "computed from"
        )
        w(
            f"`passages.jsonl` and `manifest.csv`. Periods hold {sizes[0]}, {sizes[1]} and "
            f"{sizes[2]} reviews, so each share has a"
        )
        w(
            f"95% sampling margin of about ±{100 * 1.96 * (0.1 * 0.9 / min(sizes)) ** 0.5:.0f} "
            f"percentage points at a 10% share and ±{100 * 1.96 * (0.25 / min(sizes)) ** 0.5:.0f} "
            "at 50%: check trend analyses against the *direction*"
        )
        w(
            "of the design, not against exact values. Stable themes wander by chance (most "
            "here: " + ", ".join(f"`{t}`" for t in wander) + ")."
        )
        w("")
        w("| Theme | Design | 2008-2013 | 2014-2019 | 2020-2025 |")
        w("|---|---|---:|---:|---:|")

        def design_words(t: str) -> str:
            s, direction = THEME_TRENDS[t], trend_direction(t)
            if direction == "stable":
                return f"stable {s['p']:.2f}"
            if direction in ("rising", "falling"):
                return f"{direction} {s['start']:.2f} → {s['end']:.2f} ({s['mid']:g})"
            if direction == "period":
                return f"period {s['years'][0]}-{s['years'][1]}"
            return direction

        for t in THEME_TRENDS:
            vals = []
            for a, b in periods:
                rv = [x for x in years.index if a <= years[x] <= b]
                vals.append(_pct(sum(x in pres.get(t, set()) for x in rv), len(rv)))
            w(f"| `{t}` | {design_words(t)} | " + " | ".join(vals) + " |")
        w("")
        cov = pres.get("covid_19", set())
        in_cov = [x for x in years.index if 2020 <= years[x] <= 2022]
        outside = [x for x in years.index if not 2020 <= years[x] <= 2022]
        n_out = sum(x in cov for x in outside)
        w(
            f"`covid_19` is present in {sum(x in cov for x in in_cov)} of the {len(in_cov)} "
            f"reviews published 2020-2022 and in {'none' if not n_out else n_out}"
        )
        w("outside those years.")
        w("")

    def layout(self) -> None:
        w, g, lay, fmt = self.w, self.g, self.lay, self.fmt

        def lc(col: str, f: str) -> int:
            return int(lay[lay.format == f][col].map(_is_set).sum())

        chrono_tab = Counter(fmt[x] for x in g[g.role == "chronology_row"].report_id.unique())
        rec_tab = Counter(
            fmt[x] for x in g[(g.role == "recommendation") & g.para_no.isna()].report_id.unique()
        )
        pdf = lay[lay.format == "pdf"]
        foot = pdf.running_footer
        docx_foot = lay[lay.format == "docx"].running_footer.fillna("")
        txt = lay[lay.format == "txt"]
        n_headings = [len(v) for v in HEADINGS.values()]
        nat_subject = self.nat.title.iloc[0].split(":")[0] if len(self.nat) else ""
        lit = self.pdf_literal
        w("## Layout realism per format")
        w("")
        w(
            "All formats share: a cover block (partnership, title, document kind, the "
            "statutory-basis line naming"
        )
        w(
            "the guidance in force, publication month; reviewer in PDF, DOCX and HTML), "
            "decimal-numbered sections and paragraphs,"
        )
        w(
            "heading wordings that vary between reports "
            f"({' or '.join(_count_word(k) for k in sorted(set(n_headings)))} per section type), "
            "three "
            "date styles in"
        )
        w(
            "chronologies, and, in some reports, the chronology as a Date / Agency / Event table "
            f"({sum(chrono_tab.values())} documents) and the recommendations as a Recommendation "
            f"/ Lead agency / Timescale table ({sum(rec_tab.values())})."
        )
        w(
            f"Where the mother's partner's name is redacted, the gold text's `{REDACTION}` is "
            "drawn as each format's"
        )
        w(
            "own mark (below); `annotations/layout.jsonl` records which of these features each "
            "file carries."
        )
        w("")
        w("| Format | Files | Layout features |")
        w("|---|---:|---|")
        if len(lit):
            pdf_lit = (
                f" (not in table cells: {len(lit)} table rows in {lit.report_id.nunique()} PDFs "
                f"print `{REDACTION}` as is)"
            )
        else:
            pdf_lit = ""
        w(
            f"| PDF (reportlab, A4) | {len(pdf)} | Cover page; contents page with dot leaders and "
            "page numbers; running header on every page after the cover, naming the review and "
            "its subject (the child's pseudonym; for a national review its subject, e.g. "
            f'"{nat_subject}"); running footer in three styles: "Page N of M" '
            f"({foot.str.startswith('Page').sum()}), bare page number "
            f'({(foot == "{page}").sum()}), "<review type> published MM.YY N" '
            f"({foot.str.contains('published').sum()}); justified Times or Helvetica body; "
            f"hyphenated line breaks with pyphen (en_GB) in {lc('hyphenated', 'pdf')}; two-column "
            f"analysis section in {lc('two_column_analysis', 'pdf')}; chronology table in "
            f"{chrono_tab['pdf']} and recommendation table in {rec_tab['pdf']} (grid, repeated "
            f"header row); diagonal DRAFT watermark in {lc('watermark', 'pdf')}; RESTRICTED "
            f"banner under the header in {lc('restricted_banner', 'pdf')}; redacted names as "
            f"black-on-black boxes (text layer `{PDF_REDACTION_MARK}`) "
            f"{_in(self._marks_in('pdf'))}"
            f"{pdf_lit}. Text layer only. |"
        )
        w(
            f"| DOCX (python-docx) | {(lay.format == 'docx').sum()} | Cover paragraphs and page "
            "break; typed contents list with dot leaders and nominal page numbers; running "
            "header in the Word header (with the RESTRICTED banner in "
            f"{lc('restricted_banner', 'docx')}) and a footer line with no page numbers: the "
            f'title (`<title> –`) in {docx_foot.str.endswith("–").sum()}, "<review type> '
            f'published MM.YY" in {docx_foot.str.contains("published").sum()}, empty in '
            f"{(docx_foot == '').sum()}; headings as Word headings; grid tables; panel appendix "
            f"as bullets; redacted names as `{REDACTION_MARKS['docx']}` "
            f"{_in(self._marks_in('docx'))}. No page count, watermark or hyphenation. |"
        )
        w(
            f"| HTML | {(lay.format == 'html').sum()} | Partnership-website chrome around the "
            "report: skip link, cookie banner, navigation menu, breadcrumbs, site footer with "
            'safeguarding contact text and links; a "Published ... Independent reviewer ..." '
            f"line; RESTRICTED banner paragraph {_in(lc('restricted_banner', 'html'))}; "
            "`<table>` tables; lists for glossary and references; redacted names as "
            f"`{REDACTION_MARKS['html']}` {_in(self._marks_in('html'))}. No running headers or "
            "footers. |"
        )
        w(
            f"| TXT | {len(txt)} | A `pdftotext`-style dump: pages of at most 52 lines separated "
            'by form feeds (`\\f`), running header and footer ("Page N of M" in '
            f"{txt.running_footer.str.startswith('Page').sum()}) on every page after the first, "
            "contents with dot leaders (nominal page numbers), lines wrapped at 88 characters, "
            "long words split mid-word with a hyphen at line ends "
            f"{_in(lc('hyphenated', 'txt'))}, tables flattened to `a \\| b \\| c` lines; "
            f"redacted names as `{REDACTION_MARKS['txt']}` {_in(self._marks_in('txt'))}. |"
        )
        w(
            f"| Markdown | {(lay.format == 'md').sum()} | `#`/`##` headings, pipe tables, "
            f"bulleted lists; redacted names as `{REDACTION_MARKS['md']}` "
            f"{_in(self._marks_in('md'))}; no page furniture. |"
        )
        w("")

    def limits(self) -> None:
        w, g, m, r = self.w, self.g, self.m, self.r
        para_words = self.lib_rows.text.str.split().str.len()
        ov = g[g.report_id.str.endswith("-ov")]
        es = g[g.report_id.str.endswith("-es")]
        ov_words = ov.groupby("report_id").text.apply(lambda s: s.str.split().str.len().sum())
        es_words = es.groupby("report_id").text.apply(lambda s: s.str.split().str.len().sum())
        per_passage = (
            self.lib_rows.drop_duplicates(["review_id", "passage_ref"])
            .groupby("passage_ref")
            .review_id.nunique()
        )
        pdf_ov = m[(m.format == "pdf") & (m.document_kind == "overview")].n_pages
        es_pages = m[m.document_kind == "executive_summary"].n_pages
        pages = self.pages
        w("## Known limits")
        w("")
        w(
            "- **Short passages and short reports.** Library paragraphs in the corpus average "
            f"{para_words.mean():.0f} words (median {para_words.median():.0f}, range "
            f"{para_words.min()}-{para_words.max()}). Overview reports run to "
            f"{ov_words.mean():,.0f} words on average ({ov_words.min():,}-{ov_words.max():,}, "
            "glossary and references included) and executive summaries "
            f"{es_words.mean():,.0f}; paginated files are {int(pages.min())}-{int(pages.max())} "
            f"pages (PDF overviews {int(pdf_ov.min())}-{int(pdf_ov.max())}, executive summaries "
            f"{int(es_pages.min())}-{int(es_pages.max())}). Many real overview reports are far "
            "longer, with long, discursive paragraphs."
        )
        w(
            f"- **Passages are reused across reviews.** {_n(per_passage.size)} of the "
            f"{_n(len(self.lib))} library passages appear; each is used"
        )
        w(
            f"  in {per_passage.mean():.1f} reviews on average (up to {per_passage.max()}; "
            f"{_n((per_passage >= 3).sum())} in three or more). Within a split the"
        )
        w(
            "  same passage has the same wording (only placeholders differ), so reports resemble "
            "each other more"
        )
        w(
            "  than real reports do; topic models and near-duplicate detection will find this "
            "structure."
        )
        w("- **Narrower language.** However varied the library, it was written for a fixed")
        w(
            "  codebook; real reports have a wider vocabulary, more local service names, and "
            "longer, mixed"
        )
        w(
            "  paragraphs expressing many themes at once. Scores here will likely overstate "
            "scores on real reports."
        )
        w(
            "- **No Welsh-language versions:** every report, Welsh ones included, is in "
            "English only."
        )
        w(
            "- **No scanned (image-only) PDFs** in the bundled set: every PDF has a text layer. "
            "The loader tests"
        )
        w("  generate their own bad-input fixtures instead.")
        ni = r.nation.value_counts()
        w(
            f"- **Nations are unevenly represented.** England {ni['england']} reviews, Wales "
            f"{ni['wales']}, Scotland {ni['scotland']}, Northern Ireland "
            f"{ni['northern_ireland']};"
        )
        w(
            "  Northern Ireland is underrepresented, and per-nation results from this corpus "
            "mean little."
        )
        w(
            "- **The case-summary opening sentence follows three templates** (the first "
            f"paragraph of all {len(self.case_summaries)} non-national documents), with a "
            "handful of"
        )
        w(
            "  phrasings for age, outcome and date. Metadata extraction (age, sex, outcome, "
            "incident date) from"
        )
        w(
            "  it is therefore easier here than on real reports, which state these facts in "
            "many ways and places."
        )
        redacted = self._redacted_reviews()
        w(
            f"- **Redaction is narrow.** Only the mother's partner's name is ever redacted "
            f"({len(redacted)} reviews), always as"
        )
        w(
            "  one mark per format; real reports black out many names, dates and places, in "
            "varied ways."
        )
        if len(self.pdf_literal):
            lit = self.pdf_literal
            w(
                f"  In PDF tables the marker is not drawn: {len(lit)} table rows in "
                f"{lit.report_id.nunique()} PDFs print `{REDACTION}` as is."
            )
        titles = self.nat.title.tolist()
        if len(set(titles)) < len(titles):
            w(
                f"- **National review titles repeat:** the {_count_word(len(titles))} national "
                f'reviews share the title "{titles[0]}"'
            )
            w(
                "  (years "
                + ", ".join(str(y) for y in self.nat.publication_year)
                + "); tell them apart by `review_id`, year or file name."
            )
        w(
            "- **Other simplifications:** one child per review; every review has a single "
            "incident month; no"
        )
        w("  images, footnotes or tracked changes; DOCX has no real page count and only the")
        w(
            "  PDF draws the DRAFT watermark; theme prevalences are a design, not an estimate of "
            "real practice."
        )
        w("")

    def render(self) -> str:
        self.header()
        self.what_is_here()
        self.how_it_was_made()
        self.counts()
        self.fields()
        self.gold_labels()
        self.design()
        self.layout()
        self.limits()
        return "\n".join(self.out) + "\n"


def render_data_card(corpus_dir: str | Path) -> str:
    """Compute the data card of a corpus folder and return it as Markdown.

    Reads ``manifest.csv``, ``annotations/passages.jsonl``, ``annotations/layout.jsonl`` and
    ``annotations/splits.csv`` under ``corpus_dir``, the passage library
    (:func:`~themes.synthetic.library.load_library`) and the generating design
    (:data:`~themes.synthetic.design.THEME_TRENDS`); writes nothing. Every number in the card is
    computed from these.

    Args:
        corpus_dir: The corpus folder, as written by
            :func:`~themes.synthetic.build_bundled_corpus` (the card describes the bundled corpus
            and its seed).

    Returns:
        The card's Markdown text, ending in a newline (the content of ``corpus/README.md``).

    Raises:
        ValueError: If the corpus has fields, trend kinds or library structure the card does not
            describe (update this module when the generator changes).
    """
    return _Card(Path(corpus_dir)).render()
