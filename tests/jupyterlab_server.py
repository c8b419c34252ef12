"""Start the course's JupyterLab for a test, as `make lab` starts it, for a brand-new user.

The server listens on 127.0.0.1 with a random token, reads the course's configuration from
``jupyter/`` (JUPYTER_CONFIG_PATH, as `make lab` sets it), and keeps every per-user file
(settings, workspaces, runtime, data) in a temporary home, so that nothing the user or the
test does is written into the repository or read from the machine's own ~/.jupyter.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 120


@dataclass(frozen=True)
class Lab:
    base: str
    token: str
    process: subprocess.Popen
    log: Path

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, token: str | None, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def lab_environment(home: Path) -> dict[str, str]:
    """The environment of `make lab`, with a new user's home in ``home``."""
    bin_dir = str(Path(sys.executable).parent)  # the kernel's `python` comes from PATH
    return {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    }


def write_user_settings(home: Path, plugin: str, values: dict) -> None:
    """A user setting, as JupyterLab saves it when the user changes one (e.g. no autosave)."""
    package, name = plugin.split(":")
    path = home / "settings" / package / f"{name}.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


@contextmanager
def running_lab(home: Path, root_dir: Path, *extra: str) -> Iterator[Lab]:
    """`jupyter lab` serving ``root_dir``; stopped (kernels included) on exit."""
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", *extra,
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "lab.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            command, env=lab_environment(home), stdout=log, stderr=subprocess.STDOUT
        )
        lab = Lab(f"http://127.0.0.1:{port}", token, process, log_path)
        try:
            _wait_until_up(lab)
            yield lab
        finally:
            if process.poll() is None:
                http(lab.url("/api/shutdown"), token, method="POST")
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_until_up(lab: Lab) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if lab.process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with {lab.process.returncode}:\n{lab.log.read_text()[-3000:]}"
            )
        try:
            if http(lab.url("/api/status"), lab.token)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            lab.process.kill()
            raise RuntimeError(f"jupyter lab did not answer within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.5)
