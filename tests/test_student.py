"""Student versions: solutions gone, checkers kept, and they run up to the first exercise."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools.student import build, solution_regions, strip_solutions, student_version

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(
    path
    for path in (ROOT / "notebooks").glob("*.ipynb")
    if "### BEGIN SOLUTION" in path.read_text(encoding="utf-8")
)
CHECKER_CALL = re.compile(r"^\s*check_\w+\(", re.MULTILINE)


def test_strip_keeps_signature_and_indentation():
    source = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "z = 2\n"
        "### BEGIN SOLUTION\n"
        "z = 3\n"
        "### END SOLUTION"
    )
    assert strip_solutions(source) == (
        'def f(x):\n    """Doc."""\n    raise NotImplementedError()\n\nz = 2\n'
        "raise NotImplementedError()"
    )
    assert strip_solutions("### BEGIN SOLUTION\nIt is 4.\n### END SOLUTION", "markdown") == (
        "YOUR ANSWER HERE"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", "line 1: BEGIN SOLUTION is never closed"),
        ("x = 1\n### END SOLUTION", "line 2: END SOLUTION without a BEGIN"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
            "line 2: BEGIN SOLUTION inside",
        ),
    ],
)
def test_unbalanced_markers_are_reported_with_their_line(source, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(source)


def test_lesson_notebooks_have_exercises():
    assert len(LESSONS) >= 2, "notebooks 01 and 02 must carry exercises"


def _solution_lines(cell_source: str) -> list[str]:
    lines = cell_source.splitlines()
    return [
        line.strip()
        for first, last in solution_regions(cell_source)
        for line in lines[first + 1 : last]
        if len(line.strip()) > 3
    ]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_no_solution_line_survives_and_checkers_do(path):
    original = nbformat.read(path, as_version=4)
    student = student_version(original)
    assert len(student.cells) == len(original.cells)
    solution_cells = 0
    for before, after in zip(original.cells, student.cells, strict=True):
        hidden = _solution_lines(before.source)
        if hidden:
            grading = before.metadata["nbgrader"]
            assert grading["solution"] is True
            if before.cell_type == "code":
                solution_cells += 1
                assert "NotImplementedError" in after.source
            else:  # an answer in words, graded by hand: it carries its points itself
                assert grading["grade"] is True and grading["points"] > 0, grading
                assert "YOUR ANSWER HERE" in after.source
            kept = set(map(str.strip, after.source.splitlines()))
            assert not kept & set(hidden), f"solution lines survive: {kept & set(hidden)}"
        if CHECKER_CALL.search(before.source):
            assert after.source == before.source
        if after.cell_type == "code":
            assert after.outputs == [] and after.execution_count is None
    assert solution_cells >= 2
    checker_cells = [c for c in student.cells if CHECKER_CALL.search(c.source)]
    assert len(checker_cells) >= solution_cells


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_student_notebook_stops_at_first_exercise(path, tmp_path):
    (student_path,) = build([path], tmp_path)
    nb = nbformat.read(student_path, as_version=4)
    first_solution = next(i for i, c in enumerate(nb.cells) if "NotImplementedError" in c.source)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    assert failure.value.ename == "NotImplementedError", failure.value.evalue
    failed = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)
    ]
    assert len(failed) == 1
    assert failed[0] > first_solution
    assert CHECKER_CALL.search(nb.cells[failed[0]].source), "it must stop at the checker call"
    assert all(
        nb.cells[i].cell_type != "code" or "NotImplementedError" not in nb.cells[i].source
        for i in range(first_solution + 1, failed[0])
    ), "it must stop at the first exercise, not a later one"
