"""An unchanged re-run reuses stage outputs; any changed input recomputes what depends on it."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from themes import config
from themes.pipeline import RunConfig, run_pipeline
from themes.stage_cache import StageCache, frame_digest, stage_key
from themes.synthetic import build_corpus


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stage-cache-corpus")
    build_corpus(folder, n_reviews=3, seed=5, formats="pdf,txt")
    return folder


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("THEMES_CACHE_DIR", str(folder))
    config.settings.cache_clear()
    yield folder
    config.settings.cache_clear()


def _run(corpus, out, **kw):
    result = run_pipeline(RunConfig(source=str(corpus), out=str(out), **kw))
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    return result, manifest


def _tables(out):
    names = ("mentions", "report_themes", "recommendations_tagged")
    return {n: pd.read_parquet(out / "tables" / f"{n}.parquet") for n in names}


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_unchanged_rerun_reuses_every_stage_with_identical_outputs(
    small_corpus, cache_dir, tmp_path
):
    first, m1 = _run(small_corpus, tmp_path / "a")
    assert first.reused == {} and m1["stages_reused_from_cache"] == {}
    second, m2 = _run(small_corpus, tmp_path / "b")
    assert set(second.reused) == {"tag", "trends", "summary"}
    assert m2["stages_reused_from_cache"] == second.reused
    for name, table in _tables(tmp_path / "a").items():
        pd.testing.assert_frame_equal(table, _tables(tmp_path / "b")[name])
    assert _files(tmp_path / "a" / "trends") == _files(tmp_path / "b" / "trends")
    assert _files(tmp_path / "a" / "summary") == _files(tmp_path / "b" / "summary")
    pd.testing.assert_frame_equal(
        first.tagged.report_themes, second.tagged.report_themes, check_dtype=False
    )

    # A trends setting recomputes trends, not tagging.
    third, _ = _run(small_corpus, tmp_path / "c", min_n=2)
    assert "tag" in third.reused and "trends" not in third.reused

    # A spaCy pipeline under the rule matcher is a tagging input: tagging runs again, and the
    # run manifest names the pipeline.
    import spacy

    pipeline = tmp_path / "pipeline"
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(pipeline)
    fourth, m4 = _run(small_corpus, tmp_path / "d", spacy_model=str(pipeline))
    assert "tag" not in fourth.reused
    assert m4["config"]["spacy_model"] == str(pipeline)


def test_no_cache_switches_every_stage_cache_off(cache_dir):
    from themes.pipeline import _stage_cache

    assert _stage_cache(RunConfig(source="x", out="y", cache=False)).root is None
    assert _stage_cache(RunConfig(source="x", out="y")).root == cache_dir.resolve() / "stages"


def test_a_half_written_entry_is_never_trusted(tmp_path):
    cache = StageCache(tmp_path / "stages")
    key = stage_key("tag", {"x": 1})
    (tmp_path / "stages" / "tag" / key).mkdir(parents=True)
    (tmp_path / "stages" / "tag" / key / "mentions.parquet").write_bytes(b"partial")
    assert not cache.restore("tag", key, tmp_path / "out")


def test_store_then_restore_round_trips_files(tmp_path):
    src = tmp_path / "src"
    (src / "figures").mkdir(parents=True)
    (src / "a.csv").write_text("x\n1\n")
    (src / "figures" / "f.png").write_bytes(b"\x89PNG")
    cache = StageCache(tmp_path / "stages")
    cache.store("trends", "k" * 64, [src / "a.csv", src / "figures" / "f.png"], src)
    assert cache.restore("trends", "k" * 64, tmp_path / "dest")
    assert _files(tmp_path / "dest") == _files(src)
    assert not StageCache(None).restore("trends", "k" * 64, tmp_path / "nowhere")


def test_keys_change_with_any_input():
    base = {"corpus": "abc", "codebook": "1", "config": {"min_n": 3}}
    assert stage_key("tag", base) == stage_key("tag", dict(base))
    assert stage_key("tag", base) != stage_key("trends", base)
    assert stage_key("tag", base) != stage_key("tag", {**base, "config": {"min_n": 2}})


def test_frame_digest_sees_values_order_and_lists():
    frame = pd.DataFrame({"a": ["x", "y"], "b": [["r1"], []], "c": [1, 2]})
    same = frame.copy()
    assert frame_digest(frame) == frame_digest(same)
    assert frame_digest(frame) != frame_digest(frame.iloc[::-1])
    changed = frame.copy()
    changed.at[1, "b"] = ["r2"]
    assert frame_digest(frame) != frame_digest(changed)
    assert frame_digest(frame, ["a"]) != frame_digest(frame, ["a", "c"])
