"""Tag passages with codebook themes: spaCy rules with polarity, a learned classifier, and both.

Three taggers share one output shape:

- **rules** (:class:`RuleTagger`): a blank spaCy pipeline (tokenizer, sentencizer, a lowercase
  lookup lemmatizer) and phrase/token matchers built from the codebook. Every match is a mention
  with a theme, a polarity (``concern``, ``good_practice`` or ``absent``), the matched words and
  their character offsets, so each count can be traced to its sentence.
- **classifier** (:class:`ThemeClassifier`): TF-IDF word and character n-grams, one logistic
  regression per theme, thresholds tuned on the dev split. It reads paraphrase the rules miss.
- **combined**: the decision rule documented in :func:`combine_decisions`.

Recommendation types use the same machinery on passages from recommendations sections.

Examples:
    >>> tagger = RuleTagger()
    >>> frame = tagger.predict_mentions(["There was no evidence of domestic abuse."])
    >>> frame[["theme_id", "polarity", "evidence"]].values.tolist()
    [['domestic_abuse', 'absent', 'domestic abuse']]
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from themes.errors import ThemesError

__all__ = [
    "MENTION_COLUMNS",
    "PolarityClassifier",
    "RuleTagger",
    "ThemeClassifier",
    "build_nlp",
    "combine_decisions",
    "evaluate",
    "load_models",
    "tag_texts",
    "train",
]

MENTION_COLUMNS: tuple[str, ...] = (
    "text_index",
    "kind",
    "theme_id",
    "polarity",
    "evidence",
    "start",
    "end",
    "sentence",
    "section_type",
    "counted",
    "method",
)
POLARITIES: tuple[str, ...] = ("concern", "good_practice", "absent")
# Passage roles that are evaluation units, and sections excluded from theme evaluation.
UNIT_ROLES = frozenset({"body", "chronology_row"})
EXCLUDED_UNIT_SECTIONS = frozenset({"terms_of_reference", "glossary", "references"})
RECOMMENDATION_SECTIONS = frozenset({"recommendations"})
MODEL_NAME = "theme-classifier"

# Words that end the scope of an "absent" cue: "no evidence of X, but Y" does not negate Y.
_CLAUSE_BREAKS = frozenset(
    {";", ":", "but", "although", "though", "however", "whereas", "while", "yet", "despite",
     "except", "nevertheless", "instead"}
)
# A good-practice cue right after one of these is negated ("not effective", "never timely").
_NEGATORS = frozenset({"not", "never", "n't", "no", "nor", "less", "lack", "lacked", "without"})

_LEMMA_FACTORY = "themes_lower_lemma"
_MATCHER_FACTORY = "themes_rule_matcher"


# --------------------------------------------------------------------------------------------------
# 1. spaCy pipeline


@lru_cache(maxsize=1)
def _lemma_table() -> dict[str, str]:
    """The English lemma lookup table from spacy-lookups-data (read offline from the package)."""
    from spacy.lookups import load_lookups

    table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    return dict(table.items()) if hasattr(table, "items") else table


def _register_factories() -> None:
    from spacy.language import Language

    if not Language.has_factory(_LEMMA_FACTORY):

        @Language.factory(_LEMMA_FACTORY)
        def _make_lemma(nlp, name):  # noqa: ANN001, ANN202
            return _LowerLookupLemmatizer(nlp.vocab)

    if not Language.has_factory(_MATCHER_FACTORY):

        @Language.factory(_MATCHER_FACTORY)
        def _make_matcher(nlp, name):  # noqa: ANN001, ANN202
            return _RuleMatcher(nlp.vocab)


class _LowerLookupLemmatizer:
    """Set ``LEMMA`` to the lowercase lookup lemma of each token.

    spaCy's own lookup lemmatizer looks up the token text as written, so a sentence-initial
    "Shared" keeps its capital and misses the table. Looking up the lowercase form makes lemma
    matching case-insensitive; a per-hash cache and ``Doc.from_array`` keep it cheap.
    """

    def __init__(self, vocab):  # noqa: ANN001
        self.vocab = vocab
        self.table = _lemma_table()
        self.cache: dict[int, int] = {}

    def __call__(self, doc):  # noqa: ANN001, ANN204
        from spacy.attrs import LEMMA, LOWER

        if not len(doc):
            return doc
        lowers = doc.to_array(LOWER)
        cache = self.cache
        out = np.empty(len(lowers), dtype="uint64")
        for i, key in enumerate(lowers.tolist()):
            lemma = cache.get(key)
            if lemma is None:
                text = self.vocab.strings[key]
                lemma = self.vocab.strings.add(self.table.get(text, text))
                cache[key] = lemma
            out[i] = lemma
        doc.from_array([LEMMA], out.reshape(-1, 1))
        return doc


class _RuleMatcher:
    """Hold the codebook's matchers; store raw matches on ``doc.user_data['themes_matches']``.

    Match keys are ``"<role>|<id>"`` strings: ``T`` inclusion term or pattern, ``X`` exclusion
    term or pattern, ``C`` exclusion context, ``P`` polarity cue (id = cue class).
    """

    def __init__(self, vocab):  # noqa: ANN001
        self.vocab = vocab
        self.matchers: list[Any] = []

    def build(self, nlp, codebook, lemmatize: bool) -> None:  # noqa: ANN001
        from spacy.matcher import Matcher, PhraseMatcher

        def docs(phrases: Iterable[str]) -> list:
            phrases = list(phrases)
            if lemmatize:
                return list(nlp.pipe(phrases, disable=[_MATCHER_FACTORY, "sentencizer"]))
            return [nlp.make_doc(p) for p in phrases]

        by_lemma = PhraseMatcher(nlp.vocab, attr="LEMMA" if lemmatize else "LOWER")
        by_lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        tokens = Matcher(nlp.vocab)
        entries = [*codebook.themes, *codebook.recommendation_types]
        for entry in entries:
            for key, phrases in (
                (f"T|{entry.id}", entry.terms),
                (f"X|{entry.id}", entry.exclude_terms),
                (f"C|{entry.id}", entry.exclude_context),
            ):
                if phrases:
                    by_lemma.add(key, docs(phrases))
                    by_lower.add(key, [nlp.make_doc(p.lower()) for p in phrases])
            for key, patterns in (
                (f"T|{entry.id}", entry.token_patterns),
                (f"X|{entry.id}", entry.exclude_patterns),
            ):
                if patterns:
                    tokens.add(key, [_portable_pattern(p, lemmatize) for p in patterns])
        cues = codebook.polarity_cues
        for name in ("absent", "good_practice", "concern"):
            phrases = getattr(cues, name)
            by_lemma.add(f"P|{name}", docs(phrases))
            by_lower.add(f"P|{name}", [nlp.make_doc(p.lower()) for p in phrases])
        self.matchers = [by_lemma, by_lower, tokens] if lemmatize else [by_lower, tokens]

    def __call__(self, doc):  # noqa: ANN001, ANN204
        strings = self.vocab.strings
        found: set[tuple[str, int, int]] = set()
        for matcher in self.matchers:
            for match_id, start, end in matcher(doc):
                found.add((strings[match_id], start, end))
        doc.user_data["themes_matches"] = found
        return doc


def _portable_pattern(pattern: list[dict[str, Any]], lemmatize: bool) -> list[dict[str, Any]]:
    """Without lemmas, match LEMMA keys on LOWER (the patterns list surface forms too)."""
    if lemmatize:
        return pattern
    return [{("LOWER" if k == "LEMMA" else k): v for k, v in tok.items()} for tok in pattern]


def build_nlp(codebook=None, *, lemmatize: bool = True):  # noqa: ANN001, ANN201
    """Build the one spaCy pipeline the rule tagger uses.

    The pipeline is ``spacy.blank("en")`` + ``sentencizer`` + (if ``lemmatize``) a lowercase lookup
    lemmatizer fed by spacy-lookups-data (offline) + a matcher component built from the codebook:
    a PhraseMatcher on lowercase lemmas for ``terms`` (the term phrases are lemmatised by the same
    pipeline), a PhraseMatcher on ``LOWER`` as a fallback (abbreviations, lemmatiser quirks), a
    Matcher for ``token_patterns``, and the same for exclusions, exclusion contexts and polarity
    cues. Raw matches land in ``doc.user_data["themes_matches"]``.

    Args:
        codebook: A :class:`~themes.codebook.Codebook`; ``None`` loads the packaged one.
        lemmatize: Match terms on lemmas (slower, covers inflections) or on lowercase words only.

    Returns:
        A ``spacy.language.Language``; stream texts through it with
        ``nlp.pipe(texts, batch_size=1000)``.

    Examples:
        >>> nlp = build_nlp()
        >>> nlp.pipe_names
        ['sentencizer', 'themes_lower_lemma', 'themes_rule_matcher']
    """
    import spacy

    from themes.codebook import load_codebook

    codebook = codebook or load_codebook()
    _register_factories()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    if lemmatize:
        nlp.add_pipe(_LEMMA_FACTORY)
    matcher = nlp.add_pipe(_MATCHER_FACTORY)
    matcher.build(nlp, codebook, lemmatize)
    return nlp


# --------------------------------------------------------------------------------------------------
# 2. rule tagger


def _filter_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep the longest, then earliest, of overlapping (start, end) token spans."""
    kept: list[tuple[int, int]] = []
    taken: set[int] = set()
    for start, end in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
        if not any(i in taken for i in range(start, end)):
            kept.append((start, end))
            taken.update(range(start, end))
    return sorted(kept)


def _has_break(doc, start: int, end: int) -> bool:  # noqa: ANN001
    return any(doc[i].lower_ in _CLAUSE_BREAKS for i in range(start, end))


class RuleTagger(BaseEstimator):
    """Codebook rules with polarity and section policy, in the scikit-learn style.

    Polarity of a mention, decided inside its sentence: an ``absent`` cue ("no evidence of",
    "there was no") that ends before the mention with no clause break between (";", "but",
    "although", ...) gives ``absent``; else a ``good_practice`` cue not preceded by a negator and
    with no ``concern`` cue in the sentence gives ``good_practice``; else ``concern``.

    Section policy: passages from the codebook's ``never_tag`` sections give no mentions;
    ``flag_only`` sections (terms of reference) give mentions with ``counted=False``. Theme
    mentions in recommendations sections are not counted either (recommendations are not
    findings); recommendation types are tagged only there. A theme match overlapping one of the
    theme's ``exclude_terms``/``exclude_patterns``, or in a sentence holding one of its
    ``exclude_context`` phrases, is dropped.

    Args:
        codebook: Codebook to use; ``None`` loads the packaged one (at first use, not here).
        lemmatize: Match terms on lemmas.
        batch_size: ``nlp.pipe`` batch size.

    Examples:
        >>> RuleTagger().predict_mentions(["Information was shared promptly."]).polarity.tolist()
        ['good_practice']
    """

    def __init__(self, codebook=None, *, lemmatize: bool = True, batch_size: int = 1000):  # noqa: ANN001
        self.codebook = codebook
        self.lemmatize = lemmatize
        self.batch_size = batch_size

    def fit(self, texts=None, y=None):  # noqa: ANN001, ANN201
        """Do nothing (rules are not learned); returns ``self``."""
        return self

    def _pipeline(self):  # noqa: ANN202
        key = (id(self.codebook), self.lemmatize)
        cached = getattr(self, "_nlp_cache", None)
        if cached is None or cached[0] != key:
            from themes.codebook import load_codebook

            codebook = self.codebook or load_codebook()
            self._nlp_cache = (key, build_nlp(codebook, lemmatize=self.lemmatize), codebook)
        return self._nlp_cache[1], self._nlp_cache[2]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_nlp_cache", None)
        return state

    def predict_mentions(
        self, texts: Sequence[str], section_types: Sequence[str | None] | None = None
    ) -> pd.DataFrame:
        """Return one row per mention found in ``texts``.

        Args:
            texts: Passage texts.
            section_types: Section type per text (``None`` entries are treated as body text).

        Returns:
            A DataFrame with :data:`MENTION_COLUMNS`: ``text_index`` (position in ``texts``),
            ``kind`` (``theme`` or ``rec_type``), ``theme_id``, ``polarity``, ``evidence`` (the
            matched words, ``text[start:end]``), ``start``/``end`` (character offsets),
            ``sentence``, ``section_type``, ``counted`` (false for terms of reference and theme
            mentions in recommendations) and ``method`` (``rules``).

        Examples:
            >>> RuleTagger().predict_mentions(["Read the glossary."], ["glossary"]).shape[0]
            0
        """
        nlp, codebook = self._pipeline()
        texts = list(texts)
        sections = list(section_types) if section_types is not None else [None] * len(texts)
        if len(sections) != len(texts):
            raise ThemesError(f"got {len(texts)} texts but {len(sections)} section types")
        never = set(codebook.section_policy.never_tag)
        flag = set(codebook.section_policy.flag_only)
        rec_ids = set(codebook.rec_type_ids)
        rows: list[dict[str, Any]] = []
        for index, (doc, section) in enumerate(
            zip(nlp.pipe(texts, batch_size=self.batch_size), sections, strict=True)
        ):
            if section in never:
                continue
            in_recs = section in RECOMMENDATION_SECTIONS
            for row in _doc_mentions(doc, rec_ids, want_recs=in_recs):
                row["text_index"] = index
                row["section_type"] = section
                row["counted"] = section not in flag and (row["kind"] == "rec_type" or not in_recs)
                rows.append(row)
        frame = pd.DataFrame(rows, columns=list(MENTION_COLUMNS))
        return frame.astype({"text_index": "int64", "start": "int64", "end": "int64"})


def _doc_mentions(doc, rec_ids: set[str], *, want_recs: bool) -> list[dict[str, Any]]:  # noqa: ANN001
    matches = doc.user_data.get("themes_matches", set())
    if not matches:
        return []
    terms: dict[str, list[tuple[int, int]]] = {}
    excl: dict[str, list[tuple[int, int]]] = {}
    context: dict[str, list[int]] = {}
    cues: dict[str, list[tuple[int, int]]] = {"absent": [], "good_practice": [], "concern": []}
    for key, start, end in matches:
        role, entry_id = key.split("|", 1)
        if role == "T":
            if (entry_id in rec_ids) == want_recs:
                terms.setdefault(entry_id, []).append((start, end))
        elif role == "X":
            excl.setdefault(entry_id, []).append((start, end))
        elif role == "C":
            context.setdefault(entry_id, []).append(start)
        else:
            cues[entry_id].append((start, end))
    rows = []
    for entry_id, spans in terms.items():
        for start, end in _filter_overlaps(spans):
            if any(s < end and start < e for s, e in excl.get(entry_id, ())):
                continue
            sent = doc[start].sent
            if any(sent.start <= c < sent.end for c in context.get(entry_id, ())):
                continue
            span = doc[start:end]
            rows.append(
                {
                    "kind": "rec_type" if entry_id in rec_ids else "theme",
                    "theme_id": entry_id,
                    "polarity": _polarity(doc, sent, start, end, cues),
                    "evidence": span.text,
                    "start": span.start_char,
                    "end": span.end_char,
                    "sentence": sent.text,
                    "method": "rules",
                }
            )
    return rows


def _polarity(doc, sent, start: int, end: int, cues: dict[str, list[tuple[int, int]]]) -> str:  # noqa: ANN001
    for c_start, c_end in cues["absent"]:
        if sent.start <= c_start and c_end <= start and not _has_break(doc, c_end, start):
            return "absent"
    in_sentence = [
        (s, e) for s, e in cues["concern"] if sent.start <= s < sent.end and not (start <= s < end)
    ]
    if not in_sentence:
        for c_start, _ in cues["good_practice"]:
            if sent.start <= c_start < sent.end:
                before = doc[c_start - 1].lower_ if c_start > sent.start else ""
                if before not in _NEGATORS:
                    return "good_practice"
    return "concern"


# --------------------------------------------------------------------------------------------------
# 3. classifiers


def _vectorizer(max_features: int | None):  # noqa: ANN202
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    min_df=2,
                    sublinear_tf=True,
                    max_features=max_features,
                ),
            ),
        ]
    )


def _best_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Threshold on ``scores`` that maximises F1 for one label (0.5 when there are no positives)."""
    positives = int(y_true.sum())
    if positives == 0:
        return 0.5
    order = np.argsort(-scores)
    sorted_scores, sorted_true = scores[order], y_true[order]
    tp = np.cumsum(sorted_true)
    k = np.arange(1, len(scores) + 1)
    f1 = 2 * tp / (k + positives)
    # only cut between distinct scores
    distinct = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    best = int(np.argmax(np.where(distinct, f1, -1)))
    upper = sorted_scores[best]
    lower = sorted_scores[best + 1] if best + 1 < len(scores) else upper - 1e-3
    return float(np.clip((upper + lower) / 2, 0.05, 0.95))


def _as_indicator(y, classes: Sequence[str]) -> np.ndarray:  # noqa: ANN001
    """Label lists (or a 0/1 matrix) to a 0/1 matrix with one column per class."""
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return y.astype(int)
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(y), len(classes)), dtype=int)
    for row, labels in enumerate(y):
        for label in labels:
            if label in index:
                out[row, index[label]] = 1
    return out


class ThemeClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label passage classifier: TF-IDF n-grams, one logistic regression per label.

    Features are word 1-2-grams and ``char_wb`` 3-5-grams (TF-IDF, sublinear). Each label gets a
    ``LogisticRegression(class_weight="balanced")``; its decision threshold is tuned to maximise
    F1 on held-out data passed as ``X_dev``/``Y_dev`` (0.5 without it). Used for the 35 themes and,
    with ``labels`` set to the recommendation-type ids, for recommendation types.

    Args:
        labels: Label ids (column order of ``Y``); ``None`` uses the codebook's theme ids.
        C: Inverse regularisation strength of each logistic regression.
        max_features: Cap on each vectoriser's vocabulary (``None`` for no cap).
        random_state: Seed for the solvers.

    Attributes:
        classes_: Label ids, in column order.
        vectorizer_: The fitted feature union.
        estimators_: One fitted logistic regression per label (``None`` for a label never seen).
        thresholds_: Per-label probability thresholds.

    Examples:
        >>> clf = ThemeClassifier(labels=["covid_19", "neglect"])
        >>> clf = clf.fit(["lockdown closed the school", "the home was dirty and cold"] * 3,
        ...               [["covid_19"], ["neglect"]] * 3)
        >>> clf.predict(["during lockdown"]).tolist()
        [[1, 0]]
    """

    def __init__(
        self,
        labels: Sequence[str] | None = None,
        *,
        C: float = 10.0,
        max_features: int | None = None,
        random_state: int | None = 0,
    ):
        self.labels = labels
        self.C = C
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, X, Y, X_dev=None, Y_dev=None):  # noqa: ANN001, ANN201, N803
        """Fit the vectoriser and one model per label; tune thresholds on ``X_dev``/``Y_dev``.

        Args:
            X: Passage texts.
            Y: Label lists per passage, or a 0/1 matrix with one column per label.
            X_dev: Optional held-out texts for threshold tuning.
            Y_dev: Their labels.

        Returns:
            ``self``.
        """
        from sklearn.linear_model import LogisticRegression

        if self.labels is None:
            from themes.codebook import load_codebook

            self.classes_ = list(load_codebook().theme_ids)
        else:
            self.classes_ = list(self.labels)
        texts = [str(t) for t in X]
        indicator = _as_indicator(Y, self.classes_)
        self.vectorizer_ = _vectorizer(self.max_features)
        features = self.vectorizer_.fit_transform(texts)
        self.estimators_ = []
        for column in range(len(self.classes_)):
            target = indicator[:, column]
            if target.min() == target.max():
                self.estimators_.append(None)
                continue
            model = LogisticRegression(
                C=self.C,
                class_weight="balanced",
                solver="liblinear",
                random_state=self.random_state,
            )
            self.estimators_.append(model.fit(features, target))
        self.thresholds_ = [0.5] * len(self.classes_)
        if X_dev is not None and Y_dev is not None:
            self.tune_thresholds(X_dev, Y_dev)
        return self

    def tune_thresholds(self, X, Y):  # noqa: ANN001, ANN201, N803
        """Set ``thresholds_`` to the per-label F1-optimal cut on held-out data; returns self."""
        check_is_fitted(self, "estimators_")
        proba = self.predict_proba(X)
        indicator = _as_indicator(Y, self.classes_)
        self.thresholds_ = [
            _best_threshold(indicator[:, j], proba[:, j]) for j in range(len(self.classes_))
        ]
        return self

    def predict_proba(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Probability of each label per passage, shape ``(n_texts, n_labels)``."""
        check_is_fitted(self, "estimators_")
        features = self.vectorizer_.transform([str(t) for t in X])
        out = np.zeros((features.shape[0], len(self.classes_)))
        for j, model in enumerate(self.estimators_):
            if model is not None:
                out[:, j] = model.predict_proba(features)[:, 1]
        return out

    def predict(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """0/1 matrix of labels per passage (probability at or above the label's threshold)."""
        return (self.predict_proba(X) >= np.asarray(self.thresholds_)).astype(int)

    def predict_labels(self, X) -> list[list[str]]:  # noqa: ANN001, N803
        """Label ids per passage."""
        return [[c for c, v in zip(self.classes_, row, strict=True) if v] for row in self.predict(X)]


class PolarityClassifier(ClassifierMixin, BaseEstimator):
    """Polarity (concern, good_practice, absent) of a theme in a passage.

    Input is ``"<theme_id> || <passage text>"`` so one multinomial model serves all themes;
    the features are word 1-3-grams (TF-IDF), the model a logistic regression.

    Args:
        C: Inverse regularisation strength.
        random_state: Seed for the solver.

    Attributes:
        classes_: Polarity values.
        pipeline_: The fitted vectoriser + model.
    """

    def __init__(self, *, C: float = 10.0, random_state: int | None = 0):
        self.C = C
        self.random_state = random_state

    def fit(self, X, y):  # noqa: ANN001, ANN201, N803
        """Fit on ``"<theme_id> || text"`` strings and polarity labels; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline_ = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 3), min_df=1, sublinear_tf=True),
            LogisticRegression(
                C=self.C, class_weight="balanced", max_iter=2000, random_state=self.random_state
            ),
        )
        self.pipeline_.fit([str(x) for x in X], list(y))
        self.classes_ = list(self.pipeline_.classes_)
        return self

    def predict(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Polarity per input string."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict([str(x) for x in X])

    def predict_proba(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Polarity probabilities per input string (columns follow ``classes_``)."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba([str(x) for x in X])


def _polarity_input(theme_id: str, text: str) -> str:
    return f"{theme_id} || {text}"


# --------------------------------------------------------------------------------------------------
# 4. combining rules and classifier


def _rule_decisions(mentions: pd.DataFrame, n: int, kind: str = "theme") -> list[dict[str, str]]:
    """Per text: theme id -> passage polarity from its counted mentions.

    A passage's polarity for a theme is ``concern`` if any counted mention is a concern, else
    ``good_practice`` if any is, else ``absent``.
    """
    out: list[dict[str, str]] = [{} for _ in range(n)]
    if mentions.empty:
        return out
    rank = {"concern": 0, "good_practice": 1, "absent": 2}
    counted = mentions[(mentions["counted"]) & (mentions["kind"] == kind)]
    for row in counted.itertuples(index=False):
        current = out[row.text_index].get(row.theme_id)
        if current is None or rank[row.polarity] < rank[current]:
            out[row.text_index][row.theme_id] = row.polarity
    return out


def combine_decisions(
    rules: list[dict[str, str]],
    classifier: list[list[str]],
    polarity: list[dict[str, str]] | None = None,
    *,
    rule: str = "or",
) -> list[dict[str, str]]:
    """Combine rule and classifier decisions into theme -> polarity per passage.

    The combination rule (chosen on the dev split; see ``metrics.json``):

    - ``"or"`` (default): a passage has theme T if the classifier says so OR the rules find a
      counted mention of T (any polarity; an ``absent`` mention still means T is discussed).
    - ``"present_or"``: as ``"or"`` but a rule mention only adds T when it is a concern or
      good-practice mention.
    - ``"classifier"``: the classifier alone decides T; rules only give polarity.

    Polarity: the rules' passage polarity when they found T; else the polarity classifier's
    (``polarity``); else ``concern``.

    Args:
        rules: Per passage, theme id -> rule polarity (from counted mentions).
        classifier: Per passage, the classifier's theme ids.
        polarity: Per passage, theme id -> polarity from the polarity classifier.
        rule: ``"or"``, ``"present_or"`` or ``"classifier"``.

    Returns:
        Per passage, a dict theme id -> polarity.

    Examples:
        >>> combine_decisions([{"neglect": "absent"}], [["covid_19"]])
        [{'covid_19': 'concern', 'neglect': 'absent'}]
    """
    if rule not in {"or", "present_or", "classifier"}:
        raise ThemesError(f"unknown combination rule {rule!r}; use or, present_or or classifier")
    out = []
    for i, (by_rules, by_clf) in enumerate(zip(rules, classifier, strict=True)):
        pol = polarity[i] if polarity is not None else {}
        themes = set(by_clf)
        if rule == "or":
            themes |= set(by_rules)
        elif rule == "present_or":
            themes |= {t for t, p in by_rules.items() if p != "absent"}
        out.append(
            {t: by_rules.get(t) or pol.get(t) or "concern" for t in sorted(themes)}
        )
    return out


# --------------------------------------------------------------------------------------------------
# 5. models on disk


def _default_model_dir() -> Path:
    from themes.config import settings

    return settings().models_dir / MODEL_NAME


def _skops_load(path: Path):  # noqa: ANN202
    import skops.io as sio

    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def load_models(model_dir: str | Path | None = None) -> dict[str, Any]:
    """Load the trained theme, polarity and recommendation-type classifiers.

    Args:
        model_dir: Folder written by :func:`train`; ``None`` uses ``models/theme-classifier``.

    Returns:
        A dict with ``themes``, ``polarity`` and ``rec_types`` estimators and ``metrics`` (the
        parsed ``metrics.json``, including the combination rule).

    Raises:
        ThemesError: If the folder or a model file is missing.
    """
    folder = Path(model_dir) if model_dir else _default_model_dir()
    out: dict[str, Any] = {}
    for name in ("themes", "polarity", "rec_types"):
        path = folder / f"{name}.skops"
        if not path.exists():
            raise ThemesError(f"{path}: model file not found; run themes.tagging.train first")
        out[name] = _skops_load(path)
    metrics_path = folder / "metrics.json"
    out["metrics"] = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return out


def _normalise_records(texts_or_records: Iterable[Any]) -> list[dict[str, Any]]:
    records = []
    for i, item in enumerate(texts_or_records):
        if isinstance(item, str):
            records.append({"id": i, "text": item, "section_type": None})
        elif isinstance(item, dict):
            if "text" not in item:
                raise ThemesError(f"record {i} has no 'text' field")
            rid = item.get("id", item.get("passage_id", i))
            records.append({"id": rid, "text": item["text"], "section_type": item.get("section_type")})
        else:
            raise ThemesError(f"record {i}: expected a string or a dict, got {type(item).__name__}")
    return records


def tag_texts(
    texts_or_records: Iterable[Any],
    method: str = "combined",
    *,
    model_dir: str | Path | None = None,
    models: dict[str, Any] | None = None,
    tagger: RuleTagger | None = None,
) -> list[dict[str, Any]]:
    """Tag texts (or records with ``text``, optional ``id`` and ``section_type``).

    Args:
        texts_or_records: Strings, or dicts with ``text`` and optionally ``id``/``passage_id`` and
            ``section_type``.
        method: ``rules``, ``classifier`` or ``combined``.
        model_dir: Folder of trained models (for ``classifier``/``combined``).
        models: Already loaded models (as from :func:`load_models`); overrides ``model_dir``.
        tagger: A rule tagger to reuse.

    Returns:
        One dict per item: ``id``, ``themes`` (ids with at least one concern or good-practice
        mention or decision; recommendation-type ids for recommendations sections) and
        ``mentions`` (``theme_id``, ``polarity``, ``evidence``, ``start``, ``end``; classifier
        decisions have ``evidence`` ``None`` and offsets -1).

    Examples:
        >>> tag_texts(["There was no evidence of domestic abuse."], method="rules")[0]["themes"]
        []
    """
    if method not in {"rules", "classifier", "combined"}:
        raise ThemesError(f"unknown method {method!r}; use rules, classifier or combined")
    records = _normalise_records(texts_or_records)
    texts = [r["text"] for r in records]
    sections = [r["section_type"] for r in records]
    tagger = tagger or RuleTagger()
    mentions = tagger.predict_mentions(texts, sections)
    if method != "rules":
        models = models or load_models(model_dir)
    out = []
    by_text = {i: g for i, g in mentions.groupby("text_index")} if len(mentions) else {}
    decisions = _decide(texts, sections, mentions, method, models) if method != "rules" else None
    for i, record in enumerate(records):
        group = by_text.get(i)
        rule_mentions = []
        if group is not None:
            group = group[group["counted"]]
            rule_mentions = [
                {
                    "theme_id": m.theme_id,
                    "polarity": m.polarity,
                    "evidence": m.evidence,
                    "start": int(m.start),
                    "end": int(m.end),
                }
                for m in group.itertuples(index=False)
            ]
        if decisions is None:
            chosen = {}
            for m in rule_mentions:
                if m["polarity"] != "absent":
                    chosen[m["theme_id"]] = m["polarity"]
            themes = sorted(chosen)
            listed = rule_mentions
        else:
            chosen = decisions[i]
            themes = sorted(t for t, p in chosen.items() if p != "absent")
            ruled = {m["theme_id"] for m in rule_mentions}
            listed = [m for m in rule_mentions if m["theme_id"] in chosen] if method == "classifier" else list(rule_mentions)
            if method == "classifier":
                listed = []
            listed += [
                {"theme_id": t, "polarity": p, "evidence": None, "start": -1, "end": -1}
                for t, p in chosen.items()
                if t not in ruled or method == "classifier"
            ]
        out.append({"id": record["id"], "themes": themes, "mentions": listed})
    return out


def _decide(texts, sections, mentions, method, models) -> list[dict[str, str]]:  # noqa: ANN001
    """Theme (or rec-type) -> polarity per text for the classifier or combined method."""
    n = len(texts)
    is_rec = np.array([s in RECOMMENDATION_SECTIONS for s in sections], dtype=bool)
    never = {"contents", "glossary", "references", "front_matter"}
    flagged = {"terms_of_reference"}
    out: list[dict[str, str]] = [{} for _ in range(n)]
    rule = models.get("metrics", {}).get("combination_rule", "or")
    theme_rows = [i for i in range(n) if not is_rec[i] and sections[i] not in never | flagged]
    rec_rows = [i for i in range(n) if is_rec[i]]
    rules_theme = _rule_decisions(mentions, n, "theme")
    rules_rec = _rule_decisions(mentions, n, "rec_type")
    if method == "classifier":
        rules_theme = [{} for _ in range(n)]
        rules_rec = [{} for _ in range(n)]
    if theme_rows:
        sub = [texts[i] for i in theme_rows]
        clf = models["themes"].predict_labels(sub)
        rules_sub = [rules_theme[i] for i in theme_rows]
        pol = _predict_polarity(models["polarity"], sub, clf, rules_sub)
        merged = combine_decisions(rules_sub, clf, pol, rule=rule if method == "combined" else "classifier")
        for i, decision in zip(theme_rows, merged, strict=True):
            out[i] = decision
    if rec_rows:
        sub = [texts[i] for i in rec_rows]
        clf = models["rec_types"].predict_labels(sub)
        rules_sub = [{k: "concern" for k in rules_rec[i]} for i in rec_rows]
        merged = combine_decisions(rules_sub, clf, None, rule="or" if method == "combined" else "classifier")
        for i, decision in zip(rec_rows, merged, strict=True):
            out[i] = decision
    return out


def _predict_polarity(model, texts, classifier_labels, rule_decisions) -> list[dict[str, str]]:  # noqa: ANN001
    """Polarity-classifier decisions for themes the classifier found and the rules did not."""
    pairs, where = [], []
    for i, (text, labels) in enumerate(zip(texts, classifier_labels, strict=True)):
        for theme in labels:
            if theme not in rule_decisions[i]:
                pairs.append(_polarity_input(theme, text))
                where.append((i, theme))
    out: list[dict[str, str]] = [{} for _ in texts]
    if pairs:
        for (i, theme), value in zip(where, model.predict(pairs), strict=True):
            out[i][theme] = str(value)
    return out
