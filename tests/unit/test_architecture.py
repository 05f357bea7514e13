"""The layout's rules, checked on the source: who may import whom, no cycles, short functions, no demo code."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "airloop"


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path, top_level_only: bool = False) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks are not imports at run time
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# (package, what it must never import): the boundaries DESIGN.md draws
FORBIDDEN = [
    ("airloop.steps", "airflow"),
    ("airloop.steps", "airloop.airflow"),
    ("airloop.steps", "airloop.serving"),
    ("airloop.steps", "airloop.local"),
    ("airloop.serving", "airflow"),
    ("airloop.serving", "airloop.airflow"),
    ("airloop.serving", "airloop.steps"),
    ("airloop.serving", "airloop.local"),
    ("airloop.monitoring", "airloop.serving"),
    ("airloop.data", "airloop.serving"),
    ("airloop.data", "airloop.steps"),
    ("airloop.model", "airloop.steps"),
    ("airloop.plan", "airflow"),
    ("airloop.plan", "airloop.workspace"),
    ("airloop.plan", "airloop.steps"),
    ("airloop.spec", "airflow"),
    ("airloop.tracking", "airflow"),
    ("airloop.tracking", "airloop.steps"),
]


@pytest.mark.parametrize(("package", "banned"), FORBIDDEN, ids=[f"{p}-x-{b}" for p, b in FORBIDDEN])
def test_package_boundaries(package: str, banned: str) -> None:
    offenders = [
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if _under(name, package)
        for imported in _imports(path)
        if _under(imported, banned)
    ]
    assert not offenders, offenders


def test_only_the_airflow_package_imports_airflow() -> None:
    offenders = [
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        if not _under(name, "airloop.airflow")
        for imported in _imports(path)
        if _under(imported, "airflow")
    ]
    assert not offenders, offenders


def _module_graph() -> dict[str, set[str]]:
    """Module-level imports between airloop modules (what runs when a module is imported)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in _imports(path, top_level_only=True):
            while imported and imported not in MODULES:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not _under(name, imported):
                targets.add(imported)
        graph[name] = targets
    return graph


def test_no_import_cycles() -> None:
    graph = _module_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def test_long_functions_say_why() -> None:
    """A function over 60 lines carries a comment starting `# long:` that says why it must be long."""
    offenders = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                body = lines[node.lineno - 1 : node.end_lineno]
                if len(body) > 60 and not any(line.strip().startswith("# long:") for line in body):
                    offenders.append(f"{name}.{node.name}: {len(body)} lines")
    assert not offenders, offenders


def test_no_example_knowledge_in_the_library() -> None:
    """The flights demo lives in examples/: no column or metric of it is spelled under src/."""
    words = re.compile(r"""["'](late|carrier|temp|dewp|humid|pressure|visib|origin|dest|time_hour|flights)["']""")
    offenders = [
        f"{name}:{i}: {line.strip()}"
        for name, path in MODULES.items()
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if words.search(line)
    ]
    assert not offenders, offenders


def test_every_package_says_what_it_is_for() -> None:
    for name, path in MODULES.items():
        if path.name == "__init__.py" or name.count(".") == 1:
            doc = ast.get_docstring(ast.parse(path.read_text()))
            assert len(doc or "") > 20, f"{name} has no docstring saying what it holds"


RUNTIME = SRC.parent / "airloop_runtime"


def test_the_runtime_shipped_with_every_model_needs_no_airloop_and_no_heavy_import() -> None:
    # it travels in each registered version's code/ folder and loads where airloop is not installed
    allowed_top = {"numpy", "pandas", "skops", "xgboost", "lightgbm", "onnxruntime", "__future__", "airloop_runtime"}
    offenders = []
    for path in sorted(RUNTIME.rglob("*.py")):
        for imported in _imports(path):
            top = imported.split(".")[0]
            if top not in allowed_top and top not in sys.stdlib_module_names:
                offenders.append(f"{path.name} imports {imported}")
    assert not offenders, offenders
    assert any(RUNTIME.glob("*.py"))
