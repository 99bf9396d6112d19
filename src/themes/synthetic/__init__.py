"""Fictional corpus generator: the bundled corpus and large corpora for benchmarks.

Reports are composed from a hand-written passage library (``library/*.yaml``) and rendered to real
PDF, DOCX, HTML and TXT/Markdown files, with a manifest of true metadata and file checksums and gold
passage annotations (themes with polarity, recommendation types) split by review into train, dev
and test. The test split uses passage wordings never used in train.

Examples:
    >>> from pathlib import Path
    >>> from themes.synthetic import build_corpus
    >>> written = build_corpus(Path("build/tiny"), n_reviews=2, seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

from themes.errors import ThemesError
from themes.synthetic.compose import Case, compose_documents, sample_case
from themes.synthetic.design import YEARS
from themes.synthetic.library import load_library
from themes.synthetic.model import Document

BUNDLED_SEED = 20261126
GENERATOR_VERSION = "1.0"
EXTENSIONS = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "txt": ".txt", "md": ".md"}
MANIFEST_COLUMNS = [
    "review_id",
    "report_id",
    "file",
    "format",
    "nation",
    "review_type",
    "partnership",
    "publication_year",
    "publication_date",
    "document_kind",
    "title",
    "child_pseudonym",
    "child_age_months",
    "child_sex",
    "outcome",
    "incident_date",
    "author",
    "split",
    "n_pages",
    "sha256",
]


def _render(doc: Document, folder: Path) -> tuple[str, int, str]:
    from themes.synthetic.render_other import render_docx, render_html, render_markdown, render_txt
    from themes.synthetic.render_pdf import render_pdf

    renderer = {
        "pdf": render_pdf,
        "docx": render_docx,
        "html": render_html,
        "txt": render_txt,
        "md": render_markdown,
    }[doc.file_format]
    name = doc.file_stem + EXTENSIONS[doc.file_format]
    path = folder / "reports" / name
    n_pages = renderer(doc, path)
    return f"reports/{name}", n_pages, hashlib.sha256(path.read_bytes()).hexdigest()


def _splits_for_year(n: int, rng: random.Random) -> list[str]:
    base = ["test", "dev", "train", "train", "test", "train", "train", "train"]
    return rng.sample(base[:n] if n <= len(base) else base + ["train"] * (n - len(base)), n)


def _cases(n_reviews: int, seed: int, *, bundled: bool) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    if bundled:
        per_year = {y: 6 for y in YEARS}
        for y in rng.sample(list(YEARS), n_reviews - 6 * len(YEARS) - 2):
            per_year[y] += 1
        index = 1
        for year in YEARS:
            for split in _splits_for_year(per_year[year], rng):
                cases.append(sample_case(index, year, split, rng))
                index += 1
        for year, split in ((2021, "train"), (2024, "test")):  # national Panel reviews
            cases.append(sample_case(index, year, split, rng, national=True))
            index += 1
    else:
        for index in range(1, n_reviews + 1):
            year = YEARS[(index - 1) % len(YEARS)]
            split = ["train", "train", "dev", "test", "train", "test"][index % 6]
            cases.append(sample_case(index, year, split, rng))
    return cases


def compose_corpus(
    n_reviews: int,
    seed: int,
    *,
    bundled: bool = False,
    formats: Sequence[str] = ("pdf",),
    target_pages: int | None = None,
) -> list[Document]:
    """Compose (but do not render) the documents of a corpus; deterministic for a seed."""
    library = load_library()
    cases = _cases(n_reviews, seed, bundled=bundled)
    rng = random.Random(seed + 1)
    # About 6.5 pages of body per unit of scale; the bundled reports run to 10-16 pages.
    scale = 1.6 if not target_pages else max(0.5, (target_pages - 3) / 6.5)
    docs: list[Document] = []
    for case in cases:
        with_summary = not case.national and rng.random() < (0.22 if bundled else 0.15)
        docs += compose_documents(case, library, rng, with_summary=with_summary, scale=scale)
    seen: set[str] = set()
    for doc in docs:
        # Two reviews can share area, pseudonym, kind and year ("Child A" recurs): keep names
        # unique.
        if doc.file_stem in seen:
            doc.file_stem = f"{doc.file_stem}-{doc.review_id}"
        seen.add(doc.file_stem)
    if bundled:
        # The bundled mix: mostly PDF, then DOCX, HTML, TXT and Markdown, spread over the years.
        order = list(range(len(docs)))
        rng.shuffle(order)
        plan = ["docx"] * 13 + ["html"] * 12 + ["txt"] * 9 + ["md"] * 4
        for i, fmt in zip(order, plan, strict=False):
            docs[i].file_format = fmt
    else:
        for i, doc in enumerate(docs):
            doc.file_format = formats[i % len(formats)]
    return docs


def _layout_noise(doc: Document) -> dict:
    fmt = doc.file_format
    footer = doc.running_footer if fmt in {"pdf", "txt"} else None
    if fmt == "docx":
        from themes.synthetic.render_other import docx_footer

        footer = docx_footer(doc)
    return {
        "running_header": doc.running_header if fmt in {"pdf", "docx", "txt"} else None,
        "running_footer": footer,
        "watermark": doc.watermark if fmt == "pdf" else None,
        "restricted_banner": doc.restricted_banner if fmt in {"pdf", "docx", "html"} else None,
        "hyphenated": doc.hyphenate and fmt in {"pdf", "txt"},
    }


def manifest_row(doc: Document, file: str, n_pages: int | None, sha: str) -> dict:
    """The manifest.csv row (columns :data:`MANIFEST_COLUMNS`) of one rendered document."""
    return {
        "review_id": doc.review_id,
        "report_id": doc.report_id,
        "file": file,
        "format": doc.file_format,
        "nation": doc.nation,
        "review_type": doc.review_type,
        "partnership": doc.partnership,
        "publication_year": doc.publication_year,
        "publication_date": doc.publication_date,
        "document_kind": doc.document_kind,
        "title": doc.title,
        "child_pseudonym": doc.child_pseudonym,
        "child_age_months": "" if doc.child_age_months < 0 else doc.child_age_months,
        "child_sex": doc.child_sex,
        "outcome": doc.outcome,
        "incident_date": doc.incident_date,
        "author": doc.author,
        "split": doc.split,
        "n_pages": n_pages or "",
        "sha256": sha,
    }


def write_corpus(docs: list[Document], out: Path, n_jobs: int = 1) -> list[dict]:
    """Render documents into ``out/reports`` and write the manifest and gold annotations."""
    from joblib import Parallel, delayed

    out = Path(out)
    (out / "reports").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    results = Parallel(n_jobs=n_jobs)(delayed(_render)(doc, out) for doc in docs)
    rows = [
        manifest_row(doc, file, n_pages, sha)
        for doc, (file, n_pages, sha) in zip(docs, results, strict=True)
    ]
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "annotations" / "passages.jsonl", "w", encoding="utf-8") as fh:
        for doc in docs:
            for s in doc.sections:
                for order, para in enumerate(s.paras):
                    fh.write(
                        json.dumps(
                            {
                                "report_id": doc.report_id,
                                "review_id": doc.review_id,
                                "split": doc.split,
                                "section_type": s.section_type,
                                "heading": s.title,
                                "order_in_section": order,
                                "para_no": para.para_no,
                                "role": para.role,
                                "text": para.text,
                                "labels": para.labels,
                                "rec_types": para.rec_types,
                                "addresses": para.addresses,
                                "asks_about": para.asks_about,
                                "passage_ref": para.passage_ref,
                                "variant": para.variant,
                            },
                            ensure_ascii=False,
                            sort_keys=True,
                        )
                        + "\n"
                    )
    with open(out / "annotations" / "layout.jsonl", "w", encoding="utf-8") as fh:
        # Layout ground truth: what noise each file carries, so leakage can be measured exactly.
        for doc, row in zip(docs, rows, strict=True):
            fh.write(
                json.dumps(
                    {
                        "report_id": doc.report_id,
                        "file": row["file"],
                        # Each field records what this file's renderer actually drew.
                        **_layout_noise(doc),
                        "redactions": doc.redactions,
                        "two_column_analysis": doc.file_format == "pdf" and doc.style_seed % 5 == 0,
                        "statutory_basis": doc.statutory_basis,
                    },
                    ensure_ascii=False,
                    sort_keys=True,
                )
                + "\n"
            )
    with open(out / "annotations" / "splits.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["review_id", "split"])
        for review_id, split in sorted({(d.review_id, d.split) for d in docs}):
            writer.writerow([review_id, split])
    return rows


def build_bundled_corpus(out: Path, seed: int = BUNDLED_SEED, n_jobs: int = 1) -> list[dict]:
    """Build the corpus shipped in ``corpus/``: 112 reviews, 2008-2025, all formats.

    Also writes the corpus's data card, ``out/README.md``, computed from the files just written.
    """
    from themes.synthetic.datacard import render_data_card

    docs = compose_corpus(112, seed, bundled=True)
    rows = write_corpus(docs, Path(out), n_jobs=n_jobs)
    (Path(out) / "README.md").write_text(render_data_card(out), encoding="utf-8")
    return rows


def build_corpus(
    out: Path,
    n_reviews: int = 100,
    seed: int = 0,
    formats: str | Sequence[str] = "pdf",
    target_pages: int | None = None,
    n_jobs: int = 1,
) -> list[dict]:
    """Build a corpus of ``n_reviews`` fictional reviews (e.g. for benchmarks)."""
    if isinstance(formats, str):
        formats = (
            ["pdf", "pdf", "pdf", "pdf", "docx", "html", "txt"]
            if formats == "mixed"
            else [f.strip() for f in formats.split(",")]
        )
    unknown = set(formats) - set(EXTENSIONS)
    if unknown:
        raise ThemesError(
            f"--formats: unknown format(s) {sorted(unknown)}; choose from {sorted(EXTENSIONS)}"
        )
    if n_reviews < 1:
        raise ThemesError("--reviews must be at least 1")
    docs = compose_corpus(n_reviews, seed, formats=formats, target_pages=target_pages)
    return write_corpus(docs, Path(out), n_jobs=n_jobs)
