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
import itertools
import json
import platform
import re
import time
import zipfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from themes.errors import ThemesError

__all__ = [
    "MENTION_COLUMNS",
    "PolarityClassifier",
    "RuleTagger",
    "StaticEmbeddingFeatures",
    "ThemeClassifier",
    "build_nlp",
    "cli_evaluate",
    "cli_tag_texts",
    "cli_train",
    "combine_decisions",
    "decide_texts",
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
COMBINATION_RULES = frozenset({"or", "present_or", "trusted_or", "classifier"})
# Passages featurised at once at prediction time (bounds the dense embedding block's memory).
_PREDICT_BLOCK = 20_000

# Words that end the scope of an "absent" cue: "no evidence of X, but Y" does not negate Y.
_CLAUSE_BREAKS = frozenset(
    {
        ";",
        ":",
        "but",
        "although",
        "though",
        "however",
        "whereas",
        "while",
        "yet",
        "despite",
        "except",
        "nevertheless",
        "instead",
    }
)
# A good-practice cue right after one of these is negated ("not effective", "never timely").
_NEGATORS = frozenset({"not", "never", "n't", "no", "nor", "less", "lack", "lacked", "without"})

_MATCHER_FACTORY = "themes_rule_matcher"
# Built rule pipelines of this process, by (codebook checksum, lemmatize, spaCy base pipeline); see
# RuleTagger._pipeline.
_PIPELINES: dict[tuple[str, bool, str | None], Any] = {}


# --------------------------------------------------------------------------------------------------
# 1. spaCy pipeline


@lru_cache(maxsize=1)
def _lemma_table() -> dict[str, str]:
    """The English lemma lookup table of spacy-lookups-data, read offline with string keys.

    (``spacy.lookups.load_lookups`` returns a table keyed by string hashes, which cannot be
    inverted into word forms; the package's JSON file has the words themselves.)
    """
    import gzip
    from importlib.resources import files

    path = files("spacy_lookups_data") / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as fh:
        table = json.load(fh)
    return {str(k).lower(): str(v).lower() for k, v in table.items()}


@lru_cache(maxsize=1)
def _lemma_classes() -> dict[str, frozenset[str]]:
    """Lemma -> every lowercase word form whose lookup lemma it is."""
    classes: dict[str, set[str]] = {}
    for form, lemma in _lemma_table().items():
        if form == form.lower() and lemma == lemma.lower():
            classes.setdefault(lemma, set()).add(form)
    return {lemma: frozenset(forms) for lemma, forms in classes.items()}


def _lemma(word: str) -> str:
    word = word.lower()
    return _lemma_table().get(word, word)


def _forms(word: str) -> frozenset[str]:
    """Lowercase word forms that share ``word``'s lookup lemma (``word`` itself included)."""
    word = word.lower()
    lemma = _lemma(word)
    forms = set(_lemma_classes().get(lemma, ()))
    if lemma not in _lemma_table():
        forms.add(lemma)
    forms.add(word)
    return frozenset(forms)


def _register_factory() -> None:
    from spacy.language import Language

    if not Language.has_factory(_MATCHER_FACTORY):

        @Language.factory(_MATCHER_FACTORY)
        def _make_matcher(nlp, name):  # noqa: ANN001, ANN202
            return _RuleMatcher(nlp.vocab)


class _TokenPattern:
    """One codebook token pattern.

    ``tokens`` holds ``(checks, op)`` per pattern token; after :meth:`compile` every word check is
    ``("WORD", positive, hashes)`` over lowercase words (a ``LEMMA`` check: every word form of its
    lemmas). Patterns of required and ``?`` tokens are matched as fixed-length sequences by
    :mod:`themes.rule_engine`; :meth:`longest` searches from one start for the rest.
    """

    def __init__(self, key: str, pattern: list[dict[str, Any]], lemmatize: bool):
        self.key = key
        self.tokens = []
        for spec in pattern:
            checks = []
            for attr, value in spec.items():
                if attr == "OP":
                    continue
                use_lemma = attr == "LEMMA" and lemmatize
                if isinstance(value, dict):
                    ((operator, items),) = value.items()
                    values = frozenset(_lemma(v) if use_lemma else v for v in items)
                    checks.append(
                        (
                            attr if use_lemma else "LOWER" if attr in {"LEMMA", "LOWER"} else attr,
                            operator == "IN",
                            values,
                        )
                    )
                elif attr in {"LOWER", "LEMMA"}:
                    checks.append(
                        (
                            "LEMMA" if use_lemma else "LOWER",
                            True,
                            frozenset({_lemma(value) if use_lemma else value}),
                        )
                    )
                else:
                    checks.append((attr, True, value))
            self.tokens.append((checks, spec.get("OP")))

    def compile(self, strings) -> None:  # noqa: ANN001
        """Turn word checks into sets of lowercase-word hashes (lemma checks: all forms)."""
        compiled = []
        for checks, op in self.tokens:
            out = []
            for attr, positive, values in checks:
                if attr == "LOWER":
                    out.append(("WORD", positive, frozenset(strings.add(v) for v in values)))
                elif attr == "LEMMA":
                    forms = frozenset().union(*(_forms(v) for v in values))
                    out.append(("WORD", positive, frozenset(strings.add(f) for f in forms)))
                else:
                    out.append((attr, positive, values))
            compiled.append((tuple(out), op))
        self.tokens = compiled

    @staticmethod
    def _accepts(checks, i: int, lowers: list[int], flags: dict[str, Any]) -> bool:  # noqa: ANN001
        for attr, positive, values in checks:
            ok = lowers[i] in values if attr == "WORD" else bool(flags[attr][i]) == values
            if ok != positive:
                return False
        return True

    def longest(self, start: int, lowers: list[int], flags: dict[str, Any]) -> int:
        """End of the longest match starting at ``start`` (-1 when there is none).

        ``lowers`` are one doc's ``LOWER`` hashes, ``flags`` its ``IS_PUNCT``/``LIKE_NUM`` values.
        """
        n = len(lowers)
        tokens = self.tokens
        accepts = self._accepts
        best = -1
        stack = [(0, start)]
        while stack:
            t, i = stack.pop()
            if t == len(tokens):
                best = max(best, i)
                continue
            checks, op = tokens[t]
            if op == "!":
                if i < n and not accepts(checks, i, lowers, flags):
                    stack.append((t + 1, i + 1))
                continue
            if op in {"?", "*"}:
                stack.append((t + 1, i))
            if i < n and accepts(checks, i, lowers, flags):
                stack.append((t + 1, i + 1))
                if op in {"*", "+"}:
                    stack.append((t, i + 1))
        return best


class _RuleMatcher:
    """Find the codebook's matches for a batch of docs (or one doc, as a spaCy component).

    Phrases (terms, exclusions, contexts, polarity cues) go into one ``PhraseMatcher`` on
    ``LOWER``. With lemmatisation on, each phrase is added in every inflection that shares its
    lowercase lookup lemmas ("share information" also as "shared information", "sharing
    information"), which is exactly lemma matching, without lemmatising every token of the corpus.
    Token patterns are matched by :mod:`themes.rule_engine`. Match keys are ``"<role>|<id>"``:
    ``T`` inclusion, ``X`` exclusion, ``C`` exclusion context, ``P`` polarity cue (id = the cue
    class). Called on one doc, the matches land in ``doc.user_data["themes_matches"]`` as
    ``(key, start, end)`` token offsets.
    """

    max_variants = 64

    def __init__(self, vocab):  # noqa: ANN001
        self.vocab = vocab
        self.phrases = None
        self.patterns: list[_TokenPattern] = []
        self.absent_after_window = 0
        # True when a base pipeline's components may segment sentences (see build_nlp).
        self.sentences_from_pipeline = False

    def _variants(self, nlp, phrase: str, lemmatize: bool) -> list[list[str]]:  # noqa: ANN001

        words = [t.lower_ for t in nlp.make_doc(phrase)]
        if not lemmatize:
            return [words]
        # Each word's own form comes first, so the first product is the phrase as written: a
        # long phrase of common verbs ("was not a factor": 12 forms of "be") has more than
        # max_variants inflections, and the cut must never drop the written phrase itself.
        options = [[w, *sorted(_forms(w) - {w})] if w.isalpha() else [w] for w in words]
        return [list(v) for v in itertools.islice(itertools.product(*options), self.max_variants)]

    def build(self, nlp, codebook, lemmatize: bool) -> None:  # noqa: ANN001
        from spacy.matcher import PhraseMatcher
        from spacy.tokens import Doc

        from themes import rule_engine as engine

        matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        strings = nlp.vocab.strings
        # Entries in id order: the rule tagger lists an entry's mentions after those of entries
        # whose first match comes earlier, ties broken by id.
        entries = sorted(e.id for e in [*codebook.themes, *codebook.recommendation_types])
        self.entries = entries
        rec_ids = set(codebook.rec_type_ids)
        self.entry_is_rec = np.array([e in rec_ids for e in entries])
        self.keys: list[str] = []

        def key_index(key: str) -> int:
            if key not in self.keys:
                self.keys.append(key)
            return self.keys.index(key)

        def add(key: str, phrases: Iterable[str]) -> None:
            docs = [
                Doc(nlp.vocab, words=variant)
                for phrase in phrases
                for variant in self._variants(nlp, phrase, lemmatize)
            ]
            if docs:
                key_index(key)
                matcher.add(key, docs)

        for entry in [*codebook.themes, *codebook.recommendation_types]:
            add(f"T|{entry.id}", entry.terms)
            add(f"X|{entry.id}", entry.exclude_terms)
            add(f"C|{entry.id}", entry.exclude_context)
            for role, patterns in (("T", entry.token_patterns), ("X", entry.exclude_patterns)):
                for pattern in patterns:
                    self.patterns.append(_TokenPattern(f"{role}|{entry.id}", pattern, lemmatize))
                    key_index(f"{role}|{entry.id}")
        for name in engine.CUE_NAMES:
            add(f"P|{name}", getattr(codebook.polarity_cues, name))
        self.absent_after_window = codebook.polarity_cues.absent_after_window
        self.phrases = matcher

        roles, ids = (
            zip(*(k.split("|", 1) for k in self.keys), strict=True) if self.keys else ((), ())
        )
        self.key_role = np.array([engine.ROLE_CODES[r] for r in roles], dtype=np.int64)
        self.key_entry = np.array(
            [
                engine.CUE_NAMES.index(i) if r == "P" else entries.index(i)
                for r, i in zip(roles, ids, strict=True)
            ],
            dtype=np.int64,
        )
        hashes = np.array([strings.add(k) for k in self.keys], dtype=np.uint64)
        self.hash_order = np.argsort(hashes)
        self.sorted_hashes = hashes[self.hash_order]

        words: set[int] = set()
        for pattern in self.patterns:
            pattern.compile(strings)
            for checks, _ in pattern.tokens:
                words.update(h for attr, _, values in checks if attr == "WORD" for h in values)
        self.word_index = engine.WordIndex(words)
        tests: dict[tuple, engine.TokenTest] = {}

        def make_test(checks: tuple) -> engine.TokenTest:
            if checks not in tests:
                table = None
                for attr, positive, values in checks:
                    if attr == "WORD":
                        here = self.word_index.table(values, positive)
                        table = here if table is None else table & here
                anchored = any(a == "WORD" and p for a, p, _ in checks)
                tests[checks] = engine.TokenTest(
                    table=table,
                    flags=tuple((a, v == p) for a, p, v in checks if a in engine.FLAG_ATTRS),
                    anchor_words=np.flatnonzero(table[:-1]) if anchored else None,
                )
            return tests[checks]

        # (key index, sequences) of patterns matched as fixed-length sequences; the rest search.
        self.sequences: list[tuple[int, list[engine.TokenSequence]]] = []
        self.searched: list[tuple[int, _TokenPattern, engine.TokenTest | None]] = []
        for pattern in self.patterns:
            expanded = engine.expand(pattern.tokens, make_test)
            key = self.keys.index(pattern.key)
            if expanded is not None:
                self.sequences.append((key, [engine.TokenSequence(tests) for tests in expanded]))
            else:
                checks, _ = pattern.tokens[0]
                first = make_test(checks)
                self.searched.append(
                    (key, pattern, first if first.anchor_words is not None else None)
                )
        self.flags = tuple(
            sorted(
                {
                    a
                    for p in self.patterns
                    for c, _ in p.tokens
                    for a, _, _ in c
                    if a in engine.FLAG_ATTRS
                }
            )
        )
        self.marks = {
            "sentence_end": np.array([strings.add(p) for p in _SENTENCE_PUNCT], dtype=np.uint64),
            "break": np.array([strings.add(w) for w in _CLAUSE_BREAKS], dtype=np.uint64),
            "negator": np.array([strings.add(w) for w in _NEGATORS], dtype=np.uint64),
        }

    def match(self, docs: Iterable):  # noqa: ANN001, ANN201
        """Token arrays of ``docs`` and their unique raw matches ``(key, start, end)`` (global).

        ``docs`` may be a stream: each doc is read once and not kept (holding thousands of docs
        alive makes tokenising them markedly slower).
        """
        from themes import rule_engine as engine

        attr_ids = engine.TokenArrays.attr_ids(self.flags, self.sentences_from_pipeline)
        blocks, found, counts = [], [], []
        for doc in docs:
            blocks.append(doc.to_array(attr_ids))
            here = self.phrases(doc)
            found.append(here)
            counts.append(len(here))
        tokens = engine.TokenArrays.from_blocks(blocks, self.flags, self.sentences_from_pipeline)
        raw = np.array(list(itertools.chain.from_iterable(found)), dtype=np.uint64).reshape(-1, 3)
        shift = np.repeat(tokens.doc_start[:-1], counts)
        keys = [self.hash_order[np.searchsorted(self.sorted_hashes, raw[:, 0])]]
        starts = [raw[:, 1].astype(np.int64) + shift]
        ends = [raw[:, 2].astype(np.int64) + shift]

        word_ids = self.word_index.ids(tokens.lowers)
        postings = engine.Postings(word_ids, self.word_index.other)
        for key, sequences in self.sequences:
            begins = [seq.starts(tokens, word_ids, postings) for seq in sequences]
            lengths = [b + seq.length for b, seq in zip(begins, sequences, strict=True)]
            begin, end = engine.longest_per_start(begins, lengths)
            keys.append(np.full(len(begin), key))
            starts.append(begin)
            ends.append(end)
        for key, pattern, first in self.searched:
            begin, end = self._search(pattern, first, tokens, postings)
            keys.append(np.full(len(begin), key))
            starts.append(begin)
            ends.append(end)

        key, start, end = (np.concatenate(a).astype(np.int64) for a in (keys, starts, ends))
        order = np.lexsort((end, start, key))
        key, start, end = key[order], start[order], end[order]
        unique = np.ones(len(key), dtype=bool)
        unique[1:] = (key[1:] != key[:-1]) | (start[1:] != start[:-1]) | (end[1:] != end[:-1])
        return tokens, (key[unique], start[unique], end[unique])

    @staticmethod
    def _search(pattern, first, tokens, postings):  # noqa: ANN001, ANN205
        """Matches of a pattern with ``*``, ``+`` or ``!`` tokens, one start at a time."""
        if first is not None:
            candidates = postings.of(id(first), first.anchor_words)
        else:
            candidates = np.arange(len(tokens))
        docs: dict[int, tuple[list[int], dict[str, Any]]] = {}
        begins, ends = [], []
        for position in candidates.tolist():
            d = int(tokens.doc_of[position])
            offset, stop = int(tokens.doc_start[d]), int(tokens.doc_start[d + 1])
            if d not in docs:
                flags = {name: values[offset:stop] for name, values in tokens.flags.items()}
                docs[d] = (tokens.lowers[offset:stop].tolist(), flags)
            end = pattern.longest(position - offset, *docs[d])
            if end > position - offset:
                begins.append(position)
                ends.append(end + offset)
        return np.array(begins, dtype=np.int64), np.array(ends, dtype=np.int64)

    def token_marks(self, tokens) -> dict[str, np.ndarray]:  # noqa: ANN001
        """Per token: ends a sentence, is a clause break, is a negator.

        A sentence ends at sentence-final punctuation, or, in docs a base pipeline segmented
        (``SENT_START`` set), before each token that starts a sentence.
        """
        marks = {name: np.isin(tokens.lowers, words) for name, words in self.marks.items()}
        if tokens.sent_start is not None and len(tokens):
            # A segmented doc marks every token that does not start a sentence with -1.
            segmented = np.zeros(len(tokens.doc_start) - 1, dtype=bool)
            segmented[tokens.doc_of[tokens.sent_start == -1]] = True
            before_start = np.zeros(len(tokens), dtype=bool)
            before_start[:-1] = tokens.sent_start[1:] == 1
            own = segmented[tokens.doc_of]
            marks["sentence_end"] = np.where(own, before_start, marks["sentence_end"])
        return marks

    def __call__(self, doc):  # noqa: ANN001, ANN204
        _, (key, start, end) = self.match([doc])
        doc.user_data["themes_matches"] = {
            (self.keys[k], s, e)
            for k, s, e in zip(key.tolist(), start.tolist(), end.tolist(), strict=True)
        }
        return doc


# Same default characters as spaCy's sentencizer: a sentence ends after one of these tokens.
_SENTENCE_PUNCT = ("!", ".", "?", "։", "؟", "۔", "܀", "܁", "܂", "।", "॥", "…", "。", "！", "？")


def build_nlp(codebook=None, *, lemmatize: bool = True, base: str | Path | None = None):  # noqa: ANN001, ANN201
    """Build the one spaCy pipeline the rule tagger uses.

    The pipeline is ``spacy.blank("en")`` (or, if a user names one, an installed pipeline such as
    ``en_core_web_sm``) plus one matcher component built from the codebook.
    Lemma matching uses the English lookup table of spacy-lookups-data (offline): instead of
    lemmatising every token (which halves throughput), each codebook phrase is added to a
    ``PhraseMatcher`` on ``LOWER`` in all word forms sharing its lowercase lemmas, so "share
    information" matches "shared information" and "Sharing information"; the plain lowercase
    phrase is always included, which covers abbreviations ("MASH"). Token patterns are matched
    on arrays by :mod:`themes.rule_engine` (``LEMMA`` values compare lowercase lookup lemmas).
    Sentence boundaries follow the sentencizer's default rule (after ``.``, ``!``, ``?``), or the
    base pipeline's own sentence segmentation when it has one (parser, senter, sentencizer). Raw
    matches land in ``doc.user_data["themes_matches"]``; :class:`RuleTagger` matches many texts
    as one batch of arrays through the same component (``_RuleMatcher.match``).

    Args:
        codebook: A :class:`~themes.codebook.Codebook`; ``None`` loads the packaged one.
        lemmatize: Match on lemmas (inflections) or on the lowercase words only.
        base: ``None`` for ``spacy.blank("en")``; else the name of an installed spaCy pipeline
            package or the path of a saved one (``nlp.to_disk``). Nothing is downloaded: a
            pipeline that is not installed is an error naming it. Matching still uses the
            lookup lemmas above, so tags differ from the blank pipeline's only where the base
            pipeline splits sentences differently (and it is ~75x slower; see ECOSYSTEM.md).

    Returns:
        A ``spacy.language.Language``; stream texts with ``nlp.pipe(texts, batch_size=1000)``.

    Examples:
        >>> nlp = build_nlp()
        >>> nlp.pipe_names
        ['themes_rule_matcher']
        >>> doc = nlp("There was no evidence of domestic abuse.")
        >>> sorted(k for k, s, e in doc.user_data["themes_matches"])
        ['P|absent', 'P|absent', 'P|absent', 'T|domestic_abuse']
    """
    import spacy

    from themes.codebook import load_codebook

    codebook = codebook or load_codebook()
    _register_factory()
    if base is None:
        nlp = spacy.blank("en")
    else:
        try:
            nlp = spacy.load(base)
        except (OSError, ValueError) as error:
            raise ThemesError(
                f"spaCy pipeline {str(base)!r} could not be loaded ({error}); install the "
                "package or pass the folder of a saved pipeline, or leave it out to use the "
                "blank English pipeline"
            ) from None
        if nlp.lang != "en":
            raise ThemesError(f"spaCy pipeline {str(base)!r} is for {nlp.lang!r}, not English")
        if _MATCHER_FACTORY in nlp.pipe_names:  # a saved rule pipeline: rebuild its matcher
            nlp.remove_pipe(_MATCHER_FACTORY)
    matcher = nlp.add_pipe(_MATCHER_FACTORY, last=True)
    matcher.build(nlp, codebook, lemmatize)
    matcher.sentences_from_pipeline = len(nlp.pipe_names) > 1
    return nlp


# --------------------------------------------------------------------------------------------------
# 2. rule tagger


class RuleTagger(BaseEstimator):
    """Codebook rules with polarity and section policy, in the scikit-learn style.

    Polarity of a mention, decided inside its sentence: an ``absent`` cue ("no evidence of",
    "there was no") that ends before the mention with no clause break between (";", "but",
    "although", ...) gives ``absent``, as does an ``absent_after`` cue ("was not a feature") that
    starts within the codebook's ``absent_after_window`` tokens after the mention, in the same
    clause; else a ``good_practice`` cue not preceded by a negator and
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
        batch_size: Texts matched together as one batch of arrays.
        spacy_model: An installed spaCy pipeline (name or saved folder) to run under the
            matcher instead of the blank English one; see :func:`build_nlp` (``base``).

    Examples:
        >>> RuleTagger().predict_mentions(["Information was shared promptly."]).polarity.tolist()
        ['good_practice']
    """

    def __init__(
        self,
        codebook=None,  # noqa: ANN001
        *,
        lemmatize: bool = True,
        batch_size: int = 5000,
        spacy_model: str | None = None,
    ):
        self.codebook = codebook
        self.lemmatize = lemmatize
        self.batch_size = batch_size
        self.spacy_model = spacy_model

    def fit(self, texts=None, y=None):  # noqa: ANN001, ANN201
        """Do nothing (rules are not learned); returns ``self``."""
        return self

    def _pipeline(self):  # noqa: ANN202
        key = (id(self.codebook), self.lemmatize, self.spacy_model)
        cached = getattr(self, "_nlp_cache", None)
        if cached is None or cached[0] != key:
            from themes.codebook import load_codebook

            codebook = self.codebook or load_codebook()
            # A worker process receives a fresh copy of the tagger with every task; building the
            # matchers takes seconds, so each process keeps one pipeline per codebook content.
            shared_key = (codebook.checksum, self.lemmatize, self.spacy_model)
            nlp = _PIPELINES.get(shared_key)
            if nlp is None:
                nlp = _PIPELINES[shared_key] = build_nlp(
                    codebook, lemmatize=self.lemmatize, base=self.spacy_model
                )
            self._nlp_cache = (key, nlp, codebook)
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
        todo = [i for i, section in enumerate(sections) if section not in never]
        matcher = nlp.get_pipe(_MATCHER_FACTORY)
        batches = [
            self._batch_mentions(
                nlp, matcher, codebook, texts, sections, todo[k : k + self.batch_size]
            )
            for k in range(0, len(todo), self.batch_size)
        ]
        # One frame from all batches' columns, so column dtypes never depend on the batching.
        columns = {name: [v for batch in batches for v in batch[name]] for name in MENTION_COLUMNS}
        frame = pd.DataFrame(columns, columns=list(MENTION_COLUMNS))
        return frame.astype({"text_index": "int64", "start": "int64", "end": "int64"})

    @staticmethod
    def _batch_mentions(
        nlp, matcher, codebook, texts, sections, rows: list[int]
    ) -> dict[str, list]:  # noqa: ANN001
        """Mention columns (:data:`MENTION_COLUMNS`) of ``texts[rows]``, matched as one batch."""
        from themes import rule_engine as engine

        chunk = [texts[i] for i in rows]
        in_recs = np.array([sections[i] in RECOMMENDATION_SECTIONS for i in rows], dtype=bool)
        if nlp.pipe_names == [_MATCHER_FACTORY]:
            tokens, matches = matcher.match(nlp.tokenizer.pipe(chunk))
        else:  # a user's full pipeline: its components run, the matcher then reads each batch
            with nlp.select_pipes(disable=[_MATCHER_FACTORY]):
                tokens, matches = matcher.match(nlp.pipe(chunk))
        found = engine.resolve_mentions(
            tokens,
            matches,
            matcher.key_role,
            matcher.key_entry,
            matcher.entry_is_rec,
            in_recs,
            matcher.token_marks(tokens),
            matcher.absent_after_window,
        )
        start, end = engine.char_spans(tokens, found["start"], found["end"])
        sent_start, sent_end = engine.char_spans(tokens, found["sent_start"], found["sent_end"])
        index = np.asarray(rows, dtype=np.int64)[found["doc"]]
        texts_of = [texts[i] for i in index.tolist()]
        is_rec = matcher.entry_is_rec[found["entry"]]
        flag_only = set(codebook.section_policy.flag_only)
        flagged = np.array([sections[i] in flag_only for i in rows], dtype=bool)
        return {
            "text_index": index.tolist(),
            "kind": np.where(is_rec, "rec_type", "theme").tolist(),
            "theme_id": [matcher.entries[e] for e in found["entry"].tolist()],
            "polarity": [POLARITIES[p] for p in found["polarity"].tolist()],
            "evidence": [
                t[a:b] for t, a, b in zip(texts_of, start.tolist(), end.tolist(), strict=True)
            ],
            "start": start.tolist(),
            "end": end.tolist(),
            "sentence": [
                t[a:b]
                for t, a, b in zip(texts_of, sent_start.tolist(), sent_end.tolist(), strict=True)
            ],
            "section_type": [sections[i] for i in index.tolist()],
            # Theme mentions in recommendations are not findings; terms of reference only ask.
            "counted": (~flagged[found["doc"]] & (is_rec | ~in_recs[found["doc"]])).tolist(),
            "method": ["rules"] * len(index),
        }


# --------------------------------------------------------------------------------------------------
# 3. classifiers


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+")


@lru_cache(maxsize=2)
def _static_model(path: str):  # noqa: ANN202
    from model2vec import StaticModel

    if not Path(path).exists():
        raise ThemesError(f"{path}: static embedding model not found (models/static-minilm)")
    return StaticModel.from_pretrained(path)


def _default_embedding_dir() -> Path:
    from themes.config import settings

    return settings().models_dir / "static-minilm"


class StaticEmbeddingFeatures(TransformerMixin, BaseEstimator):
    """Dense sentence-embedding features from the static model2vec model, for a ``FeatureUnion``.

    Each passage is split into sentences (after ``.``, ``!``, ``?``, ``;``); every sentence is
    embedded with the static model at ``models/static-minilm`` (a distilled all-MiniLM-L6-v2,
    256-d) and the passage vector is the L2-normalised mean and the L2-normalised max over its
    sentences, times ``scale`` (so the dense block does not swamp the TF-IDF block). Nothing is
    learned; the model is read from disk at first use and never stored in the estimator.

    Args:
        model_path: Folder of the model2vec model (``None``: ``models/static-minilm``).
        pooling: Which poolings to concatenate, from ``"mean"`` and ``"max"``.
        scale: Factor applied to the pooled vectors.
    """

    def __init__(
        self,
        model_path: str | None = None,
        pooling: tuple[str, ...] = ("mean", "max"),
        scale: float = 0.5,
    ):
        self.model_path = model_path
        self.pooling = pooling
        self.scale = scale

    def _model(self):  # noqa: ANN202
        return _static_model(str(self.model_path or _default_embedding_dir()))

    def fit(self, X=None, y=None):  # noqa: ANN001, ANN201, N803
        """Record the output width; returns ``self``."""
        self.dim_ = int(self._model().dim)
        self.n_features_out_ = self.dim_ * len(self.pooling)
        return self

    def transform(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Pooled sentence embeddings, shape ``(n_texts, dim * len(pooling))``, float32."""
        from sklearn.preprocessing import normalize

        check_is_fitted(self, "dim_")
        texts = [str(t) for t in X]
        sentences: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            parts = [s for s in _SENTENCE_SPLIT.split(text) if s.strip()] or [text]
            sentences += parts
            owner += [i] * len(parts)
        n = len(texts)
        if not sentences:
            return np.zeros((n, self.n_features_out_), dtype=np.float32)
        # model2vec would otherwise start its own worker processes past 10,000 sentences: work is
        # spread over processes by the caller's n_jobs (themes.corpus_tagging), never behind it.
        vectors = np.asarray(
            self._model().encode(sentences, use_multiprocessing=False), dtype=np.float32
        )
        index = np.asarray(owner)
        blocks = []
        for kind in self.pooling:
            if kind == "mean":
                pooled = np.zeros((n, vectors.shape[1]), dtype=np.float32)
                np.add.at(pooled, index, vectors)
                pooled /= np.maximum(np.bincount(index, minlength=n), 1)[:, None]
            elif kind == "max":
                pooled = np.full((n, vectors.shape[1]), -np.inf, dtype=np.float32)
                np.maximum.at(pooled, index, vectors)
                pooled[~np.isfinite(pooled)] = 0.0
            else:
                raise ThemesError(f"unknown pooling {kind!r}; use mean or max")
            blocks.append(normalize(pooled))
        return (np.hstack(blocks) * self.scale).astype(np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        """``emb_<pooling>_<k>`` names."""
        check_is_fitted(self, "dim_")
        return np.asarray([f"emb_{p}_{k}" for p in self.pooling for k in range(self.dim_)])


def _tfidfs(estimator) -> list:  # noqa: ANN001
    """The fitted TF-IDF vectorisers inside ``estimator`` (a union, pipeline or vectoriser)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(estimator, TfidfVectorizer):
        return [estimator]
    if isinstance(estimator, FeatureUnion):
        return [v for _, part in estimator.transformer_list for v in _tfidfs(part)]
    if isinstance(estimator, Pipeline):
        return [v for _, step in estimator.steps for v in _tfidfs(step)]
    return []


class _CompactVocabularies:
    """Save TF-IDF vocabularies as one string array each instead of a dict of numpy ints.

    skops writes every value of a ``vocabulary_`` dict as its own file and JSON node (tens of MB
    for 40k n-grams); an array of terms in index order is a single ``.npy``. ``_vocab_owner``
    names the attribute holding the vectorisers.
    """

    _vocab_owner = "vectorizer_"

    def __getstate__(self) -> dict[str, Any]:
        import copy

        state = dict(super().__getstate__())  # type: ignore[misc]  # may be __dict__ itself
        owner = state.get(self._vocab_owner)
        if owner is None:
            return state
        owner = copy.deepcopy(owner)
        arrays = []
        for vectorizer in _tfidfs(owner):
            vocab = vectorizer.__dict__.pop("vocabulary_", None)
            if vocab is not None:
                terms = sorted(vocab, key=vocab.__getitem__)
                arrays.append(np.asarray(terms, dtype=str))
            else:
                arrays.append(None)
        state[self._vocab_owner] = owner
        state["_vocabularies"] = arrays
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        arrays = state.pop("_vocabularies", None)
        super().__setstate__(state)  # type: ignore[misc]
        if arrays is None:
            return
        for vectorizer, terms in zip(
            _tfidfs(getattr(self, self._vocab_owner)), arrays, strict=True
        ):
            if terms is not None:
                vectorizer.vocabulary_ = {str(t): i for i, t in enumerate(terms.tolist())}


def _slim_tfidf(vectorizer) -> None:  # noqa: ANN001
    """Drop the fitted ``stop_words_`` set (every pruned n-gram; only kept for introspection)."""
    if hasattr(vectorizer, "stop_words_"):
        del vectorizer.stop_words_


def _vectorizer(max_features: int | None, embeddings: bool = True, embedding_scale: float = 0.5):  # noqa: ANN202
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    parts = [
        (
            "word",
            TfidfVectorizer(
                ngram_range=(1, 2),
                min_df=2,
                sublinear_tf=True,
                max_features=max_features,
                dtype=np.float32,
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
                dtype=np.float32,
            ),
        ),
    ]
    if embeddings:
        parts.append(("emb", StaticEmbeddingFeatures(scale=embedding_scale)))
    return FeatureUnion(parts)


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


class ThemeClassifier(_CompactVocabularies, ClassifierMixin, BaseEstimator):
    """Multi-label passage classifier: TF-IDF n-grams + static embeddings, one-vs-rest logistic.

    Features are word 1-2-grams and ``char_wb`` 3-5-grams (TF-IDF, sublinear, each vocabulary
    capped at ``max_features``) and, with ``embeddings``, the pooled sentence embeddings of
    :class:`StaticEmbeddingFeatures` (paraphrases share meaning, not n-grams). Each label gets a
    ``LogisticRegression(class_weight="balanced")``; the fitted weights are kept as one float32
    matrix ``coef_`` (labels x features), which keeps the saved model small. Each label's decision
    threshold is tuned to maximise F1 on held-out data passed as ``X_dev``/``Y_dev`` (0.5 without
    it). Used for the 35 themes and, with ``labels`` set to the recommendation-type ids, for
    recommendation types.

    Long texts: the model learns from passages of one to four sentences. A text of at least
    ``window_min_sentences`` sentences (a published summary, a long paragraph) is also scored in
    windows of ``window_sentences`` consecutive sentences, and each label takes its highest score
    over the whole text and its windows: a theme that one or two sentences of a summary carry is
    otherwise diluted by everything else the summary says.

    Args:
        labels: Label ids (column order of ``Y``); ``None`` uses the codebook's theme ids.
        C: Inverse regularisation strength of each logistic regression.
        max_features: Cap on each TF-IDF vocabulary (``None`` for no cap).
        embeddings: Add the static-embedding block.
        embedding_scale: Weight of the embedding block relative to the TF-IDF blocks.
        random_state: Seed for the solvers.
        window_sentences: Sentences per window for long texts (``None``: never window).
        window_min_sentences: Texts with at least this many sentences are windowed.

    Attributes:
        classes_: Label ids, in column order.
        vectorizer_: The fitted feature union.
        coef_: float32 weights, shape ``(n_labels, n_features)`` (zero rows for unseen labels).
        intercept_: float32 intercepts (very negative for labels never seen in training).
        thresholds_: Per-label probability thresholds.

    Examples:
        >>> clf = ThemeClassifier(labels=["covid_19", "neglect"], embeddings=False)
        >>> clf = clf.fit(["lockdown closed the school", "the home was dirty and cold"] * 3,
        ...               [["covid_19"], ["neglect"]] * 3)
        >>> clf.predict(["during lockdown"]).tolist()
        [[1, 0]]
    """

    def __init__(
        self,
        labels: Sequence[str] | None = None,
        *,
        C: float = 3.0,
        max_features: int | None = 20000,
        embeddings: bool = True,
        embedding_scale: float = 0.5,
        random_state: int | None = 0,
        window_sentences: int | None = 2,
        window_min_sentences: int = 5,
    ):
        self.labels = labels
        self.C = C
        self.max_features = max_features
        self.embeddings = embeddings
        self.embedding_scale = embedding_scale
        self.random_state = random_state
        self.window_sentences = window_sentences
        self.window_min_sentences = window_min_sentences

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
        self.vectorizer_ = _vectorizer(self.max_features, self.embeddings, self.embedding_scale)
        features = self.vectorizer_.fit_transform(texts)
        for name, part in self.vectorizer_.transformer_list:
            if name in {"word", "char"}:
                _slim_tfidf(part)
        coef = np.zeros((len(self.classes_), features.shape[1]), dtype=np.float32)
        intercept = np.full(len(self.classes_), -30.0, dtype=np.float32)
        for column in range(len(self.classes_)):
            target = indicator[:, column]
            if target.min() == target.max():
                continue
            model = LogisticRegression(
                C=self.C,
                class_weight="balanced",
                solver="liblinear",
                random_state=self.random_state,
            ).fit(features, target)
            coef[column] = model.coef_[0]
            intercept[column] = model.intercept_[0]
        self.coef_, self.intercept_ = coef, intercept
        self.thresholds_ = [0.5] * len(self.classes_)
        if X_dev is not None and Y_dev is not None:
            self.tune_thresholds(X_dev, Y_dev)
        return self

    def tune_thresholds(self, X, Y):  # noqa: ANN001, ANN201, N803
        """Set ``thresholds_`` to the per-label F1-optimal cut on held-out data; returns self."""
        check_is_fitted(self, "coef_")
        proba = self.predict_proba(X)
        indicator = _as_indicator(Y, self.classes_)
        self.thresholds_ = [
            _best_threshold(indicator[:, j], proba[:, j]) for j in range(len(self.classes_))
        ]
        return self

    def decision_function(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Logit of each label per text, shape ``(n_texts, n_labels)``.

        Long texts take each label's highest logit over the whole text and its sentence windows
        (see the class docstring).
        """
        check_is_fitted(self, "coef_")
        texts = [str(t) for t in X]
        scored, owner = _with_windows(texts, self.window_sentences, self.window_min_sentences)
        logits = self._logits(scored)
        if len(scored) == len(texts):
            return logits
        out = np.full((len(texts), logits.shape[1]), -np.inf)
        np.maximum.at(out, owner, logits)
        return out

    def windowed(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Whether each text is long enough to be scored in sentence windows (bool array)."""
        if not self.window_sentences:
            return np.zeros(len(X), dtype=bool)
        return np.array(
            [_long_text_sentences(str(t), self.window_min_sentences) is not None for t in X],
            dtype=bool,
        )

    def _logits(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), len(self.classes_)), dtype=np.float64)
        # Blocks bound the memory of the dense embedding features on a national corpus.
        for start in range(0, len(texts), _PREDICT_BLOCK):
            features = _union_transform(self.vectorizer_, texts[start : start + _PREDICT_BLOCK])
            out[start : start + _PREDICT_BLOCK] = np.asarray(
                features @ self.coef_.T, dtype=np.float64
            )
        return out + self.intercept_

    def predict_proba(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Probability of each label per passage, shape ``(n_texts, n_labels)``."""
        from scipy.special import expit

        return expit(self.decision_function(X))

    def predict(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """0/1 matrix of labels per passage (probability at or above the label's threshold)."""
        return (self.predict_proba(X) >= np.asarray(self.thresholds_)).astype(int)

    def predict_labels(self, X) -> list[list[str]]:  # noqa: ANN001, N803
        """Label ids per passage."""
        return [
            [c for c, v in zip(self.classes_, row, strict=True) if v] for row in self.predict(X)
        ]

    def evidence_terms(self, text: str, theme_id: str, k: int = 3) -> list[str]:
        """Word n-grams of ``text`` that raised ``theme_id``'s score most (coefficient x tf-idf).

        Only word 1-2-gram features count (character n-grams and embedding dimensions are not
        readable evidence); only positive contributions are returned, largest first. Gives
        classifier-only tags some evidence words.

        Args:
            text: A passage.
            theme_id: One of ``classes_``.
            k: At most this many terms.

        Returns:
            Lowercase n-grams as the word vectoriser sees them (possibly fewer than ``k``).

        Raises:
            ThemesError: If ``theme_id`` is not a label of this model.
        """
        check_is_fitted(self, "coef_")
        if theme_id not in self.classes_:
            raise ThemesError(f"unknown label {theme_id!r} for this classifier")
        return self.evidence_terms_many([text], [theme_id], k)[0]

    def evidence_terms_many(
        self, texts: Sequence[str], theme_ids: Sequence[str], k: int = 3
    ) -> list[list[str]]:
        """:meth:`evidence_terms` for many (text, theme) pairs with one vectoriser pass."""
        check_is_fitted(self, "coef_")
        unknown = sorted(set(theme_ids) - set(self.classes_))
        if unknown:
            raise ThemesError(f"unknown label {unknown[0]!r} for this classifier")
        word = dict(self.vectorizer_.transformer_list)["word"]
        from themes import fast_tfidf

        matrix = sp.csr_matrix(fast_tfidf.transform(word, [str(t) for t in texts]))
        names = _word_names(word)
        width = len(word.vocabulary_)
        out = []
        for r, theme_id in enumerate(theme_ids):
            row = matrix[r]
            weights = self.coef_[self.classes_.index(theme_id), :width]
            contrib = row.data * weights[row.indices]
            order = np.argsort(-contrib, kind="stable")
            out.append([str(names[row.indices[i]]) for i in order[:k] if contrib[i] > 0])
        return out


_WINDOW_SPLIT = re.compile(r"(?<=[.!?])\s+")


def _long_text_sentences(text: str, min_sentences: int) -> list[str] | None:
    """The sentences of ``text`` when it has at least ``min_sentences`` of them, else ``None``."""
    # an upper bound on the sentence count first: most passages are far too short to split
    if text.count(".") + text.count("?") + text.count("!") + 1 < min_sentences:
        return None
    sentences = [s for s in _WINDOW_SPLIT.split(text) if s.strip()]
    return sentences if len(sentences) >= min_sentences else None


def _with_windows(
    texts: list[str], size: int | None, min_sentences: int
) -> tuple[list[str], np.ndarray]:
    """``texts`` followed by the sentence windows of the long ones, and each row's text index."""
    if not size:
        return texts, np.arange(len(texts))
    extra: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        sentences = _long_text_sentences(text, min_sentences)
        if sentences is None:
            continue
        for start in range(len(sentences) - size + 1):
            extra.append(" ".join(sentences[start : start + size]))
            owner.append(i)
    if not extra:
        return texts, np.arange(len(texts))
    return texts + extra, np.concatenate([np.arange(len(texts)), np.asarray(owner)])


def _union_transform(union, texts: list[str]):  # noqa: ANN001, ANN202
    """``union.transform(texts)`` with TF-IDF blocks through :mod:`themes.fast_tfidf` (exact)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from themes import fast_tfidf

    if getattr(union, "transformer_weights", None):
        return union.transform(texts)
    blocks = []
    for _, part in union.transformer_list:
        if isinstance(part, TfidfVectorizer):
            blocks.append(fast_tfidf.transform(part, texts))
        else:
            blocks.append(part.transform(texts))
    # FeatureUnion's own stacking (sparse hstack to CSR), so the logits match it bit for bit.
    return sp.hstack(blocks).tocsr()


def _word_names(vectorizer) -> np.ndarray:  # noqa: ANN001
    cached = getattr(vectorizer, "_themes_names", None)
    if cached is None:
        cached = vectorizer.get_feature_names_out()
        vectorizer._themes_names = cached
    return cached


class PolarityClassifier(_CompactVocabularies, ClassifierMixin, BaseEstimator):
    """Polarity (concern, good_practice, absent) of a theme in a passage.

    Input is ``"<theme_id> || <passage text>"`` so one multinomial model serves all themes;
    the features are word 1-3-grams and, with ``char``, ``char_wb`` 3-5-grams (TF-IDF,
    ``min_df=2``, each capped at ``max_features``), the model a logistic regression whose weights
    are stored as float32. Character n-grams carry negation and praise across re-wordings
    ("wasn't", "un-", "well-judged"): polarity accuracy on the dev / test split / fresh texts rose
    from 0.902 / 0.901 / 0.872 to 0.911 / 0.915 / 0.910 with them.

    Args:
        C: Inverse regularisation strength.
        max_features: Vocabulary cap (per n-gram block).
        char: Add the character n-gram block.
        random_state: Seed for the solver.

    Attributes:
        classes_: Polarity values.
        pipeline_: The fitted vectoriser + model.
    """

    _vocab_owner = "pipeline_"

    def __init__(
        self,
        *,
        C: float = 10.0,
        max_features: int | None = 50000,
        char: bool = True,
        random_state: int | None = 0,
    ):
        self.C = C
        self.max_features = max_features
        self.char = char
        self.random_state = random_state

    def fit(self, X, y):  # noqa: ANN001, ANN201, N803
        """Fit on ``"<theme_id> || text"`` strings and polarity labels; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        def tfidf(**kwargs: Any) -> TfidfVectorizer:
            return TfidfVectorizer(
                min_df=2,
                sublinear_tf=True,
                max_features=self.max_features,
                dtype=np.float32,
                **kwargs,
            )

        features = tfidf(ngram_range=(1, 3))
        if self.char:
            features = FeatureUnion(
                [("word", features), ("char", tfidf(analyzer="char_wb", ngram_range=(3, 5)))]
            )
        self.pipeline_ = make_pipeline(
            features,
            LogisticRegression(
                C=self.C, class_weight="balanced", max_iter=3000, random_state=self.random_state
            ),
        )
        self.pipeline_.fit([str(x) for x in X], list(y))
        for vectorizer in _tfidfs(self.pipeline_[0]):
            _slim_tfidf(vectorizer)
        model = self.pipeline_[-1]
        model.coef_ = model.coef_.astype(np.float32)
        model.intercept_ = model.intercept_.astype(np.float32)
        self.classes_ = list(self.pipeline_.classes_)
        return self

    def _features(self, X):  # noqa: ANN001, ANN202, N803
        from sklearn.pipeline import FeatureUnion

        from themes import fast_tfidf

        texts = [str(x) for x in X]
        if isinstance(self.pipeline_[0], FeatureUnion):
            return _union_transform(self.pipeline_[0], texts)
        return fast_tfidf.transform(self.pipeline_[0], texts)

    def predict(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Polarity per input string."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_[-1].predict(self._features(X))

    def predict_proba(self, X) -> np.ndarray:  # noqa: ANN001, N803
        """Polarity probabilities per input string (columns follow ``classes_``)."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_[-1].predict_proba(self._features(X))


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
    polarity_from: str = "rules",
    trusted: Iterable[str] | None = None,
) -> list[dict[str, str]]:
    """Combine rule and classifier decisions into theme -> polarity per passage.

    The combination rule (chosen on the dev split; see ``metrics.json``):

    - ``"or"`` (default): a passage has theme T if the classifier says so OR the rules find a
      counted mention of T (any polarity; an ``absent`` mention still means T is discussed).
    - ``"present_or"``: as ``"or"`` but a rule mention only adds T when it is a concern or
      good-practice mention.
    - ``"classifier"``: the classifier alone decides T; rules only give polarity.
    - ``"trusted_or"``: as ``"present_or"`` but only for the ``trusted`` themes, those whose rule
      mentions were precise on held-out text (``metrics.json`` lists them with the precision
      cut-off): the rules add what the classifier misses where their words are reliable
      ("co-sleeping", "lockdown") and stay out where a word is often incidental ("assessment").
      A rule-stated absence of a theme the classifier did not find is kept, as ``absent``.

    Polarity (``polarity_from``, also chosen on dev): ``"rules"`` takes the rules' passage
    polarity when they found T, else the polarity classifier's (``polarity``), else ``concern``;
    ``"classifier"`` prefers the polarity classifier and falls back to the rules.

    Args:
        rules: Per passage, theme id -> rule polarity (from counted mentions).
        classifier: Per passage, the classifier's theme ids.
        polarity: Per passage, theme id -> polarity from the polarity classifier.
        rule: ``"or"``, ``"present_or"``, ``"trusted_or"`` or ``"classifier"``.
        polarity_from: ``"rules"`` or ``"classifier"``.
        trusted: Theme ids whose rule mentions ``"trusted_or"`` accepts.

    Returns:
        Per passage, a dict theme id -> polarity.

    Examples:
        >>> combine_decisions([{"neglect": "absent"}], [["covid_19"]])
        [{'covid_19': 'concern', 'neglect': 'absent'}]
    """
    if rule not in COMBINATION_RULES:
        raise ThemesError(
            f"unknown combination rule {rule!r}; use {', '.join(sorted(COMBINATION_RULES))}"
        )
    trusted_set = set(trusted or ())
    out = []
    for i, (by_rules, by_clf) in enumerate(zip(rules, classifier, strict=True)):
        pol = polarity[i] if polarity is not None else {}
        themes = set(by_clf)
        if rule == "or":
            themes |= set(by_rules)
        elif rule == "present_or":
            themes |= {t for t, p in by_rules.items() if p != "absent"}
        elif rule == "trusted_or":
            themes |= {t for t, p in by_rules.items() if p != "absent" and t in trusted_set}
            # a stated absence the classifier did not see is still reported, as an absence
            stated = {t: "absent" for t, p in by_rules.items() if p == "absent" and t not in themes}
        first, second = (by_rules, pol) if polarity_from == "rules" else (pol, by_rules)
        decided = {t: first.get(t) or second.get(t) or "concern" for t in themes}
        if rule == "trusted_or":
            decided.update(stated)
        out.append(dict(sorted(decided.items())))
    return out


# --------------------------------------------------------------------------------------------------
# 5. models on disk


def _default_model_dir() -> Path:
    from themes.config import settings

    return settings().models_dir / MODEL_NAME


# Modules whose types a model file may hold; anything else is refused, not trusted blindly.
_TRUSTED_MODULES = ("themes.tagging.", "sklearn.", "numpy.", "scipy.", "builtins.")


def _skops_load(path: Path):  # noqa: ANN202
    """Load a skops file, trusting only this module's, scikit-learn's, numpy's and scipy's types."""
    import skops.io as sio

    types = sio.get_untrusted_types(file=path)
    refused = [t for t in types if not t.startswith(_TRUSTED_MODULES)]
    if refused:
        raise ThemesError(f"{path}: refusing to load untrusted types {refused}")
    return sio.load(path, trusted=types)


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
    out["model_dir"] = str(folder.resolve())
    return out


# Models loaded in this process by folder: parallel tagging tasks name the folder instead of
# carrying ~20 MB of pickled estimators each (see themes.corpus_tagging.tag_corpus).
_PROCESS_MODELS: dict[str, dict[str, Any]] = {}


def models_in_process(model_dir: str | Path | None = None) -> dict[str, Any]:
    """:func:`load_models` of ``model_dir`` (default ``models/theme-classifier``), once per process.

    The dict is shared by every caller in the process: do not modify it (use :func:`load_models`
    for a private copy to change).
    """
    key = str(Path(model_dir or _default_model_dir()).resolve())
    if key not in _PROCESS_MODELS:
        _PROCESS_MODELS[key] = load_models(key)
    return _PROCESS_MODELS[key]


def is_process_copy(models: dict[str, Any]) -> bool:
    """True when ``models`` is this process's shared copy from :func:`models_in_process`.

    Such models are exactly what their ``model_dir`` holds, so a worker process can load that
    folder itself instead of receiving the estimators with every task.
    """
    folder = models.get("model_dir")
    return bool(folder) and _PROCESS_MODELS.get(folder) is models


def _normalise_records(texts_or_records: Iterable[Any]) -> list[dict[str, Any]]:
    records = []
    for i, item in enumerate(texts_or_records):
        if isinstance(item, str):
            records.append({"id": i, "text": item, "section_type": None})
        elif isinstance(item, dict):
            if "text" not in item:
                raise ThemesError(f"record {i} has no 'text' field")
            rid = item.get("id", item.get("passage_id", i))
            records.append(
                {"id": rid, "text": item["text"], "section_type": item.get("section_type")}
            )
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
    records = _normalise_records(texts_or_records)
    texts = [r["text"] for r in records]
    sections = [r["section_type"] for r in records]
    tagger = tagger or RuleTagger()
    mentions = tagger.predict_mentions(texts, sections)
    decisions = decide_texts(
        texts,
        sections,
        method,
        models=models,
        model_dir=model_dir,
        tagger=tagger,
        mentions=mentions,
    )
    by_text = {i: g for i, g in mentions.groupby("text_index")} if len(mentions) else {}
    out = []
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
        chosen = decisions[i]
        themes = sorted(t for t, p in chosen.items() if p != "absent")
        if method == "rules":
            listed = rule_mentions
        else:
            ruled = {m["theme_id"] for m in rule_mentions}
            listed = []
            if method == "combined":
                listed = [m for m in rule_mentions if m["theme_id"] in chosen]
            listed += [
                {"theme_id": t, "polarity": p, "evidence": None, "start": -1, "end": -1}
                for t, p in chosen.items()
                if method == "classifier" or t not in ruled
            ]
        out.append({"id": record["id"], "themes": themes, "mentions": listed})
    return out


def decide_texts(
    texts: Sequence[str],
    sections: Sequence[str | None] | None = None,
    method: str = "combined",
    *,
    models: dict[str, Any] | None = None,
    model_dir: str | Path | None = None,
    tagger: RuleTagger | None = None,
    mentions: pd.DataFrame | None = None,
) -> list[dict[str, str]]:
    """Per text, theme id -> polarity as ``method`` decides it (stated absences included).

    In recommendations sections the keys are recommendation-type ids instead of themes.

    Args:
        texts: Texts to tag.
        sections: Section type per text (``None``: body text).
        method: ``rules``, ``classifier`` or ``combined``.
        models: Already loaded models (classifier and combined methods).
        model_dir: Where to load them from when ``models`` is ``None``.
        tagger: A rule tagger to reuse.
        mentions: Its mentions of ``texts``, when already computed.

    Returns:
        One dict per text.

    Examples:
        >>> decide_texts(["There was no evidence of domestic abuse."], method="rules")
        [{'domestic_abuse': 'absent'}]
    """
    if method not in {"rules", "classifier", "combined"}:
        raise ThemesError(f"unknown method {method!r}; use rules, classifier or combined")
    texts = list(texts)
    sections = list(sections) if sections is not None else [None] * len(texts)
    tagger = tagger or RuleTagger()
    if mentions is None:
        mentions = tagger.predict_mentions(texts, sections)
    if method == "rules":
        themes = _rule_decisions(mentions, len(texts), "theme")
        recs = _rule_decisions(mentions, len(texts), "rec_type")
        return [{**t, **r} for t, r in zip(themes, recs, strict=True)]
    models = models or load_models(model_dir)
    return _decide(texts, sections, mentions, method, models, tagger._pipeline()[1])


def _decide(
    texts, sections, mentions, method, models, codebook, theme_proba=None
) -> list[dict[str, str]]:  # noqa: ANN001, E501
    """Theme (or rec-type) -> polarity per text for the classifier or combined method.

    The combined method takes a long text's polarities (texts the theme model scores in sentence
    windows) from the rules wherever they found the theme, whatever ``polarity_from`` says.

    ``theme_proba``, when a dict, receives text index -> the theme classifier's probabilities
    (in ``classes_`` order) for every text the theme classifier scored, so callers need not
    featurise the texts a second time.
    """
    n = len(texts)
    is_rec = np.array([s in RECOMMENDATION_SECTIONS for s in sections], dtype=bool)
    never = set(codebook.section_policy.never_tag)
    flagged = set(codebook.section_policy.flag_only)
    out: list[dict[str, str]] = [{} for _ in range(n)]
    rule = models.get("metrics", {}).get("combination_rule", "or")
    polarity_from = models.get("metrics", {}).get("polarity_from", "rules")
    trusted = models.get("metrics", {}).get("rule_trusted_themes", ())
    theme_rows = [i for i in range(n) if not is_rec[i] and sections[i] not in never | flagged]
    rec_rows = [i for i in range(n) if is_rec[i]]
    rules_theme = _rule_decisions(mentions, n, "theme")
    rules_rec = _rule_decisions(mentions, n, "rec_type")
    if method == "classifier":
        rules_theme = [{} for _ in range(n)]
        rules_rec = [{} for _ in range(n)]
    if theme_rows:
        sub = [texts[i] for i in theme_rows]
        theme_model = models["themes"]
        proba = theme_model.predict_proba(sub)
        passed = proba >= np.asarray(theme_model.thresholds_)
        clf = [[c for c, v in zip(theme_model.classes_, row, strict=True) if v] for row in passed]
        if theme_proba is not None:
            theme_proba.update(zip(theme_rows, proba, strict=True))
        rules_sub = [rules_theme[i] for i in theme_rows]
        pol = _predict_polarity(models["polarity"], sub, clf, rules_sub)
        # The polarity model reads one passage's worth of text; in a long text (a summary) a
        # theme's polarity is local to its sentence, which the rule mention captures.
        is_long = (
            theme_model.windowed(sub) if method == "combined" else np.zeros(len(sub), dtype=bool)
        )
        for long_group in (False, True):
            rows = np.flatnonzero(is_long == long_group)
            if not len(rows):
                continue
            merged = combine_decisions(
                [rules_sub[k] for k in rows],
                [clf[k] for k in rows],
                [pol[k] for k in rows],
                rule=rule if method == "combined" else "classifier",
                polarity_from=(
                    "rules"
                    if long_group
                    else (polarity_from if method == "combined" else "classifier")
                ),
                trusted=trusted,
            )
            for k, decision in zip(rows, merged, strict=True):
                out[theme_rows[k]] = decision
    if rec_rows:
        sub = [texts[i] for i in rec_rows]
        clf = models["rec_types"].predict_labels(sub)
        rules_sub = [{k: "concern" for k in rules_rec[i]} for i in rec_rows]
        merged = combine_decisions(
            rules_sub, clf, None, rule="or" if method == "combined" else "classifier"
        )
        for i, decision in zip(rec_rows, merged, strict=True):
            out[i] = decision
    return out


def _predict_polarity(model, texts, classifier_labels, rule_decisions) -> list[dict[str, str]]:  # noqa: ANN001
    """Polarity-classifier decisions for every theme the classifier or the rules found."""
    pairs, where = [], []
    for i, (text, labels) in enumerate(zip(texts, classifier_labels, strict=True)):
        for theme in sorted(set(labels) | set(rule_decisions[i])):
            pairs.append(_polarity_input(theme, text))
            where.append((i, theme))
    out: list[dict[str, str]] = [{} for _ in texts]
    if pairs:
        for (i, theme), value in zip(where, model.predict(pairs), strict=True):
            out[i][theme] = str(value)
    return out


# --------------------------------------------------------------------------------------------------
# 6. gold data, metrics, training and evaluation


def _read_gold(corpus_dir: Path) -> pd.DataFrame:
    path = corpus_dir / "annotations" / "passages.jsonl"
    if not path.exists():
        raise ThemesError(f"{path}: gold passages not found")
    with open(path, encoding="utf-8") as fh:
        return pd.DataFrame([json.loads(line) for line in fh])


def _theme_units(gold: pd.DataFrame, split: str | None) -> pd.DataFrame:
    """Body and chronology-row passages outside terms of reference, glossary and references."""
    keep = gold["role"].isin(UNIT_ROLES) & ~gold["section_type"].isin(EXCLUDED_UNIT_SECTIONS)
    if split is not None:
        keep &= gold["split"] == split
    return gold[keep].reset_index(drop=True)


def _rec_units(gold: pd.DataFrame, split: str | None) -> pd.DataFrame:
    keep = gold["role"] == "recommendation"
    if split is not None:
        keep &= gold["split"] == split
    return gold[keep].reset_index(drop=True)


def _theme_lists(labels_column: pd.Series) -> list[list[str]]:
    """Theme ids per unit, from a gold ``labels`` column."""
    return [[label["theme"] for label in labels] for labels in labels_column]


def _gold_decisions(units: pd.DataFrame) -> list[dict[str, str]]:
    return [{label["theme"]: label["polarity"] for label in labels} for labels in units["labels"]]


def _present(decisions: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{t: p for t, p in d.items() if p != "absent"} for d in decisions]


def _by_review(review_ids: Sequence[str], decisions: list[dict[str, str]]) -> list[set[str]]:
    grouped: dict[str, set[str]] = {}
    for review, decision in zip(review_ids, decisions, strict=True):
        grouped.setdefault(review, set()).update(decision)
    return [grouped[r] for r in sorted(grouped)]


def _scores(gold: list, pred: list, labels: Sequence[str]) -> dict[str, Any]:
    """Per-label and micro/macro precision, recall, F1 and Cohen's kappa for label sets."""
    from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

    y_true = _as_indicator([list(g) for g in gold], labels)
    y_pred = _as_indicator([list(p) for p in pred], labels)
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    with_support = support > 0
    per_label = {}
    for j, label in enumerate(labels):
        same = y_true[:, j].min() == y_true[:, j].max() == y_pred[:, j].min() == y_pred[:, j].max()
        kappa = float("nan") if same else float(cohen_kappa_score(y_true[:, j], y_pred[:, j]))
        per_label[label] = {
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "kappa": kappa,
            "support": int(support[j]),
        }
    kappas = [v["kappa"] for v in per_label.values() if v["support"] and not np.isnan(v["kappa"])]
    return {
        "micro_precision": float(micro[0]),
        "micro_recall": float(micro[1]),
        "micro_f1": float(micro[2]),
        "macro_f1": float(f[with_support].mean()) if with_support.any() else 0.0,
        "macro_kappa": float(np.mean(kappas)) if kappas else float("nan"),
        "n_units": len(gold),
        "per_label": per_label,
    }


def _polarity_accuracy(gold: list[dict[str, str]], pred: list[dict[str, str]]) -> float:
    """Share of correctly detected (passage, theme) pairs whose polarity is also right."""
    pairs = [(g[t], p[t]) for g, p in zip(gold, pred, strict=True) for t in g if t in p]
    return float(np.mean([a == b for a, b in pairs])) if pairs else float("nan")


def _predict_all(
    units: pd.DataFrame,
    tagger: RuleTagger,
    models: dict[str, Any],
    rule: str,
    polarity_from: str = "rules",
    trusted: Iterable[str] = (),
) -> dict[str, list[dict[str, str]]]:
    """Rules-only, classifier-only and combined decisions for theme units."""
    texts = units["text"].tolist()
    mentions = tagger.predict_mentions(texts, units["section_type"].tolist())
    rules = _rule_decisions(mentions, len(texts), "theme")
    labels = models["themes"].predict_labels(texts)
    none: list[dict[str, str]] = [{} for _ in texts]
    pol = _predict_polarity(models["polarity"], texts, labels, rules)
    return {
        "rules": rules,
        "classifier": combine_decisions(none, labels, pol, rule="classifier"),
        "combined": combine_decisions(
            rules, labels, pol, rule=rule, polarity_from=polarity_from, trusted=trusted
        ),
    }


def _predict_recs(
    units: pd.DataFrame, tagger: RuleTagger, models: dict[str, Any]
) -> dict[str, list[set[str]]]:
    texts = units["text"].tolist()
    mentions = tagger.predict_mentions(texts, ["recommendations"] * len(texts))
    rules = [set(d) for d in _rule_decisions(mentions, len(texts), "rec_type")]
    labels = [set(x) for x in models["rec_types"].predict_labels(texts)]
    return {
        "rules": rules,
        "classifier": labels,
        "combined": [r | c for r, c in zip(rules, labels, strict=True)],
    }


def _evaluate_units(
    gold_frame: pd.DataFrame,
    split: str,
    tagger: RuleTagger,
    models: dict[str, Any],
    codebook,  # noqa: ANN001
    rule: str,
    polarity_from: str = "rules",
    trusted: Iterable[str] = (),
) -> dict[str, Any]:
    units = _theme_units(gold_frame, split)
    gold = _gold_decisions(units)
    predictions = _predict_all(units, tagger, models, rule, polarity_from, trusted)
    themes = list(codebook.theme_ids)
    reviews = units["review_id"].tolist()
    results: dict[str, Any] = {
        "split": split,
        "n_passages": len(units),
        "n_reviews": len(set(reviews)),
        "methods": {},
    }
    rec_units = _rec_units(gold_frame, split)
    rec_gold = [set(x) for x in rec_units["rec_types"]]
    rec_pred = _predict_recs(rec_units, tagger, models)
    for method, pred in predictions.items():
        results["methods"][method] = {
            "passage": _scores(gold, pred, themes),
            "passage_present": _scores(_present(gold), _present(pred), themes),
            "review": _scores(_by_review(reviews, gold), _by_review(reviews, pred), themes),
            "review_present": _scores(
                _by_review(reviews, _present(gold)), _by_review(reviews, _present(pred)), themes
            ),
            "polarity_accuracy": _polarity_accuracy(gold, pred),
            "rec_types": _scores(rec_gold, rec_pred[method], list(codebook.rec_type_ids)),
        }
    return results


def _summary_rows(results: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for method, m in results["methods"].items():
        rows.append(
            {
                "method": method,
                "passage_micro_f1": m["passage"]["micro_f1"],
                "passage_macro_f1": m["passage"]["macro_f1"],
                "passage_macro_kappa": m["passage"]["macro_kappa"],
                "present_passage_micro_f1": m["passage_present"]["micro_f1"],
                "review_micro_f1": m["review"]["micro_f1"],
                "review_macro_f1": m["review"]["macro_f1"],
                "present_review_micro_f1": m["review_present"]["micro_f1"],
                "polarity_accuracy": m["polarity_accuracy"],
                "rec_type_micro_f1": m["rec_types"]["micro_f1"],
                "rec_type_macro_f1": m["rec_types"]["macro_f1"],
            }
        )
    return pd.DataFrame(rows)


def _per_theme_rows(results: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for method, m in results["methods"].items():
        for level in ("passage", "review", "rec_types"):
            for label, s in m[level]["per_label"].items():
                rows.append({"method": method, "level": level, "label": label, **s})
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame, index: bool = False) -> str:
    """A GitHub Markdown table (no dependency on tabulate)."""
    if index:
        frame = frame.reset_index()
    cells = [[("" if pd.isna(v) else str(v)) for v in row] for row in frame.itertuples(index=False)]
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _write_report(results: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = _summary_rows(results)
    per_theme = _per_theme_rows(results)
    summary.to_csv(out_dir / f"tagging_{results['split']}_summary.csv", index=False)
    per_theme.to_csv(out_dir / f"tagging_{results['split']}_per_label.csv", index=False)
    passage = per_theme[per_theme["level"] == "passage"].pivot(
        index="label", columns="method", values="f1"
    )
    lines = [
        f"# Theme tagging evaluation ({results['split']} split)",
        "",
        f"{results['n_passages']} passages (body and chronology rows outside terms of reference, "
        f"glossary and references) from {results['n_reviews']} reviews. Passage and review "
        "levels score theme detection with any polarity; `present_*` columns count only concern "
        "and good-practice labels. Polarity accuracy is over correctly detected (passage, theme) "
        "pairs.",
        "",
        _markdown(summary.round(3)),
        "",
        "## Passage-level F1 per theme",
        "",
        _markdown(passage.round(3), index=True),
        "",
    ]
    (out_dir / f"tagging_{results['split']}.md").write_text("\n".join(lines), encoding="utf-8")


def evaluate(
    corpus_dir: str | Path | None = None,
    split: str = "test",
    *,
    model_dir: str | Path | None = None,
    models: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Score rules, classifier and combined tagging against the gold passages.

    Passage level: units are body and chronology-row passages outside terms of reference,
    glossary and references; review level: a review has T when any of its passages does.
    Reports precision/recall/F1 per theme, micro and macro F1 (macro over themes present in the
    split), Cohen's kappa per theme, polarity accuracy on correctly detected themes and
    recommendation-type micro/macro F1.

    Args:
        corpus_dir: Corpus folder with ``annotations/passages.jsonl``; ``None`` for the bundled one.
        split: ``train``, ``dev`` or ``test``.
        model_dir: Trained models (``None``: ``models/theme-classifier``).
        models: Already loaded models; overrides ``model_dir``.
        out_dir: Where to write ``tagging_<split>.md`` and CSVs (``None``: ``build/evaluation``;
            ``False``-y empty string skips writing).

    Returns:
        A nested dict: ``methods`` -> ``rules``/``classifier``/``combined`` -> ``passage``,
        ``passage_present``, ``review``, ``review_present`` (score dicts), ``polarity_accuracy``,
        ``rec_types``.
    """
    from themes.codebook import load_codebook
    from themes.config import settings

    corpus = Path(corpus_dir) if corpus_dir else settings().corpus_dir
    models = models or load_models(model_dir)
    codebook = load_codebook()
    saved = models.get("metrics", {})
    rule = saved.get("combination_rule", "or")
    results = _evaluate_units(
        _read_gold(corpus),
        split,
        RuleTagger(codebook),
        models,
        codebook,
        rule,
        saved.get("polarity_from", "rules"),
        saved.get("rule_trusted_themes", ()),
    )
    if out_dir != "":
        _write_report(results, Path(out_dir) if out_dir else settings().output_dir / "evaluation")
    return results


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("spacy", "spacy-lookups-data", "scikit-learn", "skops", "numpy", "pandas"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _library_units(gold: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training wordings of library passages the train reviews did not draw: themes, recs."""
    from themes.synthetic.compose import training_wordings
    from themes.synthetic.library import load_library

    seen = set(gold.loc[gold["split"] == "train", "passage_ref"].dropna())
    rows = pd.DataFrame(training_wordings(load_library(), exclude=seen, seed=seed))
    themes = rows[~rows["kind"].isin({"recommendation", "terms_of_reference"})]
    recs = rows[rows["kind"] == "recommendation"]
    return themes.reset_index(drop=True), recs.reset_index(drop=True)


def _supplement_units(folder: Path | None, theme_ids: Sequence[str]) -> pd.DataFrame:
    """Labelled supplement texts as training units (``text``, ``labels``); empty when none."""
    from themes.text_eval import read_labelled_texts

    if folder is None:
        return pd.DataFrame(columns=["text", "labels"])
    records = read_labelled_texts(folder, theme_ids)
    return pd.DataFrame(
        {
            "text": [r["text"] for r in records],
            "labels": [
                # a label without polarity trains the theme model only (see the pairs below)
                [{"theme": t, "polarity": p} for t, p in r["gold"].items()]
                for r in records
            ],
        }
    )


def _training_units(
    gold: pd.DataFrame,
    seed: int,
    theme_ids: Sequence[str],
    *,
    library_wordings: bool = True,
    supplement_dir: Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int], int]:
    """What the classifiers train on: the train split, library wordings and supplement texts.

    Returns:
        Theme units (``text``, ``labels``, ``group``: the library passage a unit renders, so all
        wordings of one passage share a group; other units are their own group), recommendation
        units (``text``, ``rec_types``), the number of library wordings added per kind and the
        number of supplement texts.
    """
    units = _theme_units(gold, "train")[["text", "labels", "passage_ref"]]
    recs = _rec_units(gold, "train")[["text", "rec_types"]]
    n_library = {"themes": 0, "rec_types": 0}
    if library_wordings:
        extra_themes, extra_recs = _library_units(gold, seed)
        n_library = {"themes": len(extra_themes), "rec_types": len(extra_recs)}
        units = pd.concat([units, extra_themes[["text", "labels", "passage_ref"]]])
        recs = pd.concat([recs, extra_recs[["text", "rec_types"]]], ignore_index=True)
    supplement = _supplement_units(supplement_dir, theme_ids)
    if len(supplement):
        units = pd.concat([units, supplement])
    units = units.reset_index(drop=True)
    units["group"] = [
        ref if isinstance(ref, str) else f"unit-{i}" for i, ref in enumerate(units["passage_ref"])
    ]
    return units.drop(columns="passage_ref"), recs, n_library, len(supplement)


def _relative_to_root(path: Path) -> str:
    """``path`` relative to the project root when it lies inside it (portable metrics files)."""
    from themes.config import settings

    root = settings().root
    try:
        return str(path.resolve().relative_to(root.resolve())) if root else str(path)
    except ValueError:
        return str(path)


def _rule_precision(
    gold_present: list[set[str]], rule_present: list[set[str]], theme_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Theme -> (correct, all) present-polarity rule decisions."""
    out = {t: [0, 0] for t in theme_ids}
    for gold, found in zip(gold_present, rule_present, strict=True):
        for t in found:
            if t in out:
                out[t][1] += 1
                out[t][0] += t in gold
    return {t: (c, n) for t, (c, n) in out.items()}


def _choose_combination(
    models: dict[str, Any],
    tagger: RuleTagger,
    dev_units: pd.DataFrame,
    tune: list[dict],
    theme_ids: Sequence[str],
    cuts: Sequence[float],
    min_decisions: int,
) -> dict[str, Any]:
    """Pick the combination rule, trust cut-off and polarity source on dev + fresh tune texts.

    Every candidate is scored on the bundled dev split (micro-F1 + macro-F1 + polarity accuracy)
    and, when there are fresh tune texts, on them too (the same sum over present themes); the
    objective is the mean of the two sums. ``models["metrics"]`` is overwritten while scoring.

    Returns:
        ``rule``, ``cut`` (``None`` unless ``trusted_or``), ``polarity_from``, ``trusted`` (theme
        ids), ``precision`` (theme -> (right, all) rule decisions) and ``scores`` (per candidate).
    """
    from themes.text_eval import score_texts

    dev_gold = _gold_decisions(dev_units)
    dev_rules = _rule_decisions(
        tagger.predict_mentions(dev_units["text"].tolist(), dev_units["section_type"].tolist()),
        len(dev_units),
    )
    tune_rules = decide_texts(
        [r["text"] for r in tune], [r["section_type"] for r in tune], "rules", tagger=tagger
    )
    precision = _rule_precision(
        [{t for t, p in g.items() if p != "absent"} for g in dev_gold]
        + [{t for t, p in r["gold"].items() if p != "absent"} for r in tune],
        [{t for t, p in d.items() if p != "absent"} for d in dev_rules + tune_rules],
        theme_ids,
    )

    def trusted_at(cut: float | None) -> list[str]:
        if cut is None:
            return []
        return sorted(
            t for t, (right, n) in precision.items() if n >= min_decisions and right / n >= cut
        )

    def key(rule: str, cut: float | None, source: str) -> str:
        return f"{rule}@{cut}/{source}" if cut is not None else f"{rule}/{source}"

    candidates = [
        (rule, cut, source)
        for rule in sorted(COMBINATION_RULES)
        for cut in (cuts if rule == "trusted_or" else (None,))
        for source in ("rules", "classifier")
    ]
    scores: dict[str, dict[str, float]] = {}
    for rule, cut, source in candidates:
        trusted = trusted_at(cut)
        pred = _predict_all(dev_units, tagger, models, rule, source, trusted)["combined"]
        s = _scores(dev_gold, pred, theme_ids)
        entry = {
            "micro_f1": s["micro_f1"],
            "macro_f1": s["macro_f1"],
            "polarity_accuracy": _polarity_accuracy(dev_gold, pred),
        }
        if tune:
            models["metrics"] = {
                "combination_rule": rule,
                "polarity_from": source,
                "rule_trusted_themes": trusted,
            }
            tuned = score_texts(tune, ("combined",), models=models, tagger=tagger)
            result = tuned["methods"]["combined"]
            entry.update(
                fresh_tune_micro_f1=result["present"]["micro_f1"],
                fresh_tune_macro_f1=result["present"]["macro_f1"],
                fresh_tune_polarity_accuracy=result["polarity_accuracy"],
            )
        scores[key(rule, cut, source)] = entry

    def objective(name: str) -> float:
        # mean of the bundled-dev and fresh-tune sums (dev alone without fresh texts)
        s = scores[name]
        total = s["micro_f1"] + s["macro_f1"] + s["polarity_accuracy"]
        if "fresh_tune_micro_f1" in s:
            fresh_total = s["fresh_tune_micro_f1"] + s["fresh_tune_macro_f1"]
            fresh_total += s["fresh_tune_polarity_accuracy"]
            total = (total + fresh_total) / 2
        return total

    best = max(sorted(scores), key=objective)  # ties: the first key in sort order
    rule, cut, source = next(c for c in candidates if key(*c) == best)
    return {
        "rule": rule,
        "cut": cut,
        "polarity_from": source,
        "trusted": trusted_at(cut),
        "precision": precision,
        "scores": scores,
    }


def train(
    corpus_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    seed: int = 0,
    *,
    library_wordings: bool = True,
    supplement_dir: str | Path | None = None,
    fresh_dir: str | Path | None = None,
    rule_trust_min: Sequence[float] = (0.4, 0.5, 0.6, 0.7),
    rule_trust_min_decisions: int = 5,
) -> dict[str, Any]:
    """Train the theme, polarity and recommendation-type classifiers and save them with skops.

    Trains on the train split (plus, with ``library_wordings``, the training wording of every
    library passage the train reviews did not draw; dev and test render other wordings), tunes
    per-label thresholds on the dev split, and picks the combination rule on the dev split and
    the ``tune`` half of the fresh labelled texts together (generalisation to text we did not
    write matters as much as our own corpus). Then scores everything on the test split and the
    fresh ``test`` half. Writes ``themes.skops``, ``polarity.skops``, ``rec_types.skops``,
    ``metrics.json`` and ``model_card.md``.

    Args:
        corpus_dir: Corpus folder (``None``: the bundled corpus).
        out_dir: Output folder (``None``: ``models/theme-classifier``).
        seed: ``random_state`` for every model.
        library_wordings: Add the packaged library's training wordings (only meaningful for
            corpora generated from it, such as the bundled one).
        supplement_dir: Optional folder of extra labelled training texts in the ``themes
            evaluate --texts`` format, such as real passages a team has coded by hand; they train
            the theme and the polarity models (labels without polarity only the theme model).
        fresh_dir: Fresh labelled texts (``None``: ``evaluation/fresh``; a missing folder means
            the rule is chosen on dev alone).
        rule_trust_min: Candidate cut-offs: a theme's rule mentions are trusted by the
            ``trusted_or`` combination when at least this share of them were right on dev +
            fresh tune texts (the cut-off is chosen with the combination rule)...
        rule_trust_min_decisions: ...out of at least this many.

    Returns:
        The metrics written to ``metrics.json``.
    """
    import skops.io as sio

    from themes.codebook import load_codebook
    from themes.config import settings

    started = time.perf_counter()
    corpus = Path(corpus_dir) if corpus_dir else settings().corpus_dir
    folder = Path(out_dir) if out_dir else _default_model_dir()
    codebook = load_codebook()
    gold = _read_gold(corpus)
    dev_units = _theme_units(gold, "dev")
    theme_ids = list(codebook.theme_ids)

    rec_dev = _rec_units(gold, "dev")
    supplement_path = Path(supplement_dir) if supplement_dir else None
    train_units, rec_train, n_library, n_supplement = _training_units(
        gold, seed, theme_ids, library_wordings=library_wordings, supplement_dir=supplement_path
    )
    themes = ThemeClassifier(theme_ids, random_state=seed).fit(
        train_units["text"].tolist(),
        _theme_lists(train_units["labels"]),
        dev_units["text"].tolist(),
        _theme_lists(dev_units["labels"]),
    )
    pairs = [
        (_polarity_input(lab["theme"], text), lab["polarity"])
        for text, labels in zip(train_units["text"], train_units["labels"], strict=True)
        for lab in labels
        if lab["polarity"]
    ]
    polarity = PolarityClassifier(random_state=seed).fit(
        [p[0] for p in pairs], [p[1] for p in pairs]
    )
    rec_types = ThemeClassifier(list(codebook.rec_type_ids), random_state=seed).fit(
        rec_train["text"].tolist(),
        rec_train["rec_types"].tolist(),
        rec_dev["text"].tolist(),
        rec_dev["rec_types"].tolist(),
    )
    train_seconds = time.perf_counter() - started
    models = {"themes": themes, "polarity": polarity, "rec_types": rec_types}

    from themes.text_eval import load_fresh_halves, score_texts, summary_table

    tagger = RuleTagger(codebook)
    fresh_path, fresh = load_fresh_halves(fresh_dir, theme_ids)
    choice = _choose_combination(
        models,
        tagger,
        dev_units,
        fresh["tune"],
        theme_ids,
        rule_trust_min,
        rule_trust_min_decisions,
    )
    chosen, chosen_cut, polarity_from = choice["rule"], choice["cut"], choice["polarity_from"]
    trusted, precision, dev_scores = choice["trusted"], choice["precision"], choice["scores"]
    models["metrics"] = {
        "combination_rule": chosen,
        "polarity_from": polarity_from,
        "rule_trusted_themes": trusted,
    }
    test = _evaluate_units(gold, "test", tagger, models, codebook, chosen, polarity_from, trusted)
    fresh_scores = {}
    for half in ("tune", "test"):
        if fresh[half]:
            result = score_texts(fresh[half], models=models, tagger=tagger)
            fresh_scores[half] = {
                "n_texts": result["n_texts"],
                "methods": summary_table(result).set_index("method").round(4).to_dict("index"),
            }

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("themes", "polarity", "rec_types"):
        sio.dump(
            models[name],
            folder / f"{name}.skops",
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=9,
        )
    summary = _summary_rows(test).set_index("method").round(4).to_dict(orient="index")
    metrics = {
        "model": MODEL_NAME,
        "combination_rule": chosen,
        "polarity_from": polarity_from,
        "rule_trusted_themes": trusted,
        "rule_trust": {
            "min_precision_candidates": list(rule_trust_min),
            "min_precision": chosen_cut,
            "min_decisions": rule_trust_min_decisions,
            "precision_on_dev_and_fresh_tune": {
                t: [right, n] for t, (right, n) in sorted(precision.items())
            },
        },
        "dev_combination_scores": dev_scores,
        "seed": seed,
        "train_seconds": round(train_seconds, 1),
        "data": {
            "corpus_manifest_sha256": _sha256(corpus / "manifest.csv"),
            "passages_sha256": _sha256(corpus / "annotations" / "passages.jsonl"),
            "codebook_version": codebook.version,
            "codebook_checksum": codebook.checksum,
            "n_train_passages": len(train_units),
            "n_dev_passages": len(dev_units),
            "n_test_passages": test["n_passages"],
            "n_train_recommendations": len(rec_train),
            "n_library_wordings_added": n_library,
            "n_supplement_texts": n_supplement,
            "supplement_dir": _relative_to_root(supplement_path) if n_supplement else None,
            "fresh_eval_dir": _relative_to_root(fresh_path),
        },
        "fresh": fresh_scores,
        "versions": _versions(),
        "thresholds": {
            "themes": dict(zip(themes.classes_, map(float, themes.thresholds_), strict=True)),
            "rec_types": dict(
                zip(rec_types.classes_, map(float, rec_types.thresholds_), strict=True)
            ),
        },
        "targets": dict(TARGETS),
        "test": summary,
        "test_per_theme_passage_f1": {
            m: {k: round(v["f1"], 4) for k, v in test["methods"][m]["passage"]["per_label"].items()}
            for m in test["methods"]
        },
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=True) + "\n")
    (folder / "model_card.md").write_text(_model_card(metrics), encoding="utf-8")
    return metrics


# Dev experiments behind the chosen configuration (see the model card); 2-fold dev thresholds.
EXPERIMENTS: list[tuple[str, float, float]] = [
    ("TF-IDF word 1-2 + char_wb 3-5, uncapped (48.6k features), C=10 (old model)", 0.743, 0.766),
    ("same, each vocabulary capped at 20k (40k features), C=10", 0.745, 0.769),
    ("word 1-2-grams only, 20k", 0.679, 0.691),
    ("capped TF-IDF, C=1", 0.744, 0.766),
    ("capped TF-IDF, C=3", 0.748, 0.768),
    ("capped TF-IDF, C=30", 0.741, 0.765),
    ("static embeddings only (mean+max of sentences), C=10", 0.591, 0.595),
    ("capped TF-IDF + embeddings mean+max x0.3, C=10", 0.749, 0.773),
    ("capped TF-IDF + embeddings mean+max x0.5, C=10", 0.756, 0.782),
    ("capped TF-IDF + embeddings mean+max x1, C=10", 0.749, 0.762),
    ("capped TF-IDF + embeddings mean+max x2, C=10", 0.691, 0.696),
    ("capped TF-IDF + embeddings whole+mean+max x1, C=10", 0.753, 0.766),
    ("capped TF-IDF + embeddings mean+max x0.5, C=3 (chosen)", 0.757, 0.780),
    ("chosen + rule-hit features (any/present/log count) x0.5", 0.709, 0.744),
    ("chosen + rule-hit features x1", 0.699, 0.720),
    ("kNN label transfer, static embedding, k=1 / k=5", 0.624, 0.620),
    ("kNN label transfer, TF-IDF cosine, k=5", 0.657, 0.668),
    ("chosen OR rule hits", 0.681, 0.719),
    ("stacked combiner on dev (logit, rule any/present, per-theme terms), 2-fold", 0.770, 0.788),
    # 2026-12-06 (second session): same 2-fold protocol, scratch scripts, not shipped
    ("chosen, re-measured", 0.745, 0.766),
    ("chosen + all-MiniLM-L6-v2 mean-pooled embeddings x0.5 (needs torch)", 0.783, 0.799),
    ("TF-IDF + all-MiniLM-L6-v2 embeddings x1, no static block (needs torch)", 0.788, 0.805),
    ("all-MiniLM-L6-v2 embeddings only, C=10 (needs torch)", 0.736, 0.752),
    ("all-MiniLM-L6-v2 fine-tuned end to end, BCE, 4 epochs on CPU (needs torch)", 0.731, 0.729),
]

# Issue 5 targets on the test split, combined method.
TARGETS: dict[str, float] = {
    "passage_micro_f1": 0.90,
    "passage_macro_f1": 0.85,
    "review_micro_f1": 0.93,
    "polarity_accuracy": 0.90,
}


def _fresh_table(half: dict[str, Any] | None) -> pd.DataFrame:
    if not half:
        return pd.DataFrame({"note": ["no fresh texts were available"]})
    return pd.DataFrame(half["methods"]).T.round(3)


def _model_card(metrics: dict[str, Any]) -> str:
    table = pd.DataFrame(metrics["test"]).T.round(3)
    data = metrics["data"]
    return "\n".join(
        [
            "# Model card: theme-classifier",
            "",
            "Passage-level multi-label classifiers for the safeguarding-themes codebook, used with "
            "the codebook rules by `themes.tagging` (method `combined`).",
            "",
            "## Models",
            "- `themes.skops`: `ThemeClassifier`, TF-IDF word 1-2-grams + char_wb 3-5-grams "
            "(20k features each, min_df 2) + pooled static sentence embeddings "
            "(`models/static-minilm`, mean and max over sentences, x0.5), one "
            "`LogisticRegression(C=3, class_weight='balanced')` per theme stored as one float32 "
            "matrix, thresholds tuned for F1 on the dev split.",
            "- `polarity.skops`: `PolarityClassifier` (concern / good_practice / absent) over "
            "`<theme> || <text>`, TF-IDF word 1-3-grams + char_wb 3-5-grams, one multinomial "
            "logistic regression.",
            "- `rec_types.skops`: `ThemeClassifier` over the 10 recommendation types, trained on "
            "recommendation passages.",
            f"- Combination rule (chosen on dev + fresh tune texts): "
            f"`{metrics['combination_rule']}`, polarity from `{metrics['polarity_from']}` "
            "(see `themes.tagging.combine_decisions`). Rule mentions trusted for "
            f"{len(metrics.get('rule_trusted_themes', []))} themes (rule precision >= "
            f"{metrics.get('rule_trust', {}).get('min_precision')} on dev + fresh tune texts): "
            + ", ".join(f"`{t}`" for t in metrics.get("rule_trusted_themes", []))
            + ".",
            "- Texts of 5 or more sentences (summaries) are also scored in 2-sentence windows; "
            "each theme takes its highest score, and its polarity comes from the rule mention "
            "where there is one.",
            "",
            "Load with `themes.tagging.load_models()` (skops; only types from `themes.tagging`, "
            "scikit-learn, numpy, scipy and builtins are trusted, anything else is refused). The "
            "files are deflate-compressed, TF-IDF vocabularies are stored as string arrays and "
            "weights as float32; the static embedding model is read from `models/static-minilm` "
            "at first use, never stored in these files.",
            "",
            "## Data",
            "- Corpus: bundled fictional corpus, manifest sha256 "
            f"`{data['corpus_manifest_sha256']}`.",
            f"- Codebook version {data['codebook_version']} (checksum "
            f"`{data['codebook_checksum'][:16]}`).",
            f"- {data['n_train_passages']} training passages, {data['n_dev_passages']} dev, "
            f"{data['n_test_passages']} test (test uses wordings never seen in training). The "
            "training passages are the train split's plus the training wording of the "
            f"{data.get('n_library_wordings_added', {}).get('themes', 0)} library passages the "
            "train reviews did not draw (dev and test render a different wording)"
            + (
                f", and {data['n_supplement_texts']} labelled texts from "
                f"`{data['supplement_dir']}`."
                if data.get("n_supplement_texts")
                else "."
            ),
            f"- Seed {metrics['seed']}; training took {metrics['train_seconds']} s.",
            "",
            "## Test metrics",
            "",
            _markdown(table, index=True),
            "",
            "## Fresh texts (written outside the passage library)",
            "",
            "Scored on the test half of `evaluation/fresh` (texts written from scratch by "
            "independent writers; see its README). A theme counts when reported as concern or "
            "good practice.",
            "",
            _markdown(_fresh_table(metrics.get("fresh", {}).get("test")), index=True),
            "",
            "## What we tried (dev split)",
            "",
            "Classifier only, theme detection; thresholds tuned on one half of dev and scored on "
            "the other (2-fold, so the numbers are honest, slightly below the tuned-on-all-dev "
            "figures). Nothing was trained on dev or test text.",
            "",
            _markdown(pd.DataFrame(EXPERIMENTS, columns=["experiment", "micro_f1", "macro_f1"])),
            "",
            "## Limitations",
            "- Trained on a fictional, generated corpus: expect lower scores on real reports.",
            "- Dev and test share paraphrase variants of some library passages, so thresholds "
            "tuned on dev may be slightly optimistic for test.",
            "- English (UK) only; passage-level decisions. Classifier-only themes have no span "
            "evidence; `ThemeClassifier.evidence_terms` lists the word n-grams that raised the "
            "score.",
            "- Rule hits hurt as classifier features: the codebook matches the training wordings "
            "better than unseen ones, so the model over-trusts them.",
            "- The fresh evaluation texts and the passage library were both written by "
            "language-model helpers; they share style, so fresh-text scores may be optimistic for "
            "text written by people (see `evaluation/fresh/README.md`).",
            "- Data-limited: each doubling of the distinct labelled passages has added about 0.08 "
            "micro-F1 on the fresh texts, and the curve has not flattened "
            "(`evaluation/learning-curve/`).",
            "",
            "## Versions",
            "",
            *[f"- {k} {v}" for k, v in metrics["versions"].items()],
            "",
        ]
    )


# --------------------------------------------------------------------------------------------------
# 7. command-line entry points (wired into ``themes.cli``)


def cli_train(args) -> int:  # noqa: ANN001
    """``themes train [--corpus DIR] [--out DIR] [--seed N]``: train, save, print test scores."""
    metrics = train(
        getattr(args, "corpus", None),
        getattr(args, "out", None),
        seed=getattr(args, "seed", 0),
        library_wordings=getattr(args, "library_wordings", True),
        supplement_dir=getattr(args, "supplement", None),
    )
    table = pd.DataFrame(metrics["test"]).T.round(3)
    print(_markdown(table, index=True))
    return 0


def cli_evaluate(args) -> int:  # noqa: ANN001
    """``themes evaluate [--corpus DIR] [--split dev|test] [--out DIR]``: Markdown + CSV report."""
    from themes.config import settings

    split = getattr(args, "split", "test") or "test"
    out = getattr(args, "out", None) or settings().output_dir / "evaluation"
    results = evaluate(
        getattr(args, "corpus", None),
        split,
        model_dir=getattr(args, "model_dir", None),
        out_dir=out,
    )
    print(_markdown(_summary_rows(results).round(3)))
    print(f"report: {Path(out) / f'tagging_{split}.md'}")
    return 0


def _text_object(line: str, where: str) -> dict[str, Any]:
    """One JSON Lines line holding an object with a ``"text"`` string; errors start ``where``."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise ThemesError(f"{where}: invalid JSON ({error.msg})") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ThemesError(f'{where}: expected an object with a "text" string')
    return item


def _read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    """``{"id", "text"}`` records from a JSON Lines file; a bad line raises naming its number."""
    if not path.exists():
        raise ThemesError(f"{path}: input file not found")
    records = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            item = _text_object(line, f"{path}: line {number}")
            item.setdefault("id", number)
            records.append(item)
    return records


def cli_tag_texts(args) -> int:  # noqa: ANN001
    """``themes tag-texts IN.jsonl -o OUT.jsonl [--method rules|classifier|combined]``."""
    records = _read_jsonl_records(Path(args.input))
    codebook_path = getattr(args, "codebook", None)
    spacy_model = getattr(args, "spacy_model", None)
    tagger = None
    if codebook_path or spacy_model:
        from themes.codebook import load_codebook

        codebook = load_codebook(codebook_path) if codebook_path else None
        tagger = RuleTagger(codebook, spacy_model=spacy_model)
    out = tag_texts(
        records,
        getattr(args, "method", "combined") or "combined",
        model_dir=getattr(args, "model_dir", None),
        tagger=tagger,
    )
    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8") as fh:
        for item in out:
            fh.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
    print(f"tagged {len(out)} texts -> {target}")
    return 0
