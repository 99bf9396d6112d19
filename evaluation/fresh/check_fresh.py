"""Check a fresh evaluation JSONL file: keys, theme ids, polarity values; print label counts."""

import collections
import json
import sys

THEMES = set(
    "information_sharing multi_agency_working risk_assessment_decision_making "
    "professional_curiosity_challenge parental_engagement_disguised_compliance voice_of_child "
    "escalation_professional_disagreement thresholds_access_to_services early_help "
    "record_keeping_chronology supervision_management_oversight "
    "workload_staffing_organisational_context training_knowledge policy_procedures "
    "unseen_men_fathers moves_transfer_cross_boundary was_not_brought_missed_contact "
    "cumulative_harm_history culture_ethnicity_faith_language adult_services_think_family "
    "domestic_abuse parental_mental_health parental_substance_misuse neglect physical_abuse_nai "
    "sexual_abuse exploitation_extrafamilial_harm sudi_unsafe_sleep "
    "suicide_self_harm_mental_health online_harm disability_complex_health "
    "poverty_housing_deprivation covid_19 looked_after_care education_absence_ehe".split()
)
KEYS = {"id", "kind", "section_type", "text", "themes"}
POLARITIES = {"concern", "good_practice", "absent"}

path = sys.argv[1]
counts: collections.Counter = collections.Counter()
problems, ids = [], set()
with open(path, encoding="utf-8") as fh:
    for n, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not JSON ({exc})")
            continue
        if set(rec) != KEYS:
            problems.append(f"line {n}: keys {sorted(rec)} != {sorted(KEYS)}")
            continue
        if rec["id"] in ids:
            problems.append(f"line {n}: duplicate id {rec['id']}")
        ids.add(rec["id"])
        if rec["kind"] not in {"paragraph", "summary"}:
            problems.append(f"line {n}: kind {rec['kind']!r}")
        for theme, polarity in rec["themes"].items():
            if theme not in THEMES:
                problems.append(f"line {n}: unknown theme {theme!r}")
            if polarity not in POLARITIES:
                problems.append(f"line {n}: polarity {polarity!r}")
            counts[(theme, polarity)] += 1
print(f"{len(ids)} texts")
for theme in sorted(THEMES):
    row = {p: counts[(theme, p)] for p in sorted(POLARITIES)}
    print(f"{theme:45s} {row}")
print("\n".join(problems) or "no problems")
sys.exit(1 if problems else 0)
