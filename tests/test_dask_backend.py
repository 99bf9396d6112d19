"""The same pipeline on a dask.distributed cluster gives identical results.

The cluster is a LocalCluster on loopback.
"""

from __future__ import annotations

import pandas as pd
import pytest

from themes.corpus import load_corpus
from themes.errors import ThemesError
from themes.parallel import parallel_backend
from themes.synthetic import build_corpus


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask")
    build_corpus(folder, n_reviews=4, seed=21, formats="pdf,docx,html,txt")
    return folder


@pytest.mark.slow
def test_loading_on_a_dask_cluster_matches_a_single_process(cluster, small_corpus):
    local = load_corpus(small_corpus, n_jobs=1, cache_dir=None, show_progress=False)
    with parallel_backend("dask", scheduler=cluster.scheduler_address) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        distributed = load_corpus(small_corpus, n_jobs=-1, cache_dir=None, show_progress=False)
    pd.testing.assert_frame_equal(local.reports, distributed.reports)
    pd.testing.assert_frame_equal(local.passages, distributed.passages)
    pd.testing.assert_frame_equal(local.errors, distributed.errors)


def test_dask_backend_needs_a_scheduler():
    with pytest.raises(ThemesError, match="--scheduler"):
        with parallel_backend("dask"):
            pass


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ThemesError, match="cannot reach"):
        with parallel_backend("dask", scheduler="tcp://127.0.0.1:9", connect_timeout="1s"):
            pass


def test_unknown_backend_is_rejected():
    with pytest.raises(ThemesError, match="unknown backend"):
        with parallel_backend("spark"):
            pass


@pytest.mark.slow
def test_the_whole_run_on_a_dask_cluster_matches_a_single_process(cluster, small_corpus, tmp_path):
    from themes.pipeline import RunConfig, run_pipeline

    common = dict(source=str(small_corpus), cache=False)
    local = run_pipeline(RunConfig(out=str(tmp_path / "local"), n_jobs=1, **common))
    on_cluster = run_pipeline(
        RunConfig(
            out=str(tmp_path / "dask"),
            backend="dask",
            scheduler=cluster.scheduler_address,
            **common,
        )
    )
    for name in ("reports", "passages", "mentions", "report_themes", "recommendations_tagged"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "local" / "tables" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "dask" / "tables" / f"{name}.parquet"),
        )
    assert len(on_cluster.tagged.mentions) == len(local.tagged.mentions) > 0
    for table in ("trend_tests.csv", "prevalence_by_year.csv", "cooccurrence.csv"):
        assert (tmp_path / "local" / "trends" / table).read_bytes() == (
            tmp_path / "dask" / "trends" / table
        ).read_bytes()
