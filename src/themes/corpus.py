"""Load a folder of review reports into the reports, passages, recommendations and errors tables.

Table contracts (column names are public API; ARCHITECTURE.md):

``reports`` (one row per file that loaded)
    report_id, review_id, title, nation, review_type, partnership, publication_year,
    publication_date, incident_date, document_kind, child_pseudonym, child_age_months, child_sex,
    outcome, source_file, format, sha256, n_pages, n_words, loader_version, and for every metadata
    field ``<field>_source`` in {manifest, extracted, missing}.
``passages`` (one row per numbered paragraph, list item or table row)
    report_id, passage_id, section_type, heading, para_no, page, char_start, char_end, text.
    Offsets index the report's cleaned text (its passages joined by blank lines), so
    ``cleaned[char_start:char_end] == text``.
``recommendations`` (one row per recommendation item)
    report_id, rec_no, passage_id, text.
``errors`` (one row per problem; the batch always goes on)
    source_file, stage, error_type, message.

Examples:
    >>> import themes
    >>> corpus = themes.load_corpus(themes.settings().corpus_dir)  # doctest: +SKIP
    >>> columns = ["report_id", "nation", "review_type", "publication_year"]
    >>> corpus.reports[columns].head()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from themes.errors import InputFileError, ThemesError

log = logging.getLogger("themes")

LOADER_VERSION = "1.0.0"
METADATA_FIELDS = (
    "title",
    "nation",
    "review_type",
    "partnership",
    "publication_year",
    "publication_date",
    "incident_date",
    "document_kind",
    "child_pseudonym",
    "child_age_months",
    "child_sex",
    "outcome",
)
REPORT_COLUMNS = [
    "report_id",
    "review_id",
    *METADATA_FIELDS,
    "source_file",
    "format",
    "sha256",
    "n_pages",
    "n_words",
    "loader_version",
    *[f"{f}_source" for f in METADATA_FIELDS],
]
PASSAGE_COLUMNS = [
    "report_id",
    "passage_id",
    "section_type",
    "heading",
    "para_no",
    "page",
    "char_start",
    "char_end",
    "text",
]
RECOMMENDATION_COLUMNS = ["report_id", "rec_no", "passage_id", "text"]
ERROR_COLUMNS = ["source_file", "stage", "error_type", "message"]
SUPPORTED_SUFFIXES = {".pdf", ".docx", ".html", ".htm", ".txt", ".md", ".markdown", ".text"}
_IGNORED_NAMES = {"manifest.csv", "readme.md", ".ds_store", "thumbs.db"}


@dataclass
class Corpus:
    """The loaded corpus: three tables plus the errors met on the way.

    Attributes:
        reports: One row per loaded file (see module docstring for columns).
        passages: One row per passage.
        recommendations: One row per recommendation item.
        errors: One row per problem (file, stage, error type, message).
    """

    reports: pd.DataFrame
    passages: pd.DataFrame
    recommendations: pd.DataFrame
    errors: pd.DataFrame

    @property
    def checksum(self) -> str:
        """sha256 over the sorted file checksums: identifies exactly which files were analysed."""
        digest = hashlib.sha256()
        for sha in sorted(self.reports["sha256"]):
            digest.update(sha.encode())
        return digest.hexdigest()

    def primary_reports(self) -> pd.DataFrame:
        """One document per review (overview over executive summary), for counting reviews."""
        rank = {"overview": 0, "national_review": 0, "executive_summary": 1, "learning_brief": 2}
        ordered = self.reports.assign(_rank=self.reports["document_kind"].map(rank).fillna(3))
        ordered = ordered.sort_values(["review_id", "_rank", "report_id"])
        return ordered.drop_duplicates("review_id").drop(columns="_rank").reset_index(drop=True)

    def save(self, folder: str | Path) -> Path:
        """Write the four tables as Parquet files in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("reports", "passages", "recommendations", "errors"):
            getattr(self, name).to_parquet(folder / f"{name}.parquet", index=False)
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> Corpus:
        """Read tables written by :meth:`save` (or ``themes ingest``)."""
        folder = Path(folder)
        missing = [
            n
            for n in ("reports", "passages", "recommendations", "errors")
            if not (folder / f"{n}.parquet").is_file()
        ]
        if missing:
            raise ThemesError(
                f"{folder}: missing {', '.join(m + '.parquet' for m in missing)}; "
                "run 'themes ingest' first"
            )
        return cls(
            *(
                pd.read_parquet(folder / f"{n}.parquet")
                for n in ("reports", "passages", "recommendations", "errors")
            )
        )


# ------------------------------------------------------------------------------------ one file
def parse_file(path: str, display_name: str | None = None) -> dict:
    """Parse one file into a plain dict (report, passages, errors); never raises for bad input."""
    from themes import readers
    from themes.metadata import extract_metadata
    from themes.segment import assign_offsets, clean_pages, segment_blocks, segment_lines

    name = display_name or path
    try:
        raw = readers.read_document(path)
    except InputFileError as error:
        return {
            "report": None,
            "passages": [],
            "errors": [_error(name, "read", error.error_type, error.message)],
        }
    except Exception as error:  # noqa: BLE001 - one bad file must never stop the batch
        return {
            "report": None,
            "passages": [],
            "errors": [_error(name, "read", "unexpected", f"{type(error).__name__}: {error}")],
        }
    try:
        running = list(getattr(raw, "running_text", []) or [])
        if raw.blocks is not None:
            passages = segment_blocks(raw.blocks)
        else:
            pages, removed = clean_pages(raw.pages)
            running += removed
            passages = segment_lines(pages, marked_hyphens=raw.format == "pdf")
        cleaned = assign_offsets(passages)
        front = [p.text for p in passages if p.section_type == "front_matter"][:15]
        # The case is told at the start of the introduction (or, failing that, of the body).
        body = [p.text for p in passages if p.section_type not in {"front_matter", "contents"}]
        intro = [p.text for p in passages if p.section_type == "introduction"]
        opening = " ".join((intro or body)[:3])
        meta = extract_metadata(front, running, opening, raw.title)
        report = {
            **meta,
            "source_file": name,
            "format": raw.format,
            "sha256": raw.sha256,
            "n_pages": len(raw.pages),
            "n_words": len(cleaned.split()),
        }
        errors = [_error(name, "read", "warning", w) for w in raw.warnings]
        if not passages:
            errors.append(
                _error(
                    name,
                    "segment",
                    "no_passages",
                    "no text passages found after cleaning; is this a review report?",
                )
            )
            return {"report": None, "passages": [], "errors": errors}
        return {"report": report, "passages": [vars(p) for p in passages], "errors": errors}
    except Exception as error:  # noqa: BLE001 - recorded, never raised
        return {
            "report": None,
            "passages": [],
            "errors": [_error(name, "segment", "unexpected", f"{type(error).__name__}: {error}")],
        }


def _error(source_file: str, stage: str, error_type: str, message: str) -> dict:
    return {
        "source_file": source_file,
        "stage": stage,
        "error_type": error_type,
        "message": message,
    }


def _cached_parse(path: str, display: str, sha: str, cache_dir: str | None) -> dict:
    if cache_dir:
        cache_file = Path(cache_dir) / f"{sha}-{LOADER_VERSION}.json"
        if cache_file.is_file():
            result = json.loads(cache_file.read_text(encoding="utf-8"))
            _rename(result, display)
            return result
    result = parse_file(path, display)
    if cache_dir and result["report"] is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = Path(cache_dir) / f".{sha}-{os.getpid()}.tmp"
        tmp.write_text(json.dumps(result), encoding="utf-8")
        tmp.replace(Path(cache_dir) / f"{sha}-{LOADER_VERSION}.json")
    return result


def _rename(result: dict, display: str) -> None:
    # A cached parse may come from an identical file elsewhere; report it under this file's name.
    if result["report"]:
        result["report"]["source_file"] = display
    for e in result["errors"]:
        e["source_file"] = display


# ------------------------------------------------------------------------------------ the batch
def _list_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "annotations")
        for f in sorted(filenames):
            if f.startswith(".") or f.lower() in _IGNORED_NAMES:
                continue
            files.append(Path(dirpath) / f)
    return files


def _sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read a manifest CSV: one row per file, a ``file`` column plus any metadata columns."""
    path = Path(path)
    if not path.is_file():
        raise ThemesError(f"{path}: manifest not found")
    try:
        manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:  # noqa: BLE001
        raise ThemesError(f"{path}: cannot read manifest CSV ({error})") from None
    if "file" not in manifest.columns and "sha256" not in manifest.columns:
        raise ThemesError(
            f"{path}: manifest needs a 'file' column (path relative to the corpus folder) "
            "or a 'sha256' column"
        )
    return manifest


def load_corpus(
    path: str | Path,
    manifest: str | Path | pd.DataFrame | None = None,
    n_jobs: int | None = None,
    cache_dir: str | Path | None = "default",
    show_progress: bool = True,
) -> Corpus:
    """Load every report under ``path`` into a :class:`Corpus`.

    Args:
        path: A folder of reports (searched recursively) or one file.
        manifest: Optional CSV (or DataFrame) of known metadata, one row per file, matched on the
            ``file`` column (relative to ``path``) or on ``sha256``. Its values override extracted
            ones; each field records its source in ``<field>_source``. When ``path`` holds a
            ``manifest.csv`` and this is ``None``, that file is used.
        n_jobs: Parallel worker processes (joblib); results are identical for any value.
        cache_dir: Parse cache folder, keyed by file content hash and loader version;
            ``"default"`` uses the settings' cache folder, ``None`` disables caching.
        show_progress: Report progress (a bar on a terminal, log lines elsewhere).

    Returns:
        The corpus tables. Problems never raise: they become rows of ``errors``.

    Raises:
        ThemesError: if ``path`` does not exist or the manifest cannot be read.

    Examples:
        >>> corpus = load_corpus("corpus", n_jobs=2)  # doctest: +SKIP
        >>> corpus.errors.empty  # doctest: +SKIP
        True
    """
    from joblib import Parallel, delayed

    from themes.config import settings
    from themes.progress import progress
    from themes.stage_cache import StageCache

    root = Path(path).expanduser()
    if not root.exists():
        raise ThemesError(f"{root}: no such file or folder")
    if n_jobs is None:
        n_jobs = settings().n_jobs
    if cache_dir == "default":
        cache_dir = settings().cache_dir / "parse"
    if manifest is None and root.is_dir() and (root / "manifest.csv").is_file():
        manifest = root / "manifest.csv"
    manifest_df = (
        manifest
        if isinstance(manifest, pd.DataFrame)
        else (read_manifest(manifest) if manifest is not None else None)
    )

    files = _list_files(root)
    base = root if root.is_dir() else root.parent
    errors: list[dict] = []
    jobs, seen = [], {}
    for f in files:
        display = f.relative_to(base).as_posix()
        if f.suffix.lower() not in SUPPORTED_SUFFIXES and f.suffix:
            # Unknown extensions are still sniffed: a PDF saved as .bin is a PDF.
            pass
        sha = _sha256(f)
        if sha is None:
            errors.append(
                _error(
                    display,
                    "read",
                    "permission_denied" if f.exists() else "not_found",
                    f"cannot read {display}: check the file's permissions",
                )
            )
            continue
        if sha in seen:
            errors.append(
                _error(
                    display, "read", "duplicate_file", f"same content as {seen[sha]}; loaded once"
                )
            )
            continue
        seen[sha] = display
        jobs.append((str(f), display, sha))
    if not jobs and not errors:
        raise ThemesError(f"{root}: no files found")

    # The assembled tables are a pure function of the files' content, their names, the manifest
    # and the loader code: an unchanged corpus is read back from Parquet instead of re-assembled
    # from one parse-cache entry per file (a warm national run spent most of its time there).
    assembled_cache = StageCache(cache_dir) if cache_dir else None
    if assembled_cache is not None:
        assembled_key = _assembled_key(jobs, errors, manifest_df)
        cached = _read_assembled(assembled_cache, assembled_key)
        if cached is not None:
            return cached

    cache = str(cache_dir) if cache_dir else None
    iterator = progress(jobs, desc="parsing reports") if show_progress else jobs
    if n_jobs == 1:
        results = [_cached_parse(p, d, s, cache) for p, d, s in iterator]
    else:
        results = Parallel(n_jobs=n_jobs, batch_size=4)(
            delayed(_cached_parse)(p, d, s, cache) for p, d, s in iterator
        )

    reports, passages = [], []
    for result in results:
        errors += result["errors"]
        if result["report"] is None:
            continue
        reports.append(result["report"])
        passages.append(result["passages"])
    corpus = _assemble(reports, passages, errors, manifest_df)
    if assembled_cache is not None:
        assembled_cache.write("assembled", assembled_key, corpus.save)
    return corpus


def _assembled_key(jobs, errors, manifest_df) -> str:  # noqa: ANN001
    """Key of the assembled tables: file names and hashes, early errors, manifest, loader code."""
    from themes.stage_cache import code_digest, frame_digest, stage_key

    return stage_key(
        "assembled",
        {
            "loader_version": LOADER_VERSION,
            "code": code_digest(),
            "files": [(display, sha) for _, display, sha in jobs],
            "errors_before_parsing": errors,
            "manifest": frame_digest(manifest_df) if manifest_df is not None else None,
        },
    )


def _read_assembled(cache, key: str) -> Corpus | None:  # noqa: ANN001
    entry = cache.entry("assembled", key)
    if entry is None:
        return None
    try:
        return Corpus.read(entry)
    except Exception:  # noqa: BLE001 - an unreadable entry is rebuilt, never trusted
        cache.discard("assembled", key)
        return None


def _report_id(source_file: str, taken: set[str]) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", Path(source_file).stem.lower()).strip("-")[:60] or "report"
    rid, i = stem, 2
    while rid in taken:
        rid, i = f"{stem}-{i}", i + 1
    taken.add(rid)
    return rid


def _review_key(report: dict) -> str:
    # Never the child's letter alone: "Child A" recurs across hundreds of reviews.
    parts = [
        re.sub(r"\W+", " ", str(report.get("partnership") or "")).strip().lower(),
        re.sub(r"\W+", " ", str(report.get("child_pseudonym") or "")).strip().lower(),
        str(report.get("publication_year") or ""),
        str(report.get("review_type") or ""),
    ]
    if not parts[0] or not parts[1]:
        parts.append(report["sha256"])  # too little to group on: the file stands alone
    return "rv-" + hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


_INT_FIELDS = {"publication_year", "child_age_months"}
_PASSAGE_FIELDS = ("section_type", "heading", "para_no", "page", "char_start", "char_end", "text")


def _assemble(
    reports: list[dict],
    passages: list[list[dict]],
    errors: list[dict],
    manifest: pd.DataFrame | None,
) -> Corpus:
    taken: set[str] = set()
    by_file, by_sha = {}, {}
    if manifest is not None:
        by_file = {row["file"]: row for row in manifest.to_dict("records") if row.get("file")}
        by_sha = {row["sha256"]: row for row in manifest.to_dict("records") if row.get("sha256")}
    # Column lists, not one dict per passage: a national corpus has a million passages, and the
    # per-row dicts were the loader's largest memory cost.
    report_rows, rec_rows = [], []
    columns: dict[str, list] = {c: [] for c in PASSAGE_COLUMNS}
    for report, plist in zip(reports, passages, strict=True):
        recs_here = 0
        row = by_file.get(report["source_file"]) or by_sha.get(report["sha256"]) or {}
        out = {}
        for field in METADATA_FIELDS:
            given = row.get(field, "")
            if given not in ("", None):
                out[field], out[f"{field}_source"] = given, "manifest"
            elif report.get(field) not in (None, ""):
                out[field], out[f"{field}_source"] = report[field], "extracted"
            else:
                out[field], out[f"{field}_source"] = None, "missing"
        for field in _INT_FIELDS:
            if out[field] is not None:
                out[field] = int(float(out[field]))
        out.update(
            {k: report[k] for k in ("source_file", "format", "sha256", "n_pages", "n_words")}
        )
        out["report_id"] = row.get("report_id") or _report_id(report["source_file"], taken)
        taken.add(out["report_id"])
        out["review_id"] = row.get("review_id") or _review_key({**report, **out})
        out["loader_version"] = LOADER_VERSION
        report_rows.append(out)
        for i, p in enumerate(plist, start=1):
            pid = f"{out['report_id']}:{i:04d}"
            columns["report_id"].append(out["report_id"])
            columns["passage_id"].append(pid)
            for k in _PASSAGE_FIELDS:
                columns[k].append(p[k])
            if p["section_type"] == "recommendations":
                recs_here += 1
                rec_rows.append(
                    {
                        "report_id": out["report_id"],
                        "rec_no": p["para_no"] or str(recs_here),
                        "passage_id": pid,
                        "text": p["text"],
                    }
                )
    reports_df = (
        pd.DataFrame(report_rows, columns=REPORT_COLUMNS)
        .sort_values("report_id")
        .reset_index(drop=True)
    )
    for field in _INT_FIELDS:
        reports_df[field] = reports_df[field].astype("Int64")
    return Corpus(
        reports=reports_df,
        passages=pd.DataFrame(columns, columns=PASSAGE_COLUMNS).astype(
            {"page": "int64", "char_start": "int64", "char_end": "int64"}
        ),
        recommendations=pd.DataFrame(rec_rows, columns=RECOMMENDATION_COLUMNS),
        errors=pd.DataFrame(errors, columns=ERROR_COLUMNS),
    )
