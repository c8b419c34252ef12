"""The course in a real browser: JupyterLab as `make lab` starts it, driven by headless Chromium.

For every notebook, opened as a new user opens it: the stored outputs render (every image
loads, no MathJax error, no widget error, no uncaught JavaScript error), no "Would you like to
get notified about official Jupyter news?" prompt appears, and the notebook does not show as
modified (●) once its kernel is up. For every widget, only the cells it needs run
(tests/notebook_slice.py; no training notebook is re-run), the widget must appear as a live
control, and moving it must change its output. A student version must stop at its first
exercise with ``NotImplementedError`` in view. Screenshots go to build/screenshots/.

Needs Debian's ``chromium`` package and Playwright's Python API (``pip install -e
'.[browser]'``; Playwright drives the system browser, so ``playwright install`` is not needed).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from matplotlib.image import imread

from tests.jupyterlab_server import ROOT, running_lab, write_user_settings
from tests.notebook_slice import needed_cells
from tools.student import build

INSTALL = (
    "install Debian's chromium (as root: apt-get update && apt-get install -y chromium; "
    ".ci/run does it) and Playwright (pip install -c constraints.txt -e '.[browser]')"
)
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
if CHROMIUM is None:
    pytest.skip(f"no Chromium for the browser test: {INSTALL}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason=f"no Playwright: {INSTALL}")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCREENSHOTS = ROOT / "build" / "screenshots"
STUDENT = ROOT / "notebooks" / "02_softmax_and_attention.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NEWS = "Would you like to get notified about official Jupyter news?"
TIMEOUT_MS = 180_000
SCREEN = {"width": 1400, "height": 900}  # a laptop's first screen
TALL = {"width": 1400, "height": 2000}

# Helpers in the page, on the JupyterLab application (--LabApp.expose_app_in_browser).
HELPERS = """
window.courseTest = {
  panel() { return window.jupyterapp && window.jupyterapp.shell.currentWidget; },
  kernelIdle() {
    const panel = this.panel();
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
      && panel.sessionContext.session.kernel;
    return Boolean(panel && panel.context.isReady && kernel && kernel.status === 'idle');
  },
  attached() { return this.panel().content.widgets.every(cell => cell.isAttached); },
  showing(path) {  // the notebook at path is current, its kernel idle, its cells attached
    const panel = this.panel();
    return Boolean(panel && panel.context && panel.context.path === path && this.kernelIdle()
      && this.attached());
  },
  dirty() {
    const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current');
    return {model: this.panel().context.model.dirty,
            tab: Boolean(tab && tab.classList.contains('jp-mod-dirty'))};
  },
  rendering() {
    const node = this.panel().content.node;
    const images = [...node.querySelectorAll('.jp-OutputArea-output img')];
    const texts = [...node.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent);
    return {
      images: images.length,
      broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
      mathErrors: node.querySelectorAll('mjx-merror').length,
      widgetErrors: texts.filter(t => /Error displaying widget|Error rendering/.test(t)).length,
    };
  },
  async run(indices) {
    const notebook = this.panel().content;
    for (const index of indices) {
      notebook.activeCellIndex = index;
      notebook.deselectAll();
      await window.jupyterapp.commands.execute('notebook:run-cell');
      const error = notebook.widgets[index].model.outputs.toJSON()
        .find(output => output.output_type === 'error');
      if (error) { return `cell ${index}: ${error.ename}: ${error.evalue}`; }
    }
    return null;
  },
  async show(index) {
    const notebook = this.panel().content;
    this.mark(index);
    await notebook.scrollToCell(notebook.widgets[index], 'start');
  },
  startAtTop() {
    const notebook = this.panel().content;
    notebook.activeCellIndex = 0;
    notebook.mode = 'command';
    notebook.activate();
  },
  ran(index) {
    const cell = this.panel().content.widgets[index];
    return cell.model.type !== 'code'
      || (cell.model.executionCount !== null && this.kernelIdle());
  },
  mark(index) { this.panel().content.widgets[index].node.dataset.courseCell = String(index); },
  executionCounts() {
    return this.panel().content.widgets.map(c => c.model.type === 'code'
      ? c.model.executionCount : undefined);
  },
  firstError() {
    const cells = this.panel().content.widgets;
    const index = cells.findIndex(c => c.model.type === 'code'
      && c.model.outputs.toJSON().some(o => o.output_type === 'error'));
    if (index < 0) { return null; }
    const error = cells[index].model.outputs.toJSON().find(o => o.output_type === 'error');
    return {index, ename: error.ename};
  },
};
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    home = tmp_path_factory.mktemp("learner")
    # The test runs cells: JupyterLab must never save them over the course's notebooks.
    write_user_settings(home, "@jupyterlab/docmanager-extension:plugin", {"autosave": False})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        running_lab(home, ROOT, "--LabApp.expose_app_in_browser=True") as lab,
        sync_api.sync_playwright() as playwright,
    ):
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield lab, chromium
        chromium.close()


@pytest.fixture(scope="module")
def learner(browser):
    """One JupyterLab tab, as a learner has: the first notebook opens from its URL (a new
    workspace), the next ones from the file menu's Open, in the same page."""
    lab, chromium = browser
    page = chromium.new_page(viewport=SCREEN)
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(HELPERS)
    yield {"lab": lab, "page": page, "errors": errors, "opened": set()}
    page.close()


def _open(learner, relative: str):
    """The page with the notebook at ``relative`` (to the repository) open and current, its
    kernel idle and every cell attached; and the page's uncaught JavaScript errors so far."""
    page, lab = learner["page"], learner["lab"]
    if page.url == "about:blank":
        page.goto(lab.url(f"/lab/workspaces/course-test/tree/{relative}?reset&token={lab.token}"))
        page.wait_for_function("() => window.courseTest && window.jupyterapp")
    else:
        # The command returns the notebook's widget: give back nothing, Playwright cannot
        # serialise it.
        page.evaluate(
            "async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }",
            relative,
        )
    page.wait_for_function("(path) => courseTest.showing(path)", arg=relative)
    if relative not in learner["opened"]:
        page.wait_for_timeout(1000)  # time for a prompt, or a metadata rewrite, to show
        learner["opened"].add(relative)
    return page, learner["errors"]


def _stored_images(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum(
        "image/png" in output.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_quietly_with_its_outputs(learner, path):
    page, errors = _open(learner, f"notebooks/{path.name}")
    page.screenshot(path=SCREENSHOTS / f"{path.stem}.png")
    assert page.get_by_text(NEWS).count() == 0, "the Jupyter news prompt is showing"
    assert page.evaluate("courseTest.dirty()") == {"model": False, "tab": False}, (
        "the notebook shows as modified (●) right after opening"
    )
    rendering = page.evaluate("courseTest.rendering()")
    assert rendering["images"] >= _stored_images(path), rendering
    assert (rendering["broken"], rendering["mathErrors"], rendering["widgetErrors"]) == (0, 0, 0)
    assert not errors, errors


def _widget_cells(path: Path) -> list[int]:
    """Cells that build an interactive widget (not a progress bar): they call interact or
    observe, and their stored output holds a widget view."""
    nb = nbformat.read(path, as_version=4)
    return [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and re.search(r"\binteract\b|\.observe\(", cell.source)
        and any(WIDGET_VIEW in output.get("data", {}) for output in cell.outputs)
    ]


WIDGET_NOTEBOOKS = [path for path in NOTEBOOKS if _widget_cells(path)]


def _cells_to_run(path: Path, widget: int) -> list[int]:
    """The notebook's first code cell and every cell ``widget`` needs, in notebook order."""
    nb = nbformat.read(path, as_version=4)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    keep = needed_cells([nb.cells[i].source for i in code], [0, code.index(widget)])
    return [code[k] for k in keep]


def _ink(src: str) -> float:
    """The share of a data-URI PNG's pixels that are not (nearly) white."""
    pixels = imread(io.BytesIO(base64.b64decode(src.partition(",")[2])), format="png")
    return float((pixels[..., :3].min(axis=-1) < 0.95).mean())


def _drawing(cell) -> str:
    """The widget's figure: the data of the images in its output."""
    images = cell.locator(".jp-Cell-outputArea img")
    return "".join(images.nth(i).get_attribute("src") or "" for i in range(images.count()))


def _move(cell) -> str:
    """One change of the widget's first slider (to its farther end, by keyboard) or, without
    a slider, of its first dropdown (the next option); returns which it was."""
    handle = cell.locator(".noUi-handle").first
    if handle.count():
        track = cell.locator(".noUi-target").first.bounding_box()
        box = handle.bounding_box()
        past_middle = box["x"] + box["width"] / 2 > track["x"] + track["width"] / 2
        handle.focus()
        handle.press("Home" if past_middle else "End")
        return "slider"
    select = cell.locator(".widget-dropdown select").first
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.selectedIndex")
    select.select_option(index=(current + 1) % len(options))
    return "dropdown"


@pytest.mark.parametrize("path", WIDGET_NOTEBOOKS, ids=lambda p: p.stem)
def test_widgets_are_live_and_answer_when_moved(learner, path):
    page, errors = _open(learner, f"notebooks/{path.name}")
    for number, widget in enumerate(_widget_cells(path), start=1):
        failure = page.evaluate("(cells) => courseTest.run(cells)", _cells_to_run(path, widget))
        assert failure is None, f"a cell the widget needs failed: {failure}"
        page.evaluate("(index) => courseTest.show(index)", widget)
        cell = page.locator(f'[data-course-cell="{widget}"]')
        controls = cell.locator(".widget-slider, .widget-dropdown, .widget-text")
        controls.first.wait_for(state="visible")
        output = cell.locator(".jp-Cell-outputArea")
        assert "Loading widget" not in output.inner_text(), "the widget is not live"
        cell.locator(".jp-Cell-outputArea img").first.wait_for(state="visible")
        before = _drawing(cell)
        moved = _move(cell)
        page.wait_for_function(
            "([i, before]) => { const images = document.querySelectorAll("
            "`[data-course-cell='${i}'] .jp-Cell-outputArea img`);"
            " const now = [...images].map(image => image.getAttribute('src')).join('');"
            " return now !== '' && now !== before"
            " && [...images].every(image => image.complete && image.naturalWidth > 0); }",
            arg=[widget, before],
        )
        page.wait_for_function("() => courseTest.kernelIdle()")  # the last redraw is done
        output.locator("img").first.wait_for(state="visible")
        page.set_viewport_size(TALL)  # room for the whole widget and its figure
        output.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # a frame to paint what scrolled into view
        output.screenshot(path=SCREENSHOTS / f"{path.stem}-widget-{number}.png")
        page.set_viewport_size(SCREEN)
        blank = [
            i
            for i, image in enumerate(output.locator("img").all())
            if _ink(image.get_attribute("src")) < 0.02
        ]
        assert not blank, f"the {moved} redrew an empty figure (cell {widget})"
    assert not errors, errors


def test_student_version_stops_at_the_first_exercise(learner):
    """A learner runs the student version cell by cell (Shift+Enter) from the top: the first
    error is the first exercise's checker, NotImplementedError, in view. Run All stops there
    too (JupyterLab then leaves the view at the last cell: jupyterlab/jupyterlab#8714)."""
    (student,) = build([STUDENT], ROOT / "build" / "browser-student")
    nb = nbformat.read(student, as_version=4)
    first_exercise = next(i for i, c in enumerate(nb.cells) if "NotImplementedError" in c.source)
    page, errors = _open(learner, student.relative_to(ROOT).as_posix())
    page.evaluate("() => courseTest.startAtTop()")
    for _ in nb.cells:
        index = page.evaluate("() => courseTest.panel().content.activeCellIndex")
        page.keyboard.press("Shift+Enter")
        page.wait_for_function("(i) => courseTest.ran(i)", arg=index)
        if page.evaluate("courseTest.firstError()"):
            break
    failed = page.evaluate("courseTest.firstError()")
    assert failed and failed["ename"] == "NotImplementedError", failed
    assert failed["index"] == first_exercise + 1, "it must stop at the first exercise's checker"
    assert re.fullmatch(r"check_\w+\(\w+\)", nb.cells[failed["index"]].source.strip())
    page.evaluate("(index) => courseTest.mark(index)", failed["index"])
    output = page.locator(f'[data-course-cell="{failed["index"]}"] .jp-Cell-outputArea')
    assert "NotImplementedError" in output.text_content()
    assert _in_viewport(page, output), "the learner cannot see the error"
    page.screenshot(path=SCREENSHOTS / f"student-{STUDENT.stem}.png")

    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function("() => courseTest.kernelIdle()")
    counts = page.evaluate("courseTest.executionCounts()")
    assert counts[failed["index"]] and not any(counts[failed["index"] + 1 :]), counts
    assert not errors, errors


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return bool(box) and box["y"] < size["height"] and box["y"] + box["height"] > 0
