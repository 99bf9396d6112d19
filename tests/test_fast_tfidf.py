"""themes.fast_tfidf gives scikit-learn's TF-IDF matrix exactly, only faster."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from themes import fast_tfidf

TRAIN = [
    "The health visitor did not share the referral with children's social care.",
    "Information sharing between agencies was poor; the GP was not invited.",
    "Domestic abuse was known to the police but not to the school.",
    "No evidence of domestic abuse was found. The school shared information promptly.",
    "Lockdown closed the school and the family was not seen for six weeks.",
    "The father was not assessed; he was 'written out' of the plan.",
] * 2
TRICKY = [
    "",
    "   ",
    "a",
    "I",
    "Ω ΣΟΦΟΣ ΟΔΟΣ naïve café — x-y",
    "the the the the the",
    "information\tsharing\n\nbetween   agencies",
    "domestic abuse domestic abuse",
    "NO EVIDENCE of DOMESTIC ABUSE",
    "ﬁle ligature and soft\xadhyphen and 123 4567",
]


def _fitted(**params) -> TfidfVectorizer:
    return TfidfVectorizer(min_df=1, sublinear_tf=True, dtype=np.float32, **params).fit(TRAIN)


VECTORIZERS = {
    "word 1-2": dict(ngram_range=(1, 2)),
    "word 1-3": dict(ngram_range=(1, 3)),
    "word 2-3": dict(ngram_range=(2, 3)),
    "char_wb 3-5": dict(analyzer="char_wb", ngram_range=(3, 5)),
    "char_wb 1-2": dict(analyzer="char_wb", ngram_range=(1, 2)),
    "capped": dict(ngram_range=(1, 2), max_features=20),
}


def _assert_same(vectorizer, texts):
    expected = vectorizer.transform(texts)
    got = fast_tfidf.transform(vectorizer, texts)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    assert (got != expected).nnz == 0


@pytest.mark.parametrize("name", sorted(VECTORIZERS))
def test_matches_sklearn_exactly_on_ordinary_and_awkward_text(name):
    vectorizer = _fitted(**VECTORIZERS[name])
    assert fast_tfidf.supported(vectorizer)
    _assert_same(vectorizer, TRAIN + TRICKY)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=6))
def test_matches_sklearn_exactly_on_arbitrary_unicode(texts):
    for params in (VECTORIZERS["word 1-3"], VECTORIZERS["char_wb 3-5"]):
        _assert_same(_fitted(**params), texts)


def test_blocks_give_the_same_matrix_as_one_pass(monkeypatch):
    vectorizer = _fitted(ngram_range=(1, 2))
    expected = vectorizer.transform(TRAIN + TRICKY)
    monkeypatch.setattr(fast_tfidf, "BLOCK_SIZE", 3)
    assert (fast_tfidf.transform(vectorizer, TRAIN + TRICKY) != expected).nnz == 0


def test_no_texts_give_an_empty_matrix():
    vectorizer = _fitted(analyzer="char_wb", ngram_range=(3, 5))
    assert fast_tfidf.transform(vectorizer, []).shape == (0, len(vectorizer.vocabulary_))


@pytest.mark.parametrize(
    "params",
    [
        dict(stop_words="english"),
        dict(lowercase=False),
        dict(strip_accents="unicode"),
        dict(binary=True),
        dict(analyzer="char", ngram_range=(2, 3)),
        dict(token_pattern=r"(\w+)"),
    ],
)
def test_unsupported_settings_fall_back_to_sklearn(params):
    vectorizer = _fitted(**params)
    assert not fast_tfidf.supported(vectorizer)
    _assert_same(vectorizer, TRAIN + TRICKY)


def test_the_shipped_models_are_on_the_fast_path():
    from themes.tagging import _tfidfs, load_models

    models = load_models()
    tfidfs = _tfidfs(models["themes"].vectorizer_) + _tfidfs(models["polarity"].pipeline_[0])
    assert len(tfidfs) == 4  # word and char blocks of the theme and the polarity models
    assert all(fast_tfidf.supported(v) for v in tfidfs)
    texts = [
        "There was no evidence of domestic abuse.",
        "Professionals did not share information about the father's violence.",
    ]
    for vectorizer in tfidfs:
        _assert_same(vectorizer, texts)
