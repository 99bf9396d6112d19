"""Fuzz the whole loader with mutated report bytes: it records errors, it never crashes."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from themes.corpus import load_corpus
from themes.synthetic import build_corpus


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzzseed")
    build_corpus(folder, n_reviews=3, seed=5, formats="pdf,docx,html")
    return {p.suffix: p.read_bytes() for p in (folder / "reports").iterdir()}


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rnd.randint(1, 12)):
        op = rnd.random()
        pos = rnd.randrange(len(data)) if data else 0
        if op < 0.4 and data:
            data[pos] = rnd.randrange(256)
        elif op < 0.7 and data:
            del data[pos : pos + rnd.randint(1, 64)]
        else:
            data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 32)))
    if rnd.random() < 0.3:
        data = data[: rnd.randrange(len(data) + 1)]
    return bytes(data)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([".pdf", ".docx", ".html"]),
    st.sampled_from([".pdf", ".docx", ".html", ".txt", ".bin"]),
)
def test_mutated_files_never_crash_the_loader(seeds, tmp_path_factory, seed, source, suffix):
    folder = tmp_path_factory.mktemp("fuzz")
    rnd = random.Random(seed)
    (folder / f"mutant{suffix}").write_bytes(_mutate(seeds[source], rnd))
    (folder / f"intact{source}").write_bytes(seeds[source])
    loaded = load_corpus(folder, cache_dir=None, show_progress=False)
    assert f"intact{source}" in set(loaded.reports["source_file"])
    outcomes = set(loaded.reports["source_file"]) | set(loaded.errors["source_file"])
    assert f"mutant{suffix}" in outcomes
    assert not (loaded.errors["error_type"] == "unexpected").any(), loaded.errors.to_dict("records")
