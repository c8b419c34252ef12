"""Re-run notebooks top to bottom in place: the only way stored outputs are refreshed.

    python -m tools.execute notebooks/*.ipynb      (what `make execute` runs)

Each notebook's outputs are cleared, then it runs in a fresh `python3` kernel from its own
folder, so execution counts go 1..N. Cells tagged `raises-exception` may raise; any other
error stops with the cell and its traceback, and the notebook on disk is left unchanged.

The notebook's ``kernelspec`` metadata is set to the kernel it ran in, exactly as JupyterLab
writes it when it starts that kernel: otherwise JupyterLab rewrites it on opening and shows the
notebook as modified before the learner has done anything.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

TIMEOUT_PER_CELL_S = 600
KERNEL = "python3"


def clear_outputs(nb: nbformat.NotebookNode) -> None:
    """Remove outputs and execution counts, as before a clean run."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)


def kernelspec(name: str = KERNEL) -> dict[str, str]:
    """The notebook metadata JupyterLab writes for the installed kernel ``name``."""
    spec = KernelSpecManager().get_kernel_spec(name)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


def execute(path: Path) -> float:
    """Execute one notebook in place; returns the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    clear_outputs(nb)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no per-cell timestamps: re-running changes only what changed
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nb.metadata.kernelspec = kernelspec()
    write_notebook(nb, path)
    return elapsed


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Validate and write atomically: a crash mid-write never leaves a truncated notebook."""
    nbformat.validate(nb)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in sorted(args.notebooks):
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"expected existing .ipynb files; got {path}")
        try:
            elapsed = execute(path)
        except CellExecutionError as error:
            print(f"FAILED {path}:\n{error}", file=sys.stderr)
            return 1
        print(f"executed {path} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
