"""Performance benchmark of safeguarding-themes (``make bench``).

Builds synthetic corpora of real PDFs (cached under ``build/bench/corpus-<n>-<pages>``) and
measures, on the same files in one run:

* raw pypdfium2 page-text extraction (the library floor for ingest), pages/s;
* ingest (``load_corpus``, parse cache off) pages/s for each ``--n-jobs`` value, and the ratio to
  raw;
* tagging: ``RuleTagger.predict_mentions`` tokens/s against blank spaCy tokenisation (``nlp.pipe``)
  of the same passage texts, and ``tag_corpus(method="combined")`` throughput;
* end to end: ``themes run --method combined`` (no topics) as a subprocess, cold (fresh parse
  cache) and warm (same cache), wall time and peak memory, per size (the growth curve);
* BERTopic ``discover_topics`` time per installed embedding back-end on the analysis, findings and
  lessons passages (a seeded sample of at most ``--topic-max-passages``);
* a cProfile of one cold end-to-end run (``--profile-size``), summarised as "where the time goes".

Every measurement runs in its own child process with a time limit (``--budget-seconds``); a step
that runs past it is killed and recorded as "over budget", so the benchmark never hangs.

Results go to ``<out>/results.json`` (machine-readable, written after every step) and
``BENCHMARKS.md`` at the project root (``--quick`` writes both under ``<out>`` instead, with
``-quick`` in their names). See ``benchmarks/README.md``.

Usage::

    make bench                                   # = .venv/bin/python benchmarks/run.py
    .venv/bin/python benchmarks/run.py --quick   # smoke run: sizes 20,60 of 10 pages
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_VERSION = 1
DEFAULT_SEED = 7
CALIBRATION_REVIEWS = 6
TOPIC_SECTIONS = ("analysis", "findings", "lessons")
NOTES_START = "<!-- notes:start (kept when run.py rewrites this file) -->"
NOTES_END = "<!-- notes:end -->"

# Targets from the issue (on the project's 2-core machine).
TARGET_COLD_S = 180.0
TARGET_WARM_S = 15.0
TARGET_PEAK_GB = 4.0
TARGET_INGEST_RATIO = 0.5
TARGET_TAG_RATIO = 0.5
TARGET_SIZE = 1500
# "Grows linearly": the fitted exponent of wall time against pages (log-log) stays at or below this.
LINEAR_EXPONENT_MAX = 1.15


def log(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# corpus generation (cached)


def corpus_dir(out: Path, n: int, pages: int) -> Path:
    return out / f"corpus-{n}-{pages}"


def _read_manifest_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _mean_pages(rows: list[dict], *, overview_only: bool) -> float:
    values = [
        int(r["n_pages"])
        for r in rows
        if r["n_pages"] and (not overview_only or r["document_kind"] != "executive_summary")
    ]
    return statistics.mean(values) if values else float("nan")


def calibrate_target_pages(pages: int, seed: int, out: Path, n_jobs: int) -> dict:
    """Find the generator's ``target_pages`` that gives reports of about ``pages`` pages.

    ``build_corpus(target_pages=N)`` renders shorter reports than N (about 33 pages for 50), so the
    benchmark renders a few reviews, measures their page counts and scales ``target_pages`` until
    the mean full report (executive summaries excluded: they are short by design) is within 5 %.
    Cached in ``<out>/calibration-<pages>-seed<seed>.json``.
    """
    from themes.synthetic import compose_corpus, write_corpus

    path = out / f"calibration-{pages}-seed{seed}.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    history = []
    target = pages
    for _ in range(4):
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            docs = compose_corpus(CALIBRATION_REVIEWS, seed, formats=("pdf",), target_pages=target)
            rows = write_corpus(docs, Path(tmp), n_jobs=n_jobs)
        mean = _mean_pages(rows, overview_only=True)
        history.append({"target_pages": target, "mean_pages": round(mean, 2)})
        log(f"calibration: target_pages={target} gives {mean:.1f} pages per full report")
        if abs(mean - pages) / pages <= 0.05:
            break
        target = max(1, round(target * pages / mean))
    best = min(history, key=lambda h: abs(h["mean_pages"] - pages))
    result = {
        "pages": pages,
        "seed": seed,
        "target_pages": best["target_pages"],
        "history": history,
        "reviews_sampled": CALIBRATION_REVIEWS,
    }
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


# Bookkeeping files in a corpus folder start with "." so that load_corpus (which reads every other
# file, JSON included) skips them. Early versions used the names without the dot.
INFO_FILE, PROGRESS_FILE, RECIPE_FILE = (
    ".bench-corpus.json",
    ".render-progress.jsonl",
    ".render-recipe.json",
)


def _migrate_bookkeeping(folder: Path) -> None:
    for name in (INFO_FILE, PROGRESS_FILE, RECIPE_FILE):
        old = folder / name.lstrip(".")
        if old.is_file() and not (folder / name).exists():
            old.replace(folder / name)


def _corpus_info(folder: Path) -> dict | None:
    _migrate_bookkeeping(folder)
    info_path = folder / INFO_FILE
    if not (folder / "manifest.csv").is_file() or not info_path.is_file():
        return None
    return json.loads(info_path.read_text(encoding="utf-8"))


def _render_one(doc, folder: Path) -> dict:
    """Render one document; returns its manifest row (or the error).

    reportlab raises ``LayoutError`` ("Splitting error(n==2)") for some paragraphs of the
    generator's longer reports, in hyphenated text and in the two-column analysis section (drawn
    when ``style_seed % 5 == 0``). Such a document is rendered again without hyphenation, then also
    with ``style_seed + 2`` (same font, one column); the text is the same. The fallback is
    recorded, so one bad layout never stops a corpus.
    """
    from reportlab.platypus.doctemplate import LayoutError

    from themes.synthetic import _render, manifest_row

    def no_hyphens(d) -> str:
        d.hyphenate = False
        return "without hyphenation"

    def one_column(d) -> str:
        d.style_seed += 2  # same parity (font), not a multiple of 5 (no two-column section)
        return "without hyphenation, in one column"

    notes = []
    for fallback in (None, no_hyphens, one_column):
        if fallback is not None:
            notes.append(fallback(doc))
        try:
            file, n_pages, sha = _render(doc, folder)
        except LayoutError as error:
            last = f"LayoutError: {str(error).splitlines()[0][:100]}"
            continue
        except Exception as error:  # noqa: BLE001 - recorded; the corpus goes on without it
            return {"error": f"{type(error).__name__}: {str(error)[:200]}", "doc": doc.file_stem}
        note = f"{last}; rendered {notes[-1]}" if notes else None
        return {"row": manifest_row(doc, file, n_pages, sha), "note": note}
    return {"error": last, "doc": doc.file_stem}


def ensure_corpora(sizes: list[int], pages: int, seed: int, out: Path, n_jobs: int) -> None:
    """Generate the corpora that are not cached yet.

    The generator is sequential in its random state, so the first ``n`` reviews of a larger
    corpus are byte-for-byte the corpus of ``n`` reviews (same seed and settings). A larger corpus
    therefore reuses (hard-links) the files of the largest smaller one already on disk and renders
    only the new reviews. Rendering goes in batches recorded in ``.render-progress.jsonl``, so an
    interrupted generation resumes where it stopped.
    """
    from joblib import Parallel, delayed

    from themes.synthetic import GENERATOR_VERSION, MANIFEST_COLUMNS, compose_corpus

    missing = [
        n for n in sorted(sizes) if not (corpus_dir(out, n, pages) / "manifest.csv").is_file()
    ]
    if not missing:
        return
    calibration = calibrate_target_pages(pages, seed, out, n_jobs)
    target = calibration["target_pages"]
    log(f"composing {max(missing)} reviews (target_pages={target}, seed={seed})")
    docs = compose_corpus(max(missing), seed, formats=("pdf",), target_pages=target)
    recipe = {"seed": seed, "target_pages": target, "generator_version": GENERATOR_VERSION}

    def same_recipe(info: dict | None) -> bool:
        return bool(info) and all(info.get(k) == v for k, v in recipe.items())

    for n in missing:
        folder = corpus_dir(out, n, pages)
        # The largest smaller corpus with the same recipe, to reuse its files.
        prev_n, prev_info = 0, None
        for candidate in sorted(out.glob(f"corpus-*-{pages}")):
            m = re.fullmatch(rf"corpus-(\d+)-{pages}", candidate.name)
            info = _corpus_info(candidate)
            if m and prev_n < int(m.group(1)) < n and same_recipe(info):
                prev_n, prev_info = int(m.group(1)), info
        _migrate_bookkeeping(folder)
        progress_path = folder / PROGRESS_FILE
        state_path = folder / RECIPE_FILE
        resumable = state_path.is_file() and json.loads(state_path.read_text()) == {
            **recipe,
            "prev_n": prev_n,
        }
        if folder.exists() and not resumable:
            shutil.rmtree(folder)  # an interrupted attempt with another recipe
        (folder / "reports").mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps({**recipe, "prev_n": prev_n}), encoding="utf-8")
        rows: list[dict] = []
        if prev_n:
            prev = corpus_dir(out, prev_n, pages)
            rows = _read_manifest_rows(prev / "manifest.csv")
            for row in rows:
                src, dst = prev / row["file"], folder / row["file"]
                dst.unlink(missing_ok=True)
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
            log(f"corpus-{n}: reusing {len(rows)} files of corpus-{prev_n}")
        done: dict[str, dict] = {}
        seconds = 0.0
        if progress_path.is_file():
            for line in progress_path.read_text(encoding="utf-8").splitlines():
                item = json.loads(line)
                if item.get("batch_seconds"):
                    seconds += item["batch_seconds"]
                elif "row" in item:  # failed documents are tried again
                    done[item["report_id"]] = item
            log(f"corpus-{n}: resuming after {len(done)} rendered documents")
        new_docs = [d for d in docs if prev_n < int(d.review_id[2:]) <= n]
        todo = [d for d in new_docs if d.report_id not in done]
        log(f"corpus-{n}: rendering {len(todo)} documents with n_jobs={n_jobs}")
        batch = 40 * max(1, n_jobs)
        for i in range(0, len(todo), batch):
            chunk = todo[i : i + batch]
            started = time.perf_counter()
            results = Parallel(n_jobs=n_jobs)(delayed(_render_one)(d, folder) for d in chunk)
            took = time.perf_counter() - started
            seconds += took
            with open(progress_path, "a", encoding="utf-8") as fh:
                for doc, result in zip(chunk, results, strict=True):
                    item = {"report_id": doc.report_id, **result}
                    done[doc.report_id] = item
                    fh.write(json.dumps(item) + "\n")
                fh.write(json.dumps({"batch_seconds": took}) + "\n")
            log(f"corpus-{n}: {i + len(chunk)}/{len(todo)} rendered ({took:.0f} s this batch)")
        new_rows, notes, failures = [], [], []
        for doc in new_docs:
            item = done[doc.report_id]
            if "row" in item:
                new_rows.append(item["row"])
                if item.get("note"):
                    notes.append({"report_id": doc.report_id, "note": item["note"]})
            else:
                failures.append({"report_id": doc.report_id, "error": item.get("error")})
        rows += new_rows
        new_pages = sum(int(r["n_pages"] or 0) for r in new_rows)
        info = {
            "n_reviews": n,
            "pages_requested": pages,
            **recipe,
            "reused_from": f"corpus-{prev_n}-{pages}" if prev_n else None,
            "rendered_documents": len(new_rows),
            "rendered_pages": new_pages,
            "render_seconds": round(seconds, 1),
            "render_pages_per_s": round(new_pages / seconds, 1) if seconds else None,
            "generation_n_jobs": n_jobs,
            "generation_seconds_total": round(
                seconds + (prev_info or {}).get("generation_seconds_total", 0.0), 1
            ),
            "one_column_fallbacks": (prev_info or {}).get("one_column_fallbacks", []) + notes,
            "render_failures": (prev_info or {}).get("render_failures", []) + failures,
        }
        (folder / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        tmp = folder / ".manifest.csv.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(folder / "manifest.csv")  # the manifest marks the corpus complete
        log(
            f"corpus-{n}: {len(rows)} documents ready ({new_pages} new pages in {seconds:.0f} s, "
            f"{new_pages / max(seconds, 1e-9):.1f} pages/s; {len(notes)} layout fallbacks, "
            f"{len(failures)} failures)"
        )


def describe_corpus(folder: Path) -> dict:
    rows = _read_manifest_rows(folder / "manifest.csv")
    info = _corpus_info(folder) or {}
    size = sum((folder / r["file"]).stat().st_size for r in rows)
    return {
        "folder": str(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder),
        "n_reviews": len({r["review_id"] for r in rows}),
        "n_documents": len(rows),
        "n_pages": sum(int(r["n_pages"] or 0) for r in rows),
        "mean_pages_full_report": round(_mean_pages(rows, overview_only=True), 1),
        "mean_pages_all_documents": round(_mean_pages(rows, overview_only=False), 1),
        "megabytes": round(size / 1e6, 1),
        **{k: info.get(k) for k in ("target_pages", "seed", "generation_seconds_total")},
        "one_column_fallbacks": len(info.get("one_column_fallbacks", [])),
        "render_failures": len(info.get("render_failures", [])),
    }


# --------------------------------------------------------------------------------------------------
# measurement steps: each runs in a child process (``run.py --_step SPEC``) under a time limit


def _peak_rss_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports kilobytes


def _pdf_files(folder: Path) -> list[str]:
    return [str(folder / r["file"]) for r in _read_manifest_rows(folder / "manifest.csv")]


def _raw_extract(path: str) -> tuple[int, int]:
    """Raw pypdfium2 floor: open, get_text_range() on every page, close."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        n_pages, n_chars = len(pdf), 0
        for index in range(n_pages):
            page = pdf[index]
            textpage = page.get_textpage()
            n_chars += len(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return n_pages, n_chars


def step_raw_pdfium(spec: dict) -> dict:
    files = _pdf_files(Path(spec["corpus"]))
    n_jobs = spec["n_jobs"]
    started = time.perf_counter()
    if n_jobs == 1:
        counts = [_raw_extract(f) for f in files]
    else:
        from joblib import Parallel, delayed

        counts = Parallel(n_jobs=n_jobs, batch_size=4)(delayed(_raw_extract)(f) for f in files)
    seconds = time.perf_counter() - started
    pages = sum(c[0] for c in counts)
    return {
        "seconds": seconds,
        "files": len(files),
        "pages": pages,
        "chars": sum(c[1] for c in counts),
        "pages_per_s": pages / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def step_ingest(spec: dict) -> dict:
    from themes.corpus import load_corpus

    started = time.perf_counter()
    corpus = load_corpus(spec["corpus"], n_jobs=spec["n_jobs"], cache_dir=None, show_progress=False)
    seconds = time.perf_counter() - started
    pages = int(corpus.reports["n_pages"].sum())
    result = {
        "seconds": seconds,
        "documents": len(corpus.reports),
        "pages": pages,
        "passages": len(corpus.passages),
        "words": int(corpus.reports["n_words"].sum()),
        "errors": int((corpus.errors["error_type"] != "warning").sum()),
        "pages_per_s": pages / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }
    if spec.get("save_tables"):
        corpus.save(spec["save_tables"])
    return result


def step_tagging(spec: dict, repeats: int = 2) -> dict:
    """Blank spaCy tokenisation versus the rule tagger on the same passage texts.

    Each of the three timings (blank, rule tagger, floor) is the best of ``repeats`` rounds run in
    turn, so every one is measured with a warm tokenizer cache and under the same background load.
    """
    import pandas as pd
    import spacy

    from themes.tagging import RuleTagger

    passages = pd.read_parquet(Path(spec["tables"]) / "passages.parquet")
    texts = passages["text"].astype(str).tolist()
    sections = passages["section_type"].tolist()
    nlp = spacy.blank("en")
    tagger = RuleTagger()
    tagger.predict_mentions(["Information was shared promptly."])  # builds the pipeline
    blank_s = rules_s = floor_s = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        n_tokens = sum(len(doc) for doc in nlp.pipe(texts, batch_size=1000))
        blank_s = min(blank_s, time.perf_counter() - started)
        started = time.perf_counter()
        mentions = tagger.predict_mentions(texts, sections)
        rules_s = min(rules_s, time.perf_counter() - started)
        floor_s = min(floor_s, _rule_tagger_floor_seconds(tagger, texts))
    return {
        "passages": len(texts),
        "chars": sum(map(len, texts)),
        "tokens": n_tokens,
        "blank_spacy_seconds": blank_s,
        "blank_spacy_tokens_per_s": n_tokens / blank_s,
        "rule_tagger_seconds": rules_s,
        "rule_tagger_tokens_per_s": n_tokens / rules_s,
        "rule_mentions": len(mentions),
        "ratio": blank_s / rules_s,
        "repeats": repeats,
        "floor_seconds": floor_s,
        "floor_ratio": blank_s / floor_s,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _rule_tagger_floor_seconds(tagger, texts: list[str]) -> float:  # noqa: ANN001
    """Seconds for the spaCy calls the rule tagger cannot avoid, and nothing else.

    Its tokenizer, then per doc ``Doc.to_array`` (the token attributes it reads) and the
    codebook's ``PhraseMatcher`` (which the tagging issue asks for), with every result thrown
    away: no token patterns, polarity, resolution or table. ``ratio`` can never beat the ratio of
    this time, so the two together say how much of the gap our own code still owns.
    """
    from themes import rule_engine

    nlp, _ = tagger._pipeline()
    matcher = nlp.get_pipe(nlp.pipe_names[-1])
    attrs = rule_engine.TokenArrays.attr_ids(matcher.flags, matcher.sentences_from_pipeline)
    started = time.perf_counter()
    for doc in nlp.tokenizer.pipe(texts):
        doc.to_array(attrs)
        matcher.phrases(doc)
    return time.perf_counter() - started


def step_tag_corpus(spec: dict) -> dict:
    from themes.codebook import load_codebook
    from themes.corpus import Corpus
    from themes.corpus_tagging import tag_corpus
    from themes.tagging import load_models

    corpus = Corpus.read(spec["tables"])
    started = time.perf_counter()
    models = load_models()
    codebook = load_codebook()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    tagged = tag_corpus(corpus, method="combined", models=models, codebook=codebook)
    seconds = time.perf_counter() - started
    n = len(corpus.passages)
    tokens = spec.get("tokens")
    return {
        "seconds": seconds,
        "model_load_seconds": load_s,
        "passages": n,
        "passages_per_s": n / seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds if tokens else None,
        "mentions": len(tagged.mentions),
        "peak_rss_mb": _peak_rss_mb(),
    }


def step_topics(spec: dict) -> dict:
    import pandas as pd

    from themes.topics import discover_topics, embed_texts, get_backend

    passages = pd.read_parquet(Path(spec["tables"]) / "passages.parquet")
    reports = pd.read_parquet(Path(spec["tables"]) / "reports.parquet")
    cap = spec["max_passages"]
    # The same selection discover_topics makes (sections, non-empty, seeded sample), to time the
    # embedding alone as well.
    selected = passages[passages["section_type"].isin(list(TOPIC_SECTIONS))]
    selected = selected[selected["text"].fillna("").str.strip().str.len() > 0]
    available = len(selected)
    if cap and len(selected) > cap:
        selected = selected.sample(n=cap, random_state=42).sort_index()
    texts = selected["text"].astype(str).tolist()
    started = time.perf_counter()
    import bertopic  # noqa: F401 - imports (numba, umap, sklearn) are timed apart
    import hdbscan  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import umap  # noqa: F401

    import_s = time.perf_counter() - started
    started = time.perf_counter()
    embedder = get_backend(spec["backend"]).fit(texts)
    embed_texts(embedder, texts, cache_dir=None)
    embed_s = time.perf_counter() - started

    started = time.perf_counter()
    result = discover_topics(
        passages,
        reports,
        backend=spec["backend"],
        sections=TOPIC_SECTIONS,
        max_passages=cap or None,
        small=False,
        random_state=42,
        cache_dir=None,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "import_seconds": import_s,
        "embedding_seconds": embed_s,
        "passages_available": available,
        "passages_modelled": result.metrics["n_passages"],
        "sampled": bool(cap and available > cap),
        "n_topics": result.metrics["n_topics"],
        "outlier_share": result.metrics["outlier_share"],
        "backend_version": result.config["backend_version"],
        "peak_rss_mb": _peak_rss_mb(),
    }


STEPS = {
    "raw_pdfium": step_raw_pdfium,
    "ingest": step_ingest,
    "tagging": step_tagging,
    "tag_corpus": step_tag_corpus,
    "topics": step_topics,
}


def _child_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    result = STEPS[spec["step"]](spec)
    Path(spec["result"]).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class RssSampler:
    """Peak of the summed RSS of a process and all its descendants, sampled every 0.1 s."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def run_child(
    cmd: list[str], *, budget: float, log_path: Path, env: dict | None = None
) -> tuple[str, float, int, int | None]:
    """Run ``cmd`` in its own process group; returns (status, seconds, sampled peak RSS, rc)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as fh:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=ROOT
        )
        with RssSampler(proc.pid) as sampler:
            try:
                rc = proc.wait(timeout=budget)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return "over budget", time.perf_counter() - started, sampler.peak, None
        seconds = time.perf_counter() - started
    return ("ok" if rc == 0 else "failed"), seconds, sampler.peak, rc


def run_step(step: str, spec: dict, *, budget: float, logs: Path, label: str) -> dict:
    result_path = logs / f"{label}.json"
    result_path.unlink(missing_ok=True)
    spec = {**spec, "step": step, "result": str(result_path)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_step", json.dumps(spec)]
    status, seconds, peak, rc = run_child(cmd, budget=budget, log_path=logs / f"{label}.log")
    if status == "over budget":
        return {"status": "over budget", "budget_seconds": budget}
    if status != "ok" or not result_path.is_file():
        return {"status": "failed", "returncode": rc, "log_tail": _tail(logs / f"{label}.log")}
    data = json.loads(result_path.read_text(encoding="utf-8"))
    data.update(
        status="ok", process_seconds=round(seconds, 2), sampled_peak_tree_mb=peak / 1e6 // 1
    )
    return data


def _themes_command() -> list[str]:
    script = Path(sys.executable).parent / "themes"
    if script.is_file():
        return [str(script)]
    found = shutil.which("themes")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from themes.cli import main; sys.exit(main())"]


def _parse_gnu_time(path: Path) -> dict:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    out: dict = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["max_rss_mb"] = round(int(m.group(1)) / 1024, 1)
    m = re.search(r"User time \(seconds\): ([\d.]+)", text)
    if m:
        out["user_s"] = float(m.group(1))
    m = re.search(r"System time \(seconds\): ([\d.]+)", text)
    if m:
        out["system_s"] = float(m.group(1))
    return out


def run_e2e(
    folder: Path,
    out_dir: Path,
    cache_dir: Path,
    *,
    n_jobs: int,
    budget: float,
    log_path: Path,
    profile_to: Path | None = None,
) -> dict:
    """``themes run FOLDER --method combined`` as a subprocess: wall time and peak memory."""
    import resource

    if out_dir.exists():
        shutil.rmtree(out_dir)
    args = ["run", str(folder), "--out", str(out_dir), "--method", "combined"]
    args += ["--n-jobs", str(n_jobs)]
    themes = _themes_command()
    if profile_to is not None:
        themes = [sys.executable, "-m", "cProfile", "-o", str(profile_to), *themes[-1:]]
    env = {**os.environ, "THEMES_CACHE_DIR": str(cache_dir)}
    env.pop("THEMES_CI_SMALL", None)
    env.pop("CI", None)
    gnu_time = Path("/usr/bin/time")
    time_file = log_path.with_suffix(".time")
    time_file.unlink(missing_ok=True)
    cmd = [*themes, *args]
    if gnu_time.is_file():
        cmd = [str(gnu_time), "-v", "-o", str(time_file), *cmd]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    status, seconds, peak, rc = run_child(cmd, budget=budget, log_path=log_path, env=env)
    result: dict = {
        "status": status,
        "seconds": round(seconds, 2),
        "n_jobs": n_jobs,
        "command": "themes " + " ".join(args),
        "sampled_peak_tree_mb": round(peak / 1e6, 1),
    }
    if status == "over budget":
        result["budget_seconds"] = budget
        return result
    if status != "ok":
        result.update(returncode=rc, log_tail=_tail(log_path))
        return result
    if gnu_time.is_file():
        result.update(_parse_gnu_time(time_file))
        result["max_rss_source"] = "/usr/bin/time -v (largest single process)"
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result["max_rss_mb"] = round(after / 1024, 1) if after > children_before else None
        result["max_rss_source"] = "getrusage(RUSAGE_CHILDREN).ru_maxrss"
    # A run that wrote its manifest with the summary stage finished (cProfile exits 0 even when
    # the profiled command fails, so the exit status alone is not enough).
    manifest = out_dir / "run_manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    result["stages_run"] = data.get("stages_run")
    result["n_reports"] = data.get("n_reports")
    if "summary" not in (data.get("stages_run") or []):
        result.update(status="failed", returncode=rc, log_tail=_tail(log_path))
    return result


# --------------------------------------------------------------------------------------------------
# profile summary

# (label, regex over "path:line(function)"): the entry with the largest cumulative time is used;
# a regex with alternatives ("a|b") sums the largest entry of each alternative (sibling calls).
PROFILE_KEYS = [
    ("whole run: run_pipeline", r"themes/pipeline\.py:\d+\(run_pipeline\)"),
    ("ingest: load_corpus", r"themes/corpus\.py:\d+\(load_corpus\)"),
    ("· file hashing (_sha256)", r"themes/corpus\.py:\d+\(_sha256\)"),
    ("· read_document (PDF to page strings)", r"themes/readers\.py:\d+\(read_document\)"),
    (
        "· · pypdfium2 get_textpage + get_text_range [floor]",
        r"pypdfium2/_helpers/page\.py:\d+\(get_textpage\)"
        r"|pypdfium2/_helpers/textpage\.py:\d+\(get_text_range\)",
    ),
    ("· clean_pages (headers, footers)", r"themes/segment\.py:\d+\(clean_pages\)"),
    ("· segment_lines (passages)", r"themes/segment\.py:\d+\(segment_lines\)"),
    ("· extract_metadata", r"themes/metadata\.py:\d+\(extract_metadata\)"),
    ("· _assemble (DataFrames)", r"themes/corpus\.py:\d+\(_assemble\)"),
    ("Corpus.save (Parquet)", r"themes/corpus\.py:\d+\(save\)"),
    ("tag: stage_tag", r"themes/pipeline\.py:\d+\(stage_tag\)"),
    ("· tag_corpus", r"themes/corpus_tagging\.py:\d+\(tag_corpus\)"),
    ("· · RuleTagger.predict_mentions", r"themes/tagging\.py:\d+\(predict_mentions\)"),
    ("· · · _RuleMatcher.match (tokenise, phrases, patterns)", r"themes/tagging\.py:\d+\(match\)"),
    ("· · · · spaCy tokenizer [floor]", r"spacy/tokenizer\.pyx:\d+\(pipe\)"),
    ("· · · · spaCy PhraseMatcher", r"spacy/matcher/phrasematcher\.pyx:\d+\(__call__\)"),
    (
        "· · · resolve_mentions (polarity, sentences)",
        r"themes/rule_engine\.py:\d+\(resolve_mentions\)",
    ),
    ("· · _decide (classifier + combination)", r"themes/tagging\.py:\d+\(_decide\)"),
    ("· · · classifiers' predict_proba", r"themes/tagging\.py:\d+\(predict_proba\)"),
    (
        "· · · · scikit-learn vectorizer transform",
        r"sklearn/feature_extraction/text\.py:\d+\(transform\)",
    ),
    ("· · _report_themes", r"themes/corpus_tagging\.py:\d+\(_report_themes\)"),
    ("· · _recommendations", r"themes/corpus_tagging\.py:\d+\(_recommendations\)"),
    ("· TaggedCorpus.save (Parquet)", r"themes/corpus_tagging\.py:\d+\(save\)"),
    ("trends: stage_trends", r"themes/pipeline\.py:\d+\(stage_trends\)"),
    ("· figures (plots.save_figure)", r"themes/plots\.py:\d+\(save_figure\)"),
    ("summary: stage_summary", r"themes/pipeline\.py:\d+\(stage_summary\)"),
    ("matplotlib savefig (all)", r"matplotlib/figure\.py:\d+\(savefig\)"),
    ("pandas to_parquet (all)", r"pandas/core/frame\.py:\d+\(to_parquet\)"),
    ("imports (all)", r"<frozen importlib\._bootstrap>:\d+\(_find_and_load\)"),
]


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def summarise_profile(path: Path, top: int = 25) -> dict:
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt
    entries = []
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():
        label = f"{_short_path(file)}:{line}({func})" if file != "~" else func
        entries.append({"function": label, "calls": ncalls, "tottime": tottime, "cumtime": cumtime})
    generic = re.compile(
        r"builtins\.exec|\(<module>\)|runpy\.py|cProfile\.py|\(main\)$|\(_run_code\)"
    )
    by_cum = [
        e for e in sorted(entries, key=lambda e: -e["cumtime"]) if not generic.search(e["function"])
    ]
    by_tot = sorted(entries, key=lambda e: -e["tottime"])
    keys = []
    for label, pattern in PROFILE_KEYS:
        found = []
        for part in pattern.split("|"):
            rx = re.compile(part)
            matches = [e for e in entries if rx.search(e["function"])]
            if matches:
                found.append(max(matches, key=lambda e: e["cumtime"]))
        keys.append(
            {
                "label": label,
                "function": " + ".join(e["function"] for e in found) or None,
                "cumtime": sum(e["cumtime"] for e in found) if found else None,
                "calls": sum(e["calls"] for e in found),
            }
        )
    text_path = path.with_suffix(".txt")
    with open(text_path, "w", encoding="utf-8") as fh:
        report = pstats.Stats(str(path), stream=fh)
        report.sort_stats("cumulative").print_stats(60)
        report.sort_stats("tottime").print_stats(40)
    return {
        "total_seconds": total,
        "top_cumulative": by_cum[:top],
        "top_own_time": by_tot[:15],
        "key_calls": keys,
        "text_report": str(text_path),
    }


# --------------------------------------------------------------------------------------------------
# machine facts


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


LIBRARIES = [
    "safeguarding-themes", "pypdfium2", "spacy", "spacy-lookups-data", "scikit-learn", "numpy",
    "pandas", "pyarrow", "joblib", "bertopic", "umap-learn", "hdbscan", "numba", "model2vec",
    "sentence-transformers", "torch", "matplotlib", "reportlab", "psutil",
]  # fmt: skip


def machine_facts() -> dict:
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024**2, 1)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "gnu_time": Path("/usr/bin/time").is_file(),
        "libraries": {name: _version(name) for name in LIBRARIES},
        "source_fingerprint": _fingerprint(ROOT / "src" / "themes", "*.py"),
        "models_fingerprint": _fingerprint(ROOT / "models", "*"),
    }


def _fingerprint(folder: Path, pattern: str) -> str | None:
    """sha256 over the files' relative paths and bytes: which code and models were measured."""
    import hashlib

    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(folder.rglob(pattern)):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------------------
# derived figures: growth curve and targets


def _ok(entry: dict | None) -> bool:
    return bool(entry) and entry.get("status") == "ok"


def _fit_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(pages)."""
    points = [(x, y) for x, y in points if x > 0 and y > 0]
    if len(points) < 2:
        return None
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def _peak_mb(entry: dict) -> float:
    return max(entry.get("sampled_peak_tree_mb") or 0, entry.get("max_rss_mb") or 0)


def derive(results: dict) -> None:
    e2e_jobs = results["args"]["e2e_n_jobs"]
    growth = {"rows": [], "exponent": {}}
    for kind in ("cold", "warm"):
        points = []
        for _n, entry in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
            run = entry.get("e2e", {}).get(f"{kind}_j{e2e_jobs}")
            if _ok(run) and entry.get("corpus"):
                points.append((entry["corpus"]["n_pages"], run["seconds"]))
        growth["exponent"][kind] = _fit_exponent(points)
        # Extrapolate to the target size along the fitted power law (only if it was not measured).
        if len(points) >= 2 and str(TARGET_SIZE) not in {
            n
            for n, e in results["sizes"].items()
            if _ok(e.get("e2e", {}).get(f"{kind}_j{e2e_jobs}"))
        }:
            b = growth["exponent"][kind]
            largest = max(int(n) for n, e in results["sizes"].items() if e.get("corpus"))
            pages_per_review = results["sizes"][str(largest)]["corpus"]["n_pages"] / largest
            x_last, y_last = points[-1]
            x_target = pages_per_review * TARGET_SIZE
            growth.setdefault("extrapolated_seconds", {})[kind] = y_last * (
                x_target / x_last
            ) ** max(b, 1.0)
    for n, entry in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        corpus = entry.get("corpus")
        if not corpus:
            continue
        row = {"size": int(n), "documents": corpus["n_documents"], "pages": corpus["n_pages"]}
        for kind in ("cold", "warm"):
            run = entry.get("e2e", {}).get(f"{kind}_j{e2e_jobs}")
            row[kind] = run
        growth["rows"].append(row)
    results["growth"] = growth
    results["targets"] = _targets(results)


def _largest_with(results: dict, getter) -> tuple[int, object] | tuple[None, None]:
    for n, entry in sorted(results["sizes"].items(), key=lambda kv: -int(kv[0])):
        value = getter(entry)
        if value is not None:
            return int(n), value
    return None, None


def _targets(results: dict) -> list[dict]:
    jobs = results["args"]["e2e_n_jobs"]
    at = results["sizes"].get(str(TARGET_SIZE), {})
    extrap = results["growth"].get("extrapolated_seconds", {})
    targets = []
    for kind, limit in (("cold", TARGET_COLD_S), ("warm", TARGET_WARM_S)):
        run = at.get("e2e", {}).get(f"{kind}_j{jobs}")
        item = {
            "target": f"{TARGET_SIZE:,} reviews end to end, {kind}",
            "threshold": f"≤ {limit:.0f} s",
        }
        if _ok(run):
            item.update(measured=f"{run['seconds']:.0f} s", met=run["seconds"] <= limit)
        elif run and run.get("status") == "over budget":
            item.update(measured=f"> {run['budget_seconds']:.0f} s (over budget)", met=False)
        elif kind in extrap:
            item.update(measured=f"not measured; extrapolated ≈ {extrap[kind]:.0f} s", met=None)
        else:
            item.update(measured="not measured", met=None)
        targets.append(item)
    peaks = [
        (int(n), _peak_mb(run))
        for n, e in results["sizes"].items()
        for run in e.get("e2e", {}).values()
        if _ok(run)
    ]
    item = {"target": "peak memory of `themes run`", "threshold": f"≤ {TARGET_PEAK_GB:.0f} GB"}
    at_target = [p for n, p in peaks if n == TARGET_SIZE]
    if at_target:
        item.update(
            measured=f"{max(at_target) / 1e3:.2f} GB at {TARGET_SIZE:,}",
            met=max(at_target) <= TARGET_PEAK_GB * 1e3,
        )
    elif peaks:
        n, p = max(peaks)
        item.update(measured=f"{p / 1e3:.2f} GB at {n:,} (largest measured)", met=None)
    else:
        item.update(measured="not measured", met=None)
    targets.append(item)

    def ratio(step_a: str, step_b: str, key: str):
        def get(entry):
            a, b = entry.get("steps", {}).get(step_a), entry.get("steps", {}).get(step_b)
            return a[key] / b[key] if _ok(a) and _ok(b) else None

        return get

    n, value = _largest_with(results, ratio("ingest_j1", "raw_pdfium_j1", "pages_per_s"))
    item = {
        "target": "ingest speed vs raw pypdfium2 (1 process each)",
        "threshold": f"≥ {TARGET_INGEST_RATIO}×",
    }
    item.update(
        measured=f"{value:.2f}× at {n:,}" if value else "not measured",
        met=(value >= TARGET_INGEST_RATIO) if value else None,
    )
    targets.append(item)
    n, value = _largest_with(
        results,
        lambda e: (
            e.get("steps", {}).get("tagging", {}).get("ratio")
            if _ok(e.get("steps", {}).get("tagging"))
            else None
        ),
    )
    item = {
        "target": "RuleTagger tokens/s vs blank spaCy tokenisation",
        "threshold": f"≥ {TARGET_TAG_RATIO}×",
    }
    item.update(
        measured=f"{value:.2f}× at {n:,}" if value else "not measured",
        met=(value >= TARGET_TAG_RATIO) if value else None,
    )
    targets.append(item)
    exponents = results["growth"]["exponent"]
    item = {
        "target": "cost grows linearly (exponent of time vs pages, cold / warm)",
        "threshold": f"≤ {LINEAR_EXPONENT_MAX}",
    }
    cold, warm = exponents.get("cold"), exponents.get("warm")
    n_sizes = sum(1 for r in results["growth"]["rows"] if _ok(r.get("cold")))
    if cold is not None:
        shown = f"{cold:.2f} / {warm:.2f}" if warm is not None else f"{cold:.2f} / –"
        item.update(
            measured=f"{shown} over {n_sizes} sizes",
            met=cold <= LINEAR_EXPONENT_MAX and (warm is None or warm <= LINEAR_EXPONENT_MAX),
        )
    else:
        item.update(measured="needs two sizes", met=None)
    targets.append(item)
    return targets


# --------------------------------------------------------------------------------------------------
# BENCHMARKS.md


def _f(value, fmt: str = ",.0f", missing: str = "–") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return format(value, fmt)


def _cell(entry: dict | None, key: str, fmt: str = ",.0f") -> str:
    if not entry:
        return "–"
    if entry.get("status") == "over budget":
        return f"over budget (> {entry['budget_seconds']:.0f} s)"
    if entry.get("status") == "failed":
        return "failed"
    return _f(entry.get(key), fmt)


def _per(run: dict | None, divisor: float, fmt: str) -> str:
    return _f(run["seconds"] / divisor, fmt) if _ok(run) else "–"


def _mem(run: dict | None) -> str:
    if not _ok(run):
        return "–"
    return f"{_peak_mb(run) / 1e3:.2f} ({_f((run.get('max_rss_mb') or 0) / 1e3, '.2f')})"


def _verdict(met) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines + [""]


def render_markdown(results: dict, notes: str) -> str:
    m = results["machine"]
    args = results["args"]
    jobs = args["n_jobs"]
    ej = args["e2e_n_jobs"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items() if v)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py` (see `benchmarks/README.md`); machine-readable results "
        f"in `{results['results_file']}`. Do not edit by hand except between the notes markers.",
        "",
        f"- **Reproduce:** `{results['command']}`",
        f"- **Date:** {m['date_utc']} (run took {_f(results.get('elapsed_seconds'), ',.0f')} s"
        f"{'' if results.get('finished') else ', **incomplete**'})",
        f"- **Machine:** {m['nproc']} cores ({m['cpu_model']}), {m['memory_gib']} GiB RAM, "
        f"{m['platform']}, Python {m['python']}; load average at start "
        f"{'/'.join(str(x) for x in m['load_average_at_start'])}",
        f"- **Libraries:** {libs}",
        f"- **Corpora:** synthetic PDFs from `themes.synthetic` (seed {args['seed']}), about "
        f"{args['pages']} pages per full report (generator `target_pages`="
        f"{results.get('calibration', {}).get('target_pages', '?')}, calibrated: the generator's "
        "own `target_pages` undershoots); executive summaries are short by design.",
        "- Every step runs in a fresh process under a "
        f'{args["budget_seconds"]:.0f} s limit. "Cold" = empty parse cache (`THEMES_CACHE_DIR`), '
        "files already in the OS page cache. Peak memory = sampled sum of RSS over the process "
        "tree (and, in brackets, the largest single process from `/usr/bin/time -v`).",
        "",
        "## Targets",
        "",
    ]
    lines += _table(
        ["target", "threshold", "measured", "verdict"],
        [
            [t["target"], t["threshold"], t["measured"], _verdict(t["met"])]
            for t in results.get("targets", [])
        ],
    )
    missing = [n for n, e in results["sizes"].items() if not e.get("corpus") or e.get("status")]
    if missing:
        lines += [f"Sizes not measured: {', '.join(missing)}.", ""]
    extrap = results.get("growth", {}).get("extrapolated_seconds")
    if extrap:
        lines += [
            "Extrapolated values follow the fitted growth from the measured sizes to "
            f"{TARGET_SIZE:,} reviews, assuming at least linear growth; they are estimates, not "
            "measurements.",
            "",
        ]

    lines += [f"## End to end: `themes run --method combined --n-jobs {ej}` (no topics)", ""]
    rows = []
    for r in results.get("growth", {}).get("rows", []):
        cold, warm = r.get("cold"), r.get("warm")
        rows.append([
            f"{r['size']:,}", f"{r['documents']:,}", f"{r['pages']:,}",
            _cell(cold, "seconds", ",.1f"), _per(cold, r["size"], ",.3f"),
            _per(cold, r["pages"] / 1e3, ",.1f"),
            _cell(warm, "seconds", ",.1f"), _per(warm, r["size"], ",.3f"),
            _mem(cold), _mem(warm),
        ])  # fmt: skip
    lines += _table(
        ["reviews", "documents", "pages", "cold s", "cold s/review", "cold ms/page", "warm s",
         "warm s/review", "peak GB cold", "peak GB warm"],
        rows,
    )  # fmt: skip
    exps = results.get("growth", {}).get("exponent", {})
    lines += [
        f"Growth exponent (log time vs log pages; 1 = linear): cold {_f(exps.get('cold'), '.2f')}, "
        f"warm {_f(exps.get('warm'), '.2f')}.",
        "",
        "## Ingest: `load_corpus(cache_dir=None)` against raw pypdfium2",
        "",
        "Raw = open each PDF, `get_text_range()` on every page, close (same files, same number of "
        "processes). Ratio = ingest pages/s ÷ raw pages/s.",
        "",
    ]
    header = ["reviews", "pages"]
    for j in jobs:
        header += [f"raw p/s (n_jobs={j})", f"ingest p/s (n_jobs={j})", f"ratio (n_jobs={j})"]
    if len(jobs) > 1:
        header += [f"ingest speed-up n_jobs {jobs[-1]} vs {jobs[0]}"]
    rows = []
    for n, e in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        steps = e.get("steps", {})
        if not e.get("corpus"):
            continue
        row = [f"{int(n):,}", f"{e['corpus']['n_pages']:,}"]
        for j in jobs:
            raw, ing = steps.get(f"raw_pdfium_j{j}"), steps.get(f"ingest_j{j}")
            ratio = ing["pages_per_s"] / raw["pages_per_s"] if _ok(raw) and _ok(ing) else None
            row += [_cell(raw, "pages_per_s"), _cell(ing, "pages_per_s", ",.1f"), _f(ratio, ".2f")]
        if len(jobs) > 1:
            a, b = steps.get(f"ingest_j{jobs[0]}"), steps.get(f"ingest_j{jobs[-1]}")
            row.append(
                _f(b["pages_per_s"] / a["pages_per_s"], ".2f") + "×" if _ok(a) and _ok(b) else "–"
            )
        rows.append(row)
    lines += _table(header, rows)

    lines += [
        "## Tagging: RuleTagger against blank spaCy tokenisation (same passage texts)",
        "",
        'Blank = `spacy.blank("en").pipe(texts, batch_size=1000)`, counting tokens. Rule tagger = '
        "`RuleTagger().predict_mentions(texts, sections)`. `tag_corpus` = "
        '`tag_corpus(corpus, method="combined")` (rules + classifier + tables), models preloaded. '
        "Floor ratio = blank against only the spaCy calls the rule tagger cannot avoid (its "
        "tokenizer, `Doc.to_array` and the codebook `PhraseMatcher` per text, results discarded): "
        "the best ratio the rule tagger could reach with the rest of its work free.",
        "",
    ]
    rows = []
    for n, e in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        t, c = e.get("steps", {}).get("tagging"), e.get("steps", {}).get("tag_corpus")
        if not t and not c:
            continue
        rows.append([
            f"{int(n):,}", _cell(t, "passages"), _cell(t, "tokens"),
            _cell(t, "blank_spacy_tokens_per_s"), _cell(t, "rule_tagger_tokens_per_s"),
            _cell(t, "ratio", ".2f"), _cell(t, "floor_ratio", ".2f"), _cell(c, "seconds", ",.1f"),
            _cell(c, "tokens_per_s"), _cell(c, "passages_per_s"),
        ])  # fmt: skip
    lines += _table(
        ["reviews", "passages", "tokens", "blank spaCy tok/s", "RuleTagger tok/s", "ratio",
         "floor ratio", "tag_corpus s", "tag_corpus tok/s", "tag_corpus passages/s"],
        rows,
    )  # fmt: skip

    topics = results.get("topics")
    if topics:
        lines += [
            f"## BERTopic (`discover_topics`, UMAP + HDBSCAN) at {topics['size']:,} reviews",
            "",
            f"Passages of sections {', '.join(TOPIC_SECTIONS)}; "
            + (
                f"at most {topics['max_passages']:,} of them, a seeded random sample when there "
                "are more (UMAP on every passage of a national corpus is not practical on 2 cores)."
                if topics.get("max_passages")
                else "all of them."
            )
            + " Embedding cache off; each back-end in a fresh process. Imports (bertopic, umap, "
            "hdbscan, numba) are timed apart; `discover_topics` includes the first-call numba JIT "
            "of UMAP and the embedding.",
            "",
        ]
        rows = []
        for name, r in topics["backends"].items():
            if r.get("status") == "not installed":
                rows.append([name, "not installed", "–", "–", "–", "–", "–"])
                continue
            rows.append([
                name, f"{_cell(r, 'passages_modelled')} of {_cell(r, 'passages_available')}",
                _cell(r, "import_seconds", ",.1f"), _cell(r, "embedding_seconds", ",.1f"),
                _cell(r, "seconds", ",.1f"),
                _cell(r, "n_topics"), _cell(r, "outlier_share", ".0%"),
            ])  # fmt: skip
        lines += _table(
            ["back-end", "passages", "imports s", "embedding s", "discover_topics s", "topics",
             "outliers"],
            rows,
        )  # fmt: skip

    prof = results.get("profile")
    if prof:
        lines += [
            f"## Where the time goes (cProfile, {prof['size']:,} reviews, cold, n_jobs=1)",
            "",
        ]
        if prof.get("status") != "ok":
            lines += [f"Profile run: {prof.get('status')}.", ""]
        else:
            total = prof["summary"]["total_seconds"]
            lines += [
                f"`{prof['command']}`; {total:,.0f} s under the profiler (the unprofiled cold run "
                f"at n_jobs={ej} took {_f(prof.get('unprofiled_seconds'), ',.0f')} s). "
                f"Full listing: `{prof['summary']['text_report']}`.",
                "",
            ]
            rows = []
            for k in prof["summary"]["key_calls"]:
                share = 100 * k["cumtime"] / total if k["cumtime"] else None
                rows.append([
                    k["label"], _f(k["cumtime"], ",.1f"), _f(share, ".0f") + "%",
                    f"`{k['function']}`" if k["function"] else "–",
                ])  # fmt: skip
            lines += _table(["stage / call (cumulative)", "s", "% of run", "function"], rows)
            lines += ["Top functions by own time:", ""]
            rows = [
                [
                    f"`{e['function']}`", _f(e["tottime"], ",.1f"), _f(e["cumtime"], ",.1f"),
                    _f(e["calls"], ","),
                ]
                for e in prof["summary"]["top_own_time"][:12]
            ]  # fmt: skip
            lines += _table(["function", "own s", "cumulative s", "calls"], rows)

    lines += ["## Corpora", ""]
    rows = []
    for n, e in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        c = e.get("corpus")
        if not c:
            rows.append([f"{int(n):,}", "missing", "–", "–", "–", "–", "–"])
            continue
        rows.append([
            f"{int(n):,}", f"{c['n_documents']:,}", f"{c['n_pages']:,}",
            _f(c["mean_pages_full_report"], ".1f"), _f(c["mean_pages_all_documents"], ".1f"),
            _f(c["megabytes"], ",.0f"), _f(c.get("generation_seconds_total"), ",.0f"),
        ])  # fmt: skip
    lines += _table(
        ["reviews", "documents", "pages", "mean pages (full reports)", "mean pages (all)", "MB",
         "generation s (cumulative, cached)"],
        rows,
    )  # fmt: skip
    lines += ["## Notes", "", NOTES_START, notes.strip("\n"), NOTES_END, ""]
    return "\n".join(lines)


def _existing_notes(path: Path) -> str:
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    if NOTES_START in text and NOTES_END in text:
        return text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0]
    return ""


# --------------------------------------------------------------------------------------------------
# orchestration


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100,500,1500", help="corpus sizes in reviews (comma list)")
    p.add_argument("--pages", type=int, default=50, help="pages per full report (about)")
    p.add_argument("--n-jobs", default="1,2", help="n_jobs values for raw extraction and ingest")
    p.add_argument(
        "--e2e-n-jobs",
        type=int,
        default=None,
        help="n_jobs of `themes run` (default: the largest --n-jobs)",
    )
    p.add_argument("--out", default="build/bench", help="folder for corpora, logs and results.json")
    p.add_argument(
        "--skip-generate",
        action="store_true",
        help="use cached corpora only; missing sizes are reported as missing",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: sizes 20,60 of 10 pages; writes *-quick files under --out",
    )
    p.add_argument(
        "--budget-seconds",
        type=float,
        default=900,
        help="time limit per step; a step past it is recorded as over budget",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    p.add_argument(
        "--generate-n-jobs", type=int, default=2, help="worker processes for rendering corpora"
    )
    p.add_argument(
        "--topic-size",
        type=int,
        default=None,
        help="corpus size for BERTopic (default: the largest measured)",
    )
    p.add_argument(
        "--topic-max-passages",
        type=int,
        default=10000,
        help="sample cap for BERTopic (0 = all passages)",
    )
    p.add_argument(
        "--profile-size",
        type=int,
        default=None,
        help="corpus size to profile (default: 500, else the middle size); 0 = no profile",
    )
    p.add_argument("--generate-only", action="store_true", help="build the corpora and stop")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished steps of an interrupted run (results.json) and run only the rest",
    )
    p.add_argument("--_step", help=argparse.SUPPRESS)
    return p  # fmt: skip


def _display(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def _reproduce_command(argv: list[str]) -> str:
    if not argv:
        return "make bench"
    return ".venv/bin/python benchmarks/run.py " + " ".join(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args._step:
        return _child_main(args._step)
    if args.quick:
        sizes, pages = [20, 60], 10
    else:
        sizes, pages = sorted(set(_ints(args.sizes))), args.pages
    jobs = sorted(set(_ints(args.n_jobs)))
    e2e_jobs = args.e2e_n_jobs or max(jobs)
    out = Path(args.out)
    out = out if out.is_absolute() else ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    results_path = out / f"results{suffix}.json"
    md_path = out / "BENCHMARKS-quick.md" if args.quick else ROOT / "BENCHMARKS.md"
    logs = out / f"logs{suffix}"
    logs.mkdir(exist_ok=True)
    budget = args.budget_seconds
    if args.profile_size is None:
        profile_size = 500 if 500 in sizes else sizes[len(sizes) // 2]
    else:
        profile_size = args.profile_size

    started_all = time.perf_counter()
    if not args.skip_generate:
        ensure_corpora(sizes, pages, args.seed, out, args.generate_n_jobs)
        if args.generate_only:
            return 0
    calibration_file = out / f"calibration-{pages}-seed{args.seed}.json"
    results: dict = {
        "schema": SCHEMA_VERSION,
        "command": _reproduce_command(argv),
        "argv": argv,
        "results_file": _display(results_path),
        "args": {
            "sizes": sizes, "pages": pages, "n_jobs": jobs, "e2e_n_jobs": e2e_jobs,
            "budget_seconds": budget, "seed": args.seed, "quick": args.quick,
            "topic_max_passages": args.topic_max_passages, "profile_size": profile_size,
        },
        "machine": machine_facts(),
        "calibration": (
            json.loads(calibration_file.read_text()) if calibration_file.is_file() else None
        ),
        "sizes": {},
        "finished": False,
    }  # fmt: skip
    notes = _existing_notes(md_path)
    here = {
        "started_utc": results["machine"]["date_utc"],
        "source_fingerprint": results["machine"]["source_fingerprint"],
        "models_fingerprint": results["machine"]["models_fingerprint"],
        "load_average_at_start": results["machine"]["load_average_at_start"],
    }
    results["sessions"] = [here]
    if args.resume and results_path.is_file():
        old = json.loads(results_path.read_text(encoding="utf-8"))
        if old.get("args", {}).get("pages") == pages:
            results["machine"] = old["machine"]
            results["command"] = old.get("command", results["command"])
            first = {
                "started_utc": old["machine"]["date_utc"],
                "source_fingerprint": old["machine"].get("source_fingerprint"),
                "models_fingerprint": old["machine"].get("models_fingerprint"),
                "load_average_at_start": old["machine"].get("load_average_at_start"),
            }
            results["sessions"] = old.get("sessions", [first]) + [here]
            for n, entry in old.get("sizes", {}).items():
                kept = {
                    "steps": {k: v for k, v in entry.get("steps", {}).items() if _ok(v)},
                    "e2e": {k: v for k, v in entry.get("e2e", {}).items() if _ok(v)},
                }
                results["sizes"][n] = kept
            for key in ("profile",):
                if old.get(key, {}).get("status") == "ok":
                    results[key] = old[key]
            if old.get("topics"):
                results["topics"] = {
                    **old["topics"],
                    "backends": {k: v for k, v in old["topics"]["backends"].items() if _ok(v)},
                }
            log(f"resuming {results_path}: finished steps are kept")
    resume_sizes = dict(results["sizes"])

    def save() -> None:
        results["elapsed_seconds"] = round(time.perf_counter() - started_all, 1)
        derive(results)
        results_path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        md_path.write_text(render_markdown(results, notes), encoding="utf-8")

    def step(entry: dict, key: str, kind: str, spec: dict, label: str) -> dict:
        if _ok(entry.get("steps", {}).get(key)):
            return entry["steps"][key]  # kept from the interrupted run (--resume)
        log(f"{label}: {kind} ...")
        load_before = os.getloadavg()[0]
        result = run_step(kind, spec, budget=budget, logs=logs, label=label)
        result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        result["source_fingerprint"] = _fingerprint(ROOT / "src" / "themes", "*.py")
        result["models_fingerprint"] = _fingerprint(ROOT / "models", "*")
        entry.setdefault("steps", {})[key] = result
        if result.get("status") == "failed":
            log(f"{label}: failed; log tail:\n{result.get('log_tail', '')}")
        log(
            f"{label}: {result.get('status')} "
            + json.dumps(
                {k: v for k, v in result.items() if k.endswith(("per_s", "seconds", "ratio"))},
                default=str,
            )
        )
        save()
        return result

    tables_of: dict[int, Path] = {}
    for n in sizes:
        folder = corpus_dir(out, n, pages)
        entry: dict = resume_sizes.get(str(n), {})
        results["sizes"][str(n)] = entry
        if not (folder / "manifest.csv").is_file():
            entry["status"] = "corpus missing (run without --skip-generate)"
            save()
            continue
        entry["corpus"] = describe_corpus(folder)
        tables = out / f"tables-{n}-{pages}"
        tag = f"{n}-{pages}"
        for j in jobs:
            step(
                entry,
                f"raw_pdfium_j{j}",
                "raw_pdfium",
                {"corpus": str(folder), "n_jobs": j},
                f"raw-{tag}-j{j}",
            )
        for j in sorted(jobs, reverse=True):  # the fastest first; it also writes the tables
            spec = {"corpus": str(folder), "n_jobs": j}
            if not (tables / "passages.parquet").is_file():
                spec["save_tables"] = str(tables)
            step(entry, f"ingest_j{j}", "ingest", spec, f"ingest-{tag}-j{j}")
        if (tables / "passages.parquet").is_file():
            tables_of[n] = tables
            t = step(entry, "tagging", "tagging", {"tables": str(tables)}, f"tagging-{tag}")
            step(
                entry,
                "tag_corpus",
                "tag_corpus",
                {"tables": str(tables), "tokens": t.get("tokens")},
                f"tag-corpus-{tag}",
            )
        else:
            entry["steps"]["tagging"] = {"status": "skipped: ingest produced no tables"}

        e2e = entry.setdefault("e2e", {})
        cache = out / "e2e" / f"cache-{tag}-j{e2e_jobs}"
        kinds = ["cold", "warm"]
        if _ok(e2e.get(f"cold_j{e2e_jobs}")) and (
            cache.is_dir() or _ok(e2e.get(f"warm_j{e2e_jobs}"))
        ):
            kinds = [] if _ok(e2e.get(f"warm_j{e2e_jobs}")) else ["warm"]  # --resume
        else:
            shutil.rmtree(cache, ignore_errors=True)
        for kind in kinds:
            label = f"e2e-{tag}-j{e2e_jobs}-{kind}"
            log(f"{label}: themes run ...")
            load_before = os.getloadavg()[0]
            run = run_e2e(
                folder,
                out / "e2e" / f"out-{tag}-{kind}",
                cache,
                n_jobs=e2e_jobs,
                budget=budget,
                log_path=logs / f"{label}.log",
            )
            run["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            run["source_fingerprint"] = _fingerprint(ROOT / "src" / "themes", "*.py")
            run["models_fingerprint"] = _fingerprint(ROOT / "models", "*")
            e2e[f"{kind}_j{e2e_jobs}"] = run
            log(f"{label}: {run['status']} {run['seconds']:.1f} s, peak {_peak_mb(run):,.0f} MB")
            save()
        for kind in ("cold", "warm"):  # outputs are large at scale; the numbers are in results
            shutil.rmtree(out / "e2e" / f"out-{tag}-{kind}", ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

        if n == profile_size and not _ok(results.get("profile")):
            results["profile"] = run_profile(folder, out, n, tag, budget, logs, suffix, entry)
            save()

    if tables_of:
        size = args.topic_size if args.topic_size in tables_of else max(tables_of)
        previous = results.get("topics") or {}
        same = previous.get("size") == size and previous.get("max_passages") == (
            args.topic_max_passages or None
        )
        results["topics"] = {
            "size": size,
            "max_passages": args.topic_max_passages or None,
            "backends": dict(previous.get("backends", {})) if same else {},
        }
        from themes.topics import available_backends, backend_names

        installed = set(available_backends())
        for name in backend_names():
            holder: dict = {}
            if _ok(results["topics"]["backends"].get(name)):
                continue  # kept from the interrupted run (--resume)
            if name not in installed:
                results["topics"]["backends"][name] = {"status": "not installed"}
                continue
            spec = {
                "tables": str(tables_of[size]),
                "backend": name,
                "max_passages": args.topic_max_passages,
            }
            results["topics"]["backends"][name] = step(
                holder, "t", "topics", spec, f"topics-{size}-{name}"
            )
            save()

    results["finished"] = True
    save()
    log(f"done in {time.perf_counter() - started_all:,.0f} s: {results_path} and {md_path}")
    return 0


def run_profile(
    folder: Path, out: Path, n: int, tag: str, budget: float, logs: Path, suffix: str, entry: dict
) -> dict:
    profile_out = out / f"profile{suffix}.out"
    cache = out / "e2e" / f"cache-profile-{tag}"
    shutil.rmtree(cache, ignore_errors=True)
    label = f"profile-{tag}"
    log(f"{label}: cProfile of a cold themes run (n_jobs=1) ...")
    run = run_e2e(
        folder,
        out / "e2e" / f"out-profile-{tag}",
        cache,
        n_jobs=1,
        budget=budget * 2,
        log_path=logs / f"{label}.log",
        profile_to=profile_out,
    )
    shutil.rmtree(out / "e2e" / f"out-profile-{tag}", ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    cold = [r for k, r in entry.get("e2e", {}).items() if k.startswith("cold") and _ok(r)]
    result = {
        "size": n,
        "status": run["status"],
        "command": f"python -m cProfile -o {_display(profile_out)} .venv/bin/{run['command']}",
        "seconds": run["seconds"],
        "unprofiled_seconds": cold[0]["seconds"] if cold else None,
    }
    if run["status"] == "ok" and profile_out.is_file():
        result["summary"] = summarise_profile(profile_out)
    log(f"{label}: {run['status']} {run['seconds']:.0f} s")
    return result


if __name__ == "__main__":
    sys.exit(main())
