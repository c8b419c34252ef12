"""The cells a notebook needs to run some of its cells: a backward slice over top-level names.

The browser test runs only what a widget needs and the nbgrader test only what the exercises
need, instead of whole notebooks that train models for minutes. A code cell is needed when
it binds (assigns, defines, imports) a name that a needed cell reads and no later needed
cell binds first. Mutations (``model.train()``, ``x[0] = 1``) are not bindings, so a cell
that only changes an object is left out: a slice reproduces what a cell can run, not the
exact values the full notebook would give it.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Sequence

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_BUILTINS = frozenset(dir(builtins))


def _parse(source: str) -> ast.Module | None:
    """The cell's code; IPython magics and shell lines read as ``pass``."""
    lines = [
        "pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    ]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _binds(node: ast.AST) -> set[str]:
    """Names a statement binds in its own scope (not inside functions or comprehensions)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Store | ast.Del) else set()
    if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
        return set()
    return set().union(*map(_binds, ast.iter_child_nodes(node)))


def _free_in_function(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    a = node.args
    parameters = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x}
    outside = [*a.defaults, *filter(None, a.kw_defaults), *getattr(node, "decorator_list", [])]
    body = node.body if isinstance(node.body, list) else [node.body]
    return _free_in_order(outside) | (_free_in_order(body) - parameters)


def _free(node: ast.AST) -> set[str]:
    """Names a node reads before (or without) binding them itself."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return _free_in_function(node) - {node.name}  # a recursive call reads its own name
    if isinstance(node, ast.Lambda):
        return _free_in_function(node)
    if isinstance(node, _COMPREHENSIONS):
        targets = set().union(*(_binds(g.target) for g in node.generators))
        return _free_in_order(ast.iter_child_nodes(node)) - targets
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):  # the value comes first
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        reads = _free_in_order([node.value] if node.value else [])
        if isinstance(node, ast.AugAssign):
            reads |= {node.target.id} if isinstance(node.target, ast.Name) else set()
        return reads | set().union(*map(_free, targets))
    return _free_in_order(ast.iter_child_nodes(node))


def _free_in_order(nodes: Iterable[ast.AST]) -> set[str]:
    free, bound = set(), set()
    for node in nodes:
        free |= _free(node) - bound
        bound |= _binds(node)
    return free


def reads_and_binds(source: str) -> tuple[set[str], set[str]]:
    """(names the cell reads from earlier cells, names it binds) for a code cell's source."""
    tree = _parse(source)
    if tree is None:
        return set(), set()
    return _free_in_order(tree.body) - _BUILTINS, _binds(tree)


def needed_cells(sources: Sequence[str], targets: Iterable[int]) -> list[int]:
    """Indices of the code cells (given as sources, in order) needed to run ``targets``."""
    targets = set(targets)
    analysed = [reads_and_binds(source) for source in sources]
    wanted: set[str] = set()
    keep = []
    for index in reversed(range(len(sources))):
        reads, binds = analysed[index]
        if index in targets or binds & wanted:
            keep.append(index)
            wanted = (wanted - binds) | reads
    return sorted(keep)
