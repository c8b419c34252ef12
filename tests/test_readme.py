"""The README's syllabus lists every notebook of the course."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_syllabus_lists_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    missing = [name for name in notebooks if f"(notebooks/{name}.ipynb)" not in readme]
    assert not missing, f"README.md's syllabus has no row for {missing}"
