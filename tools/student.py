"""Build student versions of the notebooks: solutions stubbed out, outputs cleared.

    python -m tools.student --out build/student notebooks/*.ipynb   (what `make student` runs)

In a code cell, every region from a ``### BEGIN SOLUTION`` line to the matching
``### END SOLUTION`` line is replaced by ``raise NotImplementedError()`` at the same
indentation; in a markdown cell by ``YOUR ANSWER HERE``. These are nbgrader's markers, so
``nbgrader generate_assignment`` produces the same student version for instructors who
grade with nbgrader. Checker cells and everything else are kept as they are.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from tools.execute import write_notebook

BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
CODE_STUB = "raise NotImplementedError()"
MARKDOWN_STUB = "YOUR ANSWER HERE"


def solution_regions(source: str) -> list[tuple[int, int]]:
    """(first, last) line indices of each solution region, markers included."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines()):
        if BEGIN.match(line):
            if start is not None:
                raise ValueError(f"line {number + 1}: BEGIN SOLUTION inside another solution")
            start = number
        elif END.match(line):
            if start is None:
                raise ValueError(f"line {number + 1}: END SOLUTION without a BEGIN SOLUTION")
            regions.append((start, number))
            start = None
    if start is not None:
        raise ValueError(f"line {start + 1}: BEGIN SOLUTION is never closed by END SOLUTION")
    return regions


def strip_solutions(source: str, cell_type: str = "code") -> str:
    """The source with each solution region replaced by a stub."""
    lines = source.splitlines()
    out, previous_end = [], 0
    for first, last in solution_regions(source):
        indent = BEGIN.match(lines[first]).group(1)
        out += lines[previous_end:first]
        out.append(indent + (CODE_STUB if cell_type == "code" else MARKDOWN_STUB))
        previous_end = last + 1
    out += lines[previous_end:]
    return "\n".join(out)


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed, outputs and widget state removed."""
    nb = nbformat.from_dict(nb)
    for index, cell in enumerate(nb.cells):
        try:
            cell.source = strip_solutions(cell.source, cell.cell_type)
        except ValueError as error:
            raise ValueError(f"cell {index}: {error}") from None
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def build(notebooks: list[Path], out: Path) -> list[Path]:
    """Write the student version of each notebook into ``out``; returns the written paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        try:
            nb = student_version(nbformat.read(path, as_version=4))
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        target = out / path.name
        write_notebook(nb, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/student"))
    args = parser.parse_args(argv)
    try:
        written = build(sorted(args.notebooks), args.out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} student notebooks to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
