"""Clean raw pages and segment them into sections and citable passages.

Input is what :mod:`themes.readers` returns: pages of raw text (PDF, TXT) or structural blocks
(DOCX, HTML; headings marked ``"§H "``). Output is a list of :class:`Passage` records with section
type, heading, paragraph number, page, and character offsets into the cleaned text of the report
(the passages joined by blank lines), plus the running header/footer lines that were removed
(metadata extraction still reads them, e.g. "published 13.03.18").

Cleaning rules, each with the reason it exists:

- NFKC normalisation: expands ligatures (U+FB01 "ﬁ") and full-width forms that PDFs carry.
- U+FFFE / U+0002 at a line end is PDFium's mark for a soft hyphen: join the word without a hyphen.
- A line ending in "-" followed by a lower-case word is a typeset hyphenation (TXT dumps): join.
- Lines repeated at the top or bottom of many pages (digits ignored) are running headers/footers.
- "Page 3 of 27", bare page numbers, "DRAFT"/"RESTRICTED"/"CONFIDENTIAL" banners are dropped.
- Contents pages (most lines end in dot leaders and a page number) are dropped.
- Redaction markers (runs of █ or ■, "[REDACTED]", "XXXX") become "[redacted]".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

HEADING_MARK = "\u00a7H "
SECTION_TYPES = (
    "front_matter",
    "contents",
    "introduction",
    "terms_of_reference",
    "methodology",
    "family_background",
    "chronology",
    "analysis",
    "findings",
    "lessons",
    "recommendations",
    "appendix",
    "glossary",
    "references",
    "other",
)

# Heading text -> section type. First match wins, so specific phrases come before general words.
_SECTION_RULES: list[tuple[str, str]] = [
    (r"\bcontents\b", "contents"),
    (
        r"terms of reference|lines? of enquiry|key questions|scope of (the )?review|scope and",
        "terms_of_reference",
    ),
    (
        r"practice and organisational learning|appraisal|analysis|key practice episodes"
        r"|practice issues",
        "analysis",
    ),
    (r"glossary|abbreviations|acronyms|terminology", "glossary"),
    (r"references|bibliography|^sources$|further reading", "references"),
    (
        r"recommendation|improving systems|improvement actions|actions for"
        r"|questions for the (board|partnership)|partnership response",
        "recommendations",
    ),
    (r"\bfindings?\b", "findings"),
    (r"lessons|learning|what this means for practice|implications for practice", "lessons"),
    (
        r"chronolog|key events|timeline|agency involvement|narrative|summary of events"
        r"|history of involvement",
        "chronology",
    ),
    (
        r"methodolog|review process|how the review|process of the review|approach|method\b"
        r"|family involvement|involvement of the family|contribution",
        "methodology",
    ),
    (
        r"family background|the family\b|^background$|about the child|family composition"
        r"|genogram|the child\b|family structure|background information",
        "family_background",
    ),
    (
        r"introduction|reason for|circumstances|brief outline|overview of the case"
        r"|summary of the case|purpose of",
        "introduction",
    ),
    (r"appendix|annex", "appendix"),
    (r"conclusion|predictab|preventab|foreword|executive summary|summary", "other"),
]
_SECTION_PATTERNS = [(re.compile(p, re.I), t) for p, t in _SECTION_RULES]

_PARA_NO = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){1,3})\.?\s+(?=\S)")
_LABELLED_NO = re.compile(
    r"^((?:Finding|Recommendation|Learning point|Lesson)\s+\d{1,2}|R\d{1,2})\s*[:.)-]\s+", re.I
)
_HEADING_NUMBERED = re.compile(r"^(\d{1,2})\.?\s+([A-Z][^\n]{1,90})$")
_PAGE_NO = re.compile(r"^\s*(page\s+)?\d{1,4}(\s+of\s+\d{1,4})?\s*$", re.I)
_BANNER = re.compile(
    r"^\s*(draft|restricted|confidential|strictly confidential|official[- ]sensitive"
    r"|not protectively marked)\b.{0,80}$",
    re.I,
)
_DOT_LEADER = re.compile(r"(\.\s?){4,}\s*\d{1,4}\s*$|\.{3,}\s*\d{1,4}\s*$|\t\d{1,4}\s*$")
_REDACTION = re.compile(r"[█■▇]{2,}|\[\s*redacted\s*\]|\bX{4,}\b", re.I)
_DIGITS = re.compile(r"\d+")
_WS = re.compile(r"[ \t\u00a0]+")
_UNNUMBERED_HEADINGS = re.compile(
    r"^(contents|glossary( of terms)?|abbreviations|references|bibliography|sources|appendix\b.*|"
    r"annex\b.*|executive summary|introduction|recommendations|findings|conclusions?|foreword|"
    r"terms of reference|methodology|chronology|lessons learned|learning|background)\s*:?$",
    re.I,
)


@dataclass
class Passage:
    """One citable unit of a report (a numbered paragraph, list item or table row)."""

    section_type: str
    heading: str
    para_no: str | None
    page: int
    text: str
    char_start: int = 0
    char_end: int = 0


_TITLE_HEADING = re.compile(
    r"(serious|significant) case review|practice review|learning review|case management review|"
    r"national review|safeguarding (children )?(board|partnership)|child protection committee",
    re.I,
)


def section_type_for(heading: str) -> str:
    """Map a heading's words to one of :data:`SECTION_TYPES` ("other" when nothing matches).

    Examples:
        >>> section_type_for("3. Analysis of practice")
        'analysis'
        >>> section_type_for("Improving Systems and Practice")
        'recommendations'
    """
    words = re.sub(r"^\s*(\d{1,2}(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+", "", heading).strip()
    if _TITLE_HEADING.search(words) and not re.match(r"^\d", heading.strip()):
        return "front_matter"  # the report's title ("Serious Case Review: Child M"), not a section
    for pattern, section in _SECTION_PATTERNS:
        if pattern.search(words):
            return section
    return "other"


@functools.lru_cache(maxsize=1)
def _control_table() -> dict[int, None]:
    """A str.translate table deleting Basic Multilingual Plane code points of category C.

    Controls, format characters, surrogates, private use and unassigned, except newline, tab, form
    feed and U+FFFE. A per-character Python loop was the loader's largest single cost; translate
    runs in C. Beyond the BMP only tag and private-use planes are removed (``_ASTRAL_CONTROL``).
    """
    keep = {ord("\n"), ord("\t"), ord("\f"), 0xFFFE}
    return {
        cp: None
        for cp in range(0x10000)
        if cp not in keep and unicodedata.category(chr(cp))[0] == "C"
    }


@functools.lru_cache(maxsize=1)
def _control_search():  # noqa: ANN202
    """A regex finding any code point of :func:`_control_table` (a C scan, to skip clean pages)."""
    points = sorted(_control_table())
    ranges, start, prev = [], points[0], points[0]
    for cp in points[1:]:
        if cp != prev + 1:
            ranges.append((start, prev))
            start = cp
        prev = cp
    ranges.append((start, prev))
    body = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[{body}]")


_ASTRAL_CONTROL = re.compile("[\U000e0000-\U000e007f\U000f0000-\U0010ffff]")
_SOFT_HYPHEN_RUN_ON = re.compile("\ufffe(?!\n)")
_TRAILING_HYPHEN = re.compile(r"[a-z]-$")
_TABLE_HEADER = re.compile(
    r"^(date\s+agency\s+event|recommendation\s+lead agency\s+timescale)", re.I
)


def normalise_text(text: str) -> str:
    """NFKC-normalise, unify line ends, mark redactions, strip control characters (keeps U+FFFE)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "\ufffe")
    # PDFium ends a soft-hyphenated line with U+FFFE and no newline, so whatever was drawn next (the
    # rest of the word, or a running header at the page end) runs on: restore the line break.
    text = _SOFT_HYPHEN_RUN_ON.sub("\ufffe\n", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u00ad", "")  # soft hyphens that survived as characters
    text = _REDACTION.sub("[redacted]", text)
    if _control_search().search(text):
        text = text.translate(_control_table())
    text = _ASTRAL_CONTROL.sub("", text)
    return text.replace("\u2022", "").replace("\uf0b7", "")


def _edge_key(line: str) -> str:
    return _DIGITS.sub("#", _WS.sub(" ", line.strip().lower()))


def find_running_lines(pages: list[list[str]], zone: int = 5, min_share: float = 0.4) -> set[str]:
    """Return the normalised keys of lines repeated at page tops/bottoms (headers and footers).

    A line counts when its digit-insensitive form sits within ``zone`` lines of the top or bottom of
    at least ``min_share`` of the pages (and at least 3 pages), so a header carrying a page number
    or a date is still recognised.
    """
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        content = [ln for ln in lines if ln.strip()]
        edges = set(content[:zone] + content[-zone:])
        counts.update({_edge_key(ln) for ln in edges})
    threshold = max(3, int(min_share * len(pages) + 0.5))
    return {key for key, n in counts.items() if n >= threshold and len(key) > 1}


def _has_leader(line: str) -> bool:
    # Every alternative of _DOT_LEADER ends in digits then optional whitespace: test that cheaply
    # before running the regex search over the whole line.
    tail = line.rstrip()
    return bool(tail) and tail[-1].isdecimal() and bool(_DOT_LEADER.search(line))


def is_contents_page(lines: list[str]) -> bool:
    """A page is a contents page when most of its substantive lines end in leaders and a number."""
    content = [ln for ln in lines if len(ln.strip()) > 3]
    if len(content) < 3:
        return False
    leaders = sum(_has_leader(ln) for ln in content)
    return leaders >= 3 and leaders >= 0.5 * len(content)


def _key_start(stripped: str) -> str:
    """First character of ``_edge_key(stripped)`` (a stripped, non-empty line)."""
    first = stripped[0].lower()[:1]
    return "#" if first.isdecimal() else first


def _is_noise_line(line: str, running: set[str], starts: set[str] | None = None) -> bool:
    """True for a running header/footer line, page number, banner or contents leader line.

    ``starts`` (the first characters of the ``running`` keys) lets most lines skip building their
    key; it never changes the answer.
    """
    stripped = line.strip()
    if not stripped:
        return False
    if running and (starts is None or _key_start(stripped) in starts):
        if _edge_key(stripped) in running:
            return True
    last_is_digit = stripped[-1].isdecimal()  # page numbers and leaders end in a digit
    return (
        (last_is_digit and bool(_PAGE_NO.match(stripped)))
        or bool(_BANNER.match(stripped))
        or (last_is_digit and len(stripped) < 140 and bool(_DOT_LEADER.search(stripped)))
    )


def clean_pages(pages: list[str]) -> tuple[list[list[str]], list[str]]:
    """Remove running headers/footers, page numbers, banners and contents pages.

    Returns:
        (lines per page, removed running lines). Pages keep their positions (a dropped contents page
        becomes an empty list) so page numbers stay true to the source.
    """
    split = [normalise_text(p).split("\n") for p in pages]
    running = find_running_lines(split)
    starts = {key[:1] for key in running}
    removed: list[str] = []
    out: list[list[str]] = []
    for lines in split:
        if is_contents_page(lines):
            out.append([])
            continue
        kept = []
        for ln in lines:
            if _is_noise_line(ln, running, starts):
                removed.append(ln.strip())
            else:
                kept.append(ln)
        out.append(kept)
    return out, removed


def _is_heading_line(line: str, prev_line: str | None) -> bool:
    s = line.strip()
    if s.startswith(HEADING_MARK.strip()):
        return True
    # A heading starts a block: after a blank line, a sentence end or nothing. A wrapped line that
    # happens to read "learning" or "Background" mid-paragraph is not one.
    prev = (prev_line or "").strip()
    mid_paragraph = prev and not prev.endswith((".", ":", "!", "?", '"', "\u201d", ")", "]"))
    if mid_paragraph and not _HEADING_NUMBERED.match(s) and not _HEADING_NUMBERED.match(prev):
        return False
    if not s[:1].isupper() and not s[:1].isdigit():
        return False
    if not s or len(s) > 100 or s.endswith((".", ",", ";")) and not _UNNUMBERED_HEADINGS.match(s):
        return False
    if _PARA_NO.match(s):
        return False
    m = _HEADING_NUMBERED.match(s)
    if m:
        words = m.group(2).split()
        # "12 months" or "3 Police" are table cells, not headings: demand a capitalised word that a
        # heading vocabulary knows, or a short title-like phrase.
        known = section_type_for(m.group(2)) != "other" or re.search(
            r"conclusion|preventab|predictab|foreword", s, re.I
        )
        return bool(known) and len(words) <= 12
    return bool(_UNNUMBERED_HEADINGS.match(s))


def _join_lines(lines: list[str], marked_hyphens: bool = False) -> str:
    """Join wrapped lines into one paragraph.

    With ``marked_hyphens`` (PDFium text) soft hyphens arrive as U+FFFE, so a plain "-" at a line
    end is a real hyphen ("life-threatening") and is kept; in plain-text dumps it is usually
    typesetting.
    """
    out = ""
    for ln in lines:
        ln = ln.strip()
        if "  " in ln or "\t" in ln or "\u00a0" in ln:  # else _WS.sub would change nothing
            ln = _WS.sub(" ", ln)
        if not ln:
            continue
        if out.endswith("\ufffe"):
            out = out[:-1] + ln
        elif out[-1:] == "-" and _TRAILING_HYPHEN.search(out[-2:]) and ln[:1].islower():
            out = out + ln if marked_hyphens else out[:-1] + ln
        else:
            out = f"{out} {ln}" if out else ln
    return out.replace("\ufffe", "")


_DATE_START = re.compile(
    r"^(\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}(st|nd|rd|th)?\s+[A-Z][a-z]+\s+\d{4}|"
    r"(January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{4})\b"
)
_TIMESCALE_END = re.compile(
    r"^(\d{1,2}\s+months?|immediate(ly)?|ongoing|complete[d]?|\d{1,2}\s+weeks?)$", re.I
)


def segment_lines(pages: list[list[str]], marked_hyphens: bool = False) -> list[Passage]:
    """Turn cleaned page lines into passages, splitting at headings, numbers and blank lines.

    Args:
        pages: Cleaned lines per page (from :func:`clean_pages`).
        marked_hyphens: True for PDFium text, whose soft hyphens are marked (see ``_join_lines``).
    """
    passages: list[Passage] = []
    heading, section = "", "front_matter"
    buf: list[str] = []
    buf_page, buf_no = 1, None
    table_mode = None  # "chronology" | "recommendations" when a table header was seen

    def flush():
        nonlocal buf, buf_no
        text = _join_lines(buf, marked_hyphens)
        if text:
            passages.append(Passage(section, heading, buf_no, buf_page, text))
        buf, buf_no = [], None

    flat = [(pno, ln) for pno, lines in enumerate(pages, start=1) for ln in lines]
    skip_next = False
    for i, (pno, line) in enumerate(flat):
        if skip_next:
            skip_next = False
            continue
        s = line.strip()
        nxt = flat[i + 1][1].strip() if i + 1 < len(flat) else ""
        if (
            _HEADING_NUMBERED.match(s)
            and nxt
            and len(nxt) < 50
            and not nxt.endswith(".")
            and not _PARA_NO.match(nxt)
            and not _is_heading_line(s, None)
            and _is_heading_line(f"{s} {nxt}", None)
        ):
            # A heading wrapped over two lines (narrow two-column pages): read it whole.
            s, skip_next = f"{s} {nxt}", True
        # The first line of a page follows a page break, which is as good as a blank line.
        prev = flat[i - 1][1] if i > 0 and flat[i - 1][0] == pno else None
        if not s:
            if table_mode is None:
                flush()
            continue
        if _is_heading_line(s, prev):
            flush()
            heading = _WS.sub(" ", s.removeprefix(HEADING_MARK.strip())).strip()
            section = section_type_for(heading)
            table_mode = None
            if section == "front_matter":  # a title: keep its words, metadata lives there
                passages.append(Passage(section, heading, None, pno, heading))
            continue
        if _TABLE_HEADER.match(s):
            flush()
            table_mode = "chronology" if s.lower().startswith("date") else "recommendations"
            continue
        m = _PARA_NO.match(s) or _LABELLED_NO.match(s)
        if m or (table_mode == "chronology" and _DATE_START.match(s)):
            flush()
            buf_page = pno
            if m:
                buf_no = m.group(1)
                s = s[m.end() :]
        elif not buf:
            buf_page = pno
        buf.append(s)
        if table_mode == "recommendations" and _TIMESCALE_END.match(s):
            flush()
        elif table_mode is None and section in {
            "glossary",
            "references",
            "appendix",
            "front_matter",
        }:
            flush()  # list-like sections: one line, one item
    flush()
    return passages


def segment_blocks(blocks: list[list[str]]) -> list[Passage]:
    """Turn structural blocks (DOCX, HTML) into passages; headings arrive marked ``"§H "``."""
    passages: list[Passage] = []
    heading, section = "", "front_matter"
    for pno, page in enumerate(blocks, start=1):
        for block in page:
            text = _WS.sub(" ", normalise_text(block).replace("\n", " ")).strip()
            if not text:
                continue
            if text.startswith(HEADING_MARK.strip()):
                heading = text[len(HEADING_MARK.strip()) :].strip()
                section = section_type_for(heading)
                if section == "other" and not passages:
                    section = "front_matter"  # an unrecognised first heading is the title
                if section == "front_matter":
                    passages.append(Passage(section, heading, None, pno, heading))
                continue
            if (
                _PAGE_NO.match(text)
                or _BANNER.match(text)
                or (_DOT_LEADER.search(text) and len(text) < 140)
            ):
                continue
            if re.match(
                r"^(date \| agency \| event|recommendation \| lead agency \| timescale)$",
                text,
                re.I,
            ):
                continue
            no = None
            m = _PARA_NO.match(text) or _LABELLED_NO.match(text)
            if m:
                no, text = m.group(1), text[m.end() :]
            passages.append(Passage(section, heading, no, pno, text))
    return passages


def assign_offsets(passages: list[Passage]) -> str:
    """Set each passage's character offsets into the cleaned report text and return that text."""
    parts, position = [], 0
    for p in passages:
        p.char_start, p.char_end = position, position + len(p.text)
        parts.append(p.text)
        position = p.char_end + 2
    return "\n\n".join(parts)
