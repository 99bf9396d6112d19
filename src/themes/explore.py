"""Helpers for exploring a run in JupyterLab: reuse a run's outputs, browse evidence in context.

Notebooks stay thin by calling these: :func:`ensure_run` runs the pipeline once and reuses its
outputs while the inputs, code version, codebook and model are unchanged; :func:`evidence` is a
keyword-in-context browser over the mentions table; :func:`corpus_overview` tabulates what loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from themes import __version__
from themes.corpus import Corpus


@dataclass
class RunTables:
    """The tables of one pipeline run, read back from its output folder."""

    folder: Path
    corpus: Corpus
    mentions: pd.DataFrame
    report_themes: pd.DataFrame
    recommendations: pd.DataFrame
    trends: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    @property
    def reports(self) -> pd.DataFrame:
        """The loader's reports table."""
        return self.corpus.reports

    @property
    def passages(self) -> pd.DataFrame:
        """The loader's passages table."""
        return self.corpus.passages


def read_run(folder: str | Path) -> RunTables:
    """Read the outputs of ``themes run --out FOLDER``."""
    folder = Path(folder)
    corpus = Corpus.read(folder / "tables")
    read = lambda name: pd.read_parquet(folder / "tables" / f"{name}.parquet")  # noqa: E731
    trends = {p.stem: pd.read_csv(p) for p in sorted((folder / "trends").glob("*.csv"))}
    manifest_path = folder / "run_manifest.json"
    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    )
    return RunTables(
        folder,
        corpus,
        read("mentions"),
        read("report_themes"),
        read("recommendations_tagged"),
        trends,
        manifest,
    )


def _fingerprint(source: Path) -> dict:
    from themes.codebook import load_codebook
    from themes.config import settings

    model = settings().models_dir / "theme-classifier" / "metrics.json"
    files = sorted(p for p in source.rglob("*") if p.is_file() and "annotations" not in p.parts)
    import hashlib

    code = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        code.update(path.read_bytes())  # a code change without a version bump still reruns
    return {
        "version": __version__,
        "code": code.hexdigest(),
        "codebook": load_codebook().checksum,
        "model": model.stat().st_size if model.is_file() else None,
        "model_text": model.read_text(encoding="utf-8")[:200] if model.is_file() else None,
        "inputs": [(str(p.relative_to(source)), p.stat().st_size) for p in files],
    }


def ensure_run(
    source: str | Path | None = None, out: str | Path | None = None, **config
) -> RunTables:
    """Run the pipeline on ``source`` unless ``out`` already holds a run of the same inputs.

    The stored fingerprint covers the package version, codebook checksum, trained model and the
    input files (names and sizes), so a change to any of them triggers a fresh run.

    Args:
        source: Folder of reports (default: the bundled corpus).
        out: Output folder (default: ``<output_dir>/notebook-run``).
        **config: Extra :class:`themes.pipeline.RunConfig` fields (e.g. ``topics=True``).

    Examples:
        >>> run = ensure_run()  # doctest: +SKIP
        >>> run.report_themes.query("present").theme_id.value_counts().head()  # doctest: +SKIP
    """
    from themes.config import settings
    from themes.pipeline import RunConfig, run_pipeline

    source = Path(source) if source else settings().corpus_dir
    out = Path(out) if out else settings().output_dir / "notebook-run"
    stamp = out / "fingerprint.json"
    fingerprint = _fingerprint(source)
    fingerprint["config"] = {k: str(v) for k, v in sorted(config.items())}
    # Compare in JSON form: tuples come back from the stamp file as lists.
    fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True))
    if not (stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == fingerprint):
        run_pipeline(RunConfig(source=str(source), out=str(out), **config))
        stamp.write_text(json.dumps(fingerprint, sort_keys=True), encoding="utf-8")
    return read_run(out)


def corpus_overview(run: RunTables) -> dict[str, pd.DataFrame]:
    """Counts of reviews and documents by year, nation, review type and document kind."""
    from themes.trends import primary_reviews

    reviews = primary_reviews(run.reports)
    out = {}
    for column in ("publication_year", "nation", "review_type", "document_kind"):
        table = (
            pd.DataFrame(
                {
                    "reviews": reviews.groupby(column).size(),
                    "documents": run.reports.groupby(column).size(),
                }
            )
            .fillna(0)
            .astype(int)
        )
        out[column] = table
    return out


def evidence(
    run: RunTables,
    *,
    theme: str | None = None,
    polarity: str | None = None,
    section: str | None = None,
    year: int | tuple[int, int] | None = None,
    counted_only: bool = True,
    width: int = 60,
    limit: int | None = 20,
) -> pd.DataFrame:
    """Keyword-in-context view of the evidence behind tags, filtered like a browser.

    Args:
        run: Outputs of a run (:func:`ensure_run` or :func:`read_run`).
        theme: Theme id to show (all when None).
        polarity: concern, good_practice or absent.
        section: Section type (findings, analysis, ...).
        year: A publication year or an inclusive (first, last) range.
        counted_only: Hide terms-of-reference mentions.
        width: Characters of context either side of the evidence.
        limit: Rows to return (None for all).

    Returns:
        review_id, publication_year, partnership, section_type, para_no, page, theme_id, polarity,
        method, left, evidence, right, sentence, in stable order.
    """
    m = run.mentions
    if counted_only:
        m = m[m["counted"]]
    if theme:
        m = m[m["theme_id"] == theme]
    if polarity:
        m = m[m["polarity"] == polarity]
    if section:
        m = m[m["section_type"] == section]
    meta = run.reports.set_index("report_id")[["publication_year", "partnership"]]
    m = m.join(meta, on="report_id")
    if year is not None:
        first, last = (year, year) if isinstance(year, int) else year
        m = m[m["publication_year"].between(first, last)]
    text = run.passages.set_index("passage_id")["text"]
    rows = []
    for r in m.sort_values(["publication_year", "report_id", "passage_id", "start"]).itertuples(
        index=False
    ):
        passage = text.get(r.passage_id, "")
        if r.start >= 0:
            left, right = passage[max(0, r.start - width) : r.start], passage[r.end : r.end + width]
        else:
            left, right = "", ""
        rows.append(
            {
                "review_id": r.review_id,
                "publication_year": r.publication_year,
                "partnership": r.partnership,
                "section_type": r.section_type,
                "para_no": r.para_no,
                "page": r.page,
                "theme_id": r.theme_id,
                "polarity": r.polarity,
                "method": r.method,
                "left": left,
                "evidence": r.evidence,
                "right": right,
                "sentence": r.sentence,
            }
        )
        if limit is not None and len(rows) >= limit:
            break
    return pd.DataFrame(rows)
