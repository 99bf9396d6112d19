"""Measure the corpus loader against a generated corpus's ground truth.

The generator knows every paragraph's section type and number and every document's metadata, so the
loader's output can be scored exactly: section type per gold passage, metadata per field where the
document states it, header/footer leakage, and grouping of executive summaries with overviews.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from themes.corpus import Corpus

_NORM = re.compile(r"[^a-z0-9]+")
_FOOTER_NOISE = re.compile(r"\bpage \d+ of \d+\b|\bpublished \d{2}\.\d{2}\b", re.I)


_LEADING_LABEL = re.compile(
    r"^\s*((recommendation|finding|learning point|lesson)\s+\d{1,2}|r\d{1,2})\s*[:.)-]\s*", re.I
)


def _key(text: str, n: int = 80) -> str:
    # A leading "Recommendation 5:" is the item's number, which the loader moves to para_no.
    return _NORM.sub(" ", _LEADING_LABEL.sub("", text).lower()).strip()[:n]


def read_gold_passages(corpus_dir: str | Path) -> pd.DataFrame:
    """The generator's gold passages (``annotations/passages.jsonl``) as a DataFrame."""
    path = Path(corpus_dir) / "annotations" / "passages.jsonl"
    with open(path, encoding="utf-8") as fh:
        return pd.DataFrame([json.loads(line) for line in fh])


def match_passages(corpus: Corpus, gold: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """Attach to each gold passage the loader passage whose text starts the same way.

    Returns the gold rows with ``loaded_section_type``, ``loaded_para_no`` and ``loaded_passage_id``
    (NaN where the loader produced no matching passage).
    """
    file_to_report = dict(zip(manifest["file"], manifest["report_id"], strict=True))
    loaded = corpus.reports[["report_id", "source_file"]].assign(
        gold_report_id=lambda d: d["source_file"].map(file_to_report)
    )
    to_gold = dict(zip(loaded["report_id"], loaded["gold_report_id"], strict=True))
    passages = corpus.passages.assign(gold_report_id=corpus.passages["report_id"].map(to_gold))
    by_report: dict[str, list] = {}
    for row in passages.itertuples(index=False):
        by_report.setdefault(row.gold_report_id, []).append((_key(row.text, 100_000), row))
    out = []
    for row in gold.itertuples(index=False):
        # Containment, not equality: a table row's passage also carries its date and agency cells.
        key = _key(row.text, 60)
        hit = next((p for text, p in by_report.get(row.report_id, []) if key in text), None)
        out.append(
            {
                "loaded_section_type": hit.section_type if hit else None,
                "loaded_para_no": hit.para_no if hit else None,
                "loaded_passage_id": hit.passage_id if hit else None,
                "loaded_text": hit.text if hit else None,
            }
        )
    return pd.concat([gold.reset_index(drop=True), pd.DataFrame(out)], axis=1)


def evaluate_loader(corpus: Corpus, corpus_dir: str | Path) -> dict:
    """Score a corpus loaded **without** its manifest against the generator's ground truth.

    Returns:
        A dict of measures: ``section_accuracy`` (share of gold passages whose loaded passage has
        the gold section type), ``passage_recall``, ``para_no_accuracy``,
        ``header_footer_leak_rate`` (share of loaded passages containing running header/footer
        text), ``metadata_accuracy`` (per field, over documents that state it),
        ``grouping_accuracy`` and counts.
    """
    corpus_dir = Path(corpus_dir)
    manifest = pd.read_csv(corpus_dir / "manifest.csv", dtype=str, keep_default_na=False)
    gold = read_gold_passages(corpus_dir)
    gold = gold[gold["role"].isin(["body", "recommendation", "chronology_row"])]
    matched = match_passages(corpus, gold, manifest)
    found = matched["loaded_section_type"].notna()
    numbered = matched["para_no"].notna()
    result = {
        "n_documents": int(len(manifest)),
        "n_loaded": int(len(corpus.reports)),
        "n_gold_passages": int(len(matched)),
        "passage_recall": float(found.mean()),
        "section_accuracy": float(
            (matched["loaded_section_type"] == matched["section_type"]).mean()
        ),
        "para_no_accuracy": float(
            (matched.loc[numbered, "loaded_para_no"] == matched.loc[numbered, "para_no"]).mean()
        ),
    }
    leak = _leaking_passages(corpus, corpus_dir, manifest)
    result["header_footer_leak_rate"] = float(leak.mean())
    result["n_leaking_passages"] = int(leak.sum())
    result["metadata_accuracy"] = _metadata_accuracy(corpus.reports, manifest)
    result["grouping_accuracy"] = _grouping_accuracy(corpus.reports, manifest)
    return result


def _leaking_passages(corpus: Corpus, corpus_dir: Path, manifest: pd.DataFrame) -> pd.Series:
    """Flag loaded passages containing their file's running header, footer, banner or watermark."""
    with open(corpus_dir / "annotations" / "layout.jsonl", encoding="utf-8") as fh:
        layout = {row["file"]: row for row in map(json.loads, fh)}
    noise_by_report, watermark_by_report = {}, {}
    for rep in corpus.reports.itertuples(index=False):
        lay = layout.get(rep.source_file, {})
        patterns = (
            [re.escape(_key(lay["running_header"], 10_000))] if lay.get("running_header") else []
        )
        if lay.get("restricted_banner"):
            patterns.append(re.escape(_key(lay["restricted_banner"], 10_000)))
        if lay.get("running_footer"):
            # The footer template with its page numbers as any number ("page 3 of 27").
            template = _key(
                lay["running_footer"].replace("{page}", "PAGENO").replace("{pages}", "PAGENO"),
                10_000,
            )
            if template.replace("pageno", "").strip():
                patterns.append(re.escape(template).replace("pageno", r"\d+"))
        noise_by_report[rep.report_id] = re.compile("|".join(patterns)) if patterns else None
        # Watermarks are capitalised words ("DRAFT"); prose may say "the draft findings".
        watermark_by_report[rep.report_id] = (
            re.compile(rf"\b{re.escape(lay['watermark'])}\b") if lay.get("watermark") else None
        )

    titles = {_key(t, 10_000) for t in manifest["title"]}

    def leaks(p) -> bool:
        if _key(p["text"], 10_000) in titles:
            return False  # the cover's title line, which some footers repeat
        noise, mark = noise_by_report.get(p["report_id"]), watermark_by_report.get(p["report_id"])
        return bool(
            (noise and noise.search(_key(p["text"], 100_000))) or (mark and mark.search(p["text"]))
        )

    return corpus.passages.apply(leaks, axis=1)


_STATED = {
    "partnership": lambda m: True,
    "review_type": lambda m: True,
    "nation": lambda m: True,
    "publication_year": lambda m: True,
    "document_kind": lambda m: True,
    "child_pseudonym": lambda m: m["document_kind"] != "national_review",
    "child_age_months": lambda m: m["document_kind"] != "national_review",
    "child_sex": lambda m: m["document_kind"] != "national_review",
    "outcome": lambda m: m["document_kind"] != "national_review",
    "incident_date": lambda m: m["document_kind"] != "national_review",
}


def _metadata_accuracy(reports: pd.DataFrame, manifest: pd.DataFrame) -> dict[str, float]:
    merged = manifest.merge(reports, left_on="file", right_on="source_file", suffixes=("_gold", ""))
    out = {}
    for field, stated in _STATED.items():
        rows = merged[merged.apply(stated, axis=1)]
        gold = rows[f"{field}_gold"].astype(str)
        got = rows[field].astype(str).replace({"<NA>": "", "None": "", "nan": ""})
        if field == "incident_date":
            got = got.str[:7]
        correct = gold == got
        if field == "child_age_months":
            correct = [_age_agrees(g, a) for g, a in zip(gold, got, strict=True)]
        out[field] = float(pd.Series(correct).mean()) if len(rows) else float("nan")
    return out


def _age_agrees(gold: str, got: str) -> bool:
    """Ages are judged at the precision the text states them.

    "aged 2" says 24-35 months and normalises to 24; "a 14-week-old" rounds to 3 months.
    """
    if not gold or not got:
        return gold == got
    g, a = int(float(gold)), int(float(got))
    return a == g or (a % 12 == 0 and a // 12 == g // 12 and g >= 24) or (g < 6 and abs(a - g) <= 1)


def _grouping_accuracy(reports: pd.DataFrame, manifest: pd.DataFrame) -> float:
    """Share of document pairs whose same-review relation the loader got right (pairwise)."""
    merged = manifest.merge(reports, left_on="file", right_on="source_file", suffixes=("_gold", ""))
    gold = merged["review_id_gold"].tolist()
    got = merged["review_id"].tolist()
    agree = total = 0
    for i in range(len(gold)):
        for j in range(i + 1, len(gold)):
            same_gold, same_got = gold[i] == gold[j], got[i] == got[j]
            if same_gold or same_got:
                total += 1
                agree += same_gold == same_got
    return agree / total if total else 1.0
