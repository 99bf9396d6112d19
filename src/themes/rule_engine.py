"""Array kernels of the rule tagger: a batch of docs' tokens end to end in NumPy arrays.

The rule tagger's semantics (what a match is, which mentions survive, their polarity) are
documented on :class:`themes.tagging.RuleTagger`; this module computes them for many docs at once.
Python loops per token, per pattern start and per mention made the tagger run at about 0.12x the
speed of blank spaCy tokenisation; here each step is a handful of array operations per batch:

- **Token patterns** with only required and ``?`` tokens (every packaged pattern) are expanded
  into fixed-length sequences of token tests; a sequence is tried only where its most selective
  word can be found (from per-batch posting lists of word positions), and each further token is
  one table lookup per candidate. Patterns using ``*``, ``+`` or ``!`` are matched by
  :meth:`themes.tagging._TokenPattern.longest`, per candidate start.
- **Mentions**: overlaps, exclusions, exclusion contexts, sentence bounds and polarity cues are
  resolved with sorted searches and (mention, cue) pairs within a doc.

Token positions are *global* (index into the batch arrays); a doc owns
``doc_start[d]:doc_start[d + 1]``. Offsets stored on a doc or returned as characters are local.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

# Role codes of match keys ("<role>|<id>", see themes.tagging._RuleMatcher).
ROLE_TERM, ROLE_EXCLUDE, ROLE_CONTEXT, ROLE_CUE = 0, 1, 2, 3
ROLE_CODES = {"T": ROLE_TERM, "X": ROLE_EXCLUDE, "C": ROLE_CONTEXT, "P": ROLE_CUE}
CUE_NAMES: tuple[str, ...] = ("absent", "absent_after", "good_practice", "concern")
FLAG_ATTRS: tuple[str, ...] = ("IS_PUNCT", "LIKE_NUM")
# A pattern with more optional tokens than this is matched by the per-start search instead.
MAX_SEQUENCES = 256


@dataclass
class TokenArrays:
    """Tokens of a batch of docs laid end to end.

    Attributes:
        lowers: ``LOWER`` hash per token (uint64).
        idx: Character offset of each token in its own text.
        length: Length of each token in characters.
        doc_start: ``n_docs + 1`` token offsets; doc ``d`` owns ``doc_start[d]:doc_start[d+1]``.
        doc_of: Doc index of each token.
        flags: ``IS_PUNCT``/``LIKE_NUM`` per token, for the flags some pattern uses.
        sent_start: ``SENT_START`` per token (1 starts a sentence, -1 does not, 0 unknown) when
            the docs come from a pipeline that segments sentences; else ``None``.
    """

    lowers: np.ndarray
    idx: np.ndarray
    length: np.ndarray
    doc_start: np.ndarray
    doc_of: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    sent_start: np.ndarray | None = None

    @staticmethod
    def attr_ids(flags: tuple[str, ...] = (), sentences: bool = False) -> list[int]:
        """Attribute ids for ``Doc.to_array``: LOWER, IDX, LENGTH, ``flags``, [SENT_START]."""
        from spacy import attrs

        names = ("LOWER", "IDX", "LENGTH", *flags, *(("SENT_START",) if sentences else ()))
        return [getattr(attrs, name) for name in names]

    @classmethod
    def from_blocks(
        cls, blocks: list[np.ndarray], flags: tuple[str, ...] = (), sentences: bool = False
    ) -> TokenArrays:
        """Join per-doc ``Doc.to_array(TokenArrays.attr_ids(flags, sentences))`` blocks."""
        width = 3 + len(flags) + sentences
        blocks = [b.reshape(-1, width) for b in blocks]
        lengths = np.fromiter((len(b) for b in blocks), dtype=np.int64, count=len(blocks))
        table = (
            np.concatenate(blocks) if blocks else np.zeros((0, width), dtype=np.uint64)
        ).astype(np.uint64, copy=False)
        doc_start = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum(lengths, out=doc_start[1:])
        return cls(
            lowers=table[:, 0],
            idx=table[:, 1].astype(np.int64),
            length=table[:, 2].astype(np.int64),
            doc_start=doc_start,
            doc_of=np.repeat(np.arange(len(blocks), dtype=np.int64), lengths),
            flags={name: table[:, 3 + k].astype(bool) for k, name in enumerate(flags)},
            # SENT_START is signed; to_array returns it as uint64 two's complement.
            sent_start=table[:, -1].view(np.int64).copy() if sentences else None,
        )

    def __len__(self) -> int:
        return len(self.lowers)


class WordIndex:
    """Dense ids for every word hash some token test names, and per-batch posting lists."""

    def __init__(self, hashes: set[int]):
        self.words = np.array(sorted(hashes), dtype=np.uint64)
        self.other = len(self.words)  # the id of every word no test names

    def table(self, hashes: frozenset[int], positive: bool = True) -> np.ndarray:
        """Boolean lookup over word ids (last entry: any other word) for a word-set test."""
        out = np.zeros(self.other + 1, dtype=bool)
        if hashes:
            wanted = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
            out[np.searchsorted(self.words, wanted)] = True
        return out if positive else ~out

    def ids(self, lowers: np.ndarray) -> np.ndarray:
        """Word id of each ``LOWER`` hash (:attr:`other` for words no test names)."""
        if not self.other:
            return np.zeros(len(lowers), dtype=np.int64)
        at = np.searchsorted(self.words, lowers)
        found = at < self.other
        found[found] = self.words[at[found]] == lowers[found]
        return np.where(found, at, self.other)


class Postings:
    """Positions of each named word in one batch."""

    def __init__(self, word_ids: np.ndarray, other: int):
        named = np.flatnonzero(word_ids != other)
        order = np.argsort(word_ids[named], kind="stable")
        self.positions = named[order]
        self.bounds = np.searchsorted(word_ids[named][order], np.arange(other + 1))
        self._cache: dict[int, np.ndarray] = {}

    def of(self, key: int, word_ids: np.ndarray) -> np.ndarray:
        """Positions (unordered) of any word in ``word_ids`` (cached under ``key``)."""
        found = self._cache.get(key)
        if found is None:
            parts = [self.positions[self.bounds[w] : self.bounds[w + 1]] for w in word_ids]
            found = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            self._cache[key] = found
        return found

    def count(self, word_ids: np.ndarray) -> int:
        """How many tokens of the batch are one of ``word_ids``."""
        return int((self.bounds[word_ids + 1] - self.bounds[word_ids]).sum())


@dataclass
class TokenTest:
    """What one pattern token accepts: a word-id table (``None``: any word) and flag tests."""

    table: np.ndarray | None
    flags: tuple[tuple[str, bool], ...]  # (flag, required value)
    anchor_words: np.ndarray | None  # word ids, when the test accepts a finite set of words

    def accepts(self, positions: np.ndarray, word_ids: np.ndarray, tokens: TokenArrays):
        """Whether the token at each of ``positions`` passes this test."""
        keep = self.table[word_ids[positions]] if self.table is not None else None
        for flag, value in self.flags:
            ok = tokens.flags[flag][positions] == value
            keep = ok if keep is None else keep & ok
        return np.ones(len(positions), dtype=bool) if keep is None else keep


class TokenSequence:
    """One fixed-length expansion of a token pattern."""

    def __init__(self, tests: list[TokenTest]):
        self.tests = tests
        self.length = len(tests)
        self.worded = [k for k, t in enumerate(tests) if t.anchor_words is not None]
        self.flagged = next((k for k, t in enumerate(tests) if t.flags), None)

    def starts(self, tokens: TokenArrays, word_ids: np.ndarray, postings: Postings) -> np.ndarray:
        """Global positions where this sequence matches (within one doc)."""
        if self.worded:
            # Anchor on the word test with the fewest occurrences in this batch.
            anchor = min(self.worded, key=lambda k: postings.count(self.tests[k].anchor_words))
            test = self.tests[anchor]
            at = postings.of(id(test), test.anchor_words)
        else:
            anchor = self.flagged
            at = np.flatnonzero(
                self.tests[anchor].accepts(np.arange(len(tokens)), word_ids, tokens)
            )
        if not len(at):
            return at
        docs = tokens.doc_of[at]
        begin = at - anchor
        inside = (begin >= tokens.doc_start[docs]) & (
            begin + self.length <= tokens.doc_start[docs + 1]
        )
        begin = begin[inside]
        for k, test in enumerate(self.tests):
            if k == anchor or not len(begin):
                continue
            if test.table is None and not test.flags:
                continue  # a wildcard: the doc-bounds check already placed a token here
            begin = begin[test.accepts(begin + k, word_ids, tokens)]
        return begin


def expand(tokens: list[tuple[list, str | None]], make_test) -> list[list] | None:  # noqa: ANN001
    """Fixed-length sequences of a pattern's token specs (``None`` if it needs the search).

    ``tokens`` are ``(checks, op)`` pairs; ``make_test(checks)`` builds one token's test.
    """
    if any(op not in {None, "?"} for _, op in tokens):
        return None
    optional = [k for k, (_, op) in enumerate(tokens) if op == "?"]
    if 2 ** len(optional) > MAX_SEQUENCES:
        return None
    tests = [make_test(checks) for checks, _ in tokens]
    seen: set[tuple[int, ...]] = set()
    sequences = []
    for dropped in itertools.product((False, True), repeat=len(optional)):
        skip = {k for k, d in zip(optional, dropped, strict=True) if d}
        kept = [k for k in range(len(tokens)) if k not in skip]
        # Two optional wildcards in a row give the same sequence twice.
        shape = tuple(id(tests[k]) if tokens[k][0] else -1 for k in kept)
        if not kept or shape in seen:
            continue
        seen.add(shape)
        sequence = [tests[k] for k in kept]
        if not any(t.anchor_words is not None or t.flags for t in sequence):
            return None  # nothing to anchor on (only wildcards and negated words): search
        sequences.append(sequence)
    return sequences


def longest_per_start(starts: list[np.ndarray], ends: list[np.ndarray]):  # noqa: ANN201
    """Keep the longest match at each start position."""
    if not starts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    start, end = np.concatenate(starts), np.concatenate(ends)
    order = np.lexsort((-end, start))
    start, end = start[order], end[order]
    first = np.ones(len(start), dtype=bool)
    first[1:] = start[1:] != start[:-1]
    return start[first], end[first]


# --------------------------------------------------------------------------------------------------
# mentions


def _group_sorted(group: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """One int64 key per (group, position) that sorts by group, then position."""
    return group.astype(np.int64) * (n + 1) + pos


def _pairs(left_doc: np.ndarray, right_doc: np.ndarray):  # noqa: ANN201
    """Every (left, right) index pair in the same doc; ``right_doc`` must be sorted."""
    lo = np.searchsorted(right_doc, left_doc, side="left")
    hi = np.searchsorted(right_doc, left_doc, side="right")
    counts = hi - lo
    left = np.repeat(np.arange(len(left_doc)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return left, np.repeat(lo, counts) + offsets


def _any_per(left: np.ndarray, hit: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(left[hit], minlength=n) > 0


def _greedy_keep(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Longest, then earliest, of overlapping spans (one group), as a keep mask."""
    keep = np.zeros(len(start), dtype=bool)
    taken: set[int] = set()
    for k in sorted(range(len(start)), key=lambda k: (start[k] - end[k], start[k])):
        span = range(int(start[k]), int(end[k]))
        if not any(i in taken for i in span):
            keep[k] = True
            taken.update(span)
    return keep


def resolve_mentions(
    tokens: TokenArrays,
    matches: tuple[np.ndarray, np.ndarray, np.ndarray],
    key_role: np.ndarray,
    key_entry: np.ndarray,
    entry_is_rec: np.ndarray,
    want_recs: np.ndarray,
    marks: dict[str, np.ndarray],
    after_window: int,
) -> dict[str, np.ndarray]:
    """Surviving mentions of a batch, with polarity, in the rule tagger's row order.

    Args:
        tokens: The batch.
        matches: ``(key, start, end)`` arrays of unique raw matches (global token positions).
        key_role: Role code per match key.
        key_entry: Entry index per match key (for cues: index into :data:`CUE_NAMES`).
        entry_is_rec: Per entry, whether it is a recommendation type.
        want_recs: Per doc, whether recommendation types (not themes) are tagged in it.
        marks: Boolean per token: ``sentence_end``, ``break`` (clause break) and ``negator``.
        after_window: The codebook's ``absent_after_window``.

    Returns:
        Arrays ``doc``, ``entry``, ``start``, ``end`` (global tokens), ``sent_start``,
        ``sent_end`` and ``polarity`` (index into ``concern, good_practice, absent``), ordered by
        doc, then by each entry's first raw match, then by start.
    """
    key, start, end = matches
    n = len(tokens)
    role, entry = key_role[key], key_entry[key]
    doc = tokens.doc_of[start] if len(start) else np.zeros(0, dtype=np.int64)
    n_entries = len(entry_is_rec)

    is_term = (role == ROLE_TERM) & (entry_is_rec[entry] == want_recs[doc])
    t_doc, t_entry, t_start, t_end = doc[is_term], entry[is_term], start[is_term], end[is_term]
    # Order: an entry's rows follow its first raw match (by start, end, id), then spans by start.
    first_order = np.lexsort((t_entry, t_end, t_start, t_doc))
    group = t_doc * n_entries + t_entry
    seen_group, first_at = np.unique(group[first_order], return_index=True)
    entry_rank = np.empty(len(seen_group), dtype=np.int64)
    entry_rank[np.argsort(first_at)] = np.arange(len(seen_group))
    rank = entry_rank[np.searchsorted(seen_group, group)]

    # Overlapping spans of one entry: keep the longest, then earliest (a few groups per hundred
    # texts, so a Python loop over just those groups).
    keep = np.ones(len(t_start), dtype=bool)
    if len(t_start):
        order = np.lexsort((t_end, t_start, group))
        g_sorted = group[order]
        running = np.maximum.accumulate(_group_sorted(g_sorted, t_end[order], n))
        clash = (g_sorted[1:] == g_sorted[:-1]) & (
            _group_sorted(g_sorted[1:], t_start[order][1:], n) < running[:-1]
        )
        for g in np.unique(g_sorted[1:][clash]):
            rows = np.flatnonzero(group == g)
            keep[rows] = _greedy_keep(t_start[rows], t_end[rows])
    t_doc, t_entry, t_start, t_end = t_doc[keep], t_entry[keep], t_start[keep], t_end[keep]
    group, rank = group[keep], rank[keep]

    # An exclusion of the same entry overlapping the span drops it.
    is_excl = role == ROLE_EXCLUDE
    if is_excl.any() and len(t_start):
        x_group = doc[is_excl] * n_entries + entry[is_excl]
        x_start = _group_sorted(x_group, start[is_excl], n)
        x_end = _group_sorted(x_group, end[is_excl], n)
        order = np.argsort(x_start, kind="stable")
        x_start, running = x_start[order], np.maximum.accumulate(x_end[order])
        before = np.searchsorted(x_start, _group_sorted(group, t_end, n), side="left")
        hit = np.zeros(len(t_start), dtype=bool)
        has = before > 0
        hit[has] = running[before[has] - 1] > _group_sorted(group[has], t_start[has], n)
        survive = ~hit
        t_doc, t_entry, t_start, t_end = (a[survive] for a in (t_doc, t_entry, t_start, t_end))
        group, rank = group[survive], rank[survive]

    # Sentence bounds: after a sentence-final token, within the doc.
    ends = np.flatnonzero(marks["sentence_end"])
    k = np.searchsorted(ends, t_start, side="left")
    prev = np.where(k > 0, ends[np.maximum(k - 1, 0)] if len(ends) else -1, -1)
    nxt = np.where(k < len(ends), ends[np.minimum(k, len(ends) - 1)] if len(ends) else n, n)
    d_begin, d_end = tokens.doc_start[t_doc], tokens.doc_start[t_doc + 1]
    s_start = np.maximum(prev + 1, d_begin)
    s_end = np.minimum(nxt + 1, d_end)

    # An exclusion context of the same entry anywhere in the sentence drops it.
    is_ctx = role == ROLE_CONTEXT
    if is_ctx.any() and len(t_start):
        c_key = np.sort(_group_sorted(doc[is_ctx] * n_entries + entry[is_ctx], start[is_ctx], n))
        lo = np.searchsorted(c_key, _group_sorted(group, s_start, n), side="left")
        hi = np.searchsorted(c_key, _group_sorted(group, s_end, n), side="left")
        survive = hi == lo
        t_doc, t_entry, t_start, t_end, s_start, s_end, rank = (
            a[survive] for a in (t_doc, t_entry, t_start, t_end, s_start, s_end, rank)
        )

    polarity = _polarities(
        t_doc, t_start, t_end, s_start, s_end, role, entry, doc, start, end, marks, after_window
    )
    final = np.lexsort((t_start, rank, t_doc))
    return {
        "doc": t_doc[final],
        "entry": t_entry[final],
        "start": t_start[final],
        "end": t_end[final],
        "sent_start": s_start[final],
        "sent_end": s_end[final],
        "polarity": polarity[final],
    }


def _polarities(
    m_doc, m_start, m_end, s_start, s_end, role, entry, doc, start, end, marks, after_window
) -> np.ndarray:  # noqa: ANN001
    """Polarity index per mention (0 concern, 1 good practice, 2 absent); see RuleTagger."""
    n_mentions = len(m_start)
    breaks = np.zeros(len(marks["break"]) + 1, dtype=np.int64)
    np.cumsum(marks["break"], out=breaks[1:])

    def cue_pairs(name: str):  # noqa: ANN202
        is_cue = (role == ROLE_CUE) & (entry == CUE_NAMES.index(name))
        c_doc, c_start, c_end = doc[is_cue], start[is_cue], end[is_cue]
        order = np.argsort(c_doc, kind="stable")
        c_doc, c_start, c_end = c_doc[order], c_start[order], c_end[order]
        left, right = _pairs(m_doc, c_doc)
        return left, c_start[right], c_end[right]

    left, c_start, c_end = cue_pairs("absent")
    to = m_start[left]
    hit = (s_start[left] <= c_start) & (c_end <= to) & (breaks[to] == breaks[c_end])
    absent = _any_per(left, hit, n_mentions)

    left, c_start, _ = cue_pairs("absent_after")
    frm = m_end[left]
    hit = (frm <= c_start) & (c_start < s_end[left]) & (c_start - frm <= after_window)
    hit &= breaks[c_start] == breaks[frm]
    absent |= _any_per(left, hit, n_mentions)

    left, c_start, _ = cue_pairs("concern")
    hit = (s_start[left] <= c_start) & (c_start < s_end[left])
    hit &= ~((m_start[left] <= c_start) & (c_start < m_end[left]))
    concern = _any_per(left, hit, n_mentions)

    left, c_start, _ = cue_pairs("good_practice")
    hit = (s_start[left] <= c_start) & (c_start < s_end[left])
    negated = np.zeros(len(c_start), dtype=bool)
    inner = c_start > s_start[left]
    negated[inner] = marks["negator"][c_start[inner] - 1]
    good = _any_per(left, hit & ~negated, n_mentions)

    return np.where(absent, 2, np.where(good & ~concern, 1, 0))


def char_spans(tokens: TokenArrays, start: np.ndarray, end: np.ndarray):  # noqa: ANN201
    """Character offsets (in each doc's text) of global token spans ``start:end``."""
    last = end - 1
    return tokens.idx[start], tokens.idx[last] + tokens.length[last]
