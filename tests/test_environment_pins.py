"""pyproject.toml, requirements.txt, environment.yml and the Makefile must agree on every pin.

conda cannot run on this project's machines, so environment.yml is checked by content here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
FORBIDDEN = re.compile(
    r"^(torch|torchvision|torchaudio|triton|sentence-transformers|nvidia-.*|.*cuda.*)$"
)


def norm(name: str) -> str:
    """PEP 503 normalisation: case-insensitive, runs of - _ . are the same."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(lines: list[str], where: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lines:
        match = PIN.match(line.strip())
        assert match, f"{where}: {line!r} is not an exact 'name==version' pin"
        name = norm(match.group(1))
        assert name not in pins, f"{where}: {match.group(1)} is listed twice"
        pins[name] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pyproject_pins(pyproject) -> dict[str, str]:
    project = pyproject["project"]
    return parse_pins(
        project["dependencies"] + project["optional-dependencies"]["dev"], "pyproject.toml"
    )


@pytest.fixture(scope="module")
def requirement_lines() -> list[str]:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]


@pytest.fixture(scope="module")
def lock_pins(requirement_lines) -> dict[str, str]:
    return parse_pins(requirement_lines, "requirements.txt")


@pytest.fixture(scope="module")
def env_text() -> str:
    return (ROOT / "environment.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def env(env_text) -> dict:
    data = yaml.safe_load(env_text)
    assert isinstance(data, dict), "environment.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def env_pip(env) -> list[str]:
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one 'pip:' section"
    return [str(item) for item in pip_sections[0]]


@pytest.fixture(scope="module")
def env_pins(env_pip) -> dict[str, str]:
    return parse_pins([s for s in env_pip if not s.startswith("-")], "environment.yml")


def test_environment_yml_header(env):
    assert env["name"] == "safeguarding-themes"
    assert env["channels"] == ["conda-forge", "nodefaults"]
    conda_deps = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda_deps
    assert "pip" in conda_deps


def test_environment_yml_python_matches_requires_python(env, pyproject):
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minor = python.split("=", 1)[1]
    assert f">={minor}" in pyproject["project"]["requires-python"]


def test_environment_yml_installs_the_project_editable(env_pip):
    assert env_pip.count("-e .") == 1
    others = [s for s in env_pip if s.startswith("-") and s != "-e ."]
    assert not others, f"unexpected pip options in environment.yml: {others}"


def test_environment_pip_section_is_exactly_the_direct_dependencies(env_pins, pyproject_pins):
    assert set(env_pins) == set(pyproject_pins), (
        f"only in environment.yml: {sorted(set(env_pins) - set(pyproject_pins))}; "
        f"only in pyproject.toml: {sorted(set(pyproject_pins) - set(env_pins))}"
    )


def test_every_environment_pin_matches_pyproject_and_lock(env_pins, pyproject_pins, lock_pins):
    for name, version in env_pins.items():
        assert pyproject_pins.get(name) == version, f"{name}: environment.yml {version}"
        assert lock_pins.get(name) == version, (
            f"{name}: environment.yml pins {version}, requirements.txt {lock_pins.get(name)}"
        )


def test_every_pyproject_dependency_is_locked_at_the_same_version(pyproject_pins, lock_pins):
    for name, version in pyproject_pins.items():
        assert name in lock_pins, f"{name} is in pyproject.toml but not in requirements.txt"
        assert lock_pins[name] == version, (
            f"{name}: pyproject.toml pins {version}, requirements.txt {lock_pins[name]}"
        )


def test_build_backend_is_locked_for_no_build_isolation(pyproject, lock_pins):
    # `make setup` installs the project with --no-build-isolation: the lock must hold the backend.
    build_pins = parse_pins(pyproject["build-system"]["requires"], "[build-system]")
    for name, version in build_pins.items():
        assert lock_pins.get(name) == version, f"build requirement {name}=={version} not locked"


def test_requirements_pins_every_line_exactly(requirement_lines):
    bad = [line for line in requirement_lines if not PIN.match(line)]
    assert not bad, f"requirements.txt lines without an exact '==' pin: {bad}"


def test_lock_never_pulls_cuda(lock_pins):
    forbidden = sorted(name for name in lock_pins if FORBIDDEN.match(name))
    assert not forbidden, f"requirements.txt must not contain {forbidden} (torch/CUDA)"


@pytest.mark.parametrize(
    "name", ["torch", "nvidia-cudnn-cu12", "cuda-python", "triton", "sentence_transformers"]
)
def test_forbidden_pattern_catches_cuda_names(name):
    # Guards the guard: the pattern must recognise the packages it is meant to keep out.
    assert FORBIDDEN.match(norm(name))


def test_bertopic_is_locked_and_documented_with_no_deps(env_text, env_pip, lock_pins):
    assert "bertopic" in lock_pins, "requirements.txt must lock bertopic"
    mentioned = set(re.findall(r"pip install --no-deps bertopic==(\S+)", env_text))
    assert mentioned, "environment.yml must tell users to 'pip install --no-deps bertopic==...'"
    assert mentioned == {lock_pins["bertopic"]}, (
        f"environment.yml says bertopic {sorted(mentioned)}, requirements.txt "
        f"{lock_pins['bertopic']}"
    )
    # An active entry would make conda's single pip run resolve sentence-transformers -> torch.
    assert not any(norm(s).startswith("bertopic") for s in env_pip)


def test_bertopic_is_not_a_pyproject_dependency(pyproject_pins):
    assert "bertopic" not in pyproject_pins
    assert "sentence-transformers" not in pyproject_pins


def _makefile_rules() -> dict[str, list[str]]:
    """Map each Makefile target (as written, e.g. '$(STAMP)') to its prerequisites and recipe."""
    rules: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip())
            continue
        current = None
        match = re.match(r"^([^\s:=#][^:=]*?):(?!=)(.*)$", line)
        if match:
            current = rules.setdefault(match.group(1).strip(), [])
            current.append(match.group(2).split("##")[0].strip())
    return rules


def test_makefile_setup_installs_the_lock_without_dependencies():
    rules = _makefile_rules()
    assert "setup" in rules
    recipe: list[str] = list(rules["setup"][1:])
    for prerequisite in rules["setup"][0].split():
        recipe += rules.get(prerequisite, [])[1:]
    installs = [line for line in recipe if "pip install" in line]
    lock_installs = [line for line in installs if "-r requirements.txt" in line]
    assert lock_installs, "make setup must install requirements.txt"
    assert all("--no-deps -r requirements.txt" in line for line in lock_installs)
    project_installs = [line for line in installs if "-e ." in line]
    assert project_installs, "make setup must install the project (editable)"
    assert all("--no-deps" in line for line in project_installs)


def test_makefile_lock_uses_the_locked_bertopic(lock_pins):
    rules = _makefile_rules()
    text = " ".join(rules.get("lock", []))
    assert f"--no-deps bertopic=={lock_pins['bertopic']}" in text
