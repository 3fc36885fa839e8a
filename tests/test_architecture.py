"""The shape of `api/`: imports between its packages go one way, and functions stay short."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "api"
MAX_FUNCTION_LINES = 60


def _unit(module: str) -> str:
    """The package (or top-level module) of `api` that a dotted module name belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every `api...` module a file imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("api.")}


def _units() -> set[str]:
    """The packages and top-level modules of `api`."""
    return {f"api.{path.stem}" for path in API.iterdir() if path.is_dir() or path.suffix == ".py"} - {"api.__init__"}


def package_graph() -> dict[str, set[str]]:
    """Which units of `api` import which others."""
    units = _units()
    graph: dict[str, set[str]] = defaultdict(set)
    for path in API.rglob("*.py"):
        source = _unit(_module_name(path))
        graph[source].update(_unit(name) for name in _imports(path) if _unit(name) in units - {source})
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = list(graph.get(start, ()))
    while stack:
        unit = stack.pop()
        if unit not in seen:
            seen.add(unit)
            stack.extend(graph.get(unit, ()))
    return seen


def test_no_package_of_api_imports_one_that_imports_it_back() -> None:
    graph = package_graph()
    cycles = sorted(
        f"{unit} -> {other} -> ... -> {unit}"
        for unit in graph
        for other in graph[unit]
        if unit in _reachable(graph, other)
    )
    assert cycles == []


# Each package may import only packages of the layers below its own; `api.main` wires them all.
LAYERS = [
    {"api.tickets", "api.notifications", "api.streams"},
    {"api.sla"},
    {"api.sla_config"},
    {"api.models"},
    {"api.kit"},
    {"api.settings"},
]


def test_the_domains_import_only_the_layers_below_them() -> None:
    graph = package_graph()
    for depth, layer in enumerate(LAYERS):
        below = set().union(*LAYERS[depth + 1 :])
        for unit in layer:
            assert graph.get(unit, set()) <= below, f"{unit} imports {sorted(graph[unit] - below)}"


def test_no_function_in_api_is_longer_than_sixty_lines() -> None:
    long = []
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []
