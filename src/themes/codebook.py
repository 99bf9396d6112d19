"""The versioned theme codebook: load, validate and describe it.

The codebook is one YAML file (packaged as ``themes/data/codebook.yaml``) holding the 35 theme ids
and 10 recommendation-type ids of the project's contract, each with a definition, the vocabulary
the rule tagger matches (phrases and spaCy token patterns), the exclusions that encode the known
confusions, and the national analyses that name the theme. Users may pass their own codebook: it
may add ids, but it must keep every contract id unless ``require_contract=False``.

Validation errors are :class:`~themes.errors.ThemesError` with a one-line message that names the
file, the line of the offending entry and what is wrong, e.g.::

    my_codebook.yaml:42: themes[3] (id 'voice_of_child') field 'family': Input should be
    'practice' or 'characteristic' (got 'practise')
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from themes.errors import ThemesError
from themes.segment import SECTION_TYPES  # one list for the package: the segmenter's

if TYPE_CHECKING:
    import argparse

    import pandas as pd

__all__ = [
    "CONTRACT_REC_TYPE_IDS",
    "CONTRACT_THEME_IDS",
    "FAMILIES",
    "HIGHER_CLASSES",
    "PATTERN_KEYS",
    "SECTION_TYPES",
    "Codebook",
    "PolarityCues",
    "RecommendationType",
    "SectionPolicy",
    "Subcode",
    "Theme",
    "cli_codebook",
    "format_codebook_table",
    "load_codebook",
]

# The contract (design/CODEBOOK.md): these ids never change without a migration note. The order is
# the order of the specification, shared with the passage-library checker.
CONTRACT_THEME_IDS: tuple[str, ...] = tuple(
    (
        "information_sharing multi_agency_working risk_assessment_decision_making "
        "professional_curiosity_challenge parental_engagement_disguised_compliance voice_of_child "
        "escalation_professional_disagreement thresholds_access_to_services early_help "
        "record_keeping_chronology supervision_management_oversight "
        "workload_staffing_organisational_context training_knowledge policy_procedures "
        "unseen_men_fathers moves_transfer_cross_boundary was_not_brought_missed_contact "
        "cumulative_harm_history culture_ethnicity_faith_language adult_services_think_family "
        "domestic_abuse parental_mental_health parental_substance_misuse neglect "
        "physical_abuse_nai sexual_abuse exploitation_extrafamilial_harm sudi_unsafe_sleep "
        "suicide_self_harm_mental_health online_harm disability_complex_health "
        "poverty_housing_deprivation covid_19 looked_after_care education_absence_ehe"
    ).split()
)
CONTRACT_REC_TYPE_IDS: tuple[str, ...] = tuple(
    (
        "rec_policy_procedure rec_training_workforce rec_info_sharing_protocol rec_practice_tools "
        "rec_supervision_management rec_audit_assurance rec_resources_staffing rec_commissioning "
        "rec_public_family_information rec_national_policy"
    ).split()
)

FAMILIES: tuple[str, ...] = ("practice", "characteristic")
# Hyland & Holme (2009) grouped recommendations into three higher-level classes.
HIGHER_CLASSES: tuple[str, ...] = (
    "resource",
    "professional_action",
    "professional_knowledge_skill",
)

# Token-pattern keys the rule tagger supports (a deliberately small subset of spaCy's Matcher).
PATTERN_KEYS: frozenset[str] = frozenset({"LOWER", "LEMMA", "OP", "IS_PUNCT", "LIKE_NUM"})
_STRING_KEYS = frozenset({"LOWER", "LEMMA"})
_BOOL_KEYS = frozenset({"IS_PUNCT", "LIKE_NUM"})
_SET_OPERATORS = frozenset({"IN", "NOT_IN"})
_OPS = frozenset({"?", "*", "+", "!"})
_MAX_PATTERN_TOKENS = 12

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# A hyphen between letters or digits: spaCy's English tokenizer splits there.
_INFIX_HYPHEN_RE = re.compile(r"[^\W_]-[^\W_]")
_SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)

SectionType = Literal[
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
]


# --------------------------------------------------------------------------------------------------
# field-level checks (raise ValueError; pydantic turns them into located errors)


def _check_phrase(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise ValueError("empty phrase")
    if not any(ch.isalnum() for ch in text):
        raise ValueError(f"phrase {value!r} has no letters or digits")
    return text


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"id {value!r} must be lower_snake_case (letters, digits, underscores)")
    return value


def _check_token_text(key: str, text: str, where: str) -> None:
    """Check one token's text: non-empty, lowercase, and kept by spaCy as a single token."""
    if not text.strip():
        raise ValueError(f"{where}: {key} value is empty")
    if text != text.lower():
        raise ValueError(f"{where}: {key} value {text!r} must be lowercase")
    if any(ch.isspace() for ch in text):
        raise ValueError(f"{where}: {key} value {text!r} holds several words; use one token each")
    if _INFIX_HYPHEN_RE.search(text):
        raise ValueError(
            f"{where}: {key} value {text!r} can never match: spaCy splits hyphenated words "
            "into separate tokens (e.g. 'self', '-', 'harm')"
        )


def _check_string_value(key: str, value: Any, where: str) -> None:
    if isinstance(value, str):
        _check_token_text(key, value, where)
        return
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in _SET_OPERATORS:
            raise ValueError(
                f"{where}: {key} takes a string or a one-key mapping IN/NOT_IN, got {value!r}"
            )
        ((operator, items),) = value.items()
        if not isinstance(items, list) or not items:
            raise ValueError(f"{where}: {key} {operator} needs a non-empty list")
        for item in items:
            if not isinstance(item, str):
                raise ValueError(
                    f"{where}: {key} {operator} items must be strings, got {item!r} "
                    '(quote words YAML reads as booleans or numbers, such as "no" or "47")'
                )
            _check_token_text(f"{key} {operator}", item, where)
        return
    raise ValueError(
        f"{where}: {key} value must be a string, got {value!r} "
        '(quote words YAML reads as booleans or numbers, such as "no" or "47")'
    )


def _is_unconstrained_or_optional(token: dict[str, Any]) -> bool:
    constrained = any(key != "OP" for key in token)
    return not constrained or token.get("OP") in {"?", "*", "!"}


def _check_pattern(pattern: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not pattern:
        raise ValueError("token pattern is empty")
    if len(pattern) > _MAX_PATTERN_TOKENS:
        raise ValueError(
            f"token pattern has {len(pattern)} tokens; keep it to {_MAX_PATTERN_TOKENS}"
        )
    stars = 0
    for number, token in enumerate(pattern, start=1):
        where = f"token {number}"
        if not isinstance(token, dict):
            raise ValueError(f"{where}: each token must be a mapping, got {token!r}")
        unknown = sorted(set(token) - PATTERN_KEYS)
        if unknown:
            allowed = ", ".join(sorted(PATTERN_KEYS))
            raise ValueError(f"{where}: key {unknown[0]!r} is not allowed (allowed: {allowed})")
        for key, value in token.items():
            if key in _STRING_KEYS:
                _check_string_value(key, value, where)
            elif key in _BOOL_KEYS and not isinstance(value, bool):
                raise ValueError(f"{where}: {key} must be true or false, got {value!r}")
            elif key == "OP":
                if value not in _OPS:
                    raise ValueError(f"{where}: OP must be one of ? * + !, got {value!r}")
                stars += value == "*"
    if stars > 1:
        raise ValueError("use at most one OP '*' per pattern (prefer up to three OP '?' tokens)")
    if _is_unconstrained_or_optional(pattern[0]) or _is_unconstrained_or_optional(pattern[-1]):
        raise ValueError(
            "the first and last tokens must be required and constrained "
            "(no bare wildcard, no OP '?', '*' or '!' at either end)"
        )
    return pattern


def _check_unique(values: list[str], what: str) -> list[str]:
    seen = Counter(v.lower() for v in values)
    repeated = sorted(v for v, n in seen.items() if n > 1)
    if repeated:
        raise ValueError(f"duplicate {what}: {', '.join(repr(r) for r in repeated[:5])}")
    return values


Phrase = Annotated[str, AfterValidator(_check_phrase)]
EntryId = Annotated[str, AfterValidator(_check_id)]
TokenPattern = Annotated[list[dict[str, Any]], AfterValidator(_check_pattern)]


# --------------------------------------------------------------------------------------------------
# models


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Subcode(_Frozen):
    """An optional finer code inside a theme (e.g. CSE and CCE inside exploitation).

    Attributes:
        id: Sub-code id, lower_snake_case, unique within its theme.
        label: Human-readable name.
        definition: What the sub-code covers.
        terms: Phrases that indicate the sub-code (matched like theme terms).
    """

    id: EntryId
    label: str = Field(min_length=1)
    definition: str = ""
    terms: list[Phrase] = Field(default_factory=list)


class _Entry(_Frozen):
    """Fields shared by themes and recommendation types."""

    id: EntryId
    label: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    terms: list[Phrase] = Field(min_length=1)
    token_patterns: list[TokenPattern] = Field(default_factory=list)
    exclude_terms: list[Phrase] = Field(default_factory=list)
    exclude_patterns: list[TokenPattern] = Field(default_factory=list)
    exclude_context: list[Phrase] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)

    @field_validator("terms")
    @classmethod
    def _unique_terms(cls, value: list[str]) -> list[str]:
        return _check_unique(value, "terms")

    @field_validator("exclude_terms")
    @classmethod
    def _unique_exclusions(cls, value: list[str]) -> list[str]:
        return _check_unique(value, "exclude_terms")

    @property
    def n_terms(self) -> int:
        """Number of inclusion phrases."""
        return len(self.terms)


class Theme(_Entry):
    """One codebook theme: a practice/system learning theme or a case characteristic.

    Attributes:
        id: Contract id, e.g. ``information_sharing`` (never renamed).
        label: Human-readable name.
        family: ``practice`` (system learning) or ``characteristic`` (risk factor in the case).
        definition: What counts as the theme.
        terms: Phrases the rule tagger matches on lowercase lemmas.
        token_patterns: spaCy Matcher patterns (keys LOWER, LEMMA, OP, IS_PUNCT, LIKE_NUM).
        exclude_terms: Phrases; a theme match overlapping one of them is dropped.
        exclude_patterns: Token patterns used like ``exclude_terms``.
        exclude_context: Phrases; their presence in a sentence drops the theme there.
        sections: Section types where the theme is usually evidenced (informational).
        subcodes: Optional finer codes.
        references: Source keys of the national analyses that name the theme.
    """

    family: Literal["practice", "characteristic"]
    sections: list[SectionType] = Field(default_factory=list)
    subcodes: list[Subcode] = Field(default_factory=list)

    @field_validator("subcodes")
    @classmethod
    def _unique_subcodes(cls, value: list[Subcode]) -> list[Subcode]:
        _check_unique([s.id for s in value], "subcode ids")
        return value


class RecommendationType(_Entry):
    """One recommendation type, tagged on sentences inside recommendations sections.

    Attributes:
        id: Contract id, e.g. ``rec_policy_procedure``.
        label: Human-readable name.
        higher_class: Hyland & Holme (2009) class: ``resource``, ``professional_action`` or
            ``professional_knowledge_skill``.
        definition: What counts as this type of recommendation.
        terms: Phrases the rule tagger matches on lowercase lemmas.
        token_patterns: spaCy Matcher patterns.
        exclude_terms: Phrases; an overlapping match is dropped.
    """

    higher_class: Literal["resource", "professional_action", "professional_knowledge_skill"]


class PolarityCues(_Frozen):
    """Generic cues the rule tagger uses to decide a mention's polarity.

    Attributes:
        absent: Negation and stated-absence cues that come before the theme words ("no evidence
            of", "there was no").
        absent_after: Stated-absence cues that follow the theme words in the same clause
            ("domestic abuse *was not a feature*", "oversight *is not an area of concern*").
        absent_after_window: How many tokens after the theme words an ``absent_after`` cue may
            start and still negate them.
        hedge: Hedging that does not negate ("may have"); kept for the record.
        good_practice: Cues of good practice ("promptly", "appropriately").
        concern: Deficit cues ("failed to", "lack of").
    """

    absent: list[Phrase] = Field(min_length=1)
    absent_after: list[Phrase] = Field(default_factory=list)
    absent_after_window: int = Field(default=8, ge=0)
    hedge: list[Phrase] = Field(default_factory=list)
    good_practice: list[Phrase] = Field(min_length=1)
    concern: list[Phrase] = Field(min_length=1)


class SectionPolicy(_Frozen):
    """Which section types the tagger ignores and which it only flags.

    Attributes:
        never_tag: Section types never tagged (contents, glossary, references, front matter).
        flag_only: Section types whose mentions are flagged, not counted (terms of reference).
    """

    never_tag: list[SectionType] = Field(default_factory=list)
    flag_only: list[SectionType] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self) -> SectionPolicy:
        both = sorted(set(self.never_tag) & set(self.flag_only))
        if both:
            raise ValueError(f"section types both never_tag and flag_only: {', '.join(both)}")
        return self


class ChangelogEntry(_Frozen):
    """One release of the codebook."""

    version: str
    date: dt.date
    changes: str = Field(min_length=1)


class Codebook(_Frozen):
    """A validated codebook.

    Attributes:
        name: Codebook name.
        version: Semantic version string ("1.0.0"); results record it.
        changelog: Releases, one entry per version.
        polarity_cues: Generic polarity cues.
        section_policy: Section types never tagged or only flagged.
        themes: The themes, in file order.
        recommendation_types: The recommendation types, in file order.
    """

    name: str = Field(min_length=1)
    version: str
    changelog: list[ChangelogEntry] = Field(default_factory=list)
    polarity_cues: PolarityCues
    section_policy: SectionPolicy
    themes: list[Theme] = Field(min_length=1)
    recommendation_types: list[RecommendationType] = Field(default_factory=list)

    _source: Path | None = PrivateAttr(default=None)

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER_RE.match(value):
            raise ValueError(f'version {value!r} must look like MAJOR.MINOR.PATCH, e.g. "1.0.0"')
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Codebook:
        ids = [t.id for t in self.themes] + [r.id for r in self.recommendation_types]
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        if repeated:
            raise ValueError(f"duplicate ids: {', '.join(repeated)}")
        if self.changelog and self.version not in {c.version for c in self.changelog}:
            raise ValueError(f"changelog has no entry for version {self.version}")
        return self

    # ---- lookups

    @property
    def source(self) -> Path | None:
        """The file the codebook was loaded from (``None`` when built in Python)."""
        return self._source

    @property
    def theme_ids(self) -> tuple[str, ...]:
        """Theme ids in file order."""
        return tuple(t.id for t in self.themes)

    @property
    def rec_type_ids(self) -> tuple[str, ...]:
        """Recommendation-type ids in file order."""
        return tuple(r.id for r in self.recommendation_types)

    @cached_property
    def _index(self) -> dict[str, Theme | RecommendationType]:
        return {e.id: e for e in (*self.themes, *self.recommendation_types)}

    def by_id(self, entry_id: str) -> Theme | RecommendationType:
        """Return the theme or recommendation type with this id.

        Args:
            entry_id: A theme id or a recommendation-type id.

        Returns:
            The matching :class:`Theme` or :class:`RecommendationType`.

        Raises:
            ThemesError: If the id is not in the codebook (the message suggests close ids).

        Examples:
            >>> load_codebook().by_id("neglect").family
            'characteristic'
        """
        try:
            return self._index[entry_id]
        except KeyError:
            close = difflib.get_close_matches(str(entry_id), list(self._index), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ThemesError(f"codebook {self.version} has no id {entry_id!r}{hint}") from None

    # ---- views

    def to_frame(self) -> pd.DataFrame:
        """Summarise the codebook as a table, one row per theme and recommendation type.

        Returns:
            A DataFrame with columns ``id``, ``label``, ``kind`` (``theme`` or
            ``recommendation_type``), ``family`` (``practice``, ``characteristic`` or
            ``recommendation``), ``higher_class`` (recommendation types only), ``n_terms``,
            ``n_token_patterns`` and ``n_exclusions``.

        Examples:
            >>> frame = load_codebook().to_frame()
            >>> frame[frame.kind == "theme"].shape[0]
            35
        """
        import pandas as pd

        rows = [
            {
                "id": t.id,
                "label": t.label,
                "kind": "theme",
                "family": t.family,
                "higher_class": None,
                "n_terms": len(t.terms),
                "n_token_patterns": len(t.token_patterns),
                "n_exclusions": _n_exclusions(t),
            }
            for t in self.themes
        ]
        rows += [
            {
                "id": r.id,
                "label": r.label,
                "kind": "recommendation_type",
                "family": "recommendation",
                "higher_class": r.higher_class,
                "n_terms": len(r.terms),
                "n_token_patterns": len(r.token_patterns),
                "n_exclusions": _n_exclusions(r),
            }
            for r in self.recommendation_types
        ]
        return pd.DataFrame(rows, columns=list(rows[0]))

    def to_yaml(self) -> str:
        """Return the canonical YAML of the codebook (sorted keys, no comments).

        Examples:
            >>> load_codebook().to_yaml().startswith("changelog:")
            True
        """
        return yaml.safe_dump(
            self.model_dump(mode="json"),
            sort_keys=True,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )

    @cached_property
    def checksum(self) -> str:
        """SHA-256 of the canonical YAML: stable across comments, formatting and key order."""
        return hashlib.sha256(self.to_yaml().encode("utf-8")).hexdigest()


def _n_exclusions(entry: _Entry) -> int:
    return len(entry.exclude_terms) + len(entry.exclude_patterns) + len(entry.exclude_context)


# --------------------------------------------------------------------------------------------------
# loading with line numbers


# libyaml's parser when PyYAML was built with it (several times faster), else the pure-Python one.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _locate(root: yaml.Node, loc: tuple[Any, ...]) -> int:
    """Return the 1-based line of the deepest YAML node reachable along a pydantic ``loc``."""
    node, line = root, _line(root)
    for key in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if pair is None:
                break
            line, node = _line(pair[0]), pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if not 0 <= key < len(node.value):
                break
            node = node.value[key]
            line = _line(node)
        else:
            break
    return line


def _duplicate_keys(node: yaml.Node) -> tuple[int, str] | None:
    """Find a repeated mapping key (PyYAML would silently keep the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = getattr(key, "value", None)
            if isinstance(name, str):
                if name in seen:
                    return _line(key), name
                seen.add(name)
            found = _duplicate_keys(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _duplicate_keys(item)
            if found:
                return found
    return None


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """Describe a pydantic location in words: ``themes[3] (id 'neglect') field 'terms'[2]``."""
    if not loc:
        return "top level"
    text = str(loc[0])
    node = data.get(loc[0]) if isinstance(data, dict) else None
    rest = loc[1:]
    if rest and isinstance(rest[0], int):
        index = rest[0]
        text += f"[{index}]"
        node = node[index] if isinstance(node, list) and 0 <= index < len(node) else None
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            text += f" (id {node['id']!r})"
        rest = rest[1:]
    if rest:
        text += f" field {rest[0]!r}" + "".join(
            f"[{key}]" if isinstance(key, int) else f".{key}" for key in rest[1:]
        )
    return text


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    kind = error.get("type", "")
    given = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see the codebook schema)"
    if isinstance(given, str | int | float | bool) and kind.startswith(("literal", "string")):
        msg += f" (got {given!r})"
    return msg


def _raise_for_duplicate_ids(data: dict[str, Any], root: yaml.Node, label: str) -> None:
    seen: dict[str, int] = {}
    for section in ("themes", "recommendation_types"):
        entries = data.get(section)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            entry_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(entry_id, str):
                continue
            line = _locate(root, (section, index, "id"))
            if entry_id in seen:
                raise ThemesError(
                    f"{label}:{line}: {section}[{index}]: duplicate id {entry_id!r} "
                    f"(first defined on line {seen[entry_id]})"
                )
            seen[entry_id] = line


def _raise_for_contract(codebook: Codebook, root: yaml.Node, label: str) -> None:
    for section, present, contract in (
        ("themes", codebook.theme_ids, CONTRACT_THEME_IDS),
        ("recommendation_types", codebook.rec_type_ids, CONTRACT_REC_TYPE_IDS),
    ):
        missing = [i for i in contract if i not in present]
        if missing:
            line = _locate(root, (section,))
            shown = ", ".join(missing[:6]) + (
                f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            )
            raise ThemesError(
                f"{label}:{line}: {section}: missing contract id(s) {shown}; keep every id from "
                "the contract (or load with require_contract=False)"
            )


def load_codebook(path: str | Path | None = None, *, require_contract: bool = True) -> Codebook:
    """Load and validate a codebook YAML file.

    Args:
        path: YAML file to load; ``None`` loads the codebook packaged with ``themes``.
        require_contract: Require every contract theme and recommendation-type id
            (:data:`CONTRACT_THEME_IDS`, :data:`CONTRACT_REC_TYPE_IDS`). A user codebook may add
            ids either way.

    Returns:
        The validated :class:`Codebook`.

    Raises:
        ThemesError: If the file is missing or unreadable, is not valid YAML, or breaks the
            schema. The one-line message names the file, the line of the offending entry and the
            problem.

    Examples:
        >>> codebook = load_codebook()
        >>> codebook.version
        '1.1.0'
        >>> len(codebook.theme_ids), len(codebook.rec_type_ids)
        (35, 10)
        >>> codebook.by_id("neglect").label
        'Neglect (chronic, supervisory, medical)'
    """
    if path is None:
        from themes.config import settings

        path = settings().codebook_path
    path = Path(path)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ThemesError(f"{label}: codebook file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ThemesError(f"{label}: cannot read the codebook ({error})") from None

    try:
        root = yaml.compose(text, Loader=_YamlLoader)
        data = _YamlLoader("").construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ThemesError(f"{label}:{line}: not valid YAML: {problem}") from None

    if root is None or not isinstance(data, dict):
        raise ThemesError(f"{label}:1: the codebook must be a YAML mapping with 'themes' etc.")
    repeated = _duplicate_keys(root)
    if repeated:
        raise ThemesError(
            f"{label}:{repeated[0]}: key {repeated[1]!r} appears twice in one mapping"
        )
    _raise_for_duplicate_ids(data, root, label)

    try:
        codebook = Codebook.model_validate(data)
    except ValidationError as error:
        problems = error.errors()
        first = problems[0]
        loc = tuple(first.get("loc", ()))
        line = _locate(root, loc)
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ThemesError(f"{label}:{line}: {_where(loc, data)}: {_message(first)}{more}") from None

    if require_contract:
        _raise_for_contract(codebook, root, label)
    codebook._source = path
    return codebook


# --------------------------------------------------------------------------------------------------
# CLI


def format_codebook_table(codebook: Codebook) -> str:
    """Render the codebook as a plain-text table (what ``themes codebook`` prints).

    Args:
        codebook: A validated codebook.

    Returns:
        Several lines of text: a header with name, version and checksum, the themes with family
        and term counts, the recommendation types, and a final ``valid`` line.

    Examples:
        >>> print(format_codebook_table(load_codebook()).splitlines()[-1])
        valid
    """
    families = Counter(t.family for t in codebook.themes)
    source = f" ({codebook.source})" if codebook.source else ""
    lines = [
        f"{codebook.name}, version {codebook.version}{source}",
        f"checksum sha256:{codebook.checksum[:16]}",
        "",
        f"Themes ({len(codebook.themes)}: "
        + ", ".join(f"{families[f]} {f}" for f in FAMILIES if families[f])
        + ")",
    ]
    width = max(len(e.id) for e in (*codebook.themes, *codebook.recommendation_types))
    lines.append(f"  {'id':<{width}}  {'family':<16}{'terms':>6}{'patterns':>10}{'excl.':>7}")
    for t in codebook.themes:
        lines.append(
            f"  {t.id:<{width}}  {t.family:<16}{len(t.terms):>6}"
            f"{len(t.token_patterns):>10}{_n_exclusions(t):>7}"
        )
    lines += ["", f"Recommendation types ({len(codebook.recommendation_types)})"]
    lines.append(f"  {'id':<{width}}  {'higher_class':<30}{'terms':>6}{'patterns':>10}")
    for r in codebook.recommendation_types:
        lines.append(
            f"  {r.id:<{width}}  {r.higher_class:<30}{len(r.terms):>6}{len(r.token_patterns):>10}"
        )
    lines += ["", "valid"]
    return "\n".join(lines)


def cli_codebook(args: argparse.Namespace) -> int:
    """Run ``themes codebook [path] [--format table|yaml]``: validate and list a codebook.

    Args:
        args: Parsed arguments with ``path`` (``None`` for the packaged codebook) and ``format``
            (``table`` or ``yaml``); an optional ``require_contract`` attribute defaults to true.

    Returns:
        Exit status 0 when the codebook is valid.

    Raises:
        ThemesError: If the codebook is invalid (the CLI prints the one-line message).

    Examples:
        >>> import argparse
        >>> cli_codebook(argparse.Namespace(path=None, format="table"))  # doctest: +ELLIPSIS
        safeguarding-themes codebook, version 1.1.0 ...
        0
    """
    codebook = load_codebook(
        getattr(args, "path", None), require_contract=getattr(args, "require_contract", True)
    )
    if getattr(args, "format", "table") == "yaml":
        print(codebook.to_yaml(), end="")
    else:
        print(format_codebook_table(codebook))
    return 0
