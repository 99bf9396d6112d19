"""Check passages for personal data before they are quoted in a summary or exported as a quote.

Published safeguarding reviews are anonymised: children are "Child M" or a chosen pseudonym,
adults are "Mother" or "the health visitor", agencies are named but people are not. Reports are
still written by people, and a real name, a date of birth or an address occasionally slips
through (in a quoted letter, a table or a footnote). Everything this package quotes verbatim
passes through :func:`find_personal_data` first, so that a slip in the source is not amplified by
a cross-review summary or a qualitative-analysis export.

The check is rule based, tuned for **precision on review prose** (a quote wrongly withheld costs a
reader one example; a check that flags every paragraph would be switched off), and it is a safety
net, not a guarantee of anonymity. Each rule, why it exists and its known limits:

``name``
    *Title + surname* ("Mrs Hughes", "Dr O'Brien", "PC Jones"): reviews anonymise people by role,
    so a title followed by a capitalised surname is almost always a real person. A title with a
    single-letter surname ("Mr K") is the standard pseudonym form and is never flagged.
    *First name + surname* ("Sarah Jones"): a Title-case pair whose first word is in an embedded
    list of common UK first names (:data:`FIRST_NAMES`, several hundred across the UK's main
    communities). Requiring a known first name is what keeps precision high: "Westmoor
    Safeguarding Children Partnership", "Child Protection Conference" and "March 2019" never
    qualify. Pairs are dropped when the second word is a role, agency, place or calendar word
    (:data:`NAME_STOPWORDS`), when a place or organisation word follows ("Rachel McMillan
    Nursery"), after "St"/"Saint" and similar, and when the text lies inside an allowed name (the
    review's pseudonym, the partnership's name, or a published case such as "Victoria Climbié").
    Limits: first names missing from the list, names written in capitals or lower case, a lone
    first name ("Sarah said ..."), and surnames alone ("the Jones family") are not found; cited
    authors with a first name ("Eileen Munro") are flagged.
``date_of_birth``
    A full date after a birth cue: "date of birth: 12/03/2015", "DOB 12.03.15", "born on
    3rd March 2015", "born 3 March 2015". Reviews routinely give the month and year of birth or
    the child's age ("born in March 2015", "aged 14 months"), which are not flagged; the cue
    alone ("the GP did not record the date of birth") is not flagged either.
``address``
    A house number followed by one to three capitalised words and a street type ("12 Acacia
    Avenue", "3a Mill Court"), and flat numbers ("Flat 3, Rosebank House"). Limits: named houses
    without a number, and addresses written in lower case, are missed; a house number before a
    role or agency word ("two Family Court hearings") is not treated as an address.
``postcode``
    The full UK postcode format (Royal Mail's outward and inward codes, "SW1A 1AA", "B33 8TH"),
    upper case only, so ordinary words never match. Partial postcodes ("SW1A") are not flagged.
``phone``
    UK numbers that can reach a person: landlines (01, 02, 03) and mobiles (07) with 10 or 11
    digits, written with spaces, hyphens, brackets round the area code or a +44 prefix. Freephone
    and service numbers (08, 09) such as helplines are public and not flagged.
``email``
    Any e-mail address. Generic agency mailboxes are flagged too: a reader can judge, and they
    are rare in review prose.
``nhs_number``
    Ten digits, contiguous or grouped 3-3-4 with the same separator, whose last digit is the
    valid modulus-11 check digit (NHS Data Dictionary). The check digit rejects about ten in
    eleven random digit strings, so reference numbers rarely match. Scottish CHI numbers use the
    same check and are caught too.

Examples:
    >>> [(f.kind, f.match) for f in find_personal_data("Mr K told Sarah Jones on 07700 900123.")]
    [('name', 'Sarah Jones'), ('phone', '07700 900123')]
    >>> find_personal_data("Child M lived with Mother; the health visitor called in March 2019.")
    []
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "FIRST_NAMES",
    "KINDS",
    "NAME_STOPWORDS",
    "PUBLIC_CASE_NAMES",
    "Finding",
    "allowed_names_from_reports",
    "check_passages",
    "find_personal_data",
    "mask_personal_data",
]

KINDS: tuple[str, ...] = (
    "name",
    "date_of_birth",
    "address",
    "postcode",
    "phone",
    "email",
    "nhs_number",
)

# Common first names across the UK's main communities (ONS baby-name lists and the census
# population), several hundred so that real names are recognised without a language model.
# Names that are also everyday English words in review prose (Will, Mark, Hope, Faith, Joy, Amber,
# Dawn, Summer, Max, Frank, Guy, Bill, Pat) and month names (April, May, June, August) are left
# out on purpose: they would flag ordinary sentences.
FIRST_NAMES: frozenset[str] = frozenset(
    """
    Aaliyah Aaron Abbie Abdul Abdullah Abigail Adam Adrian Ahmed Aidan Aiden Aisha Alan Albert
    Alex Alexander Alexandra Alfie Ali Alice Alicia Alison Alistair Amanda Amelia Amina Amir Amy
    Andrea Andrew Angela Anita Ann Anna Anne Annie Anthony Aoife Archie Arthur Asha Ashley Ava
    Ayesha Barbara Barry Ben Benjamin Bethany Beverley Billy Blessing Bradley Brandon Brenda
    Brian Bronwen Bryony Caitlin Callum Cameron Carl Carly Carol Caroline Carrie Catherine Cerys
    Charles Charlie Charlotte Chelsea Chidi Chloe Christian Christina Christine Christopher
    Ciaran Claire Clare Colin Connor Conor Craig Daisy Dale Daniel Danielle Darnell Darren David
    Dean Debbie Deborah Declan Deepak Denise Dennis Derek Diane Dominic Donna Dylan Ebony Eden
    Edward Eileen Elaine Eleanor Elijah Elizabeth Ella Ellie Elliot Elsie Emily Emma Eric Erin
    Ethan Euan Evie Ewan Faisal Fatima Ffion Fiona Florence Frances Francesca Freddie Freya
    Gareth Gary Gavin Gemma George Georgia Gethin Gillian Gordon Grace Graham Gurpreet Hamish
    Hamza Hannah Harjit Harley Harriet Harrison Harry Harvey Hassan Hayley Heather Helen Henry
    Hollie Holly Hussain Ian Ibrahim Imran Iona Isaac Isabel Isabella Isabelle Isla Ivy Jack
    Jacob Jade Jake Jamal James Jamie Jane Janet Jasmine Jason Jayden Jeffrey Jennifer Jenny
    Jessica Joanne Joe Joel John Jonathan Jordan Joseph Joshua Josie Joyce Julie Justin Kamal
    Karen Karl Kate Katie Kayleigh Keith Kelly Kerry Kevin Khadija Kieran Kirsty Kofi Kwame Kyle
    Lachlan Laura Lauren Layla Leah Lee Leila Leo Leon Lewis Liam Lily Linda Lindsay Lisa Logan
    Lola Louis Louise Lucas Lucy Luke Lydia Lynn Mabel Maisie Malik Mandeep Marcus Margaret
    Maria Mariam Marie Martin Mary Mason Matilda Matthew Megan Melissa Mia Michael Michelle
    Mohamed Mohammad Mohammed Molly Morag Morgan Muhammad Nadia Naomi Natalie Nathan Nathaniel
    Neil Niall Niamh Nicola Nicole Noah Oliver Olivia Omar Oscar Owen Paige Pamela Patricia
    Patrick Paul Paula Peter Philip Phoebe Poppy Precious Priya Rachel Rajesh Ravi Rebecca Reece
    Rhys Richard Riley Robert Robyn Roman Ronald Rose Rosie Ross Ruby Russell Ruth Ryan Sadia
    Saima Sally Samantha Samuel Sandra Sanjay Sara Sarah Scarlett Scott Sean Seren Shabana Shane
    Sharon Shaun Sheila Shirley Sian Sienna Simon Sinead Siobhan Sophia Sophie Stacey Stephanie
    Stephen Steven Stuart Susan Tanya Tariq Teresa Theo Theodore Thomas Tiffany Timothy Toby Tom
    Tommy Tracey Tracy Tunde Tyler Tyrone Usman Valerie Vanessa Victoria Vincent Wayne William
    Yasmin Yusuf Zac Zachary Zainab Zara Zoe
    """.split()
)

# Words that end a candidate name: roles, agencies, documents, places, calendar words and the
# capitalised function words of headings. A second word from this list means the pair is not a
# person ("Sarah Social Worker" is a role label after a pseudonym, "Grace Road" a street).
NAME_STOPWORDS: frozenset[str] = frozenset(
    """
    A An And As At But By For From In Into Of On Or The To With Was Were Is Are Had Has Have He She
    They It This That These Those Her His Their Our We You I When While After Before During Since
    Until Also Then However Although Because If
    Mother Father Mum Dad Parent Parents Stepfather Stepmother Grandmother Grandfather Grandparent
    Sibling Siblings Brother Sister Aunt Uncle Partner Carer Carers Baby Child Children Childrens
    Young Person People Adult Adults Family Families Household
    Social Worker Workers Work Care Health Visitor Visitors Visiting Nurse Nurses Nursing Midwife
    Midwives Midwifery Doctor Consultant Paediatrician Paediatrics Practitioner Practitioners
    Officer Officers Police Constable Sergeant Inspector Detective Manager Managers Lead Team Teams
    Service Services Council Authority Board Partnership Partnerships Safeguarding Protection
    Review Reviews Panel Practice Learning Lessons Hospital Hospitals Trust Foundation Court Courts
    School Schools Academy College Nursery University Centre Center Centres House Home Homes
    Housing Association Agency Agencies Department Directorate Commissioner Commission Inquiry
    Report Act Regulations Guidance Procedures Policy Protocol Plan Plans Assessment Conference
    Meeting Meetings Strategy Order Group Groups Ltd Limited Unit Ward Clinic Surgery Medical
    Mental Early Help Youth Offending Probation Prison Ambulance Fire Rescue Emergency Education
    Primary Secondary Infant Junior Community Communities Faith Church Mosque Temple Chapel Aid
    Street Road Avenue Lane Close Drive Way Place Square Gardens Terrace Grove Hill Park Estate
    Station Cottage Cottages Crescent Row Walk Mews View Rise Green Parade Vale Wharf Bridge Tower
    Lodge Building Hall Farm Village Town City County Borough District Region North South East
    West Central Upper Lower Great Little New Old Royal National Local Serious Case Executive
    Summary Overview Appendix Section Chapter Table Figure Paragraph Part Annex Chronology Terms
    Reference Recommendation Recommendations Findings Finding Analysis Introduction Conclusion
    January February March April May June July August September October November December
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Christmas Easter Day Week Year
    England Wales Scotland Ireland Britain Kingdom English Welsh Scottish Irish British
    NHS GP CAMHS MASH Ofsted Cafcass CAFCASS NSPCC Barnardo Barnardos Refuge Women Mens Action
    """.split()
)

# Words after a pair that mark a named institution rather than a person ("Rachel McMillan
# Nursery School", "Alexandra Rose Centre").
_INSTITUTION_WORDS: frozenset[str] = frozenset(
    """
    School Schools Academy College Nursery University Centre Center Hospital Trust Foundation
    House Home Court Hall Unit Ward Clinic Surgery Practice Church Mosque Temple Chapel Street
    Road Avenue Lane Close Drive Way Place Square Gardens Terrace Park Estate Station Building
    Library Institute Project Fund Charity Inquiry Review Report Act Memorial
    """.split()
)
# Words that make "<number> <words> <street type>" a count of something, not an address.
_NOT_ADDRESS_WORDS: frozenset[str] = frozenset(
    """
    Family Crown Magistrates Youth Social Care Health Child Children Childrens Protection Review
    Reviews Practice Case Serious Local Early Help Mental Police Team Teams Services Service Agency
    Agencies Partnership Partnerships Safeguarding Strategy Conference Multi Court Courts
    """.split()
)
# Words before a pair that make it a saint, a monarch or a peer, not a private person.
_PRECEDING_NON_PERSON = frozenset({"St", "St.", "Saint", "King", "Queen", "Prince", "Princess"})

# Children whose names are public through national inquiries and published reviews; reviews cite
# them by name when drawing on earlier learning.
PUBLIC_CASE_NAMES: tuple[str, ...] = (
    "Victoria Climbié",
    "Victoria Climbie",
    "Peter Connelly",
    "Daniel Pelka",
    "Khyra Ishaq",
    "Hamzah Khan",
    "Arthur Labinjo-Hughes",
    "Star Hobson",
    "Jasmine Beckford",
    "Maria Colwell",
)

_TITLES = r"(?:Mrs|Mr|Ms|Miss|Mx|Dr|PC|DC|Sgt|Cllr)"
# One capitalised name word, with Mc/Mac/O' prefixes, accents and double-barrelled forms.
_WORD = r"(?:Mc|Mac|O['’])?[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'’][A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?"
_TITLE_NAME_RE = re.compile(rf"\b{_TITLES}\.?[ \t]+({_WORD}(?:[ \t]+{_WORD})?)(?!\w)")
_FIRST_NAME_RE = re.compile(r"\b(" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + r")\b")
_SURNAMES_AFTER_RE = re.compile(rf"((?:[ \t]+{_WORD}){{1,2}})(?!\w)")
_NEXT_WORD_RE = re.compile(r"[ \t]+([A-Z][a-z]+)")
_PREVIOUS_WORD_RE = re.compile(r"(\S+)[ \t]+\Z")

_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_FULL_DATE = (
    rf"(?:{_DAY}[/.-](?:1[0-2]|0?[1-9])[/.-](?:\d{{4}}|\d{{2}})"
    rf"|{_DAY}\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{4}}"
    rf"|{_MONTHS}\.?\s+{_DAY},?\s+\d{{4}})"
)
_DOB_RE = re.compile(
    rf"\b(?:date\s+of\s+birth|d\.?o\.?b\.?|born(?:\s+on)?)\s*[:\-–]?\s*(?:(?:was|is|of)\s+)?"
    rf"(?:the\s+)?{_FULL_DATE}(?![\d/])",
    re.IGNORECASE,
)
_STREET_TYPES = (
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Cres|Court|Ct|Place|Pl|"
    r"Square|Sq|Gardens|Gdns|Terrace|Grove|Hill|Park|Row|Walk|Mews|View|Rise|Green|Parade|"
    r"Boulevard|Vale|Wharf)"
)
_STREET_RE = re.compile(
    rf"(?<![\w/.,-])\d{{1,4}}[A-Za-z]?,?[ \t]+((?:[A-Z][a-z'’]+[ \t]+){{1,3}}){_STREET_TYPES}\b"
)
_FLAT_RE = re.compile(
    r"\b(?:Flat|Apartment|Apt\.?)[ \t]+\d{1,4}[A-Za-z]?\b"
    r"(?:,?[ \t]+(?:[A-Z][a-z'’]+[ \t]+){1,3}"
    r"(?:House|Court|Tower|Lodge|Building|Mansions|Heights|Point|Apartments))?"
)
_POSTCODE_RE = re.compile(
    r"\b(?:GIR ?0AA|(?:[A-PR-UWYZ]"
    r"(?:\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRV-Y]|[A-HK-Y]\d{1,2}|\d{1,2}))"
    r" ?\d[ABD-HJLNP-UW-Z]{2})\b"
)
_PHONE_RE = re.compile(
    r"(?<![\w+/.])"
    r"(?:\+44[ \t]?(?:\(0\)[ \t]?)?\d(?:[ \t-]?\d){8,9}"
    r"|\(0\d{2,4}\)[ \t]?\d(?:[ \t-]?\d){4,7}"
    r"|0\d(?:[ \t-]?\d){8,9})"
    r"(?![\d/])"
)
_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_NHS_RE = re.compile(r"(?<![\d/.-])(\d{3})([ -]?)(\d{3})\2(\d{4})(?![\d/-])")


@dataclass(frozen=True)
class Finding:
    """One piece of possible personal data in a text.

    Attributes:
        kind: One of :data:`KINDS`.
        match: The matched text, ``text[start:end]``.
        start: Character offset of the match in the checked text.
        end: Character offset just after the match.
    """

    kind: str
    match: str
    start: int
    end: int


def _normalise(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


def _names(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _TITLE_NAME_RE.finditer(text):
        words = m.group(1).split()
        while words and words[-1] in NAME_STOPWORDS:
            words.pop()
        if not words or words[0] in NAME_STOPWORDS:
            continue
        end = m.start(1) + m.group(1).index(words[-1]) + len(words[-1])
        found.append(Finding("name", text[m.start() : end], m.start(), end))
    for m in _FIRST_NAME_RE.finditer(text):
        after = _SURNAMES_AFTER_RE.match(text, m.end())
        if after is None:
            continue
        words = after.group(1).split()
        while words and words[-1] in NAME_STOPWORDS:
            words.pop()
        if not words or words[0] in NAME_STOPWORDS:
            continue
        end = m.end() + after.group(1).index(words[-1]) + len(words[-1])
        following = _NEXT_WORD_RE.match(text, end)
        if following and following.group(1) in _INSTITUTION_WORDS:
            continue
        before = _PREVIOUS_WORD_RE.search(text[max(0, m.start() - 16) : m.start()])
        if before and before.group(1) in _PRECEDING_NON_PERSON:
            continue
        found.append(Finding("name", text[m.start() : end], m.start(), end))
    return found


def _valid_nhs_number(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _phones(text: str) -> list[Finding]:
    found = []
    for m in _PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if digits.startswith("44"):
            digits = "0" + digits[2:].removeprefix("0")
        if len(digits) in (10, 11) and digits[:2] in {"01", "02", "03", "07"}:
            found.append(Finding("phone", m.group(), m.start(), m.end()))
    return found


def _street_addresses(text: str) -> list[Finding]:
    found = []
    for m in _STREET_RE.finditer(text):
        if any(word in _NOT_ADDRESS_WORDS for word in m.group(1).split()):
            continue  # "two Family Court hearings", "3 Social Care Close" are not addresses
        found.append(Finding("address", m.group(), m.start(), m.end()))
    found += [Finding("address", m.group(), m.start(), m.end()) for m in _FLAT_RE.finditer(text)]
    return found


def find_personal_data(text: str, *, allowed_names: Iterable[str] = ()) -> list[Finding]:
    """Find possible personal data in a text (rules and limits in the module docstring).

    Args:
        text: Any text, typically one passage.
        allowed_names: Names that may appear, such as the review's pseudonym ("Child Sarah") and
            the partnership's name. A finding whose text lies inside one of them is dropped. The
            published case names in :data:`PUBLIC_CASE_NAMES` are always allowed.

    Returns:
        Findings sorted by position; an empty list when nothing was found. Two rules matching the
        same characters give one finding.

    Examples:
        >>> find_personal_data("Mrs Hughes (DOB 12/03/1985) lives at 12 Acacia Avenue, LS1 4AP.")
        ... # doctest: +NORMALIZE_WHITESPACE
        [Finding(kind='name', match='Mrs Hughes', start=0, end=10),
         Finding(kind='date_of_birth', match='DOB 12/03/1985', start=12, end=26),
         Finding(kind='address', match='12 Acacia Avenue', start=37, end=53),
         Finding(kind='postcode', match='LS1 4AP', start=55, end=62)]
        >>> find_personal_data("Sarah Jones attended.", allowed_names=["Sarah Jones"])
        []
    """
    if not text:
        return []
    found: list[Finding] = _names(text)
    found += [
        Finding("date_of_birth", m.group(), m.start(), m.end()) for m in _DOB_RE.finditer(text)
    ]
    found += _street_addresses(text)
    found += [
        Finding("postcode", m.group(), m.start(), m.end()) for m in _POSTCODE_RE.finditer(text)
    ]
    found += _phones(text)
    found += [Finding("email", m.group(), m.start(), m.end()) for m in _EMAIL_RE.finditer(text)]
    found += [
        Finding("nhs_number", m.group(), m.start(), m.end())
        for m in _NHS_RE.finditer(text)
        if _valid_nhs_number(m.group(1) + m.group(3) + m.group(4))
    ]
    allowed = [_normalise(a) for a in (*PUBLIC_CASE_NAMES, *allowed_names) if a and str(a).strip()]
    found = [f for f in found if not any(_normalise(f.match) in a for a in allowed)]
    # Longest first, so a span inside a longer one of the same kind ("Sarah Smith" inside
    # "Mrs Sarah Smith") or the same span found by a second rule is reported once.
    found.sort(key=lambda f: (f.start - f.end, f.start, KINDS.index(f.kind)))
    kept: list[Finding] = []
    for f in found:
        if any(
            (k.start, k.end) == (f.start, f.end)
            or (k.kind == f.kind and k.start <= f.start and f.end <= k.end)
            for k in kept
        ):
            continue
        kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end, KINDS.index(f.kind)))


def mask_personal_data(text: str, findings: Iterable[Finding], mask: str = "█") -> str:
    """Replace every finding's characters with ``mask``, keeping the text's length.

    Offsets into the text stay valid, so codings elsewhere in the same text still point at the
    same words.

    Examples:
        >>> text = "Call 07700 900123 today."
        >>> mask_personal_data(text, find_personal_data(text))
        'Call ████████████ today.'
    """
    chars = list(text)
    for finding in findings:
        chars[finding.start : finding.end] = mask * (finding.end - finding.start)
    return "".join(chars)


def allowed_names_from_reports(reports: pd.DataFrame) -> dict[str, list[str]]:
    """Names each report may contain: its child pseudonym, partnership and (signed) author.

    Requires ``report_id``; uses ``child_pseudonym``, ``partnership`` and ``author`` where
    present.

    Examples:
        >>> reports = pd.DataFrame(
        ...     {"report_id": ["r1"], "child_pseudonym": ["Child Sarah"], "partnership": [None]}
        ... )
        >>> allowed_names_from_reports(reports)
        {'r1': ['Child Sarah']}
    """
    if "report_id" not in reports.columns:
        raise ValueError(f"reports is missing column 'report_id'; it has {list(reports.columns)}")
    columns = [c for c in ("child_pseudonym", "partnership", "author") if c in reports.columns]
    allowed: dict[str, list[str]] = {}
    for row in reports[["report_id", *columns]].itertuples(index=False):
        values = [v for v in row[1:] if isinstance(v, str) and v.strip()]
        allowed[row[0]] = values
    return allowed


def check_passages(
    passages: pd.DataFrame,
    allowed_names_by_report: Mapping[str, Iterable[str]] | None = None,
) -> pd.DataFrame:
    """Check every passage for personal data.

    Requires: report_id, passage_id, text. The input is not modified.

    Args:
        passages: A passages table (see :mod:`themes.corpus`), or any frame with those columns.
        allowed_names_by_report: Per ``report_id``, names that may appear (see
            :func:`allowed_names_from_reports`).

    Returns:
        One row per passage, in input order: ``report_id``, ``passage_id``, ``kinds`` (sorted
        list of the kinds found), ``matches`` (list of the matched texts, in text order) and
        ``ok`` (true when nothing was found). ``matches`` holds the personal data itself: keep it
        out of anything published.

    Examples:
        >>> passages = pd.DataFrame(
        ...     {
        ...         "report_id": ["r1", "r1"],
        ...         "passage_id": ["r1:0001", "r1:0002"],
        ...         "text": ["Child M was seen by the health visitor.", "Ring 07700 900123."],
        ...     }
        ... )
        >>> check_passages(passages)[["passage_id", "kinds", "ok"]].values.tolist()
        [['r1:0001', [], True], ['r1:0002', ['phone'], False]]
    """
    missing = [c for c in ("report_id", "passage_id", "text") if c not in passages.columns]
    if missing:
        raise ValueError(
            f"passages is missing column(s) {missing}; it has {list(passages.columns)}"
        )
    allowed_by = allowed_names_by_report or {}
    rows = []
    for report_id, passage_id, text in passages[["report_id", "passage_id", "text"]].itertuples(
        index=False
    ):
        findings = find_personal_data(
            text if isinstance(text, str) else "", allowed_names=allowed_by.get(report_id, ())
        )
        rows.append(
            {
                "report_id": report_id,
                "passage_id": passage_id,
                "kinds": sorted({f.kind for f in findings}),
                "matches": [f.match for f in findings],
                "ok": not findings,
            }
        )
    return pd.DataFrame(rows, columns=["report_id", "passage_id", "kinds", "matches", "ok"]).astype(
        {"ok": bool}
    )
