"""Exact, faster ``transform`` for fitted scikit-learn TF-IDF vectorisers.

Tagging a national corpus (about a million passages) spends most of its time in
``TfidfVectorizer.transform``: scikit-learn builds every word and character n-gram of every
passage as a Python string and looks each one up in the vocabulary. This module computes the
*same matrix* with less Python per token:

- ``char_wb`` n-grams depend only on the word they come from, so each distinct word is analysed
  once and remembered as the array of vocabulary columns of its n-grams (words repeat heavily in
  any corpus, so almost every word is a dictionary hit);
- word n-grams are encoded as integers (one id per vocabulary word, ``n`` ids combined in base
  ``B``) and looked up in a sorted key array with :func:`numpy.searchsorted` instead of joining
  strings.

Counts, sublinear tf, idf and the l2 norm are then applied by the vectoriser's own fitted
``TfidfTransformer``, so the result equals scikit-learn's to the last bit (tests compare them on
the bundled corpus). Vectorisers configured in ways this path does not reproduce (custom
analyser, preprocessor, tokenizer, stop words, accent stripping, binary counts, no lowercasing)
fall back to scikit-learn's own ``transform``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

# Distinct words whose char n-gram columns are remembered; beyond this the memo is reset so a
# long-running process cannot grow without bound (a national corpus has ~10^5 distinct words).
CHAR_MEMO_MAX_WORDS = 1_000_000
# Passages transformed per block: bounds the temporary integer arrays of the word path.
BLOCK_SIZE = 20_000

_FAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def supported(vectorizer) -> bool:  # noqa: ANN001
    """True when :func:`transform` reproduces ``vectorizer.transform`` exactly."""
    p = vectorizer.get_params()
    return (
        hasattr(vectorizer, "vocabulary_")
        and hasattr(vectorizer, "_tfidf")
        and p["analyzer"] in {"word", "char_wb"}
        and p["input"] == "content"
        and p["lowercase"]
        and p["preprocessor"] is None
        and p["tokenizer"] is None
        and p["stop_words"] is None
        and p["strip_accents"] is None
        and not p["binary"]
        and (p["analyzer"] == "char_wb" or re.compile(p["token_pattern"]).groups == 0)
    )


def transform(vectorizer, texts: Sequence[str]):  # noqa: ANN001, ANN201
    """``vectorizer.transform(texts)``, computed faster when the configuration allows.

    Args:
        vectorizer: A fitted :class:`sklearn.feature_extraction.text.TfidfVectorizer`.
        texts: Documents (strings).

    Returns:
        The TF-IDF matrix (CSR, the vectoriser's dtype), equal to scikit-learn's; an empty
        matrix for no texts (where scikit-learn raises).
    """
    if not supported(vectorizer):
        return vectorizer.transform(texts)
    fast = _FAST.get(vectorizer)
    if fast is None:
        fast = _CharWb(vectorizer) if vectorizer.analyzer == "char_wb" else _WordNgrams(vectorizer)
        _FAST[vectorizer] = fast
    texts = [str(t) for t in texts]
    if not texts:  # scikit-learn refuses an empty batch; an empty matrix is more useful
        return sp.csr_matrix((0, len(vectorizer.vocabulary_)), dtype=vectorizer.dtype)
    blocks = [
        fast.counts(texts[start : start + BLOCK_SIZE]) for start in range(0, len(texts), BLOCK_SIZE)
    ]
    counts = blocks[0] if len(blocks) == 1 else sp.vstack(blocks, format="csr")
    return vectorizer._tfidf.transform(counts, copy=False)


def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int, dtype) -> sp.csr_array:  # noqa: ANN001
    """Count matrix from (row, col) occurrences: duplicates summed, indices sorted."""
    matrix = sp.csr_array(
        (np.ones(len(rows), dtype=dtype), (rows, cols)), shape=(n_rows, n_cols), dtype=dtype
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


class _CharWb:
    """``char_wb`` counts with a per-word memo of vocabulary columns."""

    def __init__(self, vectorizer):  # noqa: ANN001
        self.vocabulary = vectorizer.vocabulary_
        self.min_n, self.max_n = vectorizer.ngram_range
        self.n_cols = len(self.vocabulary)
        self.dtype = vectorizer.dtype
        self.memo: dict[str, np.ndarray] = {}

    def _columns(self, word: str) -> np.ndarray:
        # Mirrors sklearn's _char_wb_ngrams for one word, keeping only in-vocabulary n-grams.
        w = " " + word + " "
        w_len = len(w)
        get = self.vocabulary.get
        found = []
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            column = get(w[0:n])
            if column is not None:
                found.append(column)
            while offset + n < w_len:
                offset += 1
                column = get(w[offset : offset + n])
                if column is not None:
                    found.append(column)
            if offset == 0:
                break
        return np.asarray(found, dtype=np.int64)

    def counts(self, texts: list[str]) -> sp.csr_array:
        memo = self.memo
        if len(memo) > CHAR_MEMO_MAX_WORDS:
            memo.clear()
        pieces: list[np.ndarray] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            total = 0
            # sklearn collapses whitespace runs before split(); split() alone gives the same words.
            for word in text.lower().split():
                columns = memo.get(word)
                if columns is None:
                    columns = memo[word] = self._columns(word)
                pieces.append(columns)
                total += len(columns)
            lengths[i] = total
        cols = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts)), lengths)
        return _csr(rows, cols, len(texts), self.n_cols, self.dtype)


class _WordNgrams:
    """Word n-gram counts through integer keys instead of joined strings."""

    def __init__(self, vectorizer):  # noqa: ANN001
        self.pattern = re.compile(vectorizer.token_pattern)
        self.min_n, self.max_n = vectorizer.ngram_range
        self.n_cols = len(vectorizer.vocabulary_)
        self.dtype = vectorizer.dtype
        # Only words that occur inside some vocabulary n-gram can contribute; all others get -1.
        self.word_id: dict[str, int] = {}
        for term in vectorizer.vocabulary_:
            for word in term.split(" "):
                self.word_id.setdefault(word, len(self.word_id))
        self.base = len(self.word_id) + 1
        if self.base**self.max_n >= 2**62:
            raise OverflowError("vocabulary too large for integer n-gram keys")
        by_n: dict[int, list[tuple[int, int]]] = {}
        for term, column in vectorizer.vocabulary_.items():
            ids = [self.word_id[w] for w in term.split(" ")]
            by_n.setdefault(len(ids), []).append((self._key(ids), column))
        self.keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n, pairs in by_n.items():
            pairs.sort()
            self.keys[n] = (
                np.asarray([k for k, _ in pairs], dtype=np.int64),
                np.asarray([c for _, c in pairs], dtype=np.int64),
            )

    def _key(self, ids: list[int]) -> int:
        key = 0
        for i in ids:
            key = key * self.base + i
        return key

    def counts(self, texts: list[str]) -> sp.csr_array:
        findall = self.pattern.findall
        get = self.word_id.get
        ids_per_text = [[get(t, -1) for t in findall(text.lower())] for text in texts]
        lengths = np.fromiter((len(x) for x in ids_per_text), dtype=np.int64, count=len(texts))
        ids = np.fromiter(
            (i for x in ids_per_text for i in x), dtype=np.int64, count=int(lengths.sum())
        )
        doc = np.repeat(np.arange(len(texts)), lengths)
        rows_out: list[np.ndarray] = []
        cols_out: list[np.ndarray] = []
        for n in range(self.min_n, self.max_n + 1):
            if n not in self.keys or len(ids) < n:
                continue
            m = len(ids) - n + 1
            key = np.zeros(m, dtype=np.int64)
            valid = doc[:m] == doc[n - 1 :]  # the n-gram stays inside one passage
            for k in range(n):
                part = ids[k : k + m]
                valid &= part >= 0
                key = key * self.base + np.where(part >= 0, part, 0)
            sorted_keys, columns = self.keys[n]
            where = np.flatnonzero(valid)
            pos = np.searchsorted(sorted_keys, key[where])
            pos_clipped = np.minimum(pos, len(sorted_keys) - 1)
            hit = sorted_keys[pos_clipped] == key[where]
            rows_out.append(doc[where[hit]])
            cols_out.append(columns[pos_clipped[hit]])
        rows = np.concatenate(rows_out) if rows_out else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(cols_out) if cols_out else np.zeros(0, dtype=np.int64)
        return _csr(rows, cols, len(texts), self.n_cols, self.dtype)
