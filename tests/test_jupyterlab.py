"""Smoke test: `jupyter lab`, configured as `make lab` configures it, starts, serves the course
with the widgets extension and the course's quiet defaults, and stops. (The browser test,
tests/test_browser.py, looks at the same server through Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from tests.jupyterlab_server import http, running_lab
from tools.execute import kernelspec

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with running_lab(tmp_path_factory.mktemp("jupyter"), ROOT / "notebooks") as lab:
        yield lab


def _page_config(lab) -> dict:
    status, body = http(lab.url("/lab"), lab.token)
    assert status == 200
    match = re.search(
        rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S
    )
    assert match, "the /lab page carries no jupyter-config-data"
    return json.loads(match.group(1))


def test_api_requires_the_token(lab):
    assert http(lab.url("/api/status"), None)[0] == 403


def test_lab_page_lists_the_widgets_extension(lab):
    config = _page_config(lab)
    names = {extension["name"] for extension in config["federated_extensions"]}
    assert "@jupyter-widgets/jupyterlab-manager" in names, sorted(names)
    # nbgrader's buttons and menus are for instructors' own courses (docs/instructors.md)
    if "@jupyter/nbgrader" in names:
        assert "@jupyter/nbgrader" in config["disabledExtensions"]


def test_course_settings_keep_the_first_screen_quiet(lab):
    """No "Would you like to get notified about official Jupyter news?" prompt, and no
    update check: the defaults shipped in jupyter/lab/settings/overrides.json."""
    plugin = "@jupyterlab/apputils-extension:notification"
    status, body = http(lab.url(f"/lab/api/settings/{plugin}"), lab.token)
    assert status == 200
    defaults = {k: v["default"] for k, v in json.loads(body)["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_kernelspec_is_what_jupyterlab_writes(path):
    """Otherwise JupyterLab rewrites it when the kernel starts and the notebook opens as
    modified (●): `python -m tools.execute` writes it."""
    assert nbformat.read(path, as_version=4).metadata.get("kernelspec") == kernelspec()


def test_course_notebook_opens_through_the_contents_api(lab):
    name = NOTEBOOKS[0].name
    status, body = http(lab.url(f"/api/contents/{name}?content=1"), lab.token)
    assert status == 200
    model = json.loads(body)
    assert model["type"] == "notebook" and model["name"] == name
    assert model["content"]["cells"], "the notebook has no cells"
    status, body = http(lab.url("/api/kernelspecs"), lab.token)
    assert status == 200 and "python3" in json.loads(body)["kernelspecs"]


def test_shuts_down_cleanly(lab):
    assert http(lab.url("/api/shutdown"), lab.token, method="POST")[0] in (200, 204)
    assert lab.process.wait(timeout=30) == 0
