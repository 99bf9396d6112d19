"""Score the tagger against labelled texts that are not part of a corpus.

The bundled corpus measures the tagger on our own passage library, re-worded. What users care
about is text written by other people: published summaries, briefings, paragraphs they coded by
hand. This module scores :func:`themes.tagging.tag_texts` against such texts, for the rules, the
classifier and the combination, with the same metrics as :func:`themes.tagging.evaluate`.

Input: JSON Lines, one object per text::

    {"id": "s1", "text": "...", "section_type": "analysis",
     "themes": {"neglect": "concern", "domestic_abuse": "absent"}}

``themes`` maps theme id -> polarity (``concern``, ``good_practice`` or ``absent``); a plain list of
ids means those themes are present (polarity not scored). ``section_type`` is optional. A theme is
*present* in a text when it is labelled ``concern`` or ``good_practice``, which is exactly what
``tag_texts`` returns in ``themes``; stated absences are scored only for polarity.

The project ships one such set, written fresh for evaluation and never used to train or tune
anything: ``evaluation/fresh/`` (see its README).

Examples:
    >>> records = [{"id": 1, "text": "There was no evidence of domestic abuse.",
    ...             "gold": {"domestic_abuse": "absent"}}]
    >>> scores = score_texts(records, methods=("rules",))["methods"]["rules"]
    >>> scores["absent_recall"], scores["present"]["micro_precision"]
    (1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from themes.errors import ThemesError

__all__ = ["cli_evaluate_texts", "fresh_halves", "read_labelled_texts", "score_texts"]

METHODS: tuple[str, ...] = ("rules", "classifier", "combined")


def read_labelled_texts(path: str | Path, theme_ids: Iterable[str] | None = None) -> list[dict]:
    """Read labelled texts from a JSON Lines file (or every ``*.jsonl`` in a folder).

    Args:
        path: A ``.jsonl`` file or a folder of them (read in name order).
        theme_ids: Known theme ids; a label outside them is an error naming file and line.
            ``None`` uses the packaged codebook.

    Returns:
        Records with ``id``, ``text``, ``section_type`` (or ``None``), ``gold`` (theme id ->
        polarity, or ``None`` when the labels carry no polarity) and ``source`` (file name).

    Raises:
        ThemesError: Missing file, invalid JSON, missing ``text``/``themes`` or unknown ids and
            polarities, naming the file and line.
    """
    if theme_ids is None:
        from themes.codebook import load_codebook

        theme_ids = load_codebook().theme_ids
    known = set(theme_ids)
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ThemesError(f"{path}: no .jsonl files in this folder")
    elif path.exists():
        files = [path]
    else:
        raise ThemesError(f"{path}: labelled texts not found")
    records: list[dict] = []
    for file in files:
        with open(file, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    records.append(_record(file, number, line, known))
    return records


def _record(file: Path, number: int, line: str, known: set[str]) -> dict:
    from themes.tagging import POLARITIES, _text_object

    where = f"{file}: line {number}"
    item = _text_object(line, where)
    labels = item.get("themes")
    if isinstance(labels, list):
        gold = {str(t): None for t in labels}
    elif isinstance(labels, dict):
        gold = {str(t): p for t, p in labels.items()}
    else:
        raise ThemesError(f'{where}: "themes" must be a list of ids or an object id -> polarity')
    unknown = sorted(set(gold) - known)
    if unknown:
        raise ThemesError(f"{where}: unknown theme id(s) {', '.join(unknown)}")
    bad = sorted({str(p) for p in gold.values() if p is not None and p not in POLARITIES})
    if bad:
        raise ThemesError(f"{where}: unknown polarity {', '.join(bad)}")
    return {
        "id": item.get("id", f"{file.name}:{number}"),
        "text": item["text"],
        "section_type": item.get("section_type"),
        "gold": gold,
        "source": file.name,
    }


def score_texts(
    records: Sequence[dict],
    methods: Sequence[str] = METHODS,
    *,
    model_dir: str | Path | None = None,
    models: dict[str, Any] | None = None,
    tagger: Any = None,  # noqa: ANN401
) -> dict[str, Any]:
    """Tag ``records`` with each method and score the themes found against their gold labels.

    Args:
        records: As from :func:`read_labelled_texts` (``text``, ``section_type``, ``gold``).
        methods: Any of ``rules``, ``classifier``, ``combined``.
        model_dir: Trained models for the classifier and combined methods.
        models: Already loaded models (overrides ``model_dir``).
        tagger: A :class:`~themes.tagging.RuleTagger` to reuse.

    Returns:
        ``{"n_texts", "methods": {method: {"present": scores, "polarity_accuracy",
        "absent_recall", "per_text": [...]}}}``. ``present`` holds per-theme and micro/macro
        precision, recall, F1 and kappa (as in :func:`themes.tagging.evaluate`) over themes
        labelled concern or good practice. ``polarity_accuracy`` is the share of gold-present
        themes found whose polarity is right; ``absent_recall`` the share of gold stated
        absences the method reports as absent (rules and combined only; the classifier
        reports absences only through its polarity model).
    """
    from themes.codebook import load_codebook
    from themes.tagging import RuleTagger, _scores, decide_texts, load_models

    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ThemesError(f"unknown method(s) {', '.join(unknown)}; use {', '.join(METHODS)}")
    texts = [r["text"] for r in records]
    sections = [r.get("section_type") for r in records]
    tagger = tagger or RuleTagger()
    codebook = tagger.codebook or load_codebook()
    if any(m != "rules" for m in methods):
        models = models or load_models(model_dir)
    gold_present = [
        {t for t, p in r["gold"].items() if p in (None, "concern", "good_practice")}
        for r in records
    ]
    results: dict[str, Any] = {"n_texts": len(records), "methods": {}}
    for method in methods:
        decisions = decide_texts(texts, sections, method, models=models, tagger=tagger)
        found = [{t for t, p in d.items() if p != "absent"} for d in decisions]
        pairs = [
            (p, d[t])
            for r, d in zip(records, decisions, strict=True)
            for t, p in r["gold"].items()
            if p in ("concern", "good_practice") and t in d and d[t] != "absent"
        ]
        absences = [
            d.get(t) == "absent"
            for r, d in zip(records, decisions, strict=True)
            for t, p in r["gold"].items()
            if p == "absent"
        ]
        results["methods"][method] = {
            "present": _scores(gold_present, found, list(codebook.theme_ids)),
            "polarity_accuracy": _mean([a == b for a, b in pairs]),
            "absent_recall": _mean(absences),
            "per_text": [
                {
                    "id": r["id"],
                    "source": r.get("source"),
                    "gold": sorted(g),
                    "found": sorted(f),
                    "missed": sorted(g - f),
                    "extra": sorted(f - g),
                }
                for r, g, f in zip(records, gold_present, found, strict=True)
            ],
        }
    return results


def fresh_halves(records: Sequence[dict]) -> dict[str, list[dict]]:
    """Split labelled texts into a ``tune`` and a ``test`` half, alternating within each file.

    ``themes train`` may use the ``tune`` half to choose among combination rules; the ``test``
    half is only ever scored. Alternating lines keeps every writer and form in both halves.
    """
    halves: dict[str, list[dict]] = {"tune": [], "test": []}
    position: dict[str, int] = {}
    for record in records:
        k = position.get(record.get("source"), 0)
        position[record.get("source")] = k + 1
        halves["tune" if k % 2 == 0 else "test"].append(record)
    return halves


def load_fresh_halves(
    fresh_dir: str | Path | None, theme_ids: Iterable[str] | None = None
) -> tuple[Path, dict[str, list[dict]]]:
    """The fresh labelled texts' folder and their :func:`fresh_halves`.

    ``fresh_dir`` ``None`` means ``evaluation/fresh``; a folder that does not exist gives two
    empty halves (a checkout without the evaluation texts still trains and scores the corpus).
    """
    from themes.config import settings

    path = Path(fresh_dir) if fresh_dir else settings().fresh_eval_dir
    return path, fresh_halves(read_labelled_texts(path, theme_ids) if path.is_dir() else [])


def _mean(values: list[bool]) -> float:
    return float(sum(values) / len(values)) if values else float("nan")


def summary_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per method: micro/macro precision, recall and F1, polarity and absence scores."""
    rows = []
    for method, m in results["methods"].items():
        s = m["present"]
        rows.append(
            {
                "method": method,
                "micro_precision": s["micro_precision"],
                "micro_recall": s["micro_recall"],
                "micro_f1": s["micro_f1"],
                "macro_f1": s["macro_f1"],
                "polarity_accuracy": m["polarity_accuracy"],
                "absent_recall": m["absent_recall"],
            }
        )
    return pd.DataFrame(rows)


def per_theme_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per theme x method with precision, recall, F1 and support."""
    rows = [
        {"method": method, "theme_id": theme, **values}
        for method, m in results["methods"].items()
        for theme, values in m["present"]["per_label"].items()
    ]
    return pd.DataFrame(rows)


def write_report(results: dict[str, Any], out_dir: str | Path, title: str) -> Path:
    """Write the summary, per-theme and per-text error CSVs and a Markdown report.

    Returns:
        The path of ``texts_report.md``.
    """
    from themes.tagging import _markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_table(results)
    per_theme = per_theme_table(results)
    errors = pd.DataFrame(
        [
            {
                "method": method,
                **row,
                "gold": "; ".join(row["gold"]),
                "found": "; ".join(row["found"]),
                "missed": "; ".join(row["missed"]),
                "extra": "; ".join(row["extra"]),
            }
            for method, m in results["methods"].items()
            for row in m["per_text"]
            if row["missed"] or row["extra"]
        ]
    )
    summary.to_csv(out / "texts_summary.csv", index=False)
    per_theme.to_csv(out / "texts_per_theme.csv", index=False)
    errors.to_csv(out / "texts_errors.csv", index=False)
    wide = per_theme.pivot(index="theme_id", columns="method", values="f1")
    support = per_theme.groupby("theme_id")["support"].first()
    wide.insert(0, "support", support)
    report = out / "texts_report.md"
    report.write_text(
        f"# {title}\n\n{results['n_texts']} labelled texts. A theme counts as found when the "
        "method reports it as a concern or good practice.\n\n"
        + _markdown(summary.round(3))
        + "\n\n## F1 per theme\n\n"
        + _markdown(wide.round(3).reset_index())
        + "\n",
        encoding="utf-8",
    )
    return report


def cli_evaluate_texts(args) -> int:  # noqa: ANN001
    """``themes evaluate --texts FILE_OR_DIR``: score every method against labelled texts."""
    from themes.config import settings
    from themes.tagging import _markdown

    source = Path(args.texts)
    records = read_labelled_texts(source)
    results = score_texts(records, model_dir=getattr(args, "model_dir", None))
    out = getattr(args, "out", None) or settings().output_dir / "evaluation"
    report = write_report(results, out, f"Tagging scored against {source.name}")
    print(_markdown(summary_table(results).round(3)))
    print(f"report: {report}")
    return 0
