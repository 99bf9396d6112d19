"""The corpus loader: accuracy on the bundled corpus, provenance, determinism, cache, bad input."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from themes import corpus as corpus_module
from themes.cli import main
from themes.config import settings
from themes.corpus import Corpus, load_corpus
from themes.loader_eval import evaluate_loader
from themes.synthetic import build_corpus

BUNDLED = settings().corpus_dir
NO_MANIFEST = pd.DataFrame(columns=["file"])


@pytest.fixture(scope="module")
def bundled_without_manifest() -> Corpus:
    return load_corpus(BUNDLED, manifest=NO_MANIFEST, cache_dir=None, show_progress=False)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    build_corpus(folder, n_reviews=4, seed=11, formats="pdf,docx,html,txt,md")
    return folder


def test_loader_meets_the_accuracy_bar_on_the_bundled_corpus(bundled_without_manifest):
    scores = evaluate_loader(bundled_without_manifest, BUNDLED)
    assert scores["n_loaded"] == scores["n_documents"]
    assert scores["section_accuracy"] >= 0.95
    assert scores["passage_recall"] >= 0.98
    assert scores["header_footer_leak_rate"] < 0.005
    assert scores["grouping_accuracy"] == 1.0
    for field, accuracy in scores["metadata_accuracy"].items():
        assert accuracy >= 0.95, field


def test_tables_follow_the_documented_contract(bundled_without_manifest):
    c = bundled_without_manifest
    assert list(c.reports.columns) == corpus_module.REPORT_COLUMNS
    assert list(c.passages.columns) == corpus_module.PASSAGE_COLUMNS
    assert list(c.recommendations.columns) == corpus_module.RECOMMENDATION_COLUMNS
    assert list(c.errors.columns) == corpus_module.ERROR_COLUMNS
    assert c.passages["passage_id"].is_unique
    assert set(c.passages["section_type"]) <= set(corpus_module_section_types())
    assert (c.passages["char_end"] > c.passages["char_start"]).all()
    n_reviews = pd.read_csv(BUNDLED / "manifest.csv")["review_id"].nunique()
    assert c.reports["review_id"].nunique() == n_reviews
    assert len(c.primary_reports()) == n_reviews


def corpus_module_section_types():
    from themes.segment import SECTION_TYPES

    return SECTION_TYPES


def test_passage_offsets_index_the_cleaned_text(bundled_without_manifest):
    passages = bundled_without_manifest.passages
    for _, group in passages.groupby("report_id"):
        cleaned = "\n\n".join(group["text"])
        for row in group.itertuples():
            assert cleaned[row.char_start : row.char_end] == row.text


def test_manifest_overrides_extraction_and_records_the_source(small_corpus):
    manifest = pd.read_csv(small_corpus / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[0, "partnership"] = "Overridden Partnership"
    manifest = manifest.drop(columns=["child_sex"])
    loaded = load_corpus(small_corpus, manifest=manifest, cache_dir=None, show_progress=False)
    row = loaded.reports.set_index("source_file").loc[manifest.loc[0, "file"]]
    assert row["partnership"] == "Overridden Partnership"
    assert row["partnership_source"] == "manifest"
    assert row["child_sex_source"] in {"extracted", "missing"}
    assert row["report_id"] == manifest.loc[0, "report_id"]
    assert row["review_id"] == manifest.loc[0, "review_id"]


def test_a_folder_without_manifest_loads_with_extracted_metadata(small_corpus, tmp_path):
    folder = tmp_path / "downloads"
    shutil.copytree(small_corpus / "reports", folder)
    loaded = load_corpus(folder, cache_dir=None, show_progress=False)
    assert len(loaded.reports) == len(list(folder.iterdir()))
    assert (loaded.reports["nation_source"] == "extracted").all()
    assert loaded.reports["review_id"].str.startswith("rv-").all()


def test_results_are_identical_for_any_n_jobs(small_corpus):
    one = load_corpus(small_corpus, n_jobs=1, cache_dir=None, show_progress=False)
    two = load_corpus(small_corpus, n_jobs=2, cache_dir=None, show_progress=False)
    pd.testing.assert_frame_equal(one.reports, two.reports)
    pd.testing.assert_frame_equal(one.passages, two.passages)


def test_cache_reparses_only_changed_files(small_corpus, tmp_path, monkeypatch):
    folder = tmp_path / "c"
    shutil.copytree(small_corpus, folder)
    cache = tmp_path / "cache"
    first = load_corpus(folder, cache_dir=cache, show_progress=False)
    calls = []
    original = corpus_module.parse_file
    monkeypatch.setattr(
        corpus_module,
        "parse_file",
        lambda path, name=None: calls.append(path) or original(path, name),
    )
    second = load_corpus(folder, cache_dir=cache, show_progress=False)
    assert calls == []
    pd.testing.assert_frame_equal(first.passages, second.passages)
    txt = next((folder / "reports").glob("*.txt"))
    txt.write_text(
        txt.read_text(encoding="utf-8")
        + "\n\n99.1 An added paragraph about nothing in particular.\n",
        encoding="utf-8",
    )
    load_corpus(folder, cache_dir=cache, show_progress=False)
    assert [p for p in calls] == [str(txt)]


def test_an_unchanged_corpus_is_read_back_whole_and_identical(small_corpus, tmp_path, monkeypatch):
    folder = tmp_path / "c"
    shutil.copytree(small_corpus, folder)
    cache = tmp_path / "cache"
    first = load_corpus(folder, cache_dir=cache, show_progress=False)
    entries = [p for p in (cache / "assembled").iterdir() if not p.name.startswith(".")]
    assert len(entries) == 1 and (entries[0] / ".complete").is_file()
    calls = []
    original = corpus_module._cached_parse
    monkeypatch.setattr(corpus_module, "_cached_parse", lambda *a: calls.append(a) or original(*a))
    second = load_corpus(folder, cache_dir=cache, show_progress=False)
    assert calls == []  # no per-file work at all
    for name in ("reports", "passages", "recommendations", "errors"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    # Another manifest is another corpus: assembled again (from the per-file parse cache).
    load_corpus(folder, manifest=NO_MANIFEST, cache_dir=cache, show_progress=False)
    assert calls
    assert len([p for p in (cache / "assembled").iterdir() if not p.name.startswith(".")]) == 2


def test_a_half_written_assembled_entry_is_not_trusted(small_corpus, tmp_path):
    folder = tmp_path / "c"
    shutil.copytree(small_corpus, folder)
    cache = tmp_path / "cache"
    first = load_corpus(folder, cache_dir=cache, show_progress=False)
    (entry,) = [p for p in (cache / "assembled").iterdir() if not p.name.startswith(".")]
    (entry / ".complete").unlink()
    (entry / "passages.parquet").write_bytes(b"not parquet")
    again = load_corpus(folder, cache_dir=cache, show_progress=False)
    pd.testing.assert_frame_equal(first.passages, again.passages)


def _bad_folder(tmp_path, good_source):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted((good_source / "reports").glob("*.pdf"))[0]
    shutil.copy(good, folder / "good.pdf")
    shutil.copy(good, folder / "same-again.pdf")
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "truncated.pdf").write_bytes(good.read_bytes()[:2000])
    (folder / "notes.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    (folder / "latin1.txt").write_bytes(
        "1 Introduction\n\n1.1 The review cost \xa3200 and was \x93delayed\x94.\n".encode("latin-1")
    )
    return folder


def test_bad_files_become_error_rows_and_the_batch_goes_on(small_corpus, tmp_path):
    folder = _bad_folder(tmp_path, small_corpus)
    loaded = load_corpus(folder, cache_dir=None, show_progress=False)
    assert set(loaded.reports["source_file"]) == {"good.pdf", "latin1.txt"}
    errors = loaded.errors.set_index("source_file")
    assert errors.loc["same-again.pdf", "error_type"] == "duplicate_file"
    assert errors.loc["empty.pdf", "error_type"] == "empty_file"
    assert errors.loc["truncated.pdf", "error_type"] == "corrupt_pdf"
    assert errors.loc["notes.xlsx", "error_type"] == "unsupported_format"
    for row in loaded.errors.itertuples():
        assert row.message, row


def test_ingest_cli_writes_tables_and_exits_non_zero_only_when_asked(
    small_corpus, tmp_path, capsys
):
    folder = _bad_folder(tmp_path, small_corpus)
    assert main(["ingest", str(folder), "--out", str(tmp_path / "t"), "--no-cache"]) == 0
    assert (tmp_path / "t" / "passages.parquet").is_file()
    assert Corpus.read(tmp_path / "t").errors["source_file"].nunique() >= 4
    assert (
        main(["ingest", str(folder), "--out", str(tmp_path / "t2"), "--no-cache", "--strict"]) != 0
    )
    assert main(["ingest", str(tmp_path / "does-not-exist"), "--out", str(tmp_path / "t3")]) == 2
    err = capsys.readouterr().err
    assert "does-not-exist" in err and "Traceback" not in err


def test_ingest_cli_fails_when_nothing_loads(tmp_path, capsys):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"%PDF-1.4 garbage")
    assert main(["ingest", str(folder), "--out", str(tmp_path / "o"), "--no-cache"]) == 2
    assert "no report could be loaded" in capsys.readouterr().err


def test_review_grouping_does_not_key_on_the_child_letter(small_corpus):
    loaded = load_corpus(small_corpus, manifest=NO_MANIFEST, cache_dir=None, show_progress=False)
    same_letter = loaded.reports.assign(letter=loaded.reports["child_pseudonym"])
    for _, group in same_letter.groupby("letter"):
        if group["partnership"].nunique() > 1:
            assert group["review_id"].nunique() > 1
