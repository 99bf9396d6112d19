"""Export tables as CSV, Parquet or Excel, and tags as a REFI-QDA project (.qdpx).

Two exports, both deterministic:

- :func:`export_tables` writes any set of tables (the corpus tables, ``mentions``,
  ``report_themes``, trend tables) as one CSV or Parquet file per table, or as one Excel workbook
  with a README sheet that describes every column and records the run manifest.
- :func:`export_qdpx` writes a REFI-QDA Project Exchange file, the open format that NVivo,
  ATLAS.ti, MAXQDA and QualCoder import: each report becomes a text source, each codebook theme a
  code, and each tagged mention a coded selection of the report's text, so a researcher can read,
  check and recode the tagger's work in the package they already use.

The project XML follows the REFI-QDA Project schema (namespace ``urn:QDA-XML:project:1.0``;
element order as in the schema: Users, CodeBook, Variables, Sources, Description). Selections use
character offsets, counted in Unicode code points as the standard requires, into the source text,
which is the report's cleaned text (its passages joined by blank lines, UTF-8 without a byte-order
mark). GUIDs are UUID-5 values derived from the ids, and zip entries carry a fixed timestamp, so
the same input always gives a byte-identical file.

Privacy: before anything is exported as a quote, passages are checked with
:func:`themes.privacy.check_passages`. In a flagged passage no coding is exported, the flagged
characters are masked in the source text with the same number of "█" characters (so every other
offset stays valid), and the passage is listed in ``withheld.csv`` inside the project (its kinds
only, never the matched text) and in the return value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import uuid
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from themes.errors import ThemesError

if TYPE_CHECKING:
    import argparse

    from themes.codebook import Codebook

__all__ = [
    "COLUMN_DESCRIPTIONS",
    "QDA_NAMESPACE",
    "TABLE_FORMATS",
    "QdpxExport",
    "cli_export",
    "export_qdpx",
    "export_tables",
]

QDA_NAMESPACE = "urn:QDA-XML:project:1.0"
TABLE_FORMATS: tuple[str, ...] = ("csv", "parquet", "xlsx")
WITHHELD_TEXT_MASK = "█"
# Fixed namespace for the UUID-5 GUIDs: the same ids always give the same GUIDs.
_GUID_NAMESPACE = uuid.UUID("6f1c3a52-9d0e-5b7a-8c41-2e5d7f903b16")
# 1980-01-01 is the earliest timestamp a zip entry can carry.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DEFAULT_CREATED = "1980-01-01T00:00:00Z"
_EXCEL_MAX_ROWS = 1_048_576
_EXCEL_MAX_CELL = 32_767
_SHEET_NAME_MAX = 31
_OPTIONAL_MENTION_COLUMNS = (
    "method",
    "score",
    "evidence",
    "counted",
    "section_type",
    "page",
    "para_no",
)
_CORE_TABLES = ("reports", "passages", "recommendations", "errors", "mentions", "report_themes")
_FAMILY_PARENTS = (
    ("practice", "Practice themes", "#4E79A7"),
    ("characteristic", "Case characteristics", "#E15759"),
    ("recommendation", "Recommendation types", "#59A14F"),
)
# Colour-blind-safe palette (Tableau 10), cycled over the codes in codebook order.
_PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#76B7B2",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)
_VARIABLES = (
    ("nation", "Text"),
    ("review_type", "Text"),
    ("document_kind", "Text"),
    ("partnership", "Text"),
    ("publication_year", "Integer"),
    ("outcome", "Text"),
)
# Characters XML 1.0 and Excel cells cannot hold.
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

# One description per column name, shown on the README sheet of the workbook.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    "report_id": "Identifier of the report (one file); stable across runs.",
    "review_id": "Identifier of the review; groups an executive summary with its overview.",
    "title": "Report title.",
    "nation": "UK nation of the review (england, wales, scotland, northern_ireland).",
    "review_type": "Review regime, e.g. Serious Case Review, Child Practice Review.",
    "partnership": "Safeguarding partnership or board that commissioned the review.",
    "publication_year": "Year the report was published.",
    "publication_date": "Publication date as given (year-month or full date).",
    "incident_date": "Date of the incident that led to the review, as given.",
    "document_kind": "overview, executive_summary, learning_brief or national_review.",
    "child_pseudonym": "How the report names the child (e.g. 'Child M').",
    "child_age_months": "Child's age in months at the incident.",
    "child_sex": "Child's sex as reported.",
    "outcome": "Outcome for the child (e.g. death, serious_harm).",
    "source_file": "Input file, relative to the corpus folder.",
    "format": "File format the report was read from.",
    "sha256": "SHA-256 checksum of the input file.",
    "n_pages": "Number of pages in the file.",
    "n_words": "Number of words in the cleaned text.",
    "loader_version": "Version of the loader that parsed the file.",
    "passage_id": "Identifier of the passage: '<report_id>:<number>'.",
    "section_type": "Section the passage belongs to (introduction, analysis, findings, ...).",
    "heading": "Heading of the section the passage sits under.",
    "para_no": "Paragraph number as printed in the report.",
    "page": "Page number (1-based) where the passage starts.",
    "char_start": "Start offset of the passage in the report's cleaned text.",
    "char_end": "End offset of the passage in the report's cleaned text.",
    "text": "Verbatim text.",
    "rec_no": "Recommendation number as printed.",
    "rec_types": "Recommendation types assigned to the recommendation.",
    "evidence": "The words that matched the theme.",
    "stage": "Pipeline stage where the problem arose.",
    "error_type": "Kind of problem.",
    "message": "What went wrong and what to do.",
    "theme_id": "Codebook theme (or recommendation type) id.",
    "polarity": "concern, good_practice or absent (stated as not present).",
    "method": "Tagger that produced the mention (rules, classifier, combined).",
    "score": "Tagger confidence (1.0 for rule matches).",
    "sentence": "The sentence holding the evidence.",
    "start": "Start offset of the evidence within the passage text.",
    "end": "End offset of the evidence within the passage text.",
    "counted": "False for mentions that do not count (e.g. in terms of reference).",
    "n_mentions": "Number of counted mentions.",
    "n_concern": "Mentions with polarity concern.",
    "n_good_practice": "Mentions with polarity good_practice.",
    "n_absent": "Mentions with polarity absent.",
    "present": "Whether the theme is present in the report (from counted mentions).",
    "n_reviews": "Number of reviews in the group.",
    "n_present": "Number of reviews in which the theme is present.",
    "prevalence": "Share of reviews in which the theme is present.",
    "ci_low": "Lower bound of the 95% Wilson interval.",
    "ci_high": "Upper bound of the 95% Wilson interval.",
    "enough_data": "False where the group is too small to report.",
    "p_value": "p-value of the test.",
    "q_value": "Benjamini-Hochberg adjusted p-value.",
}


# --------------------------------------------------------------------------------------------------
# cell values


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _flat(value: Any) -> Any:
    """A cell value fit for CSV and Excel: lists joined with "; ", mappings as JSON."""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join("" if _is_missing(v) else str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _has_nested(series: pd.Series) -> bool:
    if series.dtype != object:
        return False
    return bool(series.map(lambda v: isinstance(v, list | tuple | np.ndarray | Mapping)).any())


def _flatten_frame(frame: pd.DataFrame) -> pd.DataFrame:
    nested = [c for c in frame.columns if _has_nested(frame[c])]
    if not nested:
        return frame
    return frame.assign(**{c: frame[c].map(_flat) for c in nested})


def _excel_value(value: Any) -> Any:
    value = _flat(value)
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, bool | int | float | dt.date | dt.datetime):
        if isinstance(value, float) and math.isinf(value):
            return str(value)
        return value
    text = _ILLEGAL_XML_CHARS.sub("", str(value))
    if len(text) > _EXCEL_MAX_CELL:
        text = text[: _EXCEL_MAX_CELL - 14] + " …[truncated]"
    return text


def _sheet_names(names: list[str]) -> dict[str, str]:
    """Excel-safe, unique sheet names: at most 31 characters, none that Excel forbids."""
    taken = {"readme"}
    out = {}
    for name in names:
        base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "table"
        candidate, i = base[:_SHEET_NAME_MAX], 2
        while candidate.lower() in taken:
            suffix = f"~{i}"
            candidate, i = base[: _SHEET_NAME_MAX - len(suffix)] + suffix, i + 1
        taken.add(candidate.lower())
        out[name] = candidate
    return out


def _flatten_manifest(manifest: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key in sorted(manifest):
        value = manifest[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += _flatten_manifest(value, f"{name}.")
        else:
            rows.append((name, _excel_value(value)))
    return rows


# --------------------------------------------------------------------------------------------------
# tables


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    if not tables:
        raise ThemesError("nothing to export: no tables given")
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise ThemesError(f"table {name!r} is a {type(frame).__name__}, not a DataFrame")


def _file_stem(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", str(name)).strip("._") or "table"


def export_tables(
    tables: Mapping[str, pd.DataFrame],
    out: str | Path,
    fmt: str,
    *,
    run_manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write tables as CSV or Parquet files (one per table) or as one Excel workbook.

    Args:
        tables: Table name -> DataFrame, e.g. ``{"reports": ..., "mentions": ...}``. Inputs are
            not modified.
        out: A folder for ``csv`` and ``parquet``; a ``.xlsx`` file for ``xlsx``.
        fmt: ``csv``, ``parquet`` or ``xlsx``.
        run_manifest: The run manifest (``run_manifest.json`` as a dict). Written as
            ``run_manifest.json`` beside CSV and Parquet files, and on the README sheet of a
            workbook.

    Returns:
        The folder or workbook written.

    Raises:
        ThemesError: For an unknown format, no tables, or a table too large for Excel.

    Notes:
        CSV files are UTF-8 with a header row; list-valued cells (e.g. ``rec_types``) are joined
        with "; " in CSV and Excel and kept as lists in Parquet. Workbook sheets are named after
        the tables (at most 31 characters; characters Excel forbids become "_"), and a first
        ``README`` sheet lists every sheet's columns with a description and the run manifest.

    Examples:
        >>> frame = pd.DataFrame({"report_id": ["r1"], "rec_types": [["rec_training_workforce"]]})
        >>> export_tables({"recommendations": frame}, "build/export", "csv")  # doctest: +SKIP
        PosixPath('build/export')
    """
    if fmt not in TABLE_FORMATS:
        hint = "; use export_qdpx for a REFI-QDA project" if fmt == "qdpx" else ""
        raise ThemesError(
            f"unknown table format {fmt!r}: choose one of {', '.join(TABLE_FORMATS)}{hint}"
        )
    _check_tables(tables)
    out = Path(out)
    if fmt == "xlsx":
        return _write_workbook(tables, out, run_manifest)
    if out.exists() and not out.is_dir():
        raise ThemesError(f"{out}: is a file; give a folder for {fmt} tables")
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        path = out / f"{_file_stem(name)}.{fmt}"
        if fmt == "csv":
            _flatten_frame(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        else:
            try:
                frame.to_parquet(path, index=False)
            except (TypeError, ValueError) as error:  # pyarrow: mixed types in a column
                raise ThemesError(f"table {name!r}: cannot write Parquet ({error})") from None
    if run_manifest is not None:
        (out / "run_manifest.json").write_text(
            json.dumps(run_manifest, indent=2, sort_keys=True, default=str), encoding="utf-8"
        )
    return out


def _write_workbook(
    tables: Mapping[str, pd.DataFrame], out: Path, run_manifest: Mapping[str, Any] | None
) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from themes import __version__

    for name, frame in tables.items():
        if len(frame) + 1 > _EXCEL_MAX_ROWS:
            raise ThemesError(
                f"table {name!r} has {len(frame):,} rows, more than an Excel sheet holds; "
                "export it as csv or parquet"
            )
    if out.is_dir():
        raise ThemesError(f"{out}: is a folder; give a file name such as themes.xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheets = _sheet_names(list(tables))
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def header(sheet, values: list[str]) -> None:  # noqa: ANN001
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    readme = workbook.create_sheet("README")
    readme.append(["safeguarding-themes export"])
    readme.append(["package version", __version__])
    if run_manifest is not None and run_manifest.get("created"):
        readme.append(["run created", str(run_manifest["created"])])
    readme.append(
        [
            "List-valued cells are joined with '; '. Offsets (start, end, char_start, char_end) "
            "count characters (Unicode code points) from 0."
        ]
    )
    readme.append([])
    header(readme, ["sheet", "table", "rows", "column", "type", "description"])
    for name, frame in tables.items():
        for column in frame.columns:
            readme.append(
                [
                    sheets[name],
                    str(name),
                    len(frame),
                    str(column),
                    str(frame[column].dtype),
                    COLUMN_DESCRIPTIONS.get(str(column), ""),
                ]
            )
    if run_manifest is not None:
        readme.append([])
        header(readme, ["run manifest", "value"])
        for key, value in _flatten_manifest(run_manifest):
            readme.append([key, value])

    for name, frame in tables.items():
        sheet = workbook.create_sheet(sheets[name])
        sheet.freeze_panes = "A2"
        header(sheet, [str(c) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_excel_value(v) for v in row])
    try:
        workbook.save(out)
    except OSError as error:
        raise ThemesError(f"{out}: cannot write the workbook ({error.strerror or error})") from None
    return out


# --------------------------------------------------------------------------------------------------
# REFI-QDA project


@dataclass
class QdpxExport:
    """What :func:`export_qdpx` wrote.

    Attributes:
        path: The ``.qdpx`` file.
        n_sources: Text sources (reports) in the project.
        n_codes: Codable codes (themes and recommendation types).
        n_codings: Coded selections written.
        withheld: Passages flagged by the privacy check: ``report_id``, ``passage_id``,
            ``kinds`` (list) and ``n_codings_withheld``. Also ``withheld.csv`` in the project.
        skipped: Mentions not written, by reason (``unknown_passage``, ``unknown_theme``,
            ``offsets_outside_passage``, ``evidence_mismatch``).
    """

    path: Path
    n_sources: int
    n_codes: int
    n_codings: int
    withheld: pd.DataFrame
    skipped: dict[str, int] = field(default_factory=dict)


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _xml_text(value: object) -> str:
    return _ILLEGAL_XML_CHARS.sub("", str(value))


def _table(tables: Any, name: str) -> pd.DataFrame | None:
    if isinstance(tables, Mapping):
        return tables.get(name)
    return getattr(tables, name, None)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ThemesError(f"{name} is missing column(s) {', '.join(missing)}")


def _int_or_none(value: Any) -> int | None:
    if _is_missing(value):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _created(run_manifest: Mapping[str, Any] | None) -> str:
    created = (run_manifest or {}).get("created")
    if not created:
        return _DEFAULT_CREATED
    try:
        moment = dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return _DEFAULT_CREATED
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format_score(value: Any) -> str:
    if _is_missing(value):
        return "n/a"
    try:
        return f"{float(value):.3f}"
    except (TypeError, ValueError):
        return str(value)


def _source_texts(passages: pd.DataFrame) -> tuple[dict[str, str], dict[str, tuple[str, int, str]]]:
    """Rebuild each report's cleaned text and the offset of every passage in it.

    The offsets are recomputed from the passages (joined by blank lines, in ``char_start`` order)
    rather than trusted from ``char_start``: they agree when the corpus contract holds, and the
    project's offsets stay correct when a table was filtered or edited.
    """
    order = ["report_id", "char_start"] if "char_start" in passages.columns else ["report_id"]
    ordered = passages.sort_values(order, kind="stable")
    texts: dict[str, str] = {}
    where: dict[str, tuple[str, int, str]] = {}
    for report_id, group in ordered.groupby("report_id", sort=True):
        parts, offset = [], 0
        for passage_id, text in group[["passage_id", "text"]].itertuples(index=False):
            text = text if isinstance(text, str) else ""
            where[passage_id] = (report_id, offset, text)
            parts.append(text)
            offset += len(text) + 2
        texts[report_id] = "\n\n".join(parts)
    return texts, where


def export_qdpx(
    corpus_tables: Any,
    mentions: pd.DataFrame,
    codebook: Codebook | None,
    out_path: str | Path,
    *,
    run_manifest: Mapping[str, Any] | None = None,
    privacy: bool = True,
) -> QdpxExport:
    """Write the reports and their tagged mentions as a REFI-QDA project (``.qdpx``).

    Requires: ``passages`` with report_id, passage_id, text (char_start orders them);
    ``mentions`` with report_id, passage_id, theme_id, polarity, start, end (method, score,
    evidence, counted, section_type, page and para_no are used when present). ``reports`` is
    optional and adds a description and variables (nation, review type, year, ...) to each
    source. Inputs are not modified.

    Args:
        corpus_tables: A :class:`~themes.corpus.Corpus` or a mapping with ``passages`` and
            optionally ``reports``.
        mentions: The tagger's mentions; ``start``/``end`` are offsets within the passage text.
            A mention without offsets (a passage-level classifier decision) codes its whole
            passage.
        codebook: The codebook the mentions were tagged with (``None`` loads the packaged one).
        out_path: The ``.qdpx`` file to write.
        run_manifest: The run manifest; its ``created`` time becomes the project's creation time
            and the whole manifest its description.
        privacy: Check passages for personal data; flagged passages get no codings, their flagged
            characters are masked, and they are listed in ``withheld.csv``.

    Returns:
        A :class:`QdpxExport` with counts, the withheld passages and the skipped mentions.

    Raises:
        ThemesError: If a required column is missing or the file cannot be written.

    Examples:
        >>> result = export_qdpx(corpus, mentions, None, "build/themes.qdpx")  # doctest: +SKIP
        >>> result.n_codings, len(result.withheld)  # doctest: +SKIP
        (5120, 3)
    """
    from lxml import etree

    from themes import __version__
    from themes.privacy import (
        allowed_names_from_reports,
        check_passages,
        find_personal_data,
        mask_personal_data,
    )

    passages = _table(corpus_tables, "passages")
    reports = _table(corpus_tables, "reports")
    if passages is None:
        raise ThemesError("the corpus tables have no passages table")
    _require(passages, ("report_id", "passage_id", "text"), "passages")
    _require(
        mentions, ("report_id", "passage_id", "theme_id", "polarity", "start", "end"), "mentions"
    )
    if codebook is None:
        from themes.codebook import load_codebook

        codebook = load_codebook()
    out_path = Path(out_path)
    if out_path.is_dir():
        raise ThemesError(f"{out_path}: is a folder; give a file name such as themes.qdpx")

    texts, where = _source_texts(passages)
    allowed = (
        allowed_names_from_reports(reports)
        if reports is not None and "report_id" in reports.columns
        else {}
    )
    flagged: dict[str, list[str]] = {}
    if privacy:
        checks = check_passages(passages, allowed)
        for row in checks[~checks["ok"]].itertuples(index=False):
            flagged[row.passage_id] = list(row.kinds)
        for passage_id in flagged:
            report_id, offset, text = where.get(passage_id, (None, 0, ""))
            if report_id is None:
                continue
            findings = find_personal_data(text, allowed_names=allowed.get(report_id, ()))
            masked = mask_personal_data(text, findings, WITHHELD_TEXT_MASK)
            source = texts[report_id]
            texts[report_id] = source[:offset] + masked + source[offset + len(text) :]

    # ---- codes
    user_guid = _guid("user", "safeguarding-themes")
    families: dict[str, list[tuple[str, str, str]]] = {key: [] for key, _, _ in _FAMILY_PARENTS}
    for theme in codebook.themes:
        families[theme.family].append((theme.id, theme.label, theme.definition))
    for rec in codebook.recommendation_types:
        families["recommendation"].append((rec.id, rec.label, rec.definition))
    code_guids = {
        entry_id: _guid("code", entry_id)
        for entries in families.values()
        for entry_id, _, _ in entries
    }

    # ---- selections, one per mention
    skipped: Counter[str] = Counter()
    withheld_counts: Counter[str] = Counter()
    selections: dict[str, list[tuple[tuple, dict[str, Any]]]] = {}
    seen_keys: Counter[tuple] = Counter()
    optional = [c for c in _OPTIONAL_MENTION_COLUMNS if c in mentions.columns]
    columns = ["report_id", "passage_id", "theme_id", "polarity", "start", "end", *optional]
    for values in mentions[columns].itertuples(index=False, name=None):
        m = dict(zip(columns, values, strict=True))
        located = where.get(m["passage_id"])
        if located is None:
            skipped["unknown_passage"] += 1
            continue
        report_id, base, text = located
        if m["theme_id"] not in code_guids:
            skipped["unknown_theme"] += 1
            continue
        if m["passage_id"] in flagged:
            withheld_counts[m["passage_id"]] += 1
            continue
        start, end = _int_or_none(m["start"]), _int_or_none(m["end"])
        if start is None or end is None:
            start, end, whole = 0, len(text), True
        else:
            whole = False
            if not start < end <= len(text):
                skipped["offsets_outside_passage"] += 1
                continue
            evidence = m.get("evidence")
            if isinstance(evidence, str) and evidence and text[start:end] != evidence:
                skipped["evidence_mismatch"] += 1
                continue
        key = (
            m["passage_id"],
            base + start,
            base + end,
            m["theme_id"],
            str(m["polarity"]),
            str(m.get("method", "")),
        )
        seen_keys[key] += 1
        m.update(
            position=(base + start, base + end),
            words=text[start:end],
            whole=whole,
            n=seen_keys[key],
        )
        selections.setdefault(report_id, []).append((key, m))

    # ---- XML
    q = f"{{{QDA_NAMESPACE}}}"
    project = etree.Element(
        f"{q}Project",
        nsmap={None: QDA_NAMESPACE},
        attrib={
            "name": "safeguarding-themes",
            "origin": f"safeguarding-themes {__version__}",
            "creatingUserGUID": user_guid,
            "creationDateTime": _created(run_manifest),
        },
    )
    users = etree.SubElement(project, f"{q}Users")
    etree.SubElement(users, f"{q}User", guid=user_guid, name=f"safeguarding-themes {__version__}")

    codes = etree.SubElement(etree.SubElement(project, f"{q}CodeBook"), f"{q}Codes")
    colour = 0
    for key, parent_name, parent_colour in _FAMILY_PARENTS:
        if not families[key]:
            continue
        parent = etree.SubElement(
            codes,
            f"{q}Code",
            guid=_guid("family", key),
            name=parent_name,
            isCodable="false",
            color=parent_colour,
        )
        etree.SubElement(
            parent, f"{q}Description"
        ).text = f"{parent_name} from codebook '{codebook.name}' version {codebook.version}."
        for entry_id, label, definition in families[key]:
            code = etree.SubElement(
                parent,
                f"{q}Code",
                guid=code_guids[entry_id],
                name=_xml_text(label),
                isCodable="true",
                color=_PALETTE[colour % len(_PALETTE)],
            )
            colour += 1
            etree.SubElement(code, f"{q}Description").text = _xml_text(
                f"{definition.strip()} [id: {entry_id}]"
            )

    report_rows: dict[str, dict[str, Any]] = {}
    variables_present: list[tuple[str, str]] = []
    if reports is not None and "report_id" in reports.columns:
        report_rows = {r["report_id"]: r for r in reports.to_dict("records")}
        variables_present = [(n, t) for n, t in _VARIABLES if n in reports.columns]
    if variables_present:
        variables = etree.SubElement(project, f"{q}Variables")
        for name, kind in variables_present:
            etree.SubElement(
                variables,
                f"{q}Variable",
                guid=_guid("variable", name),
                name=name,
                typeOfVariable=kind,
            )

    sources = etree.SubElement(project, f"{q}Sources")
    source_files: dict[str, str] = {}
    n_codings = 0
    for report_id in sorted(texts):
        source_guid = _guid("source", report_id)
        source_files[source_guid] = texts[report_id]
        source = etree.SubElement(
            sources,
            f"{q}TextSource",
            guid=source_guid,
            name=_xml_text(report_id),
            plainTextPath=f"internal://{source_guid}.txt",
            creatingUser=user_guid,
        )
        report = report_rows.get(report_id, {})
        described = [
            str(report[k]) for k in ("title", "publication_year") if not _is_missing(report.get(k))
        ]
        if described:
            etree.SubElement(source, f"{q}Description").text = _xml_text(", ".join(described))
        ordered = sorted(
            selections.get(report_id, []), key=lambda item: (item[0][1:], item[0][0], item[1]["n"])
        )
        for key, m in ordered:
            selection_guid = _guid("selection", *key, m["n"])
            start, end = m["position"]
            if m["whole"]:
                name = f"passage {m.get('para_no') or m['passage_id']}"
            else:
                name = " ".join(m["words"].split())[:80]
            selection = etree.SubElement(
                source,
                f"{q}PlainTextSelection",
                guid=selection_guid,
                name=_xml_text(name or m["theme_id"]),
                startPosition=str(start),
                endPosition=str(end),
                creatingUser=user_guid,
            )
            details = [
                f"polarity: {m['polarity']}",
                f"method: {m.get('method', 'n/a')}",
                f"score: {_format_score(m.get('score'))}",
                f"theme: {m['theme_id']}",
            ]
            if "counted" in m and not _is_missing(m["counted"]):
                details.append(f"counted: {str(bool(m['counted'])).lower()}")
            for column in ("section_type", "page", "para_no"):
                if column in m and not _is_missing(m[column]):
                    details.append(f"{column}: {m[column]}")
            details.append(f"passage: {m['passage_id']}")
            if m["whole"]:
                details.append("scope: whole passage (no word-level evidence)")
            etree.SubElement(selection, f"{q}Description").text = _xml_text("; ".join(details))
            coding = etree.SubElement(
                selection, f"{q}Coding", guid=_guid("coding", *key, m["n"]), creatingUser=user_guid
            )
            etree.SubElement(coding, f"{q}CodeRef", targetGUID=code_guids[m["theme_id"]])
            n_codings += 1
        for name, kind in variables_present:
            value = report.get(name)
            if _is_missing(value) or value == "":
                continue
            holder = etree.SubElement(source, f"{q}VariableValue")
            etree.SubElement(holder, f"{q}VariableRef", targetGUID=_guid("variable", name))
            if kind == "Integer":
                number = _int_or_none(value)
                if number is None:  # not a number: leave the variable empty for this source
                    source.remove(holder)
                    continue
                etree.SubElement(holder, f"{q}IntegerValue").text = str(number)
            else:
                etree.SubElement(holder, f"{q}TextValue").text = _xml_text(value)

    description = {
        "exported_by": f"safeguarding-themes {__version__}",
        "codebook": {"name": codebook.name, "version": codebook.version},
        "privacy_check": bool(privacy),
        "withheld_passages": len(flagged),
        "run_manifest": dict(run_manifest) if run_manifest is not None else None,
    }
    etree.SubElement(project, f"{q}Description").text = _xml_text(
        json.dumps(description, indent=2, sort_keys=True, default=str)
    )
    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        project, encoding="UTF-8", xml_declaration=False, pretty_print=True
    )

    withheld = pd.DataFrame(
        [
            {
                "report_id": where[pid][0] if pid in where else None,
                "passage_id": pid,
                "kinds": kinds,
                "n_codings_withheld": int(withheld_counts.get(pid, 0)),
            }
            for pid, kinds in sorted(flagged.items())
        ],
        columns=["report_id", "passage_id", "kinds", "n_codings_withheld"],
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(withheld.columns)
    for row in withheld.itertuples(index=False):
        writer.writerow(
            [row.report_id, row.passage_id, "; ".join(row.kinds), row.n_codings_withheld]
        )

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w") as archive:
            _add_entry(archive, "project.qde", xml)
            for guid in sorted(source_files):
                _add_entry(archive, f"sources/{guid}.txt", source_files[guid].encode("utf-8"))
            _add_entry(archive, "withheld.csv", buffer.getvalue().encode("utf-8"))
        tmp.replace(out_path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise ThemesError(
            f"{out_path}: cannot write the project ({error.strerror or error})"
        ) from None
    return QdpxExport(
        path=out_path,
        n_sources=len(texts),
        n_codes=len(code_guids),
        n_codings=n_codings,
        withheld=withheld,
        skipped=dict(sorted(skipped.items())),
    )


def _add_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


# --------------------------------------------------------------------------------------------------
# CLI


def _read_tables(folder: Path, run_folder: Path) -> dict[str, pd.DataFrame]:
    paths: dict[str, Path] = {p.stem: p for p in sorted(folder.glob("*.parquet"))}
    if run_folder != folder:
        # Stage outputs beside the tables (e.g. trends/prevalence_by_year.parquet).
        extra = sorted(run_folder.glob("*.parquet")) + sorted(
            p for p in run_folder.glob("*/*.parquet") if p.parent != folder
        )
        for path in extra:
            name = path.stem if path.stem not in paths else f"{path.parent.name}_{path.stem}"
            paths.setdefault(name, path)
    ordered = [n for n in _CORE_TABLES if n in paths] + sorted(
        n for n in paths if n not in _CORE_TABLES
    )
    tables = {}
    for name in ordered:
        try:
            tables[name] = pd.read_parquet(paths[name])
        except Exception as error:  # noqa: BLE001 - any unreadable file is a user-facing problem
            raise ThemesError(f"{paths[name]}: cannot read Parquet table ({error})") from None
    return tables


def _read_manifest(*candidates: Path) -> dict[str, Any] | None:
    for path in candidates:
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise ThemesError(f"{path}: cannot read the run manifest ({error})") from None
    return None


def cli_export(args: argparse.Namespace) -> int:
    """Run ``themes export TABLES --format csv|parquet|xlsx|qdpx -o OUT``.

    ``TABLES`` is a folder of Parquet tables, or a run folder with a ``tables/`` subfolder; its
    ``run_manifest.json`` (in the run folder or beside the tables) is included where the format
    allows. A ``.qdpx`` export needs ``passages`` and ``mentions`` (run ``themes tag`` first).

    Args:
        args: Parsed arguments with ``tables``, ``format`` and ``out``; an optional ``codebook``
            path (otherwise the run manifest's codebook, else the packaged one) and an optional
            ``no_privacy`` flag.

    Returns:
        Exit status 0.

    Raises:
        ThemesError: For a missing folder, no tables, or no mentions for ``qdpx``.

    Examples:
        >>> import argparse
        >>> cli_export(argparse.Namespace(tables="build/demo", format="xlsx", out="t.xlsx"))
        ... # doctest: +SKIP
        Wrote 6 tables to t.xlsx
        0
    """
    folder = Path(args.tables).expanduser()
    if not folder.is_dir():
        raise ThemesError(f"{folder}: no such folder; run 'themes run' or 'themes ingest' first")
    tables_dir = folder / "tables" if (folder / "tables").is_dir() else folder
    fmt = args.format
    out = getattr(args, "out", None)
    if not out:
        out = folder / ("export" if fmt in ("csv", "parquet") else f"themes.{fmt}")
        if fmt in ("csv", "parquet"):
            out = Path(out) / fmt
    out = Path(out).expanduser()
    tables = _read_tables(tables_dir, folder)
    if not tables:
        raise ThemesError(f"{tables_dir}: no Parquet tables found; run 'themes run' first")
    manifest = _read_manifest(
        folder / "run_manifest.json",
        tables_dir / "run_manifest.json",
        tables_dir.parent / "run_manifest.json",
    )
    if fmt == "qdpx":
        if "mentions" not in tables:
            raise ThemesError(
                f"{tables_dir}: no mentions.parquet; run 'themes tag' (or 'themes run') first: "
                "a REFI-QDA project exports the tags"
            )
        if "passages" not in tables:
            raise ThemesError(f"{tables_dir}: no passages.parquet; run 'themes ingest' first")
        from themes.codebook import load_codebook

        codebook_path = getattr(args, "codebook", None) or (
            ((manifest or {}).get("config") or {}).get("codebook")
        )
        result = export_qdpx(
            tables,
            tables["mentions"],
            load_codebook(codebook_path),
            out,
            run_manifest=manifest,
            privacy=not getattr(args, "no_privacy", False),
        )
        print(
            f"Wrote {result.path}: {result.n_sources} sources, {result.n_codes} codes, "
            f"{result.n_codings} codings; {len(result.withheld)} passage(s) withheld "
            "for possible personal data (listed in withheld.csv)"
        )
        if result.skipped:
            shown = ", ".join(f"{n} {reason}" for reason, n in result.skipped.items())
            print(f"Mentions not exported: {shown}")
        return 0
    if fmt not in TABLE_FORMATS:
        raise ThemesError(f"unknown format {fmt!r}: choose csv, parquet, xlsx or qdpx")
    written = export_tables(tables, out, fmt, run_manifest=manifest)
    print(f"Wrote {len(tables)} tables ({', '.join(tables)}) to {written}")
    return 0
