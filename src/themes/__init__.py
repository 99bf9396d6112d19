"""safeguarding-themes: cross-review thematic analysis of child safeguarding case reviews.

The canonical flow::

    import themes
    corpus = themes.load_corpus(themes.settings().corpus_dir)
    tagged = themes.tag_corpus(corpus)
    run = themes.ensure_run()        # or the whole pipeline, cached, for notebooks

Heavy modules are imported lazily so ``import themes`` stays fast and the CLI starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

from themes.config import Settings, settings
from themes.errors import ThemesError

__version__ = "0.1.0"

# Public name -> module that defines it. Resolved on first attribute access (PEP 562).
_LAZY = {
    "load_corpus": "themes.corpus",
    "Corpus": "themes.corpus",
    "load_codebook": "themes.codebook",
    "Codebook": "themes.codebook",
    "tag_corpus": "themes.corpus_tagging",
    "ensure_run": "themes.explore",
    "run_pipeline": "themes.pipeline",
    "RunConfig": "themes.pipeline",
    "tag_texts": "themes.tagging",
    "prevalence_by_year": "themes.trends",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'themes' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["Settings", "ThemesError", "__version__", "settings", *_LAZY]
