"""The bundled fictional corpus: counts, checksums, gold splits, reproducibility, the library."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter

import pandas as pd
import pytest

from themes.codebook import CONTRACT_REC_TYPE_IDS, CONTRACT_THEME_IDS
from themes.config import settings
from themes.synthetic import build_corpus, compose_corpus
from themes.synthetic.library import load_library

CORPUS = settings().corpus_dir

# Real places, partnerships and publicly named children that must never appear in our fiction.
REAL_NAMES = [
    "Norfolk",
    "Hertfordshire",
    "Bolton",
    "Kirklees",
    "Hackney",
    "Gwent",
    "Northamptonshire",
    "Cumbria",
    "Bradford",
    "Gloucestershire",
    "Derbyshire",
    "Newcastle",
    "Birmingham",
    "Haringey",
    "Rochdale",
    "Labinjo",
    "Hobson",
    "Pelka",
    "Connelly",
    "Climbi",
    "Hamzah",
    "Solihull",
    "Coventry",
    "Essex",
    "Sheffield",
    "Tees",
    "Lincolnshire",
    "Hesley",
]


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    return pd.read_csv(CORPUS / "manifest.csv", dtype={"child_age_months": "Int64"})


@pytest.fixture(scope="module")
def gold() -> pd.DataFrame:
    with open(CORPUS / "annotations" / "passages.jsonl", encoding="utf-8") as fh:
        return pd.DataFrame([json.loads(line) for line in fh])


def test_bundled_corpus_meets_the_required_counts(manifest):
    assert manifest["review_id"].nunique() >= 72
    assert len(manifest) >= 90
    per_year = manifest.groupby("publication_year")["review_id"].nunique()
    assert set(range(2008, 2026)) <= set(per_year.index)
    assert per_year.min() >= 4
    formats = manifest["format"].value_counts()
    assert formats["pdf"] >= 60 and formats["docx"] >= 8 and formats["html"] >= 8
    assert formats.get("txt", 0) >= 6
    assert set(manifest["nation"]) == {"england", "wales", "scotland", "northern_ireland"}
    assert set(manifest["outcome"]) >= {"death", "serious_harm"}
    assert manifest["child_age_months"].dropna().between(0, 215).all()
    assert (manifest.groupby("review_id").size() > 1).sum() >= 10, (
        "some reviews need summary + overview"
    )


def test_manifest_checksums_match_the_files(manifest):
    for row in manifest.itertuples():
        data = (CORPUS / row.file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256, row.file


def test_gold_splits_are_by_review_and_test_wordings_never_appear_in_train(gold):
    assert gold.groupby("review_id")["split"].nunique().max() == 1
    assert set(gold["split"]) == {"train", "dev", "test"}
    labelled = gold[gold["passage_ref"].notna()]
    train_texts = set(labelled.loc[labelled["split"] == "train", "text"])
    train_variants = set(
        zip(
            labelled.loc[labelled["split"] == "train", "passage_ref"],
            labelled.loc[labelled["split"] == "train", "variant"],
            strict=True,
        )
    )
    test = labelled[labelled["split"] == "test"]
    assert not any(
        (r, v) in train_variants for r, v in zip(test["passage_ref"], test["variant"], strict=True)
    )
    assert not (set(test["text"]) & train_texts)


def test_every_theme_and_recommendation_type_occurs_in_the_gold_labels(gold):
    themes = Counter(lab["theme"] for labels in gold["labels"] for lab in labels)
    recs = Counter(t for types in gold["rec_types"] for t in types)
    assert set(CONTRACT_THEME_IDS) <= set(themes)
    assert set(CONTRACT_REC_TYPE_IDS) <= set(recs)


def test_library_is_large_varied_and_covers_the_codebook():
    library = load_library()
    assert len(library) >= 1200
    assert len({p.id for p in library}) == len(library)
    theme_counts = Counter(t for p in library for t, _ in p.labels)
    rec_counts = Counter(t for p in library for t in p.rec_types)
    for theme in CONTRACT_THEME_IDS:
        assert theme_counts[theme] >= 20, theme
    for rec in CONTRACT_REC_TYPE_IDS:
        assert rec_counts[rec] >= 20, rec
    polarities = Counter(pol for p in library for _, pol in p.labels)
    assert polarities["good_practice"] > 100 and polarities["absent"] > 100
    for p in library:
        assert len(set(p.variants)) >= 2, p.id


def test_fiction_names_no_real_place_partnership_or_child():
    library_text = " ".join(v for p in load_library() for v in p.variants)
    manifest_text = (CORPUS / "manifest.csv").read_text(encoding="utf-8")
    for name in REAL_NAMES:
        assert not re.search(rf"\b{name}", library_text), name
        assert not re.search(rf"\b{name}", manifest_text), name


def test_small_corpus_is_byte_identical_for_the_same_seed(tmp_path):
    a = build_corpus(tmp_path / "a", n_reviews=3, seed=7, formats="pdf,docx,html,txt,md")
    b = build_corpus(tmp_path / "b", n_reviews=3, seed=7, formats="pdf,docx,html,txt,md")
    assert [r["sha256"] for r in a] == [r["sha256"] for r in b]
    assert (tmp_path / "a" / "annotations" / "passages.jsonl").read_bytes() == (
        tmp_path / "b" / "annotations" / "passages.jsonl"
    ).read_bytes()
    c = build_corpus(tmp_path / "c", n_reviews=3, seed=8, formats="pdf")
    assert [r["sha256"] for r in c] != [r["sha256"] for r in a][: len(c)]


@pytest.mark.slow
def test_bundled_corpus_regenerates_byte_identically_from_source(tmp_path, manifest):
    from themes.synthetic import build_bundled_corpus

    rows = build_bundled_corpus(tmp_path / "corpus")
    assert {r["file"]: r["sha256"] for r in rows} == dict(
        zip(manifest["file"], manifest["sha256"], strict=True)
    )


def test_large_corpus_scales_report_length(tmp_path):
    docs = compose_corpus(2, seed=3, target_pages=40)
    short = compose_corpus(2, seed=3)
    words = lambda ds: sum(len(p.text.split()) for d in ds for s in d.sections for p in s.paras)  # noqa: E731
    assert words(docs) > 3 * words(short)


def test_trend_design_is_visible_in_the_gold_labels(gold, manifest):
    """Rising exploitation and online harm, COVID-19 only around 2020-22, as the data card says."""
    counted = gold[gold["section_type"] != "terms_of_reference"]
    present = counted.explode("labels").dropna(subset=["labels"])
    present = present[
        present["labels"].map(lambda lab: lab["polarity"] in {"concern", "good_practice"})
    ]
    present = present.assign(theme=present["labels"].map(lambda lab: lab["theme"]))
    years = manifest.drop_duplicates("review_id").set_index("review_id")["publication_year"]
    by_review = present.groupby("theme")["review_id"].unique()

    def share(theme, first, last):
        reviews = [r for r in years.index if first <= years[r] <= last]
        return sum(r in set(by_review.get(theme, [])) for r in reviews) / len(reviews)

    assert (
        share("exploitation_extrafamilial_harm", 2019, 2025)
        > share("exploitation_extrafamilial_harm", 2008, 2013) + 0.2
    )
    assert share("online_harm", 2019, 2025) > share("online_harm", 2008, 2013) + 0.2
    assert share("policy_procedures", 2008, 2012) > share("policy_procedures", 2020, 2025) + 0.2
    assert share("covid_19", 2020, 2022) > 0.4
    assert share("covid_19", 2008, 2019) == 0


def test_two_reviews_with_the_same_area_pseudonym_and_year_do_not_overwrite_each_other(manifest):
    """Regression: a colliding file name once silently replaced one document with another."""
    assert manifest["file"].is_unique
    assert len(list((CORPUS / "reports").iterdir())) == len(manifest)
    docs = compose_corpus(40, seed=2)
    stems = [d.file_stem for d in docs]
    assert len(stems) == len(set(stems))


def test_data_card_is_current():
    """corpus/README.md is exactly what the data card module computes from the corpus."""
    from themes.synthetic.datacard import render_data_card

    corpus_dir = settings().corpus_dir
    assert (corpus_dir / "README.md").read_text(encoding="utf-8") == render_data_card(corpus_dir)


def test_no_placeholder_is_left_unfilled_in_the_corpus(gold):
    """Regression: table-form chronology rows once kept a literal "{date}:" prefix."""
    leftovers = gold["text"].str.contains(r"\{[a-zA-Z]+\}", regex=True)
    assert not leftovers.any(), gold.loc[leftovers, "text"].head(3).tolist()
    for path in (CORPUS / "reports").glob("*.*"):
        if path.suffix in {".txt", ".md", ".html"}:
            text = path.read_text(encoding="utf-8")
            assert not re.search(
                r"\{(date|child|mother|father|partner|sibling|he|his|him)\}", text
            ), path


def test_training_wordings_fill_variant_zero_and_skip_excluded():
    from themes.synthetic.compose import training_wordings
    from themes.synthetic.library import load_library

    passages = load_library()[:40]
    rows = training_wordings(passages, exclude={passages[0].id}, seed=3)
    assert [r["passage_ref"] for r in rows] == [p.id for p in passages[1:]]
    for row, passage in zip(rows, passages[1:], strict=True):
        assert "{" not in row["text"] and row["text"]
        assert row["labels"] == [{"theme": t, "polarity": p} for t, p in passage.labels]
    assert rows == training_wordings(passages, exclude={passages[0].id}, seed=3)
