"""Tests for themes.text_eval (scoring against labelled texts) and the fresh evaluation set."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from themes.codebook import load_codebook
from themes.errors import ThemesError
from themes.text_eval import (
    cli_evaluate_texts,
    fresh_halves,
    read_labelled_texts,
    score_texts,
)

ROOT = Path(__file__).resolve().parents[1]
FRESH = ROOT / "evaluation" / "fresh"


def write_jsonl(path: Path, items: list) -> Path:
    path.write_text(
        "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: invalid JSON"),
        (json.dumps({"themes": {}}), 'line 2: expected an object with a "text"'),
        (json.dumps({"text": "x", "themes": "neglect"}), 'line 2: "themes" must be'),
        (json.dumps({"text": "x", "themes": {"poverty": "concern"}}), "unknown theme id"),
        (json.dumps({"text": "x", "themes": {"neglect": "maybe"}}), "unknown polarity maybe"),
    ],
)
def test_bad_labelled_line_names_file_and_line(tmp_path, line, message):
    good = {"id": "a", "text": "Lockdown.", "themes": {"covid_19": "concern"}}
    path = write_jsonl(tmp_path / "gold.jsonl", [good, line])
    with pytest.raises(ThemesError, match=re.escape(message)) as error:
        read_labelled_texts(path)
    assert str(path) in str(error.value)


def test_missing_path_and_empty_folder_are_clear_errors(tmp_path):
    with pytest.raises(ThemesError, match="labelled texts not found"):
        read_labelled_texts(tmp_path / "nope.jsonl")
    with pytest.raises(ThemesError, match="no .jsonl files"):
        read_labelled_texts(tmp_path)


def test_labels_as_a_list_mean_present_without_polarity(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [{"text": "x", "themes": ["neglect"]}])
    (record,) = read_labelled_texts(path)
    assert record["gold"] == {"neglect": None}
    assert record["id"] == "g.jsonl:1"


def test_score_texts_counts_presence_polarity_and_absence():
    records = [
        {
            "id": 1,
            "text": "Information was not shared with the GP.",
            "gold": {"information_sharing": "concern"},
        },
        {
            "id": 2,
            "text": "There was no evidence of domestic abuse.",
            "gold": {"domestic_abuse": "absent"},
        },
        {
            "id": 3,
            "text": "The family enjoyed a day at the seaside.",
            "gold": {"neglect": "concern"},
        },
    ]
    result = score_texts(records, methods=("rules",))
    rules = result["methods"]["rules"]
    assert rules["present"]["micro_precision"] == 1.0
    assert rules["present"]["micro_recall"] == 0.5  # neglect is missed
    assert rules["polarity_accuracy"] == 1.0
    assert rules["absent_recall"] == 1.0
    missed = {row["id"]: row["missed"] for row in rules["per_text"]}
    assert missed == {1: [], 2: [], 3: ["neglect"]}
    with pytest.raises(ThemesError, match="unknown method"):
        score_texts(records, methods=("magic",))


def test_fresh_halves_alternate_within_each_file():
    records = [{"id": i, "source": s} for s in ("a", "b") for i in range(3)]
    halves = fresh_halves(records)
    assert [(r["source"], r["id"]) for r in halves["tune"]] == [
        ("a", 0),
        ("a", 2),
        ("b", 0),
        ("b", 2),
    ]
    assert [(r["source"], r["id"]) for r in halves["test"]] == [("a", 1), ("b", 1)]


def test_cli_evaluate_texts_writes_a_report(tmp_path, capsys):
    path = write_jsonl(
        tmp_path / "mine.jsonl",
        [
            {
                "id": "x",
                "text": "During lockdown visits stopped.",
                "themes": {"covid_19": "concern"},
            },
            {"id": "y", "text": "The home was filthy.", "themes": ["neglect"]},
        ],
    )
    out = tmp_path / "report"
    assert cli_evaluate_texts(argparse.Namespace(texts=str(path), out=str(out))) == 0
    printed = capsys.readouterr().out
    assert "| combined |" in printed
    for name in ("texts_report.md", "texts_summary.csv", "texts_per_theme.csv"):
        assert (out / name).exists()


# ---- the bundled fresh set


@pytest.fixture(scope="module")
def fresh() -> list[dict]:
    return read_labelled_texts(FRESH)


def test_fresh_set_loads_and_covers_every_theme(fresh):
    assert len(fresh) >= 350
    assert len({r["id"] for r in fresh}) == len(fresh)
    present = Counter(
        t for r in fresh for t, p in r["gold"].items() if p in ("concern", "good_practice")
    )
    assert set(present) == set(load_codebook().theme_ids)
    assert min(present.values()) >= 15
    assert sum(not r["gold"] for r in fresh) >= 35  # hard negatives with no theme
    assert sum(p == "absent" for r in fresh for p in r["gold"].values()) >= 60


def shingles(text: str, n: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_fresh_set_is_not_a_rewording_of_the_passage_library(fresh):
    from themes.synthetic.library import load_library

    library: set[tuple[str, ...]] = set()
    for passage in load_library():
        for variant in passage.variants:
            library |= shingles(re.sub(r"\{\w+\}", " ", variant))
    shared = {
        r["id"]: (len(shingles(r["text"]) & library) / max(len(shingles(r["text"])), 1), r["gold"])
        for r in fresh
    }
    # Stock phrases of the field recur ("met the criteria for a local child safeguarding practice
    # review", "the family were not known to children's social care", a review panel's
    # membership): up to 13% of a labelled text's 8-word runs and 20% of an unlabelled
    # methodology paragraph's. A text re-worded from a passage would share far more.
    assert max(share for share, _ in shared.values()) < 0.25
    assert {k: v for k, (v, gold) in shared.items() if gold and v >= 0.15} == {}


def test_supplement_units_train_themes_and_only_polarised_labels_train_polarity(tmp_path):
    from themes.tagging import _supplement_units

    path = write_jsonl(
        tmp_path / "coded.jsonl",
        [
            {"id": "p1", "text": "Lockdown stopped visits.", "themes": {"covid_19": "concern"}},
            {"id": "p2", "text": "The home was filthy.", "themes": ["neglect"]},
        ],
    )
    units = _supplement_units(tmp_path, load_codebook().theme_ids)
    assert units["labels"].tolist() == [
        [{"theme": "covid_19", "polarity": "concern"}],
        [{"theme": "neglect", "polarity": None}],
    ]
    assert _supplement_units(None, []).empty
    with pytest.raises(ThemesError, match="not found"):
        _supplement_units(path.with_name("missing.jsonl"), [])


def test_saved_model_reproduces_its_fresh_test_scores(fresh):
    # Guards generalisation: the scores quoted in the README must be what the saved model does,
    # and a change that loses ground on text we did not write should fail here, not in silence.
    metrics = json.loads((ROOT / "models" / "theme-classifier" / "metrics.json").read_text())
    recorded = metrics["fresh"]["test"]["methods"]["combined"]
    result = score_texts(fresh_halves(fresh)["test"], methods=("combined",))
    combined = result["methods"]["combined"]
    assert round(combined["present"]["micro_f1"], 4) == recorded["micro_f1"]
    assert round(combined["polarity_accuracy"], 4) == recorded["polarity_accuracy"]
    assert combined["present"]["micro_f1"] >= 0.70
