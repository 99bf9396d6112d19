"""``themes run``: compose the pipeline stages and record what produced every output.

Each stage is its own module and can be run alone; this module only sequences them, writes their
tables under one output folder, and writes ``run_manifest.json`` with the package version, the
configuration, the codebook version and the corpus checksum, so any number in the outputs can be
traced to the inputs and settings that produced it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

from themes import __version__
from themes.corpus import Corpus, load_corpus

log = logging.getLogger("themes")


@dataclass
class RunConfig:
    """Everything a run depends on besides the input files (recorded in the run manifest)."""

    source: str
    out: str
    manifest: str | None = None
    codebook: str | None = None
    n_jobs: int = 1
    backend: str = "loky"
    scheduler: str | None = None
    topics: bool = False


@dataclass
class RunResult:
    """Where a run wrote its outputs, and what it did."""

    out: Path
    corpus: Corpus
    stages: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def run_pipeline(config: RunConfig) -> RunResult:
    """Run every available stage on ``config.source`` and write outputs under ``config.out``.

    Examples:
        >>> result = run_pipeline(RunConfig(source="corpus", out="build/demo"))  # doctest: +SKIP
        >>> sorted(result.outputs)  # doctest: +SKIP
        ['errors', 'passages', 'recommendations', 'reports', 'run_manifest']
    """
    from themes.parallel import parallel_backend

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    # On a Dask cluster the scheduler decides how many tasks run at once.
    n_jobs = -1 if config.backend == "dask" else config.n_jobs
    with parallel_backend(config.backend, config.scheduler):
        corpus = load_corpus(config.source, manifest=config.manifest, n_jobs=n_jobs)
    tables = corpus.save(out / "tables")
    result = RunResult(out=out, corpus=corpus, stages=["ingest"])
    for name in ("reports", "passages", "recommendations", "errors"):
        result.outputs[name] = str(tables / f"{name}.parquet")
    _write_manifest(config, result)
    return result


def _write_manifest(config: RunConfig, result: RunResult) -> None:
    manifest = {
        "package": "safeguarding-themes",
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "config": asdict(config),
        "corpus_checksum": result.corpus.checksum,
        "n_reports": int(len(result.corpus.reports)),
        "n_reviews": int(result.corpus.reports["review_id"].nunique()),
        "n_errors": int(len(result.corpus.errors)),
        "loader_version": result.corpus.reports["loader_version"].iloc[0]
        if len(result.corpus.reports)
        else None,
        "stages_run": result.stages,
        "stages_not_available": result.skipped,
        "outputs": result.outputs,
    }
    path = result.out / "run_manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    result.outputs["run_manifest"] = str(path)
