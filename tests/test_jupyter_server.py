"""A Jupyter server on loopback lists the notebooks and offers the project's kernel."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, token = _free_port(), secrets.token_hex(16)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(runtime)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={ROOT / 'notebooks'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("Jupyter server did not start on loopback within 30 s")
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=20)


def _get(server, path):
    base, token = server
    with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=10) as response:
        return json.loads(response.read())


def test_the_server_lists_every_committed_notebook(server):
    listed = {item["name"] for item in _get(server, "/api/contents")["content"]}
    expected = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert expected <= listed


def test_the_project_kernel_is_offered(server):
    specs = _get(server, "/api/kernelspecs")["kernelspecs"]
    assert "safeguarding-themes" in specs
    assert specs["safeguarding-themes"]["spec"]["language"] == "python"
