"""Compose fictional review reports from the passage library, with exact gold annotations.

A :class:`Case` is one fictional review (nation, year, child, outcome, the themes its story
carries). :func:`compose_documents` turns a case into one or more
:class:`~themes.synthetic.model.Document` objects (an overview report, sometimes with an executive
summary that reuses its paragraphs), choosing library passages whose labels agree with the case's
themes so that the gold labels are exactly what the text says.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from themes.synthetic import design
from themes.synthetic.library import Passage, fill
from themes.synthetic.model import Document, Para, Section

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
PRACTICE_KINDS = ("analysis", "finding", "lesson")
CHARACTERISTIC_KINDS = ("background", "chronology")

# Heading wording per section type; the loader has to recognise all of these.
HEADINGS = {
    "introduction": [
        "Introduction",
        "Introduction and reason for the review",
        "Brief outline of circumstances resulting in the Review",
        "Circumstances leading to the review",
    ],
    "terms_of_reference": [
        "Terms of reference",
        "Key lines of enquiry",
        "Scope and terms of reference",
        "Key questions for the review",
    ],
    "methodology": [
        "Methodology",
        "The review process",
        "Review process and methodology",
        "How the review was conducted",
    ],
    "family_background": [
        "Family background",
        "The family",
        "Background",
        "About the child and family",
    ],
    "chronology": [
        "Chronology",
        "Summary of key events",
        "Timeline of events",
        "Summary of agency involvement",
    ],
    "analysis": [
        "Analysis",
        "Analysis of practice",
        "Appraisal of practice",
        "Practice and organisational learning",
    ],
    "findings": ["Findings", "Key findings", "The findings", "Findings of the review"],
    "lessons": ["Lessons learned", "Learning", "Learning points", "Key learning"],
    "other": ["Conclusions", "Conclusion", "Predictability and preventability"],
    "recommendations": [
        "Recommendations",
        "Recommendations to the partnership",
        "Improving systems and practice",
        "Improvement actions",
    ],
    "glossary": ["Glossary", "Glossary of terms", "Abbreviations"],
    "references": ["References", "Bibliography", "Sources"],
    "appendix": [
        "Appendix 1: Review panel membership",
        "Appendix A: Panel membership",
        "Appendix: Agencies that contributed",
    ],
}
KIND_TO_SECTION = {
    "introduction": "introduction",
    "terms_of_reference": "terms_of_reference",
    "methodology": "methodology",
    "background": "family_background",
    "chronology": "chronology",
    "analysis": "analysis",
    "finding": "findings",
    "lesson": "lessons",
    "conclusion": "other",
    "recommendation": "recommendations",
}
GLOSSARY = [
    ("A&E", "Accident and Emergency department"),
    ("CAMHS", "Child and Adolescent Mental Health Services"),
    ("CSE", "Child Sexual Exploitation"),
    ("DA", "Domestic Abuse"),
    ("GP", "General Practitioner"),
    ("HV", "Health Visitor"),
    ("IRO", "Independent Reviewing Officer"),
    ("MARAC", "Multi-Agency Risk Assessment Conference"),
    ("MASH", "Multi-Agency Safeguarding Hub"),
    ("NFA", "No Further Action"),
    ("SUDI", "Sudden Unexpected Death in Infancy"),
    ("WNB", "Was Not Brought"),
    ("EHA", "Early Help Assessment"),
    ("CIN", "Child in Need"),
    ("CP", "Child Protection"),
    ("IMR", "Individual Management Review"),
    ("NAI", "Non-Accidental Injury"),
    ("CCE", "Child Criminal Exploitation"),
    ("ICPC", "Initial Child Protection Conference"),
    ("SILP", "Significant Incident Learning Process"),
    ("GIRFEC", "Getting It Right For Every Child"),
    ("IRD", "Inter-agency Referral Discussion"),
    ("DSL", "Designated Safeguarding Lead"),
    ("EHE", "Elective Home Education"),
    ("LAC", "Looked After Child"),
]
REFERENCE_TITLES = [
    (
        "Marlow, J. and Pike, S. ({y}) Sharing information to keep children safe: "
        "a practitioner's guide. Northfield: Harbour Press."
    ),
    (
        "Quarrie, A. ({y}) Thinking the unthinkable: professional curiosity in child protection. "
        "Journal of Invented Social Work Studies, 14(2), pp. 33-51."
    ),
    (
        "Department of Fictional Affairs ({y}) Working together across agencies: "
        "statutory guidance for partnerships. London: Stationery Office (fictional)."
    ),
    (
        "Hebden, L. et al. ({y}) Neglect, poverty and the lives of young children: "
        "a review of reviews. Ashcombe: University of Ashcombe Press."
    ),
    (
        "Tolland, R. ({y}) Domestic abuse, coercive control and the child's experience. "
        "Child Protection Quarterly (fictional), 9, pp. 12-29."
    ),
    (
        "Varga, M. ({y}) Safer sleep and sudden unexpected death in infancy: "
        "lessons for practice. Millbrook: Greywater Books."
    ),
    (
        "Oduya, K. ({y}) Exploitation outside the home: contextual safeguarding in practice. "
        "Lindenford: Fernhallow Institute."
    ),
    (
        "Brennock, T. ({y}) Disguised compliance and the limits of parental cooperation. "
        "Invented Review of Child Welfare, 21(4), pp. 401-418."
    ),
    (
        "Castellan, P. ({y}) The hidden men: fathers and male carers in safeguarding work. "
        "Kestrel Vale: Northfen Press."
    ),
    (
        "Morwenna, C. ({y}) Hearing the voice of the child in assessments. "
        "Copperdale: Saltmarsh University Press."
    ),
]
PANEL_ROLES = [
    "Independent Chair",
    "Head of Safeguarding, Children's Social Care",
    "Designated Nurse for Safeguarding Children",
    "Detective Inspector, Public Protection Unit",
    "Named GP for Safeguarding",
    "Education Safeguarding Lead",
    "Service Manager, Adult Mental Health",
    "Partnership Business Manager",
]
AGENCIES = [
    "Police",
    "Health visiting",
    "GP",
    "Children's social care",
    "School",
    "Midwifery",
    "Housing",
    "CAMHS",
    "Probation",
    "Hospital",
]


@dataclass
class Case:
    """One fictional review: who, where, when, what happened and the themes its story carries."""

    review_id: str
    nation: str
    year: int
    pub_month: int
    regime: dict
    area: str
    partnership: str
    pseudonym: str
    sex: str
    age_months: int
    outcome: str
    incident_year: int
    incident_month: int
    themes: set[str]
    split: str
    author: str
    values: dict[str, str] = field(default_factory=dict)
    national: bool = False

    @property
    def band(self) -> str:
        """The child's coarse age band."""
        return design.age_band(self.age_months)


def _pseudonym(style: str, sex: str, band: str, rng: random.Random) -> tuple[str, str]:
    letter = rng.choice("ABCDEFGHJKLMNPRSTW")
    if style == "name":
        return rng.choice(design.FIRST_NAMES[sex]), letter
    if style == "code":
        return (
            f"{rng.choice(['CA', 'MG', 'TE', 'BC'])}/"
            f"{rng.randint(1, 40):02d}/{rng.randint(16, 24)}",
            letter,
        )
    if band == "infant" and rng.random() < 0.5:
        return f"Baby {letter}", letter
    if band == "adolescent" and rng.random() < 0.3:
        return f"Young Person {letter}", letter
    return f"Child {letter}", letter


def sample_case(
    index: int, year: int, split: str, rng: random.Random, national: bool = False
) -> Case:
    """Draw one fictional case for a review published in ``year``."""
    nation = (
        "england"
        if national
        else rng.choices(list(design.NATION_WEIGHTS), list(design.NATION_WEIGHTS.values()))[0]
    )
    reg = design.regime(nation, year, rng)
    if national:
        reg = {
            "review_type": "National Review",
            "abbrev": "NR",
            "body": "Child Safeguarding Practice Review Panel",
            "pseudonym_style": "none",
        }
    area = rng.choice(design.AREAS[nation])
    sex = rng.choice(["male", "female"])
    age = design.sample_age_months(year, rng)
    band = design.age_band(age)
    pseud, letter = _pseudonym(reg["pseudonym_style"], sex, band, rng)
    themes = {
        t for t in design.THEME_TRENDS if rng.random() < design.theme_probability(t, year, band)
    }
    practice = [t for t in design.THEME_TRENDS if t in _PRACTICE]
    while len(themes & set(practice)) < 3:
        themes.add(rng.choice(practice))
    if national:
        themes |= set(rng.sample(practice, 4))
    if "suicide_self_harm_mental_health" in themes and band == "adolescent" and rng.random() < 0.6:
        outcome = "death"
    elif "sudi_unsafe_sleep" in themes:
        outcome = "death"
    else:
        outcome = rng.choices(["death", "serious_harm", "other"], [0.45, 0.45, 0.10])[0]
    lag = rng.randint(10, 34)
    pub_month = rng.randint(1, 12)
    incident_total = year * 12 + pub_month - 1 - lag
    other_letter = rng.choice([c for c in "BDFHKLMNPRSTV" if c != letter])
    values = {
        "child": pseud if not national else "the child",
        "mother": rng.choice(["Mother", f"Ms {letter}", "the mother"]),
        "father": rng.choice(["Father", f"Mr {letter}", "the father"]),
        "partner": rng.choice(["Mother's partner", f"Mr {other_letter}", "the mother's partner"]),
        "sibling": rng.choice(["Sibling 1", "an older sibling", "the younger sibling"]),
        "partnership": reg["body"].format(area=area),
    }
    return Case(
        review_id=f"rv{index:04d}",
        nation=nation,
        year=year,
        pub_month=pub_month,
        regime=reg,
        area=area,
        partnership=reg["body"].format(area=area),
        pseudonym=pseud,
        sex=sex,
        age_months=age,
        outcome=outcome if not national else "other",
        incident_year=incident_total // 12,
        incident_month=incident_total % 12 + 1,
        themes=themes,
        split=split,
        author=rng.choice(design.AUTHORS) if not national else "The Panel",
        values=values,
        national=national,
    )


_PRACTICE = {
    "information_sharing",
    "multi_agency_working",
    "risk_assessment_decision_making",
    "professional_curiosity_challenge",
    "parental_engagement_disguised_compliance",
    "voice_of_child",
    "escalation_professional_disagreement",
    "thresholds_access_to_services",
    "early_help",
    "record_keeping_chronology",
    "supervision_management_oversight",
    "workload_staffing_organisational_context",
    "training_knowledge",
    "policy_procedures",
    "unseen_men_fathers",
    "moves_transfer_cross_boundary",
    "was_not_brought_missed_contact",
    "cumulative_harm_history",
    "culture_ethnicity_faith_language",
    "adult_services_think_family",
}


def age_phrase(months: int, rng: random.Random) -> str:
    """Say an age the many ways reports do ("aged 7 months", "a 15-year-old", "14 weeks old")."""
    years, rem = divmod(months, 12)
    if months < 6 and rng.random() < 0.5:
        return f"a {max(1, round(months * 4.345))}-week-old baby"
    if months < 24:
        return rng.choice([f"aged {months} months", f"{months} months old"])
    if rng.random() < 0.4 and rem:
        return f"aged {years} years and {rem} month{'s' if rem > 1 else ''}"
    return rng.choice([f"aged {years}", f"a {years}-year-old", f"{years} years old"])


def _case_summary(case: Case, rng: random.Random) -> Para:
    """The introduction's opening paragraph, which states the metadata a reader looks for."""
    child = case.pseudonym
    pron = "he" if case.sex == "male" else "she"
    noun = "boy" if case.sex == "male" else "girl"
    when = f"{MONTHS[case.incident_month - 1]} {case.incident_year}"
    mother_age = rng.randint(17, 39)
    sib = rng.randint(1, 12)
    age = age_phrase(case.age_months, rng)
    labels = []
    if case.outcome == "death":
        if "suicide_self_harm_mental_health" in case.themes and case.band == "adolescent":
            event = f"took {'his' if pron == 'he' else 'her'} own life in {when}"
            labels = [{"theme": "suicide_self_harm_mental_health", "polarity": "concern"}]
        else:
            event = rng.choice(
                [
                    f"died in {when}",
                    f"was found unresponsive at home and later died in {when}",
                    f"died in hospital in {when}",
                ]
            )
    elif case.outcome == "serious_harm":
        event = rng.choice(
            [
                f"was admitted to hospital with serious injuries in {when}",
                f"suffered serious harm in {when}",
                f"sustained life-threatening injuries in {when}",
            ]
        )
    else:
        event = rng.choice(
            [
                f"came to the attention of agencies in {when} in circumstances that raised "
                "significant concern",
                "was found to have experienced significant harm over a prolonged period, "
                f"which came to light in {when}",
            ]
        )
    templates = [
        (
            "This review concerns {child}, a {noun} {age}, who {event}. At the time {pron} lived "
            "with {mother}, then aged {mage}, and a sibling aged {sib}."
        ),
        (
            "{child} was {age} when {pron} {event}. {child} is a {noun}; {pron} lived with "
            "{mother} (aged {mage}) and one sibling, who was {sib}."
        ),
        (
            "The review was commissioned after {child}, a {noun} {age}, {event}. The household "
            "comprised {mother}, then {mage} years old, {child} and a sibling aged {sib}."
        ),
    ]
    text = rng.choice(templates).format(
        child=child,
        noun=noun,
        age=age,
        event=event,
        pron=pron,
        mother=case.values["mother"],
        mage=mother_age,
        sib=sib,
    )
    text = text[0].upper() + text[1:]
    return Para(text=text, labels=labels, role="body")


class _Picker:
    """Chooses library passages that agree with a case's themes, without repeats in a review."""

    def __init__(
        self,
        library: tuple[Passage, ...],
        case: Case,
        rng: random.Random,
        allow_repeats: bool = False,
    ):
        self.allow_repeats = allow_repeats
        self.case = case
        self.rng = rng
        self.used: set[str] = set()
        band = case.band
        absent_ok = lambda p: not ({t for t, pol in p.labels if pol == "absent"} & case.themes)  # noqa: E731
        self.pool = {}
        for p in library:
            if not p.fits(band, case.year, case.nation) or not absent_ok(p):
                continue
            if p.kind == "recommendation":
                ok = bool(set(p.addresses) & case.themes)
            elif p.kind == "terms_of_reference":
                ok = True
            else:
                ok = p.counted_themes <= case.themes
            if ok:
                self.pool.setdefault(p.kind, []).append(p)
        for kind in self.pool:
            self.pool[kind].sort(key=lambda p: p.id)

    def take(self, kind: str, n: int, prefer: set[str] | None = None) -> list[Passage]:
        candidates = [p for p in self.pool.get(kind, []) if p.id not in self.used]
        chosen: list[Passage] = []
        if prefer:
            for theme in sorted(prefer):
                if len(chosen) >= n:
                    break
                with_theme = [
                    p
                    for p in candidates
                    if theme in p.counted_themes or theme in p.addresses or theme in p.asks_about
                ]
                with_theme = [p for p in with_theme if p not in chosen]
                if with_theme:
                    chosen.append(self.rng.choice(with_theme))
        rest = [p for p in candidates if p not in chosen]
        self.rng.shuffle(rest)
        chosen += rest[: max(0, n - len(chosen))]
        if len(chosen) < n and self.allow_repeats:
            # Benchmark-size reports need more text than the library holds for one case: reuse.
            again = list(self.pool.get(kind, []))
            while again and len(chosen) < n:
                chosen.append(self.rng.choice(again))
        self.rng.shuffle(chosen)
        self.used.update(p.id for p in chosen)
        return chosen


def _variant_index(split: str, passage: Passage) -> int:
    # Train uses the first wording; dev the second; test the last. With two wordings dev and test
    # share the held-out wording, which the classifier never sees in training.
    if split == "train":
        return 0
    if split == "dev":
        return 1
    return len(passage.variants) - 1


def _para(p: Passage, case: Case, role: str = "body", date: str | None = None) -> Para:
    v = _variant_index(case.split, p)
    values = dict(case.values)
    if date is not None:  # "" for table rows, whose date sits in its own cell
        values["date"] = date
    text = fill(p.variants[v], values, case.sex)
    return Para(
        text=text,
        passage_ref=p.id,
        variant=v,
        labels=[{"theme": t, "polarity": pol} for t, pol in p.labels],
        rec_types=list(p.rec_types),
        addresses=list(p.addresses),
        asks_about=list(p.asks_about),
        role=role,
    )


def _chronology_dates(case: Case, n: int, rng: random.Random) -> list[tuple[int, int, int]]:
    end = case.incident_year * 12 + case.incident_month - 1
    start = end - rng.randint(12, 30)
    months = sorted(rng.randint(start, end) for _ in range(n))
    return [(m // 12, m % 12 + 1, rng.randint(1, 28)) for m in months]


def _format_date(y: int, m: int, d: int, style: int) -> str:
    if style == 0:
        return f"{d:02d}/{m:02d}/{y}"
    if style == 1:
        return f"{d} {MONTHS[m - 1]} {y}"
    return f"{MONTHS[m - 1]} {y}"


def compose_documents(
    case: Case,
    library: tuple[Passage, ...],
    rng: random.Random,
    *,
    with_summary: bool,
    scale: float = 1.0,
) -> list[Document]:
    """Build the overview (and optionally an executive summary) for one case."""
    picker = _Picker(library, case, rng, allow_repeats=scale > 1.8)
    practice = case.themes & _PRACTICE
    characteristic = case.themes - _PRACTICE

    def n(base: int) -> int:
        return max(1, round(base * scale * rng.uniform(0.8, 1.25)))

    heading_style = rng.randrange(4)
    if case.nation == "wales" and case.regime["abbrev"] == "CPR":
        heading_style = (
            0  # Welsh CPR template headings, e.g. "Practice and organisational learning"
        )

    def heading(section_type: str) -> str:
        options = HEADINGS[section_type]
        if case.regime.get("abbrev") == "CPR":
            preferred = {"introduction": 2, "analysis": 3, "recommendations": 2}
            if section_type in preferred:
                return options[preferred[section_type]]
        if section_type == "appendix":
            return rng.choice(options)
        # A stable per-type offset (str hash is salted per process, so it would break determinism).
        offset = sorted(HEADINGS).index(section_type) % 2
        return options[(heading_style + offset) % len(options)]

    redact = not case.national and rng.random() < 0.2
    if redact:
        # Published reports black out names; the gold text carries the loader's canonical marker.
        case.values = {**case.values, "partner": "Mr [redacted]"}

    sections: list[Section] = []
    intro = Section(
        "introduction",
        heading("introduction"),
        paras=[] if case.national else [_case_summary(case, rng)],
    )
    intro.paras += [_para(p, case) for p in picker.take("introduction", n(2))]
    sections.append(intro)
    tor = Section(
        "terms_of_reference",
        heading("terms_of_reference"),
        paras=[
            _para(p, case)
            for p in picker.take(
                "terms_of_reference",
                n(4),
                prefer=set(rng.sample(sorted(case.themes), min(4, len(case.themes)))),
            )
        ],
    )
    method = Section(
        "methodology",
        heading("methodology"),
        paras=[_para(p, case) for p in picker.take("methodology", n(2))],
    )
    background = Section(
        "family_background",
        heading("family_background"),
        paras=[_para(p, case) for p in picker.take("background", n(5), prefer=characteristic)],
    )
    chrono_passages = picker.take(
        "chronology",
        n(10),
        prefer=characteristic | set(rng.sample(sorted(practice), min(3, len(practice)))),
    )
    date_style = rng.randrange(3)
    as_table = rng.random() < 0.4
    chronology = Section("chronology", heading("chronology"))
    for p, (y, m, d) in zip(
        chrono_passages, _chronology_dates(case, len(chrono_passages), rng), strict=True
    ):
        date = _format_date(y, m, d, date_style)
        if as_table:
            para = _para(p, case, role="chronology_row", date="")
            para.text = re.sub(r"^\s*[:,-]?\s*", "", para.text)
            para.cells = [date, rng.choice(AGENCIES)]
        else:
            para = _para(p, case, role="body", date=date)
        chronology.paras.append(para)
    if as_table:
        chronology.table_header = ["Date", "Agency", "Event"]
    analysis = Section(
        "analysis",
        heading("analysis"),
        paras=[
            _para(p, case) for p in picker.take("analysis", n(16), prefer=practice | characteristic)
        ],
    )
    findings = Section(
        "findings",
        heading("findings"),
        paras=[_para(p, case) for p in picker.take("finding", n(5), prefer=practice)],
    )
    lessons = Section(
        "lessons",
        heading("lessons"),
        paras=[_para(p, case) for p in picker.take("lesson", n(4), prefer=practice)],
    )
    conclusion = Section(
        "other", heading("other"), paras=[_para(p, case) for p in picker.take("conclusion", n(2))]
    )
    recs = Section("recommendations", heading("recommendations"))
    for p in picker.take("recommendation", n(8), prefer=case.themes):
        para = _para(p, case, role="recommendation")
        recs.paras.append(para)
    if rng.random() < 0.35:
        recs.table_header = ["Recommendation", "Lead agency", "Timescale"]
        for para in recs.paras:
            para.cells = [
                rng.choice(
                    ["Partnership", "Health", "Police", "Children's social care", "Education"]
                ),
                rng.choice(["3 months", "6 months", "12 months"]),
            ]
    glossary = Section("glossary", heading("glossary"))
    for abbr, meaning in sorted(rng.sample(GLOSSARY, min(len(GLOSSARY), n(10)))):
        glossary.paras.append(Para(text=f"{abbr} – {meaning}", role="glossary"))
    references = Section("references", heading("references"))
    for title in sorted(rng.sample(REFERENCE_TITLES, min(len(REFERENCE_TITLES), n(5)))):
        references.paras.append(
            Para(text=title.format(y=rng.randint(2003, case.year)), role="reference")
        )
    appendix = Section("appendix", heading("appendix"))
    for role in rng.sample(PANEL_ROLES, 5):
        appendix.paras.append(Para(text=role, role="appendix_item"))

    body = [
        intro,
        tor,
        method,
        background,
        chronology,
        analysis,
        findings,
        lessons,
        conclusion,
        recs,
    ]
    if case.regime.get("abbrev") in {"LR", "CPR"} and rng.random() < 0.5:
        body.remove(tor)  # shorter templates often put the ToR in an appendix only
    body = [s for s in body if s.paras]
    for number, section in enumerate(body, start=1):
        section.number = str(number)
        for i, para in enumerate(section.paras, start=1):
            if para.role in {"body", "recommendation"} and section.table_header is None:
                para.para_no = f"{number}.{i}"
    overview = _document(
        case,
        "overview" if not case.national else "national_review",
        body + [glossary, references, appendix],
        rng,
        redact=redact,
    )
    docs = [overview]
    if with_summary:
        docs.append(_executive_summary(case, body, rng, redact=redact))
    return docs


def _executive_summary(
    case: Case, body: list[Section], rng: random.Random, redact: bool = False
) -> Document:
    """An executive summary that reuses a subset of the overview's paragraphs, renumbered."""
    keep = {
        "introduction": 2,
        "family_background": 2,
        "analysis": 5,
        "findings": 3,
        "lessons": 2,
        "recommendations": 99,
    }
    sections = []
    for s in body:
        if s.section_type not in keep:
            continue
        paras = (
            s.paras[: keep[s.section_type]]
            if s.section_type != "analysis"
            else sorted(rng.sample(s.paras, min(len(s.paras), 5)), key=s.paras.index)
        )
        sections.append(
            Section(
                s.section_type,
                s.heading,
                paras=[Para(**{**vars(p)}) for p in paras],
                table_header=s.table_header,
            )
        )
    for number, section in enumerate(sections, start=1):
        section.number = str(number)
        for i, para in enumerate(section.paras, start=1):
            para.para_no = (
                f"{number}.{i}"
                if para.role in {"body", "recommendation"} and section.table_header is None
                else None
            )
    return _document(case, "executive_summary", sections, rng, redact=redact)


def statutory_basis(case: Case) -> str:
    """The cover line naming the guidance in force (how real reports reveal their regime)."""
    if case.national:
        return (
            "A national review under the Children Act 2004 as amended by the Children and "
            "Social Work Act 2017"
        )
    if case.nation == "england":
        edition = max(
            y for y in (1999, 2006, 2010, 2013, 2015, 2018, 2023) if y <= case.incident_year
        )
        return f"Conducted under Working Together to Safeguard Children ({edition})"
    if case.nation == "wales":
        if case.regime["abbrev"] == "CPR":
            return (
                "Conducted under the Social Services and Well-being (Wales) Act 2014 and the "
                "Welsh Government's Child Practice Review guidance"
            )
        return (
            "Conducted under Welsh Assembly Government guidance, Safeguarding Children: "
            "Working Together under the Children Act 2004"
        )
    if case.nation == "scotland":
        return "Conducted under the National Guidance for Child Protection in Scotland"
    return (
        "Conducted under the Safeguarding Board Act (Northern Ireland) 2011"
        if case.year >= 2013
        else "Conducted under the Co-operating to Safeguard Children guidance for Northern Ireland"
    )


KIND_LABEL = {
    "overview": "Overview Report",
    "executive_summary": "Executive Summary",
    "national_review": "National Review",
    "learning_brief": "Learning Brief",
}


def _document(
    case: Case, kind: str, sections: list[Section], rng: random.Random, redact: bool = False
) -> Document:
    abbrev = case.regime["abbrev"]
    review_type = case.regime["review_type"]
    if case.regime.get("cpr_kind"):
        review_type_display = f"{case.regime['cpr_kind']} Child Practice Review"
    else:
        review_type_display = review_type
    if case.national:
        national_titles = [
            "Safeguarding children at risk from criminal exploitation: a national review",
            "Protecting babies in the first year: a national review",
            "Children living with domestic abuse: a national review",
        ]
        # Distinct reviews get distinct titles: pick by the review's ordinal, not its year.
        title = national_titles[int(case.review_id[2:]) % len(national_titles)]
    else:
        title = f"{review_type_display}: {case.pseudonym}"
    pub = f"{MONTHS[case.pub_month - 1]} {case.year}"
    header_style = rng.randrange(3)
    subject = case.pseudonym if not case.national else title.split(":")[0]
    running_header = [
        f"{review_type} {subject} – {KIND_LABEL[kind]}",
        f"{case.partnership} – {abbrev} {subject}",
        f"{KIND_LABEL[kind]} {abbrev} {subject} - {pub}",
    ][header_style]
    footer_style = rng.choice(["page_of", "bare", "published"])
    footer = {
        "page_of": "Page {page} of {pages}",
        "bare": "{page}",
        "published": (
            f"{review_type} published {case.pub_month:02d}.{case.year % 100:02d}   {{page}}"
        ),
    }[footer_style]
    if case.national:
        slug = re.sub(
            r"[^a-z0-9]+", "-", f"national review {title.split(':')[0]} {case.year}".lower()
        ).strip("-")
    else:
        slug = re.sub(
            r"[^a-z0-9]+", "-", f"{case.area} {abbrev} {case.pseudonym} {kind} {case.year}".lower()
        ).strip("-")
    return Document(
        file_stem=slug,
        report_id=f"{case.review_id}-{'es' if kind == 'executive_summary' else 'ov'}",
        review_id=case.review_id,
        file_format="pdf",
        document_kind=kind,
        title=title,
        partnership=case.partnership,
        nation=case.nation,
        review_type=review_type,
        publication_year=case.year,
        publication_date=f"{case.year}-{case.pub_month:02d}",
        child_pseudonym=case.pseudonym if not case.national else "",
        child_age_months=case.age_months if not case.national else -1,
        child_sex=case.sex if not case.national else "",
        outcome=case.outcome if not case.national else "",
        incident_date=f"{case.incident_year}-{case.incident_month:02d}"
        if not case.national
        else "",
        author=case.author,
        split=case.split,
        running_header=running_header,
        running_footer=footer,
        sections=sections,
        watermark="DRAFT" if rng.random() < 0.08 else None,
        restricted_banner="RESTRICTED – not for circulation beyond the partnership"
        if rng.random() < 0.15
        else None,
        redactions=any("[redacted]" in p.text for sec in sections for p in sec.paras),
        hyphenate=rng.random() < 0.5,
        footer_style=footer_style,
        style_seed=rng.randrange(1_000_000),
        statutory_basis=statutory_basis(case),
    )


def training_wordings(
    passages: tuple[Passage, ...] | list[Passage],
    exclude: set[str] | frozenset[str] = frozenset(),
    seed: int = 0,
) -> list[dict]:
    """The training wording of library passages, filled for a sampled case, with gold labels.

    The classifier learns from the train split's reviews, which hold only the passages those
    reviews happened to draw (about 900 of the library's 1,491). Adding the *training* wording
    (variant 0) of every other passage widens what it learns from without showing it any wording
    the dev or test split uses: those splits render the held-out variant.

    Args:
        passages: Library passages.
        exclude: Passage ids to skip (those already in the training reviews).
        seed: Seed for the sampled cases that fill the placeholders.

    Returns:
        One dict per passage: ``passage_ref``, ``kind``, ``text``, ``labels`` (as in the gold
        annotations), ``rec_types``.

    Examples:
        >>> from themes.synthetic.library import load_library
        >>> rows = training_wordings(load_library()[:2])
        >>> sorted(rows[0])
        ['kind', 'labels', 'passage_ref', 'rec_types', 'text']
    """
    rng = random.Random(seed)
    rows = []
    for index, passage in enumerate(passages):
        if passage.id in exclude:
            continue
        year = rng.randint(max(passage.years[0], 2008), min(passage.years[1], 2025))
        case = sample_case(index, year, "train", rng)
        values = dict(case.values, date="")
        text = fill(passage.variants[0], values, case.sex).strip()
        rows.append(
            {
                "passage_ref": passage.id,
                "kind": passage.kind,
                "text": re.sub(r"^[:\s]+", "", text),
                "labels": [{"theme": t, "polarity": p} for t, p in passage.labels],
                "rec_types": list(passage.rec_types),
            }
        )
    return rows
