"""The Jupyter kernel 'safeguarding-themes' ships with the package and is registered on install."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "safeguarding-themes"
SOURCE_SPEC = ROOT / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"


@pytest.fixture(scope="module")
def source_spec() -> dict:
    return json.loads(SOURCE_SPEC.read_text(encoding="utf-8"))


def test_kernel_json_is_valid(source_spec):
    assert source_spec["argv"][:3] == ["python", "-m", "ipykernel_launcher"]
    assert "{connection_file}" in source_spec["argv"]
    assert source_spec["language"] == "python"
    assert KERNEL in source_spec["display_name"]


def test_kernel_json_is_shipped_by_the_wheel():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shared = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared.get(f"share/jupyter/kernels/{KERNEL}") == f"share/jupyter/kernels/{KERNEL}"


def test_installing_the_package_registered_the_kernel(source_spec):
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    assert KERNEL in specs, f"kernel not registered; found {sorted(specs)}"
    installed = Path(specs[KERNEL]).resolve()
    expected = (Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL).resolve()
    assert installed == expected, f"{KERNEL} comes from {installed}, not this environment"
    installed_spec = json.loads((installed / "kernel.json").read_text(encoding="utf-8"))
    assert installed_spec == source_spec, "installed kernel.json is stale: run 'make setup' again"
