"""Extract report metadata from a review's text: nation, review type, partnership, dates, child.

Every extractor reads the front matter (cover page), the running header/footer lines the cleaner
removed, and the opening passages, and returns ``None`` when the document does not state the field,
so a missing value is never guessed. Nation and review type stay separate: "SCR" is a Serious Case
Review in England and Wales but a Significant Case Review in Scotland.
"""

from __future__ import annotations

import re

MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen".split()
    )
}

_PARTNERSHIP = re.compile(
    r"((?:[A-Z][\w'&-]*\s+){0,4}?(?:[A-Z][\w'&-]*)\s+"
    r"(?:Local\s+Safeguarding\s+Children\s+Board|Safeguarding\s+Children\s+Board|"
    r"Safeguarding\s+Children\s+Partnership|Regional\s+Safeguarding\s+Children\s+Board|"
    r"Regional\s+Safeguarding\s+Board|Safeguarding\s+Board|Child\s+Protection\s+Committee|"
    r"Area\s+Child\s+Protection\s+Committee|Safeguarding\s+Panel|Safeguarding\s+Partnership))"
    r"|(Safeguarding\s+Board\s+for\s+Northern\s+Ireland)|(Child\s+Safeguarding\s+Practice\s+Review\s+Panel)"
)
_REVIEW_TYPES = [
    (
        r"local child safeguarding practice review|\bLCSPR\b",
        "Local Child Safeguarding Practice Review",
    ),
    (r"national (thematic )?review|child safeguarding practice review panel", "National Review"),
    (r"child safeguarding practice review|\bCSPR\b", "Local Child Safeguarding Practice Review"),
    (r"(concise|extended)?\s*child practice review", "Child Practice Review"),
    (r"significant case review", "Significant Case Review"),
    (r"serious case review", "Serious Case Review"),
    (r"learning review", "Learning Review"),
    (r"case management review|\bCMR\b", "Case Management Review"),
]
_NATION_CUES = {
    "northern_ireland": r"northern ireland|case management review|\bSBNI\b|\bHSC Trust\b",
    "wales": (
        r"\bwales\b|\bwelsh\b|child practice review|regional safeguarding (children )?board"
        r"|social services and well-being"
    ),
    "scotland": (
        r"scotland|scottish|significant case review|child protection committee|\bGIRFEC\b"
        r"|care inspectorate|learning review"
    ),
    "england": (
        r"safeguarding children board|safeguarding children partnership"
        r"|local child safeguarding practice review|working together to safeguard|\bofsted\b"
        r"|child safeguarding practice review panel|\bengland\b|\benglish\b"
    ),
}


_NATION_NAMED = {
    "northern_ireland": r"northern ireland",
    "wales": r"\bwales\b|\bwelsh\b|\bcymru\b",
    "scotland": r"\bscotland\b|\bscottish\b",
    "england": r"\bengland\b",
}


def _first_line_matching(lines: list[str], pattern: re.Pattern) -> re.Match | None:
    for line in lines:
        m = pattern.search(line)
        if m:
            return m
    return None


def extract_partnership(front: list[str]) -> str | None:
    """The commissioning board or partnership named on the cover or in the opening text."""
    m = _first_line_matching(front, _PARTNERSHIP)
    if not m:
        return None
    name = next(g for g in m.groups() if g)
    name = re.sub(r"^(The|by|By|for|For|Commissioned\s+by)\s+", "", _ws(name))
    return name


def extract_review_type(title_lines: list[str], body: str) -> str | None:
    """The review type, from the title first, else the most frequent mention in the text."""
    for text in (*title_lines, body):
        for pattern, label in _REVIEW_TYPES:
            if re.search(pattern, text, re.I):
                return label
    return None


def extract_nation(front_text: str, review_type: str | None, partnership: str | None) -> str | None:
    """Nation from regime names and cues.

    A Scottish "SCR" is a Significant Case Review, an English one a Serious Case Review.
    """
    by_type = {
        "Child Practice Review": "wales",
        "Significant Case Review": "scotland",
        "Learning Review": "scotland",
        "Case Management Review": "northern_ireland",
        "Local Child Safeguarding Practice Review": "england",
        "National Review": "england",
    }
    if review_type in by_type:
        return by_type[review_type]
    text = f"{partnership or ''}\n{front_text}"
    # A nation named outright ("Welsh Government guidance", "in Scotland") outweighs institutional
    # cues, which are shared: Welsh boards were also "Local Safeguarding Children Boards".
    named = {n: len(re.findall(p, text, re.I)) for n, p in _NATION_NAMED.items()}
    if max(named.values()):
        return max(named, key=named.get)
    scores = {n: len(re.findall(p, text, re.I)) for n, p in _NATION_CUES.items()}
    if partnership and re.search(r"regional safeguarding", partnership, re.I):
        scores["wales"] += 3
    best = max(scores, key=scores.get)
    if not scores[best] and review_type == "Serious Case Review":
        return "england"  # most Serious Case Reviews are English; Welsh ones say Wales somewhere
    return best if scores[best] else None


def extract_publication(front: list[str], running: list[str]) -> tuple[int | None, str | None]:
    """Publication year and ISO date (yyyy-mm or yyyy-mm-dd) from the cover or running lines."""
    patterns = [
        re.compile(
            rf"publi(?:shed|cation(?:\s+date)?)\s*:?\s*(\d{{1,2}}\s+)?{_MONTH}\s+(\d{{4}})", re.I
        ),
        re.compile(
            r"publi(?:shed|cation(?:\s+date)?)\s*:?\s*(\d{1,2})[./](\d{1,2})[./](\d{2,4})", re.I
        ),
        re.compile(r"publi(?:shed|cation(?:\s+date)?)\s*:?\s*(\d{1,2})[./](\d{2,4})\b", re.I),
        re.compile(r"publi(?:shed|cation(?:\s+date)?)\s*(?:in\s+)?:?\s*(\d{4})\b", re.I),
    ]
    for lines in (front, running):
        for line in lines:
            for i, pat in enumerate(patterns):
                m = pat.search(line)
                if not m:
                    continue
                if i == 0:
                    year, month = int(m.group(3)), MONTHS[m.group(2).lower()]
                    day = f"-{int(m.group(1)):02d}" if m.group(1) else ""
                    return year, f"{year}-{month:02d}{day}"
                if i == 1:
                    year = _year(m.group(3))
                    return year, f"{year}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
                if i == 2:
                    year = _year(m.group(2))
                    if 1 <= int(m.group(1)) <= 12:
                        return year, f"{year}-{int(m.group(1)):02d}"
                    return year, None
                year = int(m.group(1))
                return year, None
    return None, None


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 else y


_AGE_PATTERNS = [
    (re.compile(r"\b(\d{1,2})[- ]weeks?[- ]old\b", re.I), lambda m: round(int(m.group(1)) / 4.345)),
    (
        re.compile(r"\b(?:aged\s+)?(\d{1,2})\s+years?\s+(?:and\s+)?(\d{1,2})\s+months?\b", re.I),
        lambda m: int(m.group(1)) * 12 + int(m.group(2)),
    ),
    (
        re.compile(r"\b(?:aged\s+)?(\d{1,2})[- ]months?(?:[- ]old)?\b", re.I),
        lambda m: int(m.group(1)),
    ),
    (re.compile(r"\b(\d{1,2})[- ]years?[- ]old\b", re.I), lambda m: int(m.group(1)) * 12),
    (
        re.compile(r"\baged\s+(\d{1,2})\b(?!\s*(?:weeks|months))", re.I),
        lambda m: int(m.group(1)) * 12,
    ),
    (
        re.compile(
            r"\baged\s+(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)\b",
            re.I,
        ),
        lambda m: _NUMBER_WORDS[m.group(1).lower()] * 12,
    ),
]
_ADULT_CONTEXT = re.compile(
    r"(mother|father|partner|sibling|brother|sister|parent|then|\()\W*(?:\w+\W+){0,3}$", re.I
)


def extract_child_age_months(opening: str, pseudonym: str | None) -> int | None:
    """The subject child's age in months from the opening sentences (siblings and parents ignored).

    Examples:
        >>> extract_child_age_months("Child M, a boy aged 2 years and 3 months, died.", "Child M")
        27
        >>> extract_child_age_months(
        ...     "Mother, then aged 24, and Baby T, a 6-week-old baby.", "Baby T"
        ... )
        1
    """
    start = 0
    if pseudonym and pseudonym in opening:
        start = opening.index(pseudonym)
    for sentence in re.split(r"(?<=[.!?])\s+", opening[start:])[:3]:
        best = None
        for pattern, to_months in _AGE_PATTERNS:
            for m in pattern.finditer(sentence):
                if _ADULT_CONTEXT.search(sentence[: m.start()][-40:]):
                    continue
                if best is None or m.start() < best[0]:
                    best = (m.start(), to_months(m))
        if best:
            return best[1]
    return None


def extract_sex(opening: str) -> str | None:
    """The child's sex from "a boy/girl" or the balance of pronouns in the opening sentences."""
    m = re.search(
        r"\b(boy|girl|son|daughter|male child|female child|young man|young woman)\b", opening, re.I
    )
    if m:
        return (
            "male" if m.group(1).lower() in {"boy", "son", "male child", "young man"} else "female"
        )
    he = len(re.findall(r"\b(he|his|him)\b", opening, re.I))
    she = len(re.findall(r"\b(she|her|hers)\b", opening, re.I))
    if he > she + 1:
        return "male"
    if she > he + 1:
        return "female"
    return None


_DEATH = re.compile(
    r"\b(died|death of|took (?:his|her|their) own life|was killed|murdered|fatal"
    r"|sudden unexpected death|passed away|found dead)\b",
    re.I,
)
# "Significant harm" is the statutory threshold for intervention, not an outcome: it is left out.
_HARM = re.compile(
    r"\b(serious(?:ly)? (?:harm|injur\w+)|life[- ]?threatening|serious and permanent"
    r"|admitted to hospital with)\b",
    re.I,
)


def extract_outcome(opening: str) -> str | None:
    """Death | serious_harm | other, from the review's opening account of what happened."""
    d, h = _DEATH.search(opening), _HARM.search(opening)
    if d and (not h or d.start() <= h.start()):
        return "death"
    if h:
        return "serious_harm"
    if re.search(r"\b(came to the attention|concern|harm)\b", opening, re.I):
        return "other"
    return None


def extract_incident_date(opening: str) -> str | None:
    """Year-month of the incident that triggered the review, when the opening states it."""
    m = re.search(
        rf"\b(?:died|death|harm|injur\w*|life|attention|light|hospital|unresponsive)\b[^.]{{0,60}}?\bin\s+{_MONTH}\s+(\d{{4}})",
        opening,
        re.I,
    )
    if m:
        return f"{m.group(2)}-{MONTHS[m.group(1).lower()]:02d}"
    return None


def extract_pseudonym(title_lines: list[str], opening: str) -> str | None:
    """The child's pseudonym: "Child M", "Baby T", "Young Person F", a code, or a first name."""
    for text in (*title_lines, opening):
        m = re.search(
            r"\b(Child|Baby|Young Person|YP|Family|Children)\s+([A-Z]{1,3}\d{0,2})\b", text
        )
        if m:
            return f"{m.group(1)} {m.group(2)}"
        m = re.search(r"\b([A-Z]{2}/\d{2}/\d{2})\b", text)
        if m:
            return m.group(1)
    for text in title_lines:
        m = re.search(r"Review\s*[:–-]\s*['‘\"]?([A-Z][a-z]+)['’\"]?\s*$", text)
        if m:
            return m.group(1)
    return None


def extract_document_kind(front_text: str, review_type: str | None) -> str:
    """Overview | executive_summary | learning_brief | national_review (overview when unstated)."""
    head = front_text[:2000]
    if re.search(r"executive summary", head, re.I) and not re.search(
        r"overview report", head, re.I
    ):
        return "executive_summary"
    if re.search(r"learning brief|7[- ]minute briefing|seven minute briefing", head, re.I):
        return "learning_brief"
    if review_type == "National Review":
        return "national_review"
    return "overview"


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def extract_metadata(front: list[str], running: list[str], opening: str, title: str | None) -> dict:
    """Run every extractor; returns a dict with ``None`` for fields the document does not state."""
    title_lines = [t for t in [title, *front[:8]] if t]
    front_text = "\n".join(front)
    partnership = extract_partnership(front + running + [opening])
    review_type = extract_review_type(title_lines, front_text + "\n" + opening)
    year, date = extract_publication(front, running)
    pseudonym = extract_pseudonym(title_lines, opening)
    return {
        "title": _ws(title) if title else (title_lines[0] if title_lines else None),
        "partnership": partnership,
        "review_type": review_type,
        "nation": extract_nation(front_text + "\n" + opening, review_type, partnership),
        "publication_year": year,
        "publication_date": date,
        "document_kind": extract_document_kind(front_text, review_type),
        "child_pseudonym": pseudonym,
        "child_age_months": extract_child_age_months(opening, pseudonym),
        "child_sex": extract_sex(opening),
        "outcome": extract_outcome(opening),
        "incident_date": extract_incident_date(opening),
    }
