"""Validate passage-library YAML files against the schema in ``library/SCHEMA.md``.

Runnable on its own (``python library_check.py FILE...``) so library authors can check their work
before the package is installed; the package's tests call :func:`check_library_file` too.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import yaml

THEME_IDS = (
    "information_sharing multi_agency_working risk_assessment_decision_making "
    "professional_curiosity_challenge parental_engagement_disguised_compliance voice_of_child "
    "escalation_professional_disagreement thresholds_access_to_services early_help "
    "record_keeping_chronology supervision_management_oversight "
    "workload_staffing_organisational_context training_knowledge policy_procedures "
    "unseen_men_fathers moves_transfer_cross_boundary was_not_brought_missed_contact "
    "cumulative_harm_history culture_ethnicity_faith_language adult_services_think_family "
    "domestic_abuse parental_mental_health parental_substance_misuse neglect physical_abuse_nai "
    "sexual_abuse exploitation_extrafamilial_harm sudi_unsafe_sleep "
    "suicide_self_harm_mental_health "
    "online_harm disability_complex_health poverty_housing_deprivation covid_19 looked_after_care "
    "education_absence_ehe"
).split()
REC_TYPE_IDS = (
    "rec_policy_procedure rec_training_workforce rec_info_sharing_protocol rec_practice_tools "
    "rec_supervision_management rec_audit_assurance rec_resources_staffing rec_commissioning "
    "rec_public_family_information rec_national_policy"
).split()
KINDS = {
    "background",
    "chronology",
    "analysis",
    "finding",
    "lesson",
    "recommendation",
    "introduction",
    "methodology",
    "terms_of_reference",
    "conclusion",
}
POLARITIES = {"concern", "good_practice", "absent"}
AGES = {"infant", "toddler", "child", "adolescent", "any"}
NATIONS = {"england", "wales", "scotland", "northern_ireland", "any"}
PLACEHOLDERS = {
    "child",
    "he",
    "him",
    "his",
    "himself",
    "He",
    "His",
    "mother",
    "father",
    "partner",
    "sibling",
    "date",
    "partnership",
}
_BRACED = re.compile(r"\{([^{}]*)\}")
_ID = re.compile(r"^[a-z]{2}-\d{4}$")


def check_passage(p: dict) -> list[str]:
    """Return the problems found in one passage mapping (empty when it is valid)."""
    problems = []
    pid = p.get("id", "<no id>")
    if not _ID.match(str(pid)):
        problems.append(f"{pid}: id must look like 'pa-0001'")
    if p.get("kind") not in KINDS:
        problems.append(f"{pid}: unknown kind {p.get('kind')!r}")
    for lab in p.get("labels") or []:
        if not isinstance(lab, dict) or lab.get("theme") not in THEME_IDS:
            problems.append(f"{pid}: bad label {lab!r}")
        elif lab.get("polarity") not in POLARITIES:
            problems.append(f"{pid}: bad polarity in {lab!r}")
    for key, vocab in (
        ("rec_types", REC_TYPE_IDS),
        ("addresses", THEME_IDS),
        ("asks_about", THEME_IDS),
        ("ages", AGES),
        ("nations", NATIONS),
    ):
        for v in p.get(key) or []:
            if v not in vocab:
                problems.append(f"{pid}: unknown {key} value {v!r}")
    if p.get("kind") == "recommendation":
        if not p.get("rec_types"):
            problems.append(f"{pid}: recommendation without rec_types")
        if p.get("labels"):
            problems.append(f"{pid}: recommendations carry no theme labels (use addresses)")
    elif p.get("rec_types"):
        problems.append(f"{pid}: rec_types only belong on recommendation passages")
    years = p.get("years")
    if years is not None and (len(years) != 2 or not 2000 <= years[0] <= years[1] <= 2030):
        problems.append(f"{pid}: years must be [first, last]")
    variants = p.get("variants") or []
    if len(variants) < 2:
        problems.append(f"{pid}: needs at least 2 variants")
    if len(set(variants)) != len(variants):
        problems.append(f"{pid}: duplicate variants")
    for v in variants:
        if not isinstance(v, str) or len(v.split()) < 6:
            problems.append(f"{pid}: variant too short or not text")
            continue
        for name in _BRACED.findall(v):
            if name not in PLACEHOLDERS:
                problems.append(f"{pid}: unknown placeholder {{{name}}}")
        if v.count("{") != v.count("}"):
            problems.append(f"{pid}: unbalanced braces")
        if "{date}" in v and p.get("kind") != "chronology":
            problems.append(f"{pid}: {{date}} only in chronology entries")
    return problems


def check_library_file(path: Path) -> tuple[list[dict], list[str]]:
    """Load one library file and return (passages, problems)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "passages" not in data:
        return [], [f"{path}: top level must be a mapping with 'group' and 'passages'"]
    passages = data["passages"] or []
    problems = [f"{path}: {msg}" for p in passages for msg in check_passage(p)]
    ids = Counter(p.get("id") for p in passages)
    problems += [f"{path}: duplicate id {i}" for i, n in ids.items() if n > 1]
    return passages, problems


def main(argv: list[str]) -> int:
    """Check the library files named in ``argv``; print problems and label counts."""
    theme_counts: Counter = Counter()
    rec_counts: Counter = Counter()
    total, all_problems = 0, []
    for arg in argv:
        passages, problems = check_library_file(Path(arg))
        all_problems += problems
        total += len(passages)
        for p in passages:
            theme_counts.update(
                lab["theme"] for lab in p.get("labels") or [] if isinstance(lab, dict)
            )
            rec_counts.update(p.get("rec_types") or [])
    for msg in all_problems:
        print("PROBLEM", msg)
    print(f"{total} passages")
    for t in THEME_IDS + REC_TYPE_IDS:
        n = theme_counts.get(t, 0) + rec_counts.get(t, 0)
        if n:
            print(f"  {t}: {n}")
    return 1 if all_problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
