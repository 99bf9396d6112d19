"""``themes run`` and the stage commands: sequence the stages and record what produced every output.

Each stage lives in its own module and is callable alone; this module only sequences them, writes
their tables and figures under one output folder, and writes a manifest (package version,
configuration, codebook version, model version and corpus checksum) beside every set of outputs, so
any number can be traced to the inputs and settings that produced it.

Output layout of ``themes run --out OUT``::

    OUT/tables/     reports, passages, recommendations, errors, mentions, report_themes,
                    recommendations_tagged (Parquet)
    OUT/trends/     prevalence, trend tests, period comparison, breakdowns, co-occurrence,
                    recurring lessons (CSV) and figures/ (PNG + SVG)
    OUT/summary/    summary.html (self-contained), summary.md, figures/, summary_quotes.csv
    OUT/run_manifest.json
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from themes import __version__
from themes.corpus import Corpus, load_corpus
from themes.errors import ThemesError
from themes.stage_cache import stage_key

log = logging.getLogger("themes")

BREAKDOWNS = ("nation", "review_type", "age_band", "outcome")


@dataclass
class RunConfig:
    """Everything a run depends on besides the input files (recorded in the run manifest)."""

    source: str
    out: str
    manifest: str | None = None
    codebook: str | None = None
    method: str = "combined"
    spacy_model: str | None = None  # a spaCy pipeline under the rule matcher; None: blank English
    presence_min_passages: int | None = (
        None  # None: the value chosen on dev for the installed model
    )
    n_jobs: int = 1
    cache: bool = True  # reuse stage outputs whose inputs are unchanged (see themes.stage_cache)
    backend: str = "loky"
    scheduler: str | None = None
    topics: bool = False
    topic_backend: str = "tfidf-svd.v1"
    min_n: int = 3
    alpha: float = 0.05
    split_year: int = 2019
    n_headline: int = 8


@dataclass
class RunResult:
    """Where a run wrote its outputs, and what it did."""

    out: Path
    corpus: Corpus
    tagged: object | None = None
    stages: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    summary_html: Path | None = None
    reused: dict[str, str] = field(default_factory=dict)  # stage -> cache key it was copied from


def run_pipeline(config: RunConfig) -> RunResult:
    """Run ingest, tag, trends (and topics if asked) and summary; write everything under ``out``.

    Examples:
        >>> result = run_pipeline(RunConfig(source="corpus", out="build/demo"))  # doctest: +SKIP
        >>> result.summary_html  # doctest: +SKIP
        PosixPath('build/demo/summary/summary.html')
    """
    from themes.codebook import load_codebook
    from themes.parallel import parallel_backend

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    codebook = load_codebook(config.codebook)
    # On a Dask cluster the scheduler decides how many tasks run at once.
    n_jobs = -1 if config.backend == "dask" else config.n_jobs
    with parallel_backend(config.backend, config.scheduler):
        corpus = load_corpus(
            config.source,
            manifest=config.manifest,
            n_jobs=n_jobs,
            cache_dir="default" if config.cache else None,
        )
    result = RunResult(out=out, corpus=corpus, stages=["ingest"])
    tables = corpus.save(out / "tables")
    for name in ("reports", "passages", "recommendations", "errors"):
        result.outputs[name] = str(tables / f"{name}.parquet")
    if corpus.reports.empty:
        _write_manifest(config, result, codebook)
        return result

    cache = _stage_cache(config)
    base = _key_parts(config, corpus, codebook)
    tag_key = stage_key(
        "tag",
        {
            **base,
            "method": config.method,
            "presence": config.presence_min_passages,
            "spacy_model": config.spacy_model,
        },
    )
    tagged = None
    if cache.restore("tag", tag_key, tables):
        tagged = _load_tagged(tables, config, codebook)
        result.reused["tag"] = tag_key
    if tagged is None:
        with parallel_backend(config.backend, config.scheduler):
            tagged = stage_tag(
                corpus,
                tables,
                method=config.method,
                codebook=codebook,
                presence_min_passages=config.presence_min_passages,
                n_jobs=n_jobs,
                spacy_model=config.spacy_model,
            )
        cache.store("tag", tag_key, [tables / f for f in TAG_FILES], tables)
    result.tagged = tagged
    result.stages.append(f"tag ({tagged.method})")
    for name in ("mentions", "report_themes", "recommendations_tagged"):
        result.outputs[name] = str(tables / f"{name}.parquet")

    topic_table = None
    if config.topics:
        topic_table = stage_topics(corpus, out / "topics", backend=config.topic_backend)
        result.stages.append(f"topics ({config.topic_backend})")
        result.outputs["topics"] = str(out / "topics")
    else:
        result.skipped["topics"] = "not requested (add --topics)"

    trends_settings = {"min_n": config.min_n, "alpha": config.alpha, "split": config.split_year}
    trends_key = stage_key("trends", {**base, "tag": tag_key, **trends_settings})
    if cache.restore("trends", trends_key, out / "trends"):
        result.reused["trends"] = trends_key
    else:
        stage_trends(
            corpus,
            tagged,
            codebook,
            out / "trends",
            min_n=config.min_n,
            alpha=config.alpha,
            split_year=config.split_year,
        )
        cache.store("trends", trends_key, _files(out / "trends"), out / "trends")
    result.stages.append("trends")
    result.outputs["trends"] = str(out / "trends")

    # With topics the summary reads a fresh topic table, which is not cached: always rebuild it.
    summary_key = stage_key(
        "summary", {**base, "tag": tag_key, "headline": config.n_headline, "topics": config.topics}
    )
    if not config.topics and cache.restore("summary", summary_key, out / "summary"):
        result.reused["summary"] = summary_key
    else:
        stage_summary(
            corpus,
            tagged,
            codebook,
            out / "summary",
            topics=topic_table,
            n_headline=config.n_headline,
            run_manifest=_manifest_dict(config, result, codebook),
        )
        if not config.topics:
            cache.store("summary", summary_key, _files(out / "summary"), out / "summary")
    result.stages.append("summary")
    result.summary_html = out / "summary" / "summary.html"
    result.outputs["summary_html"] = str(out / "summary" / "summary.html")
    result.outputs["summary_markdown"] = str(out / "summary" / "summary.md")
    _write_manifest(config, result, codebook)
    return result


# ------------------------------------------------------------------------------- stage cache
TAG_FILES = ("mentions.parquet", "report_themes.parquet", "recommendations_tagged.parquet")


def _stage_cache(config: RunConfig):
    from themes.config import settings
    from themes.stage_cache import StageCache

    return StageCache(settings().cache_dir / "stages" if config.cache else None)


def _key_parts(config: RunConfig, corpus: Corpus, codebook) -> dict:
    """What every cached stage depends on, besides the stages before it.

    Passages are a pure function of the files (``corpus.checksum``), the loader code (in the code
    digest) and the manifest (which also shapes the reports table, hashed in full), so the large
    passages table itself need not be hashed.
    """
    from themes.config import settings
    from themes.corpus import LOADER_VERSION
    from themes.stage_cache import code_digest, files_digest, frame_digest

    models = settings().models_dir
    return {
        "version": __version__,
        "code": code_digest(),
        "loader_version": LOADER_VERSION,
        "corpus": corpus.checksum,
        "reports": frame_digest(corpus.reports),
        "codebook": codebook.checksum,
        "models": files_digest([models / "theme-classifier", models / "static-minilm"]),
    }


def _files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.is_file())


def _load_tagged(tables: Path, config: RunConfig, codebook):
    from themes.corpus_tagging import TaggedCorpus, calibrated_presence_min_passages

    presence = config.presence_min_passages
    if presence is None:
        presence = calibrated_presence_min_passages(config.method)
    return TaggedCorpus(
        mentions=pd.read_parquet(tables / "mentions.parquet"),
        report_themes=pd.read_parquet(tables / "report_themes.parquet"),
        recommendations=pd.read_parquet(tables / "recommendations_tagged.parquet"),
        method=config.method,
        codebook_version=codebook.version,
        presence_min_passages=presence,
    )


# ------------------------------------------------------------------------------------- stages
def stage_tag(
    corpus: Corpus,
    tables: Path,
    *,
    method: str,
    codebook,
    presence_min_passages: int | None = None,
    n_jobs: int | None = 1,
    spacy_model: str | None = None,
):
    """Tag the corpus and save the tagging tables beside the loader's.

    ``spacy_model`` names an installed spaCy pipeline to run under the rule matcher (see
    :func:`themes.tagging.build_nlp`); ``None`` uses the blank English one.

    ``presence_min_passages`` None takes the value the installed model recorded as best on the dev
    split (``presence_min_passages`` in its metrics.json), else 1. ``n_jobs`` worker processes tag
    chunks of passages through joblib (the run's backend); the tables do not depend on it.
    """
    from themes.corpus_tagging import tag_corpus
    from themes.tagging import RuleTagger, models_in_process

    models = None
    if method != "rules":
        try:
            models = models_in_process()
        except ThemesError as error:
            raise ThemesError(f"{error}; or use --method rules") from None
    if presence_min_passages is None:
        from themes.corpus_tagging import calibrated_presence_min_passages

        presence_min_passages = calibrated_presence_min_passages(method, models)
    tagged = tag_corpus(
        corpus,
        method=method,
        models=models,
        tagger=RuleTagger(codebook, spacy_model=spacy_model),
        codebook=codebook,
        presence_min_passages=presence_min_passages,
        n_jobs=n_jobs,
    )
    tagged.save(tables)
    return tagged


def _reviews_table(corpus: Corpus) -> pd.DataFrame:
    from themes import trends

    return trends.primary_reviews(corpus.reports)


def stage_trends(
    corpus: Corpus,
    tagged,
    codebook,
    out: Path,
    *,
    min_n: int = 3,
    alpha: float = 0.05,
    split_year: int = 2019,
) -> dict[str, pd.DataFrame]:
    """Compute every trend table and figure and write them under ``out`` (CSV + PNG/SVG)."""
    from themes import plots, trends

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    reviews = _reviews_table(corpus)
    theme_ids = list(codebook.theme_ids)
    labels = {t.id: t.label for t in codebook.themes}
    presence = trends.presence_from_report_themes(tagged.report_themes, theme_ids)
    presence = presence[presence["review_id"].isin(reviews["review_id"])]
    recs = tagged.recommendations
    tables = {
        "prevalence_by_year": trends.prevalence_by_year(presence, reviews, min_n=min_n),
        "trend_tests": trends.trend_tests(presence, reviews, alpha=alpha),
        "period_comparison": trends.compare_periods(
            presence, reviews, split_year=split_year, alpha=alpha
        ),
        "cooccurrence": trends.cooccurrence(presence, theme_ids),
        "toxic_trio": trends.toxic_trio(presence),
        "recurring_lessons": trends.recurring_lessons(
            presence,
            reviews,
            recs,
            theme_ids=[t.id for t in codebook.themes if t.family == "practice"],
        ),
    }
    for by in BREAKDOWNS:
        tables[f"breakdown_{by}"] = trends.prevalence_by(presence, reviews, by, min_n=min_n)
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    figures = {
        "prevalence_over_time": plots.plot_prevalence_over_time(
            tables["prevalence_by_year"], theme_ids, labels=labels, ncols=5
        ),
        "direction_of_travel": plots.plot_trend_odds_ratios(tables["trend_tests"], labels=labels),
        "cooccurrence": plots.plot_cooccurrence_heatmap(
            tables["cooccurrence"], themes=theme_ids, labels=labels
        ),
        "breakdown_nation": plots.plot_breakdown(
            tables["breakdown_nation"], "nation", _top_themes(presence, 8), labels=labels
        ),
        "breakdown_age_band": plots.plot_breakdown(
            tables["breakdown_age_band"], "age_band", _top_themes(presence, 8), labels=labels
        ),
    }
    for name, fig in figures.items():
        plots.save_figure(fig, out / "figures", name)
    _write_json(
        out / "trends_manifest.json",
        {
            "stage": "trends",
            "version": __version__,
            "codebook_version": codebook.version,
            "corpus_checksum": corpus.checksum,
            "tagging_method": tagged.method,
            "min_n": min_n,
            "alpha": alpha,
            "split_year": split_year,
            "caveats": [trends.REGIME_CAVEAT],
        },
    )
    return tables


def _top_themes(presence: pd.DataFrame, k: int) -> list[str]:
    share = presence.groupby("theme_id")["present"].mean().sort_values(ascending=False)
    return list(share.index[:k])


def stage_topics(corpus: Corpus, out: Path, *, backend: str):
    """Run BERTopic discovery and write its outputs; returns the topic table."""
    from themes.topics import discover_topics, write_topic_outputs

    result = discover_topics(corpus.passages, corpus.reports, backend=backend)
    write_topic_outputs(result, out)
    return result.topic_info


def stage_summary(
    corpus: Corpus,
    tagged,
    codebook,
    out: Path,
    *,
    topics=None,
    n_headline: int = 8,
    run_manifest: dict | None = None,
) -> dict[str, Path]:
    """Build and write the thematic summary (HTML and Markdown)."""
    from themes.summary import SummaryInputs, build_summary, write_summary

    inputs = SummaryInputs(
        reports=corpus.reports,
        passages=corpus.passages,
        mentions=tagged.mentions,
        report_themes=tagged.report_themes,
        theme_labels={t.id: t.label for t in codebook.themes},
        theme_families={t.id: t.family for t in codebook.themes},
        recommendations=tagged.recommendations,
        rec_type_labels={r.id: r.label for r in codebook.recommendation_types},
        topics=topics,
        evaluation=_evaluation_figures(),
        run_manifest=run_manifest or {},
        corpus_note=_corpus_note(corpus),
    )
    return write_summary(build_summary(inputs, n_headline=n_headline), out)


def _evaluation_figures() -> dict | None:
    """Accuracy of the installed tagger from its metrics: test split and fresh texts."""
    from themes.config import settings

    try:
        path = settings().models_dir / "theme-classifier" / "metrics.json"
    except ThemesError:
        return None
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text(encoding="utf-8"))
    test = metrics.get("test", {}).get("combined") or {}
    keep = (
        "passage_micro_f1",
        "passage_macro_f1",
        "review_micro_f1",
        "polarity_accuracy",
        "rec_type_micro_f1",
    )
    figures = {k: float(test[k]) for k in keep if k in test}
    # text written outside the project's passage library: the better guide for real reports
    fresh = metrics.get("fresh", {}).get("test", {}).get("methods", {}).get("combined") or {}
    for key in ("micro_f1", "macro_f1"):
        if key in fresh:
            figures[f"independently_written_text_{key}"] = float(fresh[key])
    return figures or None


def _corpus_note(corpus: Corpus) -> str | None:
    from themes.config import settings

    try:
        bundled = settings().corpus_dir.resolve()
    except ThemesError:
        return None
    files = corpus.reports["source_file"].tolist()
    if (
        files
        and all(not Path(f).is_absolute() and f.startswith("reports/") for f in files)
        and bundled.is_dir()
    ):
        return (
            "These reviews are the project's bundled fictional corpus: "
            "no real child, family, practitioner or partnership is described."
        )
    return None


# ------------------------------------------------------------------------------------- manifests
def _manifest_dict(config: RunConfig, result: RunResult, codebook) -> dict:
    from themes.corpus import LOADER_VERSION

    return {
        "package": "safeguarding-themes",
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "config": asdict(config),
        "corpus_checksum": result.corpus.checksum,
        "codebook_version": codebook.version,
        "codebook_checksum": codebook.checksum,
        "tagging_method": getattr(result.tagged, "method", None),
        "presence_min_passages": getattr(result.tagged, "presence_min_passages", None),
        "model": _model_version(),
        "n_reports": int(len(result.corpus.reports)),
        "n_reviews": int(result.corpus.reports["review_id"].nunique()),
        "n_file_problems": int(len(result.corpus.errors)),
        "loader_version": LOADER_VERSION,
        "stages_run": list(result.stages),
        "stages_not_run": dict(result.skipped),
        "stages_reused_from_cache": dict(result.reused),
    }


def _model_version() -> str | None:
    from themes.config import settings

    try:
        card = settings().models_dir / "theme-classifier" / "metrics.json"
    except ThemesError:
        return None
    if not card.is_file():
        return None
    data = json.loads(card.read_text(encoding="utf-8"))
    return (
        "theme-classifier trained on corpus "
        f"{str(data.get('data', {}).get('corpus_manifest_sha256', '?'))[:12]}"
    )


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")


def _write_manifest(config: RunConfig, result: RunResult, codebook) -> None:
    path = result.out / "run_manifest.json"
    result.outputs["run_manifest"] = str(path)
    manifest = _manifest_dict(config, result, codebook)
    manifest["outputs"] = result.outputs
    _write_json(path, manifest)
