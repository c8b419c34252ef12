"""nbgrader itself, on the course: release, autograde three submissions, feedback, manual grading.

The commands are the ones docs/instructors.md gives, run in a temporary course directory (and
one copy of it per student, so that the three autograde runs go side by side):

- ``nbgrader generate_assignment course`` on every notebook as it is: the release must be
  what ``make student`` builds (tools/student.py), cell for cell.
- ``nbgrader generate_assignment exercises`` on the lesson notebooks cut down to their
  exercises and the cells those need (tests/notebook_slice.py), so that autograding does not
  re-run minutes of training; then ``nbgrader autograde exercises`` of three submissions per
  notebook and ``nbgrader generate_feedback exercises``:

  * ``reference``: the solutions as written in the notebooks: full marks;
  * ``mistake``: one exercise per notebook answered with its checker's first catalogued
    mistake, and its locked checker cell tampered with: autograde restores the checker, the
    exercise scores zero, the others full marks, and the feedback names the mistake;
  * ``untouched``: the student version as released: zero, and every cell still runs.

  Written answers (markdown, ``grade: true, solution: true``) wait for manual grading with
  their points, and ``nbgrader export`` writes the grades to grades.csv.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.notebook_slice import needed_cells
from tools.student import student_version

pytest.importorskip(
    "nbgrader",
    reason="nbgrader is not installed: pip install -c constraints.txt -e '.[instructor]'",
)
from nbgrader.api import Gradebook  # noqa: E402 - only once nbgrader is known to be there

import helpers.exercises as exercises  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LESSONS = [p for p in NOTEBOOKS if "### BEGIN SOLUTION" in p.read_text(encoding="utf-8")]
STUDENTS = ("reference", "mistake", "untouched")
CHECKER_CALL = re.compile(r"^(check_\w+)\((\w+)\)$")
CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "self-attention"
# The course's student build writes this stub too (tools/student.py), so both agree.
c.ClearSolutions.code_stub = {"python": "raise NotImplementedError()"}
c.ExecutePreprocessor.timeout = 300
"""


def _nbgrader(course: Path, *args: str) -> subprocess.Popen:
    """Start ``nbgrader ARGS`` in the course directory; ``_finish`` waits for it."""
    # nbgrader runs `alembic` and the notebooks' `python3` kernel from PATH: this environment's.
    # One thread per kernel: three autograde runs share the CPU's cores.
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "nbgrader", *args, "--db=sqlite:///gradebook.db"]
    return subprocess.Popen(
        command, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(process: subprocess.Popen) -> None:
    log = process.communicate(timeout=900)[0]
    assert process.returncode == 0 and "| ERROR]" not in log, (
        f"{' '.join(process.args[2:])} failed ({process.returncode}):\n{log[-4000:]}"
    )


def _cleared(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def exercises_only(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Every markdown cell, the first code cell (the imports) and the code cells that the
    exercises' solution and checker cells need, in order; outputs cleared."""
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    targets = [0] + [k for k, i in enumerate(code) if "nbgrader" in nb.cells[i].metadata]
    keep = {code[k] for k in needed_cells([nb.cells[i].source for i in code], targets)}
    nb = nbformat.from_dict(nb)
    nb.cells = [c for i, c in enumerate(nb.cells) if c.cell_type != "code" or i in keep]
    return _cleared(nb)


def _exercise_pairs(nb: nbformat.NotebookNode) -> list[tuple[int, int, str, str]]:
    """(solution cell, checker cell, checker name, function name) of each function exercise."""
    pairs = []
    for index, cell in enumerate(nb.cells[:-1]):
        grading = cell.metadata.get("nbgrader", {})
        call = CHECKER_CALL.match(nb.cells[index + 1].source.strip())
        if cell.cell_type == "code" and grading.get("solution") and call:
            if re.search(rf"^def {call[2]}\(", cell.source, re.MULTILINE):
                pairs.append((index, index + 1, call[1], call[2]))
    return pairs


def _independent_exercise(nb: nbformat.NotebookNode) -> tuple[int, int, str, str]:
    """The last function exercise whose solution no other checker needs."""
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    pairs = _exercise_pairs(nb)
    for solution, checker, *names in reversed(pairs):
        others = [code.index(c) for _, c, *_ in pairs if c != checker]
        needed = needed_cells([nb.cells[i].source for i in code], others)
        if code.index(solution) not in needed:
            return solution, checker, *names
    raise AssertionError("no exercise of this notebook can be got wrong on its own")


def _with_a_mistake(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, str, str]:
    """The notebook with one exercise answered by its checker's first catalogued mistake and
    that exercise's locked checker cell replaced; returns it, the checker cell's grade id and
    the mistake's name."""
    solution, checker, checker_name, function = _independent_exercise(nb)
    nb = nbformat.from_dict(nb)
    nb.cells[solution].source = (
        f"from helpers.exercises import {checker_name} as _checker\n\n"
        f"{function} = _checker.mistakes[0].implementation  # a catalogued wrong answer"
    )
    nb.cells[checker].source = 'print("all good")  # a student who edits the locked checker'
    mistake = getattr(exercises, checker_name).mistakes[0].name
    return nb, nb.cells[checker].metadata["nbgrader"]["grade_id"], mistake


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    """One course directory that releases both assignments, then a copy of it per student
    (its gradebook included), so that the three autograde runs go side by side."""
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(CONFIG)
    for assignment, notebooks, prepare in (
        ("course", NOTEBOOKS, _cleared),
        ("exercises", LESSONS, exercises_only),
    ):
        source = course / "source" / assignment
        source.mkdir(parents=True)
        for path in notebooks:
            nbformat.write(prepare(nbformat.read(path, as_version=4)), source / path.name)
        _finish(_nbgrader(course, "generate_assignment", assignment))
    mistakes, runs = {}, []
    for student in STUDENTS:
        shutil.copytree(course, course.parent / student)
    for path in LESSONS:
        solved = nbformat.read(course / "source" / "exercises" / path.name, as_version=4)
        released = nbformat.read(course / "release" / "exercises" / path.name, as_version=4)
        wrong, grade_id, mistake = _with_a_mistake(solved)
        mistakes[path.name] = grade_id, mistake
        for student, nb in zip(STUDENTS, (solved, wrong, released), strict=True):
            folder = course.parent / student / "submitted" / student / "exercises"
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / path.name)
    runs = [_nbgrader(course.parent / student, "autograde", "exercises") for student in STUDENTS]
    for run in runs:
        _finish(run)
    feedback = _nbgrader(course.parent / "mistake", "generate_feedback", "exercises")
    export = _nbgrader(course.parent / "reference", "export")
    _finish(feedback)
    _finish(export)
    return {"release": course / "release", "root": course.parent, "mistakes": mistakes}


def _grades(course: dict, student: str, notebook: str) -> dict:
    with Gradebook(f"sqlite:///{course['root'] / student / 'gradebook.db'}") as gradebook:
        submitted = gradebook.find_submission_notebook(notebook, "exercises", student)
        return {
            grade.name: (grade.score, grade.max_score, grade.needs_manual_grade, grade.cell_type)
            for grade in submitted.grades
        }


def _autograded(course: dict, student: str, path: Path) -> nbformat.NotebookNode:
    folder = course["root"] / student / "autograded" / student / "exercises"
    return nbformat.read(folder / path.name, as_version=4)


def test_the_release_is_what_make_student_builds(course):
    for path in NOTEBOOKS:
        released = nbformat.read(course["release"] / "course" / path.name, as_version=4)
        source = course["release"].parent / "source" / "course" / path.name
        ours = student_version(nbformat.read(source, as_version=4))
        assert [c.source for c in released.cells] == [c.source for c in ours.cells], path.name
        for cell in released.cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade") and not grading.get("solution"):
                assert grading["locked"], f"{path.name}: checker {grading['grade_id']} unlocked"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_reference_solutions_get_full_marks(course, path):
    grades = _grades(course, "reference", path.stem)
    automatic = {name: g for name, g in grades.items() if g[3] == "code"}
    assert automatic and all(score == top for score, top, *_ in automatic.values()), automatic


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_catalogued_mistake_scores_zero_and_the_feedback_names_it(course, path):
    grade_id, mistake = course["mistakes"][path.name]
    grades = _grades(course, "mistake", path.stem)
    assert grades[grade_id][0] == 0, grades[grade_id]
    others = {n: g for n, g in grades.items() if g[3] == "code" and n != grade_id}
    assert all(score == top for score, top, *_ in others.values()), others
    restored = next(
        c for c in _autograded(course, "mistake", path).cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )  # fmt: skip
    assert CHECKER_CALL.match(restored.source.strip()), "autograde must restore the checker"
    feedback = (
        course["root"] / "mistake" / "feedback" / "mistake" / "exercises" / f"{path.stem}.html"
    )
    text = html.unescape(re.sub(r"<[^>]+>", "", feedback.read_text(encoding="utf-8")))
    assert f"Likely mistake: {mistake}." in text


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_untouched_student_version_scores_zero_and_runs_to_the_end(course, path):
    grades = _grades(course, "untouched", path.stem)
    assert grades and all(score == 0 for score, *_ in grades.values()), grades
    assert not any(needs_manual for _, _, needs_manual, _ in grades.values())
    cells = _autograded(course, "untouched", path).cells
    code = [c for c in cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "autograde stopped early"
    failed = [c for c in code if any(o.output_type == "error" for o in c.outputs)]
    assert failed, "an unanswered exercise must fail"
    outside = [c.source[:60] for c in failed if "nbgrader" not in c.metadata]
    assert not outside, f"cells other than exercises failed: {outside}"


def test_written_answers_wait_for_manual_grading_with_their_points(course):
    written = 0
    for path in LESSONS:
        answers = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")
        }
        grades = _grades(course, "reference", path.stem)
        for grade_id, points in answers.items():
            _, max_score, needs_manual, cell_type = grades[grade_id]
            assert (max_score, needs_manual, cell_type) == (points, True, "markdown"), grade_id
        written += len(answers)
    assert written >= 2, "notebooks 02 and 03 ask for answers in words"


def test_export_writes_the_automatic_marks(course):
    with (course["root"] / "reference" / "grades.csv").open(newline="") as table:
        rows = [
            row
            for row in csv.DictReader(table)
            if (row["student_id"], row["assignment"]) == ("reference", "exercises")
        ]
    assert len(rows) == 1, rows
    automatic = sum(
        grade[1]
        for path in LESSONS
        for grade in _grades(course, "reference", path.stem).values()
        if grade[3] == "code"
    )
    assert float(rows[0]["raw_score"]) == automatic, rows[0]
