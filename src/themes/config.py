"""Paths and defaults in one place.

Paths are anchored to the project root (the folder holding ``pyproject.toml`` and ``corpus/``) or to
explicit arguments, never to the current directory. Environment variables are read here and only
here:

``THEMES_HOME``
    Project root to use when the package is installed outside a checkout.
``THEMES_OUTPUT_DIR``
    Where derived outputs go (default ``<root>/build``).
``THEMES_CACHE_DIR``
    Where the parse cache lives (default ``<output_dir>/cache``).
``THEMES_N_JOBS``
    Default number of parallel workers (default 1).
``THEMES_CI_SMALL``
    ``1`` shrinks heavy work (topic modelling) for CI; nothing is skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from themes.errors import ThemesError

_PACKAGE_DIR = Path(__file__).resolve().parent


def _find_project_root() -> Path | None:
    for candidate in (_PACKAGE_DIR.parent.parent, *_PACKAGE_DIR.parents):
        if (candidate / "pyproject.toml").is_file() and (candidate / "corpus").is_dir():
            return candidate
    return None


def _env_flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Resolved defaults for paths and run-time switches.

    Attributes:
        root: Project root; ``None`` when the package runs outside a checkout without THEMES_HOME.
        output_dir: Folder for all derived outputs.
        cache_dir: Folder for the parse cache.
        n_jobs: Default parallel workers for loaders and taggers.
        ci_small: Shrink heavy work for CI runs.
        package_dir: The installed ``themes`` package folder (packaged data lives here).
    """

    root: Path | None
    output_dir: Path
    cache_dir: Path
    n_jobs: int = 1
    ci_small: bool = False
    package_dir: Path = field(default=_PACKAGE_DIR)

    @property
    def corpus_dir(self) -> Path:
        """The bundled corpus folder (requires a checkout or THEMES_HOME)."""
        return self._under_root("corpus")

    @property
    def models_dir(self) -> Path:
        """The folder of trained artifacts (requires a checkout or THEMES_HOME)."""
        return self._under_root("models")

    @property
    def fresh_eval_dir(self) -> Path:
        """Labelled texts written fresh for evaluation, outside the corpus: ``evaluation/fresh``."""
        return self._under_root("evaluation") / "fresh"

    @property
    def codebook_path(self) -> Path:
        """The codebook packaged with ``themes``."""
        return self.package_dir / "data" / "codebook.yaml"

    def _under_root(self, name: str) -> Path:
        if self.root is None:
            raise ThemesError(
                f"cannot find the project's {name}/ folder: run inside a safeguarding-themes "
                "checkout or set THEMES_HOME to one"
            )
        return self.root / name

    def with_overrides(self, **changes) -> Settings:
        """Return a copy with some fields replaced (settings objects are immutable)."""
        return replace(self, **changes)


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from environment variables (the only place they are read)."""
    env = os.environ if environ is None else environ
    root = Path(env["THEMES_HOME"]).resolve() if env.get("THEMES_HOME") else _find_project_root()
    default_out = (root / "build") if root else Path.home() / ".cache" / "safeguarding-themes"
    output_dir = (
        Path(env["THEMES_OUTPUT_DIR"]).resolve() if env.get("THEMES_OUTPUT_DIR") else default_out
    )
    cache_dir = (
        Path(env["THEMES_CACHE_DIR"]).resolve()
        if env.get("THEMES_CACHE_DIR")
        else output_dir / "cache"
    )
    try:
        n_jobs = int(env.get("THEMES_N_JOBS", "1"))
    except ValueError:
        raise ThemesError(
            f"THEMES_N_JOBS must be a whole number, got {env['THEMES_N_JOBS']!r}"
        ) from None
    if n_jobs == 0 or n_jobs < -1:
        raise ThemesError(f"THEMES_N_JOBS must be -1 (all cores) or at least 1, got {n_jobs}")
    return Settings(
        root=root,
        output_dir=output_dir,
        cache_dir=cache_dir,
        n_jobs=n_jobs,
        ci_small=_env_flag(env.get("THEMES_CI_SMALL")) or _env_flag(env.get("CI")),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Process-wide settings, read once from the environment."""
    return settings_from_env()
