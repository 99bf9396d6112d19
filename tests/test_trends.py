"""Statistics in themes.trends, checked against values computed by hand on tiny tables."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from themes import trends
from themes.config import settings
from themes.synthetic.design import THEME_TRENDS, trend_direction


def _presence(rows):
    return pd.DataFrame(rows, columns=["review_id", "theme_id", "present"])


def test_wilson_interval_matches_the_formula():
    # p = 0.3, n = 10, z = 1.959964:
    # centre = (0.3 + z²/20) / (1 + z²/10) = 0.355..., half = 0.2477...
    lo, hi = trends.wilson_interval(3, 10)
    assert lo == pytest.approx(0.10779, abs=1e-4)
    assert hi == pytest.approx(0.60322, abs=1e-4)
    assert trends.wilson_interval(0, 5)[0] == 0.0
    assert trends.wilson_interval(5, 5)[1] == pytest.approx(1.0)
    assert all(math.isnan(x) for x in trends.wilson_interval(0, 0))


def test_prevalence_by_year_counts_reviews_and_withholds_small_years():
    presence = _presence(
        [
            ("r1", "t", True),
            ("r2", "t", False),
            ("r3", "t", True),
            ("r4", "t", True),
            ("r5", "t", False),
        ]
    )
    reviews = pd.DataFrame(
        {
            "review_id": ["r1", "r2", "r3", "r4", "r5"],
            "publication_year": [2010, 2010, 2010, 2011, 2011],
        }
    )
    table = trends.prevalence_by_year(presence, reviews, min_n=3).set_index("publication_year")
    assert table.loc[2010, "n_reviews"] == 3 and table.loc[2010, "n_present"] == 2
    assert table.loc[2010, "prevalence"] == pytest.approx(2 / 3)
    assert table.loc[2010, "ci_low"] == pytest.approx(trends.wilson_interval(2, 3)[0])
    assert not table.loc[2011, "enough_data"] and math.isnan(table.loc[2011, "prevalence"])


def test_presence_counts_a_review_once_whatever_its_documents():
    report_themes = pd.DataFrame(
        {
            "review_id": ["a", "a", "b"],
            "report_id": ["a-ov", "a-es", "b-ov"],
            "theme_id": ["t", "t", "t"],
            "present": [True, True, False],
        }
    )
    presence = trends.presence_from_report_themes(report_themes, ["t", "u"])
    assert len(presence) == 4
    assert presence.set_index(["review_id", "theme_id"]).loc[("a", "t"), "present"]
    assert not presence.set_index(["review_id", "theme_id"]).loc[("a", "u"), "present"]


def test_breakdown_by_age_band_uses_the_national_bands():
    presence = _presence([("a", "t", True), ("b", "t", False), ("c", "t", True)])
    reviews = pd.DataFrame({"review_id": ["a", "b", "c"], "child_age_months": [3, 30, None]})
    table = trends.prevalence_by(presence, reviews, "age_band", min_n=1)
    assert list(table["age_band"].astype(str)) == ["under 1", "1-4"]
    assert table.attrs["n_unknown"] == 1


def test_benjamini_hochberg_by_hand():
    # sorted p: 0.01, 0.03, 0.04, 0.5 -> p*m/rank: 0.04, 0.06, 0.0533, 0.5
    # -> monotone: 0.04, 0.0533, 0.0533, 0.5
    adjusted = trends.benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert adjusted == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(trends.benjamini_hochberg([np.nan, 0.2])[0])


def test_cochran_armitage_by_hand():
    z, p = trends.cochran_armitage([1, 1, 2, 2, 3, 3, 4, 4], [0, 0, 0, 1, 1, 0, 1, 1])
    assert z == pytest.approx(3 / math.sqrt(2.5))
    assert p == pytest.approx(0.0578, abs=1e-3)


def test_trend_tests_find_a_clear_rise_and_not_a_flat_theme():
    rows, years = [], []
    for i in range(60):
        year = 2008 + i % 15
        rows += [(f"r{i}", "rising", year >= 2015 and i % 4 != 0), (f"r{i}", "flat", i % 3 == 0)]
        years.append((f"r{i}", year))
    reviews = pd.DataFrame(years, columns=["review_id", "publication_year"])
    table = trends.trend_tests(_presence(rows), reviews).set_index("theme_id")
    assert table.loc["rising", "direction"] == "rising"
    assert table.loc["rising", "odds_ratio_per_decade"] > 1
    assert table.loc["flat", "direction"] == "no clear trend"
    assert trends.REGIME_CAVEAT in table.attrs["caveats"]


def test_trend_tests_fall_back_when_logistic_regression_separates():
    rows = [(f"r{i}", "t", i >= 10) for i in range(20)]
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(20)],
            "publication_year": [2000 + i for i in range(20)],
        }
    )
    table = trends.trend_tests(_presence(rows), reviews)
    assert table.loc[0, "test"] == "cochran-armitage"
    assert table.loc[0, "direction"] == "rising"


def test_compare_periods_by_hand():
    rows = [
        (f"r{i}", "t", present)
        for i, present in enumerate([True, True, False, False, False, False])
    ]
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(6)],
            "publication_year": [2010, 2011, 2012, 2020, 2021, 2022],
        }
    )
    table = trends.compare_periods(_presence(rows), reviews, split_year=2019)
    row = table.iloc[0]
    assert (row["k_1"], row["n_1"], row["k_2"], row["n_2"]) == (2, 3, 0, 3)
    assert row["difference"] == pytest.approx(-2 / 3)
    assert row["p_value"] == pytest.approx(0.4, abs=1e-9)  # Fisher exact, 2x2 [[2,1],[0,3]]
    assert "regimes changed" in row["caveat"]


def test_cooccurrence_counts_lift_and_jaccard_by_hand():
    rows = [
        ("1", "a", True),
        ("1", "b", True),
        ("2", "a", True),
        ("2", "b", False),
        ("3", "a", False),
        ("3", "b", True),
        ("4", "a", True),
        ("4", "b", True),
    ]
    table = trends.cooccurrence(_presence(rows)).iloc[0]
    assert (table["n_a"], table["n_b"], table["n_both"]) == (3, 3, 2)
    assert table["jaccard"] == pytest.approx(2 / 4)
    assert table["lift"] == pytest.approx((2 / 4) / ((3 / 4) * (3 / 4)))


def test_toxic_trio_counts_reviews_by_number_of_factors():
    rows = []
    for review, flags in {"a": (1, 1, 1), "b": (1, 0, 0), "c": (0, 0, 0)}.items():
        rows += [
            (review, theme, bool(f)) for theme, f in zip(trends.TOXIC_TRIO, flags, strict=True)
        ]
    table = trends.toxic_trio(_presence(rows)).set_index("n_factors")
    assert list(table["n_reviews"]) == [1, 1, 0, 1]
    assert table.loc[3, "share"] == pytest.approx(1 / 3)


def test_recurring_lessons_counts_years_partnerships_and_recommendation_types():
    presence = _presence([("a", "t", True), ("b", "t", True), ("c", "t", False)])
    reviews = pd.DataFrame(
        {
            "review_id": ["a", "b", "c"],
            "publication_year": [2010, 2015, 2020],
            "partnership": ["P1", "P2", "P1"],
        }
    )
    recs = pd.DataFrame(
        {
            "review_id": ["a", "b", "b"],
            "theme_ids": [["t"], ["t"], ["t"]],
            "rec_types": [
                ["rec_training_workforce"],
                ["rec_training_workforce", "rec_audit_assurance"],
                ["rec_policy_procedure"],
            ],
        }
    )
    row = trends.recurring_lessons(presence, reviews, recs).iloc[0]
    assert (row["n_reviews"], row["n_years"], row["n_partnerships"], row["years_span"]) == (
        2,
        2,
        2,
        6,
    )
    assert row["top_recommendation_types"].startswith("rec_training_workforce (2)")


def test_inputs_are_not_mutated():
    presence = _presence([("a", "t", True), ("b", "t", False), ("c", "t", True)])
    reviews = pd.DataFrame(
        {
            "review_id": ["a", "b", "c"],
            "publication_year": [2010, 2011, 2012],
            "child_age_months": [1, 2, 3],
        }
    )
    before = (presence.copy(), reviews.copy())
    trends.prevalence_by(presence, reviews, "age_band", min_n=1)
    trends.trend_tests(presence, reviews, min_reviews_with_theme=1)
    pd.testing.assert_frame_equal(presence, before[0])
    pd.testing.assert_frame_equal(reviews, before[1])


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="publication_year"):
        trends.prevalence_by_year(_presence([("a", "t", True)]), pd.DataFrame({"review_id": ["a"]}))


def test_gold_labels_of_the_bundled_corpus_recover_the_generating_design():
    """The design's rising and falling themes are found; the stable ones are not flagged."""
    corpus = settings().corpus_dir
    with open(corpus / "annotations" / "passages.jsonl", encoding="utf-8") as fh:
        gold = pd.DataFrame([json.loads(line) for line in fh])
    manifest = pd.read_csv(corpus / "manifest.csv")
    reviews = manifest.drop_duplicates("review_id")[["review_id", "publication_year"]]
    counted = (
        gold[gold["section_type"] != "terms_of_reference"]
        .explode("labels")
        .dropna(subset=["labels"])
    )
    counted = counted[counted["labels"].map(lambda lab: lab["polarity"] != "absent")]
    found = set(
        zip(counted["review_id"], counted["labels"].map(lambda lab: lab["theme"]), strict=True)
    )
    presence = _presence(
        [(r, t, (r, t) in found) for r in reviews["review_id"] for t in THEME_TRENDS]
    )
    table = trends.trend_tests(presence, reviews).set_index("theme_id")
    for theme in THEME_TRENDS:
        design = trend_direction(theme)
        if design in {"rising", "falling"}:
            assert table.loc[theme, "direction"] == design, theme
        elif design == "stable":
            assert table.loc[theme, "direction"] == "no clear trend", theme


def test_tagged_output_of_the_bundled_corpus_recovers_the_design_without_false_alarms():
    """On the tagger's output (not gold): no stable theme is flagged, and the designed movers are
    found in the designed direction (the tagger's errors may hide at most one of the five)."""
    from themes.explore import ensure_run

    run = ensure_run()
    table = run.trends["trend_tests"].set_index("theme_id")
    designed = {t: trend_direction(t) for t in THEME_TRENDS}
    for theme, design in designed.items():
        if design == "stable":
            assert table.loc[theme, "direction"] == "no clear trend", theme
    movers = [t for t, d in designed.items() if d in {"rising", "falling"}]
    recovered = [t for t in movers if table.loc[t, "direction"] == designed[t]]
    wrong_way = [
        t for t in movers if table.loc[t, "direction"] not in {designed[t], "no clear trend"}
    ]
    assert not wrong_way
    assert len(recovered) >= len(movers) - 1, recovered
