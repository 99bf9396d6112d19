"""Table exports (CSV, Parquet, Excel) and the REFI-QDA project export (.qdpx).

No XSD for REFI-QDA ships in a package we can install, so the project file is checked
structurally: namespace, element order, required attributes, GUID format, references that resolve,
positions inside the source text, and a round trip of every coded selection back to the words the
tagger matched.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import zipfile

import pandas as pd
import pytest
from lxml import etree

from themes.codebook import load_codebook
from themes.corpus import Corpus
from themes.errors import ThemesError
from themes.exports import QDA_NAMESPACE, cli_export, export_qdpx, export_tables

NS = {"q": QDA_NAMESPACE}
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MANIFEST = {
    "created": "2026-01-02T03:04:05+00:00",
    "version": "0.1.0",
    "corpus_checksum": "abc123",
    "config": {"codebook": None, "n_jobs": 1},
}
TEXTS = {
    "r1": [
        ("introduction", "1.1", "Child M lived with Mother in Westmoor."),
        (
            "analysis",
            "1.2",
            "Information sharing between the GP and children's social care was poor; "
            "domestic abuse was not recognised.",
        ),
        ("analysis", "1.3", "Mrs Hughes rang the school on 07700 900123 about domestic abuse."),
        ("findings", "1.4", "Café staff saw bruising 😀 and information sharing then improved."),
    ],
    "r2": [
        ("analysis", "2.1", "There was no evidence of domestic abuse."),
        ("recommendations", "2.2", "Staff should receive training on neglect."),
    ],
}
FLAGGED = "r1:0003"


@pytest.fixture(scope="module")
def codebook():
    return load_codebook()


def _passages() -> pd.DataFrame:
    rows = []
    for report_id, items in TEXTS.items():
        offset = 0
        for i, (section, para, text) in enumerate(items, start=1):
            rows.append(
                {
                    "report_id": report_id,
                    "passage_id": f"{report_id}:{i:04d}",
                    "section_type": section,
                    "heading": section.title(),
                    "para_no": para,
                    "page": i,
                    "char_start": offset,
                    "char_end": offset + len(text),
                    "text": text,
                }
            )
            offset += len(text) + 2
    return pd.DataFrame(rows)


def _reports() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "report_id": ["r1", "r2"],
            "review_id": ["rv1", "rv2"],
            "title": ["Child M review", "Child T review"],
            "nation": ["england", "wales"],
            "review_type": ["Serious Case Review", "Child Practice Review"],
            "partnership": ["Westmoor Safeguarding Children Partnership", None],
            "publication_year": pd.array([2019, 2021], dtype="Int64"),
            "document_kind": ["overview", "overview"],
            "child_pseudonym": ["Child M", "Child T"],
            "outcome": ["serious_harm", "death"],
        }
    )


def _mention(passages, passage_id, theme_id, evidence, polarity="concern", **extra):
    row = passages.set_index("passage_id").loc[passage_id]
    start = row["text"].index(evidence) if evidence is not None else -1
    return {
        "report_id": row["report_id"],
        "passage_id": passage_id,
        "theme_id": theme_id,
        "polarity": polarity,
        "method": extra.get("method", "rules"),
        "score": extra.get("score", 1.0),
        "evidence": evidence,
        "sentence": row["text"],
        "page": int(row["page"]),
        "section_type": row["section_type"],
        "para_no": row["para_no"],
        "start": start,
        "end": start + len(evidence) if evidence is not None else -1,
        "counted": extra.get("counted", True),
    }


def _mentions(passages) -> pd.DataFrame:
    rows = [
        _mention(passages, "r1:0002", "information_sharing", "Information sharing"),
        _mention(passages, "r1:0002", "domestic_abuse", "domestic abuse"),
        _mention(passages, FLAGGED, "domestic_abuse", "domestic abuse"),
        _mention(
            passages, "r1:0004", "information_sharing", "information sharing", "good_practice"
        ),
        _mention(passages, "r2:0001", "domestic_abuse", "domestic abuse", "absent"),
        _mention(passages, "r2:0002", "rec_training_workforce", "training", counted=True),
        # A passage-level classifier decision: no word offsets, codes the whole passage.
        _mention(passages, "r2:0002", "neglect", None, method="classifier", score=0.71),
        _mention(passages, "r1:0001", "not_a_theme", "Child M"),
    ]
    return pd.DataFrame(rows)


def _tables() -> dict[str, pd.DataFrame]:
    passages = _passages()
    return {
        "reports": _reports(),
        "passages": passages,
        "recommendations": pd.DataFrame(
            {
                "report_id": ["r2"],
                "rec_no": ["1"],
                "passage_id": ["r2:0002"],
                "text": [TEXTS["r2"][1][2]],
                "rec_types": [["rec_training_workforce", "rec_policy_procedure"]],
            }
        ),
        "errors": pd.DataFrame(
            {"source_file": ["bad.pdf"], "stage": ["read"], "error_type": ["x"], "message": ["m"]}
        ),
        "mentions": _mentions(passages),
        "prevalence_by_year_and_nation_with_intervals": pd.DataFrame(
            {"publication_year": [2019, 2021], "prevalence": [0.5, 0.25]}
        ),
    }


# ------------------------------------------------------------------------------------------ tables


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_write_one_file_per_table_with_the_same_rows(tmp_path, fmt):
    tables = _tables()
    out = export_tables(tables, tmp_path / fmt, fmt, run_manifest=MANIFEST)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{name}.{fmt}" for name in tables] + ["run_manifest.json"]
    )
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    for name, frame in tables.items():
        back = read(out / f"{name}.{fmt}")
        assert list(back.columns) == list(frame.columns)
        assert len(back) == len(frame)
    passages = read(out / f"passages.{fmt}")
    assert passages["text"].tolist() == tables["passages"]["text"].tolist()
    rec_types = read(out / f"recommendations.{fmt}")["rec_types"].iloc[0]
    if fmt == "csv":
        assert rec_types == "rec_training_workforce; rec_policy_procedure"
    else:
        assert list(rec_types) == ["rec_training_workforce", "rec_policy_procedure"]
    assert json.loads((out / "run_manifest.json").read_text()) == MANIFEST


def test_xlsx_has_a_readme_and_one_named_sheet_per_table(tmp_path):
    tables = _tables()
    path = export_tables(tables, tmp_path / "out" / "themes.xlsx", "xlsx", run_manifest=MANIFEST)
    sheets = pd.read_excel(path, sheet_name=None, header=None)
    names = list(sheets)
    assert names[0] == "README"
    assert names[1:6] == ["reports", "passages", "recommendations", "errors", "mentions"]
    assert all(len(n) <= 31 for n in names)
    assert names[6] == "prevalence_by_year_and_nation_w"
    for name, frame in tables.items():
        sheet = pd.read_excel(path, sheet_name=name[:31])
        assert list(sheet.columns) == list(frame.columns)
        assert len(sheet) == len(frame)
    passages = pd.read_excel(path, sheet_name="passages")
    assert passages["text"].tolist() == tables["passages"]["text"].tolist()
    recs = pd.read_excel(path, sheet_name="recommendations")
    assert recs["rec_types"].iloc[0] == "rec_training_workforce; rec_policy_procedure"
    readme = sheets["README"].astype(str)
    cells = set(readme.to_numpy().ravel())
    assert "corpus_checksum" in cells and "config.n_jobs" in cells
    described = readme[(readme[0] == "passages") & (readme[3] == "char_start")]
    assert described[5].iloc[0].startswith("Start offset")


def test_xlsx_sheet_names_are_made_safe_and_unique(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    long = "x" * 40
    path = export_tables(
        {"a/b": frame, "a:b": frame, long: frame, long + "y": frame, "readme": frame},
        tmp_path / "t.xlsx",
        "xlsx",
    )
    names = pd.ExcelFile(path).sheet_names
    assert names == ["README", "a_b", "a_b~2", "x" * 31, "x" * 29 + "~2", "readme~2"]


def test_export_tables_rejects_unknown_formats_and_empty_input(tmp_path):
    with pytest.raises(ThemesError, match="unknown table format 'qdpx'.*export_qdpx"):
        export_tables({"a": pd.DataFrame()}, tmp_path, "qdpx")
    with pytest.raises(ThemesError, match="no tables"):
        export_tables({}, tmp_path, "csv")


# ------------------------------------------------------------------------------------------ qdpx


def _read_qdpx(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        root = etree.fromstring(archive.read("project.qde"))
        sources = {
            n.removeprefix("sources/").removesuffix(".txt"): archive.read(n)
            for n in names
            if n.startswith("sources/")
        }
        withheld = list(csv.DictReader(io.StringIO(archive.read("withheld.csv").decode())))
    return names, root, sources, withheld


def _validate_structure(root, sources):
    """Structural checks standing in for the REFI-QDA XSD."""
    assert root.tag == f"{{{QDA_NAMESPACE}}}Project"
    assert root.nsmap == {None: QDA_NAMESPACE}
    for element in root.iter():
        assert etree.QName(element).namespace == QDA_NAMESPACE
    order = ["Users", "CodeBook", "Variables", "Cases", "Sources", "Notes", "Links", "Sets"]
    order += ["Graphs", "Description"]
    children = [etree.QName(c).localname for c in root]
    assert children == sorted(children, key=order.index)
    assert root.get("name") and GUID_RE.match(root.get("creatingUserGUID"))
    required = {
        "User": ["guid"],
        "Code": ["guid", "name", "isCodable"],
        "Variable": ["guid", "name", "typeOfVariable"],
        "TextSource": ["guid", "name", "plainTextPath"],
        "PlainTextSelection": ["guid", "startPosition", "endPosition"],
        "Coding": ["guid"],
        "CodeRef": ["targetGUID"],
        "VariableRef": ["targetGUID"],
    }
    guids = []
    for local, attributes in required.items():
        for element in root.iterfind(f".//q:{local}", NS):
            for attribute in attributes:
                assert element.get(attribute), f"{local} lacks {attribute}"
            if element.get("guid"):
                assert GUID_RE.match(element.get("guid"))
                guids.append(element.get("guid"))
            for attribute in ("creatingUser", "targetGUID"):
                if element.get(attribute):
                    assert GUID_RE.match(element.get(attribute))
    assert len(guids) == len(set(guids)), "GUIDs must be unique"
    users = {u.get("guid") for u in root.iterfind(".//q:User", NS)}
    assert {e.get("creatingUser") for e in root.iter() if e.get("creatingUser")} <= users
    codes = {c.get("guid"): c for c in root.iterfind(".//q:Code", NS)}
    for ref in root.iterfind(".//q:CodeRef", NS):
        assert ref.get("targetGUID") in codes
        assert codes[ref.get("targetGUID")].get("isCodable") == "true"
    variables = {v.get("guid") for v in root.iterfind(".//q:Variable", NS)}
    assert {r.get("targetGUID") for r in root.iterfind(".//q:VariableRef", NS)} <= variables
    for code in codes.values():
        assert code.get("isCodable") in {"true", "false"}
        assert re.fullmatch(r"#[0-9A-F]{6}", code.get("color"))
    texts = {}
    for source in root.iterfind(".//q:TextSource", NS):
        guid = source.get("guid")
        assert source.get("plainTextPath") == f"internal://{guid}.txt"
        raw = sources[guid]
        assert not raw.startswith(b"\xef\xbb\xbf")
        texts[guid] = raw.decode("utf-8")
        local = [etree.QName(c).localname for c in source]
        element_order = ["Description", "PlainTextContent", "PlainTextSelection", "Coding"]
        element_order += ["NoteRef", "VariableValue"]
        assert local == sorted(local, key=element_order.index)
        for selection in source.iterfind("q:PlainTextSelection", NS):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert 0 <= start < end <= len(texts[guid])
            assert len(selection.findall("q:Coding", NS)) == 1
    return texts


def _selections(root, texts):
    """(source name, theme id, polarity, selected text) for every coded selection."""
    code_ids = {
        c.get("guid"): re.search(r"\[id: (\w+)\]", c.findtext("q:Description", namespaces=NS))[1]
        for c in root.iterfind(".//q:Code[@isCodable='true']", NS)
    }
    out = []
    for source in root.iterfind(".//q:TextSource", NS):
        text = texts[source.get("guid")]
        for selection in source.iterfind("q:PlainTextSelection", NS):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            target = selection.find("q:Coding/q:CodeRef", NS).get("targetGUID")
            description = selection.findtext("q:Description", namespaces=NS)
            polarity = re.search(r"polarity: (\w+)", description)[1]
            out.append((source.get("name"), code_ids[target], polarity, text[start:end]))
    return out


def test_qdpx_structure_and_codebook(tmp_path, codebook):
    tables = _tables()
    result = export_qdpx(tables, tables["mentions"], codebook, tmp_path / "p.qdpx")
    names, root, sources, _ = _read_qdpx(result.path)
    assert names[0] == "project.qde" and names[-1] == "withheld.csv"
    _validate_structure(root, sources)
    parents = root.findall("q:CodeBook/q:Codes/q:Code", NS)
    assert [p.get("name") for p in parents] == [
        "Practice themes",
        "Case characteristics",
        "Recommendation types",
    ]
    assert all(p.get("isCodable") == "false" for p in parents)
    n_codes = len(codebook.themes) + len(codebook.recommendation_types)
    assert len(root.findall(".//q:Code[@isCodable='true']", NS)) == n_codes == result.n_codes
    neglect = [
        c
        for c in root.iterfind(".//q:Code", NS)
        if "[id: neglect]" in c.findtext("q:Description", namespaces=NS)
    ]
    assert neglect and neglect[0].getparent().get("name") == "Case characteristics"
    assert result.n_sources == 2
    source = root.find(".//q:TextSource[@name='r1']", NS)
    values = {
        v.find("q:VariableRef", NS).get("targetGUID"): v[1].text
        for v in source.iterfind("q:VariableValue", NS)
    }
    variable_names = {v.get("guid"): v.get("name") for v in root.iterfind(".//q:Variable", NS)}
    assert {variable_names[k]: v for k, v in values.items()}["publication_year"] == "2019"
    assert root.get("creationDateTime") == "1980-01-01T00:00:00Z"


def test_qdpx_offsets_round_trip_to_the_evidence(tmp_path, codebook):
    tables = _tables()
    passages = tables["passages"]
    result = export_qdpx(tables, tables["mentions"], codebook, tmp_path / "p.qdpx")
    _, root, sources, _ = _read_qdpx(result.path)
    texts = _validate_structure(root, sources)
    # The unflagged report's source is exactly its passages joined by blank lines.
    by_name = {s.get("name"): texts[s.get("guid")] for s in root.iterfind(".//q:TextSource", NS)}
    assert by_name["r2"] == "\n\n".join(passages.loc[passages.report_id == "r2", "text"])
    for row in passages.itertuples():
        if row.passage_id != FLAGGED:
            assert by_name[row.report_id][row.char_start : row.char_end] == row.text
    got = sorted(_selections(root, texts))
    expected = sorted(
        [
            ("r1", "information_sharing", "concern", "Information sharing"),
            ("r1", "domestic_abuse", "concern", "domestic abuse"),
            ("r1", "information_sharing", "good_practice", "information sharing"),
            ("r2", "domestic_abuse", "absent", "domestic abuse"),
            ("r2", "rec_training_workforce", "concern", "training"),
            ("r2", "neglect", "concern", TEXTS["r2"][1][2]),  # whole passage
        ]
    )
    assert got == expected
    assert result.n_codings == len(expected)
    assert result.skipped == {"unknown_theme": 1}
    # Offsets count code points: the emoji before the evidence does not shift it.
    mentions = tables["mentions"]
    for m in mentions[mentions.start >= 0].itertuples():
        if m.passage_id == FLAGGED or m.theme_id == "not_a_theme":
            continue
        row = passages.set_index("passage_id").loc[m.passage_id]
        position = row["char_start"] + m.start
        assert by_name[m.report_id][position : position + len(m.evidence)] == m.evidence


def test_qdpx_is_byte_identical_for_the_same_input(tmp_path, codebook):
    tables = _tables()
    first = export_qdpx(
        tables, tables["mentions"], codebook, tmp_path / "a.qdpx", run_manifest=MANIFEST
    )
    shuffled = tables["mentions"].sample(frac=1, random_state=3)
    second = export_qdpx(tables, shuffled, codebook, tmp_path / "b.qdpx", run_manifest=MANIFEST)
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    _, root, _, _ = _read_qdpx(first.path)
    assert root.get("creationDateTime") == "2026-01-02T03:04:05Z"
    description = json.loads(root.findtext("q:Description", namespaces=NS))
    assert description["run_manifest"]["corpus_checksum"] == "abc123"


def test_flagged_passage_gets_no_coding_and_is_listed_as_withheld(tmp_path, codebook):
    tables = _tables()
    result = export_qdpx(tables, tables["mentions"], codebook, tmp_path / "p.qdpx")
    _, root, sources, withheld = _read_qdpx(result.path)
    texts = _validate_structure(root, sources)
    assert withheld == [
        {
            "report_id": "r1",
            "passage_id": FLAGGED,
            "kinds": "name; phone",
            "n_codings_withheld": "1",
        }
    ]
    assert result.withheld["passage_id"].tolist() == [FLAGGED]
    assert result.withheld["kinds"].iloc[0] == ["name", "phone"]
    passages = tables["passages"].set_index("passage_id")
    start, end = passages.loc[FLAGGED, ["char_start", "char_end"]]
    r1 = texts[root.find(".//q:TextSource[@name='r1']", NS).get("guid")]
    for source in root.iterfind(".//q:TextSource", NS):
        for selection in source.iterfind("q:PlainTextSelection", NS):
            if source.get("name") == "r1":
                s, e = int(selection.get("startPosition")), int(selection.get("endPosition"))
                assert e <= start or s >= end, "a coding falls inside the withheld passage"
    # The personal data is masked in place, so the source keeps its length and other offsets.
    assert "Hughes" not in r1 and "07700" not in r1
    assert len(r1[start:end]) == len(passages.loc[FLAGGED, "text"])
    assert r1[start:end].endswith("about domestic abuse.")
    raw = b"".join(
        zipfile.ZipFile(result.path).read(n) for n in zipfile.ZipFile(result.path).namelist()
    )
    assert b"Hughes" not in raw and b"07700" not in raw


def test_privacy_off_codes_every_passage(tmp_path, codebook):
    tables = _tables()
    corpus = Corpus(
        tables["reports"], tables["passages"], tables["recommendations"], tables["errors"]
    )
    result = export_qdpx(corpus, tables["mentions"], codebook, tmp_path / "p.qdpx", privacy=False)
    _, root, sources, withheld = _read_qdpx(result.path)
    texts = _validate_structure(root, sources)
    assert withheld == [] and result.withheld.empty
    assert ("r1", "domestic_abuse", "concern", "domestic abuse") in _selections(root, texts)
    assert result.n_codings == 7


def test_mentions_that_do_not_fit_their_passage_are_skipped(tmp_path, codebook):
    tables = _tables()
    mentions = tables["mentions"].copy()
    mentions.loc[0, "evidence"] = "something else"
    mentions.loc[1, "end"] = 10_000
    mentions.loc[3, "passage_id"] = "r9:0001"
    result = export_qdpx(tables, mentions, codebook, tmp_path / "p.qdpx")
    assert result.skipped == {
        "evidence_mismatch": 1,
        "offsets_outside_passage": 1,
        "unknown_passage": 1,
        "unknown_theme": 1,
    }
    assert result.n_codings == 3


def test_qdpx_names_missing_columns(tmp_path, codebook):
    tables = _tables()
    with pytest.raises(ThemesError, match="mentions is missing column.*polarity"):
        export_qdpx(
            tables, tables["mentions"].drop(columns="polarity"), codebook, tmp_path / "p.qdpx"
        )


# ------------------------------------------------------------------------------------------ CLI


def _run_folder(tmp_path, with_mentions=True):
    run = tmp_path / "run"
    tables = run / "tables"
    tables.mkdir(parents=True)
    for name, frame in _tables().items():
        if name == "mentions" and not with_mentions:
            continue
        frame.to_parquet(tables / f"{name}.parquet", index=False)
    (run / "run_manifest.json").write_text(json.dumps(MANIFEST))
    return run


def test_cli_export_reads_a_run_folder(tmp_path, capsys):
    run = _run_folder(tmp_path)
    out = tmp_path / "themes.xlsx"
    assert cli_export(argparse.Namespace(tables=str(run), format="xlsx", out=str(out))) == 0
    assert "Wrote 6 tables" in capsys.readouterr().out
    readme = pd.read_excel(out, sheet_name="README", header=None).astype(str)
    assert "2026-01-02T03:04:05+00:00" in set(readme.to_numpy().ravel())

    qdpx = tmp_path / "themes.qdpx"
    assert (
        cli_export(argparse.Namespace(tables=str(run / "tables"), format="qdpx", out=str(qdpx)))
        == 0
    )
    printed = capsys.readouterr().out
    assert "2 sources" in printed and "1 passage(s) withheld" in printed
    _, root, _, _ = _read_qdpx(qdpx)
    assert root.get("creationDateTime") == "2026-01-02T03:04:05Z"

    folder = tmp_path / "csv"
    assert cli_export(argparse.Namespace(tables=str(run), format="csv", out=str(folder))) == 0
    assert (folder / "mentions.csv").is_file() and (folder / "run_manifest.json").is_file()


def test_cli_export_errors_are_one_line(tmp_path):
    with pytest.raises(ThemesError, match="no such folder") as error:
        cli_export(argparse.Namespace(tables=str(tmp_path / "nope"), format="csv", out="x"))
    assert "\n" not in str(error.value)
    run = _run_folder(tmp_path, with_mentions=False)
    with pytest.raises(ThemesError, match="no mentions.parquet") as error:
        cli_export(argparse.Namespace(tables=str(run), format="qdpx", out=str(tmp_path / "p.qdpx")))
    assert "\n" not in str(error.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ThemesError, match="no Parquet tables"):
        cli_export(argparse.Namespace(tables=str(empty), format="csv", out=str(tmp_path / "o")))
