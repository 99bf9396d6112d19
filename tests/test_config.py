"""Settings: root detection, environment variables, immutability."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import themes.config as config
from themes.config import Settings, settings_from_env
from themes.errors import ThemesError

CHECKOUT = Path(__file__).resolve().parents[1]


def test_root_is_the_checkout():
    s = settings_from_env({})
    assert s.root == CHECKOUT
    assert (s.root / "pyproject.toml").is_file()
    assert (s.root / "corpus").is_dir()
    assert s.corpus_dir == CHECKOUT / "corpus"
    assert s.models_dir == CHECKOUT / "models"
    assert s.output_dir == CHECKOUT / "build"
    assert s.cache_dir == CHECKOUT / "build" / "cache"


def test_defaults():
    s = settings_from_env({})
    assert s.n_jobs == 1
    assert s.ci_small is False
    assert s.package_dir == Path(config.__file__).resolve().parent
    assert s.codebook_path == s.package_dir / "data" / "codebook.yaml"


def test_themes_home_overrides_root(tmp_path):
    s = settings_from_env({"THEMES_HOME": str(tmp_path)})
    assert s.root == tmp_path.resolve()
    assert s.corpus_dir == tmp_path.resolve() / "corpus"
    assert s.output_dir == tmp_path.resolve() / "build"
    assert s.cache_dir == tmp_path.resolve() / "build" / "cache"


def test_output_dir_and_cache_dir(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "somewhere" / "cache"
    s = settings_from_env({"THEMES_OUTPUT_DIR": str(out)})
    assert s.output_dir == out.resolve()
    assert s.cache_dir == out.resolve() / "cache"
    assert s.root == CHECKOUT

    s = settings_from_env({"THEMES_OUTPUT_DIR": str(out), "THEMES_CACHE_DIR": str(cache)})
    assert s.output_dir == out.resolve()
    assert s.cache_dir == cache.resolve()


def test_n_jobs_from_env():
    assert settings_from_env({"THEMES_N_JOBS": "4"}).n_jobs == 4


@pytest.mark.parametrize("value", ["many", "2.5", ""])
def test_bad_n_jobs_names_the_variable(value):
    with pytest.raises(ThemesError, match="THEMES_N_JOBS") as info:
        settings_from_env({"THEMES_N_JOBS": value})
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CI": "true"}, True),
        ({"CI": "1"}, True),
        ({"THEMES_CI_SMALL": "1"}, True),
        ({"CI": "false"}, False),
        ({"THEMES_CI_SMALL": "0"}, False),
        ({}, False),
    ],
)
def test_ci_small(env, expected):
    assert settings_from_env(env).ci_small is expected


def test_reads_os_environ_when_no_mapping_given(monkeypatch, tmp_path):
    monkeypatch.setenv("THEMES_HOME", str(tmp_path))
    monkeypatch.setenv("THEMES_N_JOBS", "3")
    monkeypatch.delenv("THEMES_OUTPUT_DIR", raising=False)
    monkeypatch.delenv("THEMES_CACHE_DIR", raising=False)
    s = settings_from_env()
    assert s.root == tmp_path.resolve()
    assert s.n_jobs == 3


def test_paths_do_not_depend_on_working_directory(monkeypatch, tmp_path):
    before = settings_from_env({})
    monkeypatch.chdir(tmp_path)
    after = settings_from_env({})
    assert after == before
    assert after.root == CHECKOUT
    assert not after.output_dir.is_relative_to(tmp_path)


def test_outside_a_checkout_without_themes_home(monkeypatch, tmp_path):
    fake_package = tmp_path / "site-packages" / "themes"
    fake_package.mkdir(parents=True)
    monkeypatch.setattr(config, "_PACKAGE_DIR", fake_package)
    s = settings_from_env({})
    assert s.root is None
    assert s.output_dir == Path.home() / ".cache" / "safeguarding-themes"
    with pytest.raises(ThemesError, match="THEMES_HOME"):
        _ = s.corpus_dir


def test_settings_are_immutable():
    s = settings_from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_jobs = 8  # type: ignore[misc]


def test_with_overrides_returns_a_copy(tmp_path):
    s = settings_from_env({})
    changed = s.with_overrides(n_jobs=6, output_dir=tmp_path)
    assert isinstance(changed, Settings)
    assert changed is not s
    assert (changed.n_jobs, changed.output_dir) == (6, tmp_path)
    assert (s.n_jobs, s.output_dir) == (1, CHECKOUT / "build")
    assert changed.root == s.root and changed.cache_dir == s.cache_dir
    with pytest.raises(TypeError):
        s.with_overrides(no_such_field=1)
