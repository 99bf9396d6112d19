"""Tests for themes.learning_curve on a tiny hand-made gold corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from themes.errors import ThemesError
from themes.learning_curve import LEARNING_CURVE_COLUMNS, learning_curve
from themes.tagging import _read_gold, _training_units

THEMES = ["neglect", "domestic_abuse"]
NEGLECT = [
    "The home was dirty and the children were often hungry at school.",
    "There was little food in the house and the baby had severe nappy rash.",
    "The children arrived at nursery unwashed and in clothes too small for them.",
    "Neglect of the children's basic care was seen over many months.",
]
ABUSE = [
    "Police attended a domestic incident after the father assaulted the mother.",
    "The mother disclosed coercive control and violence from her partner.",
    "A MARAC referral followed an assault on the mother in front of the children.",
    "Domestic abuse by the partner was known to the police and the health visitor.",
]


def _unit(split: str, ref: str, text: str, theme: str | None) -> dict:
    labels = [{"theme": theme, "polarity": "concern"}] if theme else []
    return {
        "split": split,
        "role": "body",
        "section_type": "findings",
        "passage_ref": ref,
        "text": text,
        "labels": labels,
        "rec_types": [],
    }


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    rows = []
    # 8 training passages, each written twice (two wordings share one passage_ref)
    for k, (text, theme) in enumerate(
        [(t, "neglect") for t in NEGLECT] + [(t, "domestic_abuse") for t in ABUSE]
    ):
        rows.append(_unit("train", f"p{k}", text, theme))
        rows.append(_unit("train", f"p{k}", "In summary, " + text.lower(), theme))
    for split in ("dev", "test"):
        rows += [_unit(split, f"{split}{k}", t, "neglect") for k, t in enumerate(NEGLECT[:2])]
        rows += [_unit(split, f"{split}a{k}", t, "domestic_abuse") for k, t in enumerate(ABUSE[:2])]
        rows.append(_unit(split, f"{split}-none", "The review panel met three times.", None))
    folder = tmp_path / "annotations"
    folder.mkdir()
    (folder / "passages.jsonl").write_text(
        "\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8"
    )
    return tmp_path


def test_training_units_group_every_wording_of_a_passage_together(tiny_corpus: Path) -> None:
    units, _, n_library, n_supplement = _training_units(
        _read_gold(tiny_corpus), 0, THEMES, library_wordings=False
    )
    assert (len(units), units["group"].nunique()) == (16, 8)
    assert n_library == {"themes": 0, "rec_types": 0} and n_supplement == 0


def test_learning_curve_samples_whole_passages_and_scores_each_share(tiny_corpus: Path) -> None:
    curve = learning_curve(
        tiny_corpus,
        fractions=(0.5, 1.0),
        draws=2,
        library_wordings=False,
        fresh_dir=tiny_corpus / "no-fresh-texts",
        theme_ids=THEMES,
    )
    assert list(curve.columns) == list(LEARNING_CURVE_COLUMNS)
    # two draws of half the passages, one of all of them; both wordings of a passage go together
    assert curve[["fraction", "draw", "passages", "units"]].values.tolist() == [
        [0.5, 0, 4, 8],
        [0.5, 1, 4, 8],
        [1.0, 0, 8, 16],
    ]
    assert curve["test_micro_f1"].between(0, 1).all()
    assert curve["fresh_micro_f1"].isna().all()  # no fresh texts given


def test_learning_curve_is_reproducible_for_a_seed(tiny_corpus: Path) -> None:
    kwargs = dict(
        fractions=(0.5,),
        draws=1,
        library_wordings=False,
        fresh_dir=tiny_corpus / "none",
        theme_ids=THEMES,
    )
    first = learning_curve(tiny_corpus, **kwargs).drop(columns="seconds")
    again = learning_curve(tiny_corpus, **kwargs).drop(columns="seconds")
    assert first.equals(again)


@pytest.mark.parametrize("fractions", [(), (0.0,), (1.5,)])
def test_learning_curve_rejects_shares_outside_zero_to_one(
    tiny_corpus: Path, fractions: tuple
) -> None:
    with pytest.raises(ThemesError, match="fractions"):
        learning_curve(tiny_corpus, fractions=fractions, theme_ids=THEMES)
