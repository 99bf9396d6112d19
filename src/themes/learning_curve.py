"""How the theme classifier's accuracy grows with labelled training text.

Before anyone codes more passages by hand (``themes train --supplement``), they should know what
more data is worth. :func:`learning_curve` retrains the theme classifier on random shares of the
distinct training passages and scores it on held-out text, so the answer is measured, not guessed.

Output columns (one row per share and draw):

- ``fraction``: share of the distinct training passages kept; ``draw``: which random draw (the
  full set has one).
- ``passages``: distinct passages kept (a library passage counts once, however many of its
  wordings the training data holds); ``units``: training texts kept.
- ``test_micro_f1``, ``test_macro_f1``: theme detection on the corpus test split.
- ``fresh_micro_f1``, ``fresh_macro_f1``: theme detection on the test half of the fresh labelled
  texts (NaN without them).
- ``seconds``: time to fit.

Theme detection means the classifier alone deciding whether a theme is in a text (any polarity),
with thresholds tuned on the dev split as :func:`themes.tagging.train` tunes them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

LEARNING_CURVE_COLUMNS = (
    "fraction",
    "draw",
    "passages",
    "units",
    "test_micro_f1",
    "test_macro_f1",
    "fresh_micro_f1",
    "fresh_macro_f1",
    "seconds",
)


def _indicator(label_lists: Sequence[Sequence[str]], theme_ids: Sequence[str]) -> np.ndarray:
    return np.array([[t in set(labels) for t in theme_ids] for labels in label_lists], dtype=bool)


def _predicted(model, texts: list[str], theme_ids: Sequence[str]) -> np.ndarray:  # noqa: ANN001
    """The model's 0/1 decisions as a bool matrix with columns in ``theme_ids`` order."""
    if not texts:
        return np.zeros((0, len(theme_ids)), dtype=bool)
    order = [list(model.classes_).index(t) for t in theme_ids]
    return model.predict(texts)[:, order].astype(bool)


def _f1s(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import f1_score

    if not len(truth):
        return float("nan"), float("nan")
    return (
        float(f1_score(truth.ravel(), predicted.ravel(), zero_division=0)),
        float(f1_score(truth, predicted, average="macro", zero_division=0)),
    )


def learning_curve(
    corpus_dir: str | Path | None = None,
    *,
    fractions: Sequence[float] = (0.125, 0.25, 0.5, 1.0),
    draws: int = 2,
    seed: int = 0,
    library_wordings: bool = True,
    supplement_dir: str | Path | None = None,
    fresh_dir: str | Path | None = None,
    theme_ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Theme-classifier F1 against the number of distinct labelled passages it trains on.

    Sampling is by passage, not by text: the wordings of one library passage stay together, so a
    smaller share means fewer *distinct* things written about each theme, which is what hand
    coding would add. Nothing about the dev, test or fresh texts changes between rows.

    Args:
        corpus_dir: Corpus folder with ``annotations/`` (``None``: the bundled corpus).
        fractions: Shares of the distinct training passages to train on, each in (0, 1].
        draws: Random draws per share below 1 (the full set is drawn once).
        seed: Seeds the draws (draw ``k`` uses ``seed + k``) and the models.
        library_wordings: Train on the library wordings as :func:`themes.tagging.train` does.
        supplement_dir: Labelled texts added to the training data (each its own passage).
        fresh_dir: Fresh labelled texts (``None``: ``evaluation/fresh``; missing: NaN columns).
        theme_ids: Themes to model (``None``: the packaged codebook's).

    Returns:
        A DataFrame with :data:`LEARNING_CURVE_COLUMNS`, rows in the order of ``fractions``.
    """
    from themes.codebook import load_codebook
    from themes.config import settings
    from themes.errors import ThemesError
    from themes.tagging import (
        ThemeClassifier,
        _read_gold,
        _theme_lists,
        _theme_units,
        _training_units,
    )
    from themes.text_eval import load_fresh_halves

    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ThemesError(f"fractions must lie in (0, 1], got {list(fractions)}")
    theme_ids = list(theme_ids or load_codebook().theme_ids)
    corpus = Path(corpus_dir) if corpus_dir else settings().corpus_dir
    gold = _read_gold(corpus)
    units, *_ = _training_units(
        gold,
        seed,
        theme_ids,
        library_wordings=library_wordings,
        supplement_dir=Path(supplement_dir) if supplement_dir else None,
    )
    dev, test = _theme_units(gold, "dev"), _theme_units(gold, "test")
    _, fresh = load_fresh_halves(fresh_dir, theme_ids)
    test_truth = _indicator(_theme_lists(test["labels"]), theme_ids)
    fresh_texts = [record["text"] for record in fresh["test"]]
    fresh_truth = _indicator([list(record["gold"]) for record in fresh["test"]], theme_ids)
    groups = sorted(units["group"].unique())
    rows = []
    for fraction in fractions:
        for draw in range(1 if fraction == 1 else draws):
            size = max(1, round(fraction * len(groups)))
            keep = set(random.Random(seed + draw).sample(groups, size))
            subset = units[units["group"].isin(keep)]
            started = time.perf_counter()
            model = ThemeClassifier(theme_ids, random_state=seed).fit(
                subset["text"].tolist(),
                _theme_lists(subset["labels"]),
                dev["text"].tolist(),
                _theme_lists(dev["labels"]),
            )
            seconds = time.perf_counter() - started
            test_f1 = _f1s(test_truth, _predicted(model, test["text"].tolist(), theme_ids))
            fresh_f1 = _f1s(fresh_truth, _predicted(model, fresh_texts, theme_ids))
            rows.append(
                (fraction, draw, len(keep), len(subset), *test_f1, *fresh_f1, round(seconds, 1))
            )
    return pd.DataFrame(rows, columns=list(LEARNING_CURVE_COLUMNS))
