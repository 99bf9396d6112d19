"""The generating design of the fictional corpus: regimes, names and theme prevalence over time.

The bundled corpus's data card (``corpus/README.md``) states this design in words; the trend tests
in ``themes.trends`` are checked against :data:`THEME_TRENDS`. Every area, partnership and person
name is invented; none refers to a real child, family, practitioner or safeguarding partnership.
"""

from __future__ import annotations

import math

YEARS = tuple(range(2008, 2026))

# Invented areas, by nation. Names follow real naming patterns but belong to no real place we
# know of.
AREAS = {
    "england": [
        "Westmoor",
        "Harrowfield",
        "Kestrel Vale",
        "Brackenshire",
        "Hollin Bay",
        "Ravensmere",
        "Copperdale",
        "Northfen",
        "Saltmarsh",
        "Fernhallow",
        "Ashcombe Downs",
        "Millbrook Vale",
        "Lindenford",
        "Greywater",
        "Oakhurst Borough",
        "Stonebridge Heath",
    ],
    "wales": ["Cwm Arian", "Mynydd Glas", "Traeth Euraid", "Bro Celyn"],
    "scotland": ["Glenardoch", "Strathmorven", "Invercarrick", "Ailsmoor"],
    "northern_ireland": ["Lough Carrow", "Ardnacross", "Glenmourne"],
}

NATION_WEIGHTS = {"england": 0.70, "wales": 0.12, "scotland": 0.12, "northern_ireland": 0.06}

AUTHORS = [
    "Dr Helen Marchbank",
    "Alan Tregarthen",
    "Susan Okafor-Reid",
    "Gareth Penhallow",
    "Moira Castellan",
    "Priya Anand-Lowe",
    "Ruth Elswick",
    "David Aberlady",
    "Catrin Morwen",
    "Siobhan Tierney-Walsh",
    "Peter Voss",
    "Jean Hallorann",
]

FIRST_NAMES = {
    "male": [
        "Jayden",
        "Alfie",
        "Kai",
        "Ollie",
        "Reuben",
        "Leo",
        "Tyler",
        "Callum",
        "Ethan",
        "Noah",
    ],
    "female": ["Ella", "Poppy", "Maisie", "Amira", "Skye", "Leah", "Ruby", "Chloe", "Isla", "Nia"],
}


def regime(nation: str, year: int, rng) -> dict:
    """Return the review type, commissioning body and naming style in force for nation and year."""
    if nation == "england":
        if year <= 2018 or (year <= 2021 and rng.random() < 0.5):
            return {
                "review_type": "Serious Case Review",
                "abbrev": "SCR",
                "body": "{area} Local Safeguarding Children Board"
                if rng.random() < 0.6
                else "{area} Safeguarding Children Board",
                "pseudonym_style": "letter",
            }
        return {
            "review_type": "Local Child Safeguarding Practice Review",
            "abbrev": "LCSPR",
            "body": "{area} Safeguarding Children Partnership",
            "pseudonym_style": "name",
        }
    if nation == "wales":
        if year <= 2016:
            return {
                "review_type": "Serious Case Review",
                "abbrev": "SCR",
                "body": "{area} Local Safeguarding Children Board",
                "pseudonym_style": "letter",
            }
        kind = "Extended" if rng.random() < 0.5 else "Concise"
        return {
            "review_type": "Child Practice Review",
            "abbrev": "CPR",
            "cpr_kind": kind,
            "body": "{area} Regional Safeguarding Children Board",
            "pseudonym_style": "code",
        }
    if nation == "scotland":
        if year <= 2021:
            return {
                "review_type": "Significant Case Review",
                "abbrev": "SCR",
                "body": "{area} Child Protection Committee",
                "pseudonym_style": "letter",
            }
        return {
            "review_type": "Learning Review",
            "abbrev": "LR",
            "body": "{area} Child Protection Committee",
            "pseudonym_style": "name",
        }
    return {
        "review_type": "Case Management Review",
        "abbrev": "CMR",
        "body": "{area} Safeguarding Panel"
        if year >= 2013
        else "{area} Area Child Protection Committee",
        "pseudonym_style": "letter",
    }


def age_band(months: int) -> str:
    """Map an age in months to the library's coarse age bands."""
    if months < 12:
        return "infant"
    if months < 60:
        return "toddler"
    if months < 132:
        return "child"
    return "adolescent"


def sample_age_months(year: int, rng) -> int:
    """Draw a child's age; adolescents become more common over the period (extra-familial harm)."""
    t = (year - 2008) / 17
    weights = {
        "infant": 0.42 - 0.12 * t,
        "toddler": 0.25 - 0.05 * t,
        "child": 0.15,
        "adolescent": 0.18 + 0.17 * t,
    }
    band = rng.choices(list(weights), weights=list(weights.values()))[0]
    low, high = {
        "infant": (0, 11),
        "toddler": (12, 59),
        "child": (60, 131),
        "adolescent": (132, 215),
    }[band]
    return rng.randint(low, high)


def _logistic(
    year: int, start: float, end: float, midpoint: float, steepness: float = 0.6
) -> float:
    s = 1 / (1 + math.exp(-steepness * (year - midpoint)))
    return start + (end - start) * s


# Probability that a review's case expresses each theme (as a concern), by publication year.
# kind: stable | rising | falling | period. The data card reproduces this table.
THEME_TRENDS: dict[str, dict] = {
    "information_sharing": {"kind": "stable", "p": 0.78},
    "multi_agency_working": {"kind": "stable", "p": 0.50},
    "risk_assessment_decision_making": {"kind": "stable", "p": 0.62},
    "professional_curiosity_challenge": {"kind": "stable", "p": 0.42},
    "parental_engagement_disguised_compliance": {"kind": "stable", "p": 0.32},
    "voice_of_child": {"kind": "stable", "p": 0.40},
    "escalation_professional_disagreement": {"kind": "stable", "p": 0.22},
    "thresholds_access_to_services": {"kind": "stable", "p": 0.28},
    "early_help": {"kind": "stable", "p": 0.25},
    "record_keeping_chronology": {"kind": "stable", "p": 0.30},
    "supervision_management_oversight": {"kind": "stable", "p": 0.30},
    "workload_staffing_organisational_context": {"kind": "stable", "p": 0.25},
    "training_knowledge": {"kind": "stable", "p": 0.30},
    "policy_procedures": {"kind": "falling", "start": 0.70, "end": 0.08, "mid": 2015.5},
    "unseen_men_fathers": {"kind": "rising", "start": 0.12, "end": 0.62, "mid": 2018.5},
    "moves_transfer_cross_boundary": {"kind": "stable", "p": 0.20},
    "was_not_brought_missed_contact": {"kind": "stable", "p": 0.25},
    "cumulative_harm_history": {"kind": "stable", "p": 0.30},
    "culture_ethnicity_faith_language": {
        "kind": "rising",
        "start": 0.06,
        "end": 0.55,
        "mid": 2020.0,
    },
    "adult_services_think_family": {"kind": "stable", "p": 0.28},
    "domestic_abuse": {"kind": "stable", "p": 0.48},
    "parental_mental_health": {"kind": "stable", "p": 0.36},
    "parental_substance_misuse": {"kind": "stable", "p": 0.32},
    "neglect": {"kind": "stable", "p": 0.35},
    "physical_abuse_nai": {"kind": "age", "p": 0.25, "infant": 0.55},
    "sexual_abuse": {"kind": "stable", "p": 0.12},
    "exploitation_extrafamilial_harm": {
        "kind": "rising",
        "start": 0.02,
        "end": 0.75,
        "mid": 2016.5,
    },
    "sudi_unsafe_sleep": {"kind": "age", "p": 0.0, "infant": 0.38},
    "suicide_self_harm_mental_health": {"kind": "age", "p": 0.04, "adolescent": 0.45},
    "online_harm": {"kind": "rising", "start": 0.02, "end": 0.80, "mid": 2017.5},
    "disability_complex_health": {"kind": "stable", "p": 0.15},
    "poverty_housing_deprivation": {"kind": "stable", "p": 0.25},
    "covid_19": {"kind": "period", "p": 0.0, "years": (2020, 2022), "p_in": 0.75},
    "looked_after_care": {"kind": "stable", "p": 0.14},
    "education_absence_ehe": {"kind": "stable", "p": 0.18},
}

# Age limits on characteristic themes (no SUDI in teenagers, no exploitation of babies).
AGE_EXCLUSIONS = {
    "sudi_unsafe_sleep": {"child", "adolescent"},
    "exploitation_extrafamilial_harm": {"infant", "toddler"},
    "online_harm": {"infant", "toddler"},
    "education_absence_ehe": {"infant", "toddler"},
    "suicide_self_harm_mental_health": {"infant", "toddler"},
}


def theme_probability(theme: str, year: int, band: str) -> float:
    """Probability that a review published in ``year`` about a child in ``band`` has ``theme``."""
    spec = THEME_TRENDS[theme]
    if band in AGE_EXCLUSIONS.get(theme, set()):
        return 0.0
    kind = spec["kind"]
    if kind == "stable":
        p = spec["p"]
    elif kind in {"rising", "falling"}:
        p = _logistic(year, spec["start"], spec["end"], spec["mid"])
    elif kind == "period":
        lo, hi = spec["years"]
        p = spec["p_in"] if lo <= year <= hi else spec["p"]
    else:  # age-driven
        p = spec.get(band, spec["p"])
    if theme in {"exploitation_extrafamilial_harm", "online_harm"} and band == "adolescent":
        # These rising themes are adolescent harms; scale so the share of reviews still rises.
        p = min(0.95, p * 1.6)
    return p


def trend_direction(theme: str) -> str:
    """The design's direction of travel: rising, falling, period, age-driven or stable.

    Age-driven themes follow the changing age mix (adolescents become more common, infants less), so
    suicide and self-harm drifts up and infant harms drift down without a theme-specific trend.
    """
    kind = THEME_TRENDS[theme]["kind"]
    if kind == "age":
        return "age-driven"
    return kind if kind in {"rising", "falling", "period"} else "stable"
