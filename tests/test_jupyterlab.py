"""Smoke test: `jupyter lab` starts, serves the course and the widgets extension, and stops."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = sorted((ROOT / "notebooks").glob("*.ipynb"))[0].name
STARTUP_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("jupyter")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_DATA_DIR": str(home / "data"),
    }
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (home / "lab.log").open("w+")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read()[-3000:]}")
        try:
            if _get(f"{base}/api/status", token)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"jupyter lab did not answer within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.5)
    yield base, token, process
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def test_api_requires_the_token(lab):
    base, _, _ = lab
    assert _get(f"{base}/api/status", None)[0] == 403


def test_lab_page_lists_the_widgets_extension(lab):
    base, token, _ = lab
    status, body = _get(f"{base}/lab", token)
    assert status == 200
    match = re.search(
        rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S
    )
    assert match, "the /lab page carries no jupyter-config-data"
    config = json.loads(match.group(1))
    names = {extension["name"] for extension in config["federated_extensions"]}
    assert "@jupyter-widgets/jupyterlab-manager" in names, sorted(names)


def test_course_notebook_opens_through_the_contents_api(lab):
    base, token, _ = lab
    status, body = _get(f"{base}/api/contents/{NOTEBOOK}?content=1", token)
    assert status == 200
    model = json.loads(body)
    assert model["type"] == "notebook" and model["name"] == NOTEBOOK
    assert model["content"]["cells"], "the notebook has no cells"
    status, body = _get(f"{base}/api/kernelspecs", token)
    assert status == 200 and "python3" in json.loads(body)["kernelspecs"]


def test_shuts_down_cleanly(lab):
    base, token, process = lab
    assert _get(f"{base}/api/shutdown", token, method="POST")[0] in (200, 204)
    assert process.wait(timeout=30) == 0
