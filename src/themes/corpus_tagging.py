"""The tagging stage over a loaded corpus.

Passages in, mentions / report_themes / recommendations out.

:mod:`themes.tagging` holds the taggers (rules, classifier, their combination) that work on texts;
this module applies them to the loader's tables and produces the tables the analysis reads.

Output contracts
----------------
``mentions`` (one row per piece of evidence for a tag)
    report_id, review_id, passage_id, theme_id, polarity (concern | good_practice | absent),
    method (rules | classifier | rules+classifier), score (classifier probability, NaN for rules
    alone), evidence (the matched words, or the classifier's strongest n-grams), sentence, page,
    section_type, para_no, start, end (character offsets of ``evidence`` within the passage text,
    -1 when the evidence is not one span), counted (False for terms-of-reference mentions, which
    name a theme as a question rather than a finding), rule_polarity.
``report_themes`` (every report x theme)
    review_id, report_id, theme_id, n_mentions, n_passages, n_concern, n_good_practice, n_absent,
    present: at least ``presence_min_passages`` counted concern or good-practice passages. With
    human labels one passage is enough (1); an automated tagger's occasional false positive in one
    of a report's ~100 passages would mark nearly every theme present, so runs of the tagger require
    corroboration by default, the number chosen on the dev split (see ``themes.tagging`` metrics).
``recommendations`` (one row per recommendation item)
    report_id, review_id, rec_no, passage_id, text, rec_types (list), theme_ids (list of themes the
    recommendation names), evidence, method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from themes.corpus import Corpus

MENTION_TABLE_COLUMNS = [
    "report_id",
    "review_id",
    "passage_id",
    "theme_id",
    "polarity",
    "method",
    "score",
    "evidence",
    "sentence",
    "page",
    "section_type",
    "para_no",
    "start",
    "end",
    "counted",
    "rule_polarity",
]
REPORT_THEME_COLUMNS = [
    "review_id",
    "report_id",
    "theme_id",
    "n_mentions",
    "n_passages",
    "n_concern",
    "n_good_practice",
    "n_absent",
    "present",
]
RECOMMENDATION_COLUMNS = [
    "report_id",
    "review_id",
    "rec_no",
    "passage_id",
    "text",
    "rec_types",
    "theme_ids",
    "evidence",
    "method",
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"'(])")


@dataclass
class TaggedCorpus:
    """The tagging stage's tables (see the module docstring for their columns)."""

    mentions: pd.DataFrame
    report_themes: pd.DataFrame
    recommendations: pd.DataFrame
    method: str
    codebook_version: str
    presence_min_passages: int = 1

    def save(self, folder) -> None:
        """Write the three tables as Parquet files in ``folder``."""
        from pathlib import Path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.mentions.to_parquet(folder / "mentions.parquet", index=False)
        self.report_themes.to_parquet(folder / "report_themes.parquet", index=False)
        self.recommendations.to_parquet(folder / "recommendations_tagged.parquet", index=False)


def _sentence_with(text: str, needle: str | None) -> str:
    sentences = _SENTENCE_END.split(text)
    if needle:
        for s in sentences:
            if needle.lower() in s.lower():
                return s
    return sentences[0] if sentences else text


def _rule_passage_decisions(rule: pd.DataFrame, n: int) -> list[dict[str, str]]:
    """Rules-only decisions per passage and theme.

    A theme's passage polarity is concern or good practice if any counted mention says so (concern
    first), else absent.
    """
    out: list[dict[str, str]] = [{} for _ in range(n)]
    order = {"concern": 0, "good_practice": 1, "absent": 2}
    counted = rule[rule["counted"].astype(bool)]
    for row in counted.itertuples(index=False):
        current = out[row.text_index].get(row.theme_id)
        if current is None or order[row.polarity] < order[current]:
            out[row.text_index][row.theme_id] = row.polarity
    return out


def tag_corpus(
    corpus: Corpus,
    *,
    method: str = "combined",
    models: dict | None = None,
    tagger=None,
    codebook=None,
    presence_min_passages: int | None = None,
    n_jobs: int | None = None,
    chunk_passages: int = 20_000,
) -> TaggedCorpus:
    """Tag a loaded corpus's passages; build the mentions, report_themes, recommendations tables.

    Passages are tagged independently, in contiguous chunks that run in parallel through joblib
    (so the Dask backend of :func:`themes.parallel.parallel_backend` spreads them over a
    cluster); the tables are identical for any ``n_jobs`` and ``chunk_passages``.

    Args:
        corpus: A :class:`themes.corpus.Corpus` (reports and passages tables are required).
        method: ``rules``, ``classifier`` or ``combined`` (the documented combination rule).
        models: Loaded models (:func:`themes.tagging.load_models`); loaded when needed and absent.
        tagger: A :class:`themes.tagging.RuleTagger` to reuse.
        codebook: A loaded codebook; the packaged one by default.
        presence_min_passages: Counted concern/good-practice passages needed for ``present``;
            None takes the value chosen on the dev split for this method and model (1 if unknown).
        n_jobs: Worker processes (joblib; ``None`` reads ``THEMES_N_JOBS``, default 1).
        chunk_passages: Most passages per parallel task (bounds each worker's memory).

    Returns:
        The three tables. The input tables are not modified.

    Examples:
        >>> tagged = tag_corpus(themes.load_corpus("corpus"))  # doctest: +SKIP
        >>> tagged.report_themes.query("present").groupby("theme_id").size()  # doctest: +SKIP
    """
    from themes.codebook import load_codebook
    from themes.tagging import RuleTagger, is_process_copy, models_in_process

    if method not in {"rules", "classifier", "combined"}:
        from themes.errors import ThemesError

        raise ThemesError(f"--method: unknown method {method!r}; use rules, classifier or combined")
    if n_jobs is None:
        from themes.config import settings

        n_jobs = settings().n_jobs
    codebook = codebook or load_codebook()
    tagger = tagger or RuleTagger(codebook)
    if method != "rules":
        models = models or models_in_process()
    passages = corpus.passages.reset_index(drop=True)
    review_of = corpus.reports.set_index("report_id")["review_id"]
    bounds = _chunk_bounds(len(passages), n_jobs, chunk_passages)
    parallel = n_jobs != 1 and len(bounds) > 1
    shipped = models
    if parallel and models is not None and is_process_copy(models):
        # Workers load the saved models once each instead of unpickling them with every task.
        shipped = {"model_dir": models["model_dir"]}
    # A generator: each chunk's copy exists only while it is being handed out or tagged.
    tasks = (
        (passages.iloc[a:b].reset_index(drop=True), review_of, method, shipped, tagger, codebook)
        for a, b in bounds
    )
    if parallel:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(delayed(_tag_chunk)(*task) for task in tasks)
    else:
        parts = [_tag_chunk(*task) for task in tasks]
    if parts:
        # Empty chunks' frames carry no dtypes; leaving them out keeps the tables' dtypes the
        # same for every chunking.
        mentions = _concat([m for m, _ in parts])
        recommendations = _concat([r for _, r in parts])
    else:
        empty = (passages, review_of, method, models, tagger, codebook)
        mentions, recommendations = _tag_chunk(*empty)
    mentions = mentions.astype({"start": "int64", "end": "int64", "counted": bool})

    if presence_min_passages is None:
        presence_min_passages = calibrated_presence_min_passages(method, models)
    report_themes = _report_themes(corpus, mentions, codebook.theme_ids, presence_min_passages)
    return TaggedCorpus(
        mentions, report_themes, recommendations, method, codebook.version, presence_min_passages
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    filled = [f for f in frames if len(f)]
    if not filled:
        return frames[0]
    out = filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)
    # A chunk where a text column is all missing infers ``object``; give every text column the
    # string dtype a single pass would have inferred, so tables do not depend on the chunking.
    for column in out.columns:
        values = out[column]
        if values.dtype == object:
            present = values.dropna()
            if len(present) and all(isinstance(v, str) for v in present):
                out[column] = values.astype("str")
    return out


def _chunk_bounds(n: int, n_jobs: int, chunk_passages: int) -> list[tuple[int, int]]:
    """Contiguous (start, end) slices of at most ``chunk_passages``, enough to use every worker."""
    if n == 0:
        return []
    if n_jobs == 1:
        size = max(1, chunk_passages)
    else:
        from joblib import effective_n_jobs

        size = max(1, min(chunk_passages, -(-n // max(1, effective_n_jobs(n_jobs)))))
    return [(a, min(n, a + size)) for a in range(0, n, size)]


def _tag_chunk(passages, review_of, method, models, tagger, codebook):  # noqa: ANN001, ANN202
    """Mentions and recommendation rows for a slice of the passages table (see tag_corpus)."""
    from themes.tagging import RECOMMENDATION_SECTIONS, _decide, models_in_process

    if models is not None and set(models) == {"model_dir"}:
        models = models_in_process(models["model_dir"])

    texts = passages["text"].tolist()
    sections = passages["section_type"].tolist()
    rule = tagger.predict_mentions(texts, sections)
    n = len(texts)

    scores = None
    if method == "rules":
        decisions = _rule_passage_decisions(rule[rule["kind"] == "theme"], n)
        rec_decisions = [{}] * n
        for row in rule[(rule["kind"] == "rec_type") & rule["counted"].astype(bool)].itertuples(
            index=False
        ):
            rec_decisions[row.text_index] = {
                **rec_decisions[row.text_index],
                row.theme_id: "concern",
            }
        classifier_labels: list[set[str]] = [set() for _ in range(n)]
    else:
        theme_proba: dict[int, np.ndarray] = {}
        both = _decide(texts, sections, rule, method, models, codebook, theme_proba)
        is_rec = [s in RECOMMENDATION_SECTIONS for s in sections]
        decisions = [d if not r else {} for d, r in zip(both, is_rec, strict=True)]
        rec_decisions = [d if r else {} for d, r in zip(both, is_rec, strict=True)]
        clf = models["themes"]
        column = {theme: j for j, theme in enumerate(clf.classes_)}
        thresholds = np.asarray(clf.thresholds_)
        scores = {}
        classifier_labels = [set() for _ in range(n)]
        for i in range(n):
            if is_rec[i] or not decisions[i] or i not in theme_proba:
                continue
            proba = theme_proba[i]
            for theme in decisions[i]:
                if theme in column:
                    scores[(i, theme)] = float(proba[column[theme]])
            classifier_labels[i] = {clf.classes_[j] for j in np.flatnonzero(proba >= thresholds)}

    rows = []
    theme_rule = rule[rule["kind"] == "theme"]
    by_passage: dict[int, list] = {}
    for m in theme_rule.itertuples(index=False):
        by_passage.setdefault(m.text_index, []).append(m)
    # Evidence words for classifier-only decisions, featurised in one pass.
    wanted = [
        (i, theme)
        for i in range(n)
        for theme in decisions[i]
        if not any(m.theme_id == theme and m.counted for m in by_passage.get(i, []))
    ]
    terms = _evidence_terms_many(models, [texts[i] for i, _ in wanted], wanted)
    explained = dict(zip(wanted, terms, strict=True))
    records = passages.to_dict("records")
    for i, p in enumerate(records):
        base = {
            "report_id": p["report_id"],
            "review_id": review_of.get(p["report_id"]),
            "passage_id": p["passage_id"],
            "page": p["page"],
            "section_type": p["section_type"],
            "para_no": p["para_no"],
        }
        found = by_passage.get(i, [])
        # Terms of reference: mentions kept for the record, flagged as not counted.
        for m in found:
            if not m.counted:
                rows.append(
                    {
                        **base,
                        "theme_id": m.theme_id,
                        "polarity": m.polarity,
                        "method": "rules",
                        "score": np.nan,
                        "evidence": m.evidence,
                        "sentence": m.sentence,
                        "start": m.start,
                        "end": m.end,
                        "counted": False,
                        "rule_polarity": m.polarity,
                    }
                )
        for theme, polarity in sorted(decisions[i].items()):
            ruled = [m for m in found if m.theme_id == theme and m.counted]
            score = scores.get((i, theme), np.nan) if scores is not None else np.nan
            if ruled:
                how = (
                    "rules"
                    if method == "rules"
                    else ("rules+classifier" if theme in classifier_labels[i] else "rules")
                )
                for m in ruled:
                    rows.append(
                        {
                            **base,
                            "theme_id": theme,
                            "polarity": polarity,
                            "method": how,
                            "score": score,
                            "evidence": m.evidence,
                            "sentence": m.sentence,
                            "start": m.start,
                            "end": m.end,
                            "counted": True,
                            "rule_polarity": m.polarity,
                        }
                    )
            else:
                terms = explained[(i, theme)]
                rows.append(
                    {
                        **base,
                        "theme_id": theme,
                        "polarity": polarity,
                        "method": "classifier",
                        "score": score,
                        "evidence": "; ".join(terms),
                        "sentence": _sentence_with(p["text"], terms[0] if terms else None),
                        "start": -1,
                        "end": -1,
                        "counted": True,
                        "rule_polarity": None,
                    }
                )
    mentions = pd.DataFrame(rows, columns=MENTION_TABLE_COLUMNS)
    mentions = mentions.astype({"start": "int64", "end": "int64", "counted": bool})
    # The rules tag recommendation sections for recommendation types only; read them again as body
    # text to learn which themes each recommendation names (for the recurring-lessons view).
    rec_rows = [i for i, sec in enumerate(sections) if sec == "recommendations"]
    named = tagger.predict_mentions([texts[i] for i in rec_rows], [None] * len(rec_rows))
    named = named[named["kind"] == "theme"].assign(
        text_index=lambda d: [rec_rows[j] for j in d["text_index"]]
    )
    recommendations = _recommendations(
        passages,
        review_of,
        pd.concat([rule[rule["kind"] == "rec_type"], named]),
        rec_decisions,
        method,
    )
    return mentions, recommendations


def calibrated_presence_min_passages(method: str, models: dict | None = None) -> int:
    """The presence rule recorded for ``method`` by ``themes train`` (1 when none is recorded)."""
    import json

    metrics = (models or {}).get("metrics")
    if metrics is None:
        from themes.tagging import _default_model_dir

        try:
            path = _default_model_dir() / "metrics.json"
        except Exception:  # noqa: BLE001 - outside a checkout there is no model folder
            return 1
        metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return int(metrics.get("presence_min_passages", {}).get(method, 1))


def _evidence_terms_many(
    models: dict | None, texts: list[str], pairs: list[tuple[int, str]]
) -> list[list[str]]:
    """The theme classifier's evidence words for each (passage, theme) pair ([] if unavailable)."""
    clf = (models or {}).get("themes")
    if not pairs or getattr(clf, "evidence_terms_many", None) is None:
        return [[] for _ in pairs]
    known = set(clf.classes_)
    keep = [j for j, (_, theme) in enumerate(pairs) if theme in known]
    out: list[list[str]] = [[] for _ in pairs]
    terms = clf.evidence_terms_many([texts[j] for j in keep], [pairs[j][1] for j in keep], k=3)
    for j, found in zip(keep, terms, strict=True):
        out[j] = list(found)
    return out


def _report_themes(
    corpus: Corpus, mentions: pd.DataFrame, theme_ids, min_passages: int = 1
) -> pd.DataFrame:
    counted = mentions[mentions["counted"]]
    per_passage = counted.drop_duplicates(["passage_id", "theme_id"])
    grid = pd.MultiIndex.from_product(
        [corpus.reports["report_id"], list(theme_ids)], names=["report_id", "theme_id"]
    )
    stats = pd.DataFrame(index=grid)
    stats["n_mentions"] = counted.groupby(["report_id", "theme_id"]).size()
    stats["n_passages"] = per_passage.groupby(["report_id", "theme_id"]).size()
    for polarity in ("concern", "good_practice", "absent"):
        chosen = per_passage[per_passage["polarity"] == polarity]
        stats[f"n_{polarity}"] = chosen.groupby(["report_id", "theme_id"]).size()
    stats = stats.fillna(0).astype("int64").reset_index()
    stats["present"] = (stats["n_concern"] + stats["n_good_practice"]) >= max(1, min_passages)
    stats["review_id"] = stats["report_id"].map(corpus.reports.set_index("report_id")["review_id"])
    return stats[REPORT_THEME_COLUMNS]


def _recommendations(passages, review_of, rule, rec_decisions, method) -> pd.DataFrame:
    rows = []
    evidence: dict[int, list[str]] = {}
    named: dict[int, set[str]] = {}
    for m in rule.itertuples(index=False):
        if m.kind == "rec_type":
            evidence.setdefault(m.text_index, []).append(m.evidence)
        else:
            named.setdefault(m.text_index, set()).add(m.theme_id)
    for i, p in enumerate(passages.to_dict("records")):
        if p["section_type"] != "recommendations":
            continue
        rows.append(
            {
                "report_id": p["report_id"],
                "review_id": review_of.get(p["report_id"]),
                "rec_no": p["para_no"],
                "passage_id": p["passage_id"],
                "text": p["text"],
                "rec_types": sorted(rec_decisions[i]),
                "theme_ids": sorted(named.get(i, set())),
                "evidence": "; ".join(evidence.get(i, [])),
                "method": method,
            }
        )
    return pd.DataFrame(rows, columns=RECOMMENDATION_COLUMNS)


# --------------------------------------------------------------------------- review-level quality
def gold_review_presence(corpus_dir) -> pd.DataFrame:
    """Gold presence per review x theme from a generated corpus's annotations.

    A review has a theme when any of its documents has a concern or good-practice label on a passage
    outside terms of reference, glossary, references and contents (the codebook's counting rule).

    Returns:
        review_id, theme_id, split (one row per review x theme with the theme present).
    """
    import json
    from pathlib import Path

    path = Path(corpus_dir) / "annotations" / "passages.jsonl"
    rows = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            if item["section_type"] in {"terms_of_reference", "glossary", "references", "contents"}:
                continue
            for label in item["labels"]:
                if label["polarity"] in {"concern", "good_practice"}:
                    rows.add((item["review_id"], label["theme"], item["split"]))
    return pd.DataFrame(sorted(rows), columns=["review_id", "theme_id", "split"])


def review_level_scores(
    report_themes: pd.DataFrame, gold: pd.DataFrame, reviews: list[str], theme_ids
) -> dict:
    """Micro/macro F1, precision and recall of review x theme presence against gold.

    Args:
        report_themes: Tagging output (review_id, theme_id, present).
        gold: Output of :func:`gold_review_presence`.
        reviews: Review ids to score (e.g. one split).
        theme_ids: Themes to score.
    """
    from sklearn.metrics import f1_score

    predicted = set(
        map(
            tuple, report_themes.loc[report_themes["present"], ["review_id", "theme_id"]].to_numpy()
        )
    )
    truth = set(map(tuple, gold[["review_id", "theme_id"]].to_numpy()))
    y = np.array([[(r, t) in truth for t in theme_ids] for r in reviews], dtype=bool)
    p = np.array([[(r, t) in predicted for t in theme_ids] for r in reviews], dtype=bool)
    tp = int((y & p).sum())
    return {
        "review_micro_f1": float(f1_score(y.ravel(), p.ravel(), zero_division=0)),
        "review_macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
        "review_precision": tp / max(1, int(p.sum())),
        "review_recall": tp / max(1, int(y.sum())),
        "n_reviews": len(reviews),
    }


def calibrate_presence(
    tagged: TaggedCorpus, corpus_dir, *, split: str = "dev", candidates=(1, 2, 3, 4)
) -> dict:
    """Choose ``presence_min_passages`` that maximises review-level micro-F1 on ``split``.

    Re-derives presence from the mentions for each candidate; never looks at the other splits.

    Returns:
        {"best": k, "scores": {k: review_micro_f1}}.
    """
    gold = gold_review_presence(corpus_dir)
    reviews = sorted(gold.loc[gold["split"] == split, "review_id"].unique())
    themes = sorted(tagged.report_themes["theme_id"].unique())
    counted = tagged.mentions[
        tagged.mentions["counted"] & tagged.mentions["polarity"].isin(["concern", "good_practice"])
    ]
    # Same rule as report_themes: k passages within one report; a review has what any report has.
    per_report = (
        counted.drop_duplicates(["report_id", "passage_id", "theme_id"])
        .groupby(["review_id", "report_id", "theme_id"])
        .size()
    )
    scores = {}
    for k in candidates:
        present = (
            per_report[per_report >= k]
            .reset_index()[["review_id", "theme_id"]]
            .drop_duplicates()
            .assign(present=True)
        )
        scores[k] = review_level_scores(present, gold, reviews, themes)["review_micro_f1"]
    best = max(scores, key=lambda k: (scores[k], -k))
    return {
        "best": int(best),
        "scores": {int(k): round(v, 4) for k, v in scores.items()},
        "split": split,
    }


def record_presence_calibration(corpus_dir, model_dir=None) -> dict:
    """Calibrate ``presence_min_passages`` on the dev split for each method and store it.

    Loads the corpus's files through the loader (so the calibration sees what users' runs see), tags
    them, picks k on dev, scores review-level presence on test with that k, and writes both into the
    model's ``metrics.json`` under ``presence_min_passages`` and ``review_level_end_to_end``.
    """
    import json
    from pathlib import Path

    from themes.codebook import load_codebook
    from themes.corpus import load_corpus
    from themes.tagging import RuleTagger, _default_model_dir, load_models

    folder = Path(model_dir) if model_dir else _default_model_dir()
    models = load_models(folder)
    corpus = load_corpus(corpus_dir, show_progress=False)
    codebook = load_codebook()
    tagger = RuleTagger(codebook)
    gold = gold_review_presence(corpus_dir)
    test_reviews = sorted(gold.loc[gold["split"] == "test", "review_id"].unique())
    chosen, end_to_end = {}, {}
    for method in ("rules", "classifier", "combined"):
        tagged = tag_corpus(corpus, method=method, models=models, tagger=tagger, codebook=codebook)
        calibration = calibrate_presence(tagged, corpus_dir, split="dev")
        k = calibration["best"]
        final = _report_themes(corpus, tagged.mentions, codebook.theme_ids, k)
        chosen[method] = k
        end_to_end[method] = {
            "dev_scores_by_k": calibration["scores"],
            "presence_min_passages": k,
            **review_level_scores(final, gold, test_reviews, list(codebook.theme_ids)),
        }
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics["presence_min_passages"] = chosen
    metrics["review_level_end_to_end"] = end_to_end
    metrics_path.write_text(json.dumps(metrics, indent=2, sort_keys=True), encoding="utf-8")
    return end_to_end
