"""The notebooks stay thin and testable (STYLE.md, "Notebooks").

They are committed with outputs so nbval can compare them, run on the project kernel, import
the ``themes`` package instead of defining logic of their own, and ignore outputs only where the
output is inherently volatile.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "safeguarding-themes"
MAX_DEFINITION_LINES = 3
MAX_IGNORED_SHARE = 0.20
IMPORTS_THEMES = re.compile(r"^\s*(import themes\b|from themes(\.\w+)* import\b)", re.MULTILINE)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _python(source: str) -> str:
    """Cell source with IPython magics and shell escapes blanked (line numbers kept)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d{2}-[a-z0-9-]+\.ipynb", path.name), (
            f"{path.name}: name as NN-topic.ipynb"
        )
    assert (NOTEBOOK_DIR / "sanitize.cfg").is_file(), "nbval needs notebooks/sanitize.cfg"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_project_kernel(path):
    spec = _load(path)["metadata"].get("kernelspec", {})
    assert spec.get("name") == KERNEL, f"{path.name}: kernelspec name is {spec.get('name')!r}"
    assert KERNEL in spec.get("display_name", ""), (
        f"{path.name}: display_name {spec.get('display_name')!r}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_with_outputs(path):
    cells = _code_cells(_load(path))
    assert cells, f"{path.name} has no code cells"
    unexecuted = [i for i, cell in enumerate(cells) if cell.get("execution_count") is None]
    assert not unexecuted, (
        f"{path.name}: code cells {unexecuted} were never executed; run nbconvert --execute"
    )
    counts = [cell["execution_count"] for cell in cells]
    assert counts == sorted(counts), f"{path.name}: cells were executed out of order {counts}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_themes(path):
    sources = [_source(cell) for cell in _code_cells(_load(path))]
    assert any(IMPORTS_THEMES.search(s) for s in sources), f"{path.name} does not import themes"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_defines_no_logic(path):
    for index, cell in enumerate(_code_cells(_load(path))):
        tree = ast.parse(_python(_source(cell)), filename=f"{path.name}[{index}]")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_DEFINITION_LINES, (
                    f"{path.name} code cell {index} defines {node.name!r} over {length} lines: "
                    "move it into the themes package"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_compares_most_outputs_and_skips_nothing(path):
    sources = [_source(cell) for cell in _code_cells(_load(path))]
    ignored = sum("NBVAL_IGNORE_OUTPUT" in s for s in sources)
    assert ignored <= MAX_IGNORED_SHARE * len(sources), (
        f"{path.name}: {ignored} of {len(sources)} code cells ignore their output; "
        "sanitise volatile text instead"
    )
    skipped = [i for i, s in enumerate(sources) if "NBVAL_SKIP" in s]
    assert not skipped, f"{path.name}: cells {skipped} are skipped; shrink the work for CI instead"
