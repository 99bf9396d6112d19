"""Tagging a corpus in chunks, in parallel and in fresh processes gives the same tables."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from themes.corpus import Corpus, load_corpus
from themes.corpus_tagging import _chunk_bounds, tag_corpus
from themes.tagging import load_models

TABLES = ("mentions", "report_themes", "recommendations")


@pytest.fixture(scope="module")
def corpus_slice() -> Corpus:
    """Five bundled reports: enough passages for several chunks, quick to tag."""
    from themes.config import settings

    full = load_corpus(settings().corpus_dir, show_progress=False)
    keep = full.reports["report_id"].iloc[:5]
    return Corpus(
        reports=full.reports[full.reports["report_id"].isin(keep)].reset_index(drop=True),
        passages=full.passages[full.passages["report_id"].isin(keep)].reset_index(drop=True),
        recommendations=full.recommendations[
            full.recommendations["report_id"].isin(keep)
        ].reset_index(drop=True),
        errors=full.errors.iloc[:0],
    )


@pytest.fixture(scope="module")
def models():
    return load_models()


@pytest.fixture(scope="module")
def reference(corpus_slice, models):
    return tag_corpus(corpus_slice, models=models, n_jobs=1)


@pytest.mark.parametrize("n_jobs, chunk", [(1, 97), (1, 1), (2, 20_000), (2, 60)])
def test_chunks_and_workers_do_not_change_the_tables(
    corpus_slice, models, reference, n_jobs, chunk
):
    if chunk == 1:  # one passage per chunk: only a prefix, or the test would be slow
        keep = corpus_slice.reports["report_id"].iloc[:1]
        small = Corpus(
            reports=corpus_slice.reports[corpus_slice.reports["report_id"].isin(keep)],
            passages=corpus_slice.passages[corpus_slice.passages["report_id"].isin(keep)],
            recommendations=corpus_slice.recommendations.iloc[:0],
            errors=corpus_slice.errors,
        )
        expected = tag_corpus(small, models=models, n_jobs=1)
        got = tag_corpus(small, models=models, n_jobs=1, chunk_passages=1)
    else:
        expected = reference
        got = tag_corpus(corpus_slice, models=models, n_jobs=n_jobs, chunk_passages=chunk)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(expected, name), getattr(got, name))


def test_input_tables_are_not_modified(corpus_slice, models):
    before = corpus_slice.passages.copy()
    tag_corpus(corpus_slice, models=models, n_jobs=1, chunk_passages=100)
    pd.testing.assert_frame_equal(before, corpus_slice.passages)


def test_chunk_bounds_cover_every_passage_once():
    for n, jobs, size in [(0, 1, 10), (1, 1, 10), (10, 1, 3), (10, 2, 100), (7, 4, 2)]:
        bounds = _chunk_bounds(n, jobs, size)
        covered = [i for a, b in bounds for i in range(a, b)]
        assert covered == list(range(n))
        assert all(b - a <= size for a, b in bounds)
    assert len(_chunk_bounds(100, 2, 20_000)) == 2  # both workers get work


def test_rule_mentions_are_in_the_same_order_in_every_process(tmp_path):
    """String hashing is salted per process; the mention order must not depend on it."""
    script = (
        "import sys; from themes.tagging import RuleTagger; "
        "m = RuleTagger().predict_mentions([sys.argv[1]]); "
        "print(m[['theme_id', 'start', 'polarity']].to_csv(index=False))"
    )
    text = (
        "There was no evidence of domestic abuse, but the health visitor did not share "
        "information with the school; supervision and training were poor and the father "
        "was not assessed. Neglect, poor home conditions and debt were known to housing."
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, text],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop().count("\n") > 4  # several mentions, so order could have differed
