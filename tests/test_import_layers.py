"""The project's modules import downwards only, and never in a circle.

`LAYERS` is the one declaration of the layers, lowest first: a module of
`include/inventory_lake` (a top-level module or a subpackage is one unit), of `dags/` or of
`plugins/` may import units of its own layer and of the layers below it, never above. Every
import counts, also one inside a function or under `TYPE_CHECKING`: a deferred import keeps
the import cheap, not the dependency away. Read from the source with `ast`; nothing is run.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "include.inventory_lake"

LAYERS: tuple[frozenset[str], ...] = (
    # Names, configuration and the parts every task shares: the HTTP client, lineage recording.
    frozenset(
        {
            "settings",
            "checksums",
            "schemas",
            "failures",
            "assets",
            "tags",
            "provider_info",
            "priority",
            "shops",
            "alerts",
            "upstream_fixes",
            "lineage",
            "http",
            "task_phases",
        }
    ),
    # The outside systems: the APIs' clients, the lake's storage and its Iceberg table.
    frozenset({"sources", "lake", "iceberg"}),
    # Airflow connections -> API clients.
    frozenset({"hooks", "connection_fields", "shop_stores"}),
    # What the tasks do.
    frozenset({"extract", "facts", "push", "warehouse"}),
    # One-off migrations of the lake between layouts, run by an operator.
    frozenset({"migrations"}),
    # The UI page, what every DAG shares, and what every task process imports ahead.
    frozenset({"ui", "dag_defaults", "task_preload"}),
    # What Airflow loads: the DAG files and the plugins.
    frozenset({"dags", "plugins"}),
)

# Imports that run up the layers today, each to be removed (then delete the entry).
KNOWN_UP_IMPORTS: frozenset[tuple[str, str]] = frozenset()

TOP_FOLDERS = ("dags", "plugins")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


@functools.cache
def module_files() -> dict[str, Path]:
    """Every module of the project by its import name (dags/ and plugins/ files by bare name,
    as Airflow puts those folders on sys.path)."""
    modules: dict[str, Path] = {}
    for path in sorted((ROOT / "include" / "inventory_lake").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for folder in TOP_FOLDERS:
        for path in sorted((ROOT / folder).glob("*.py")):
            modules[path.stem] = path
    return modules


def unit_of(module: str, modules: dict[str, Path]) -> str:
    if module.startswith(f"{PACKAGE}."):
        return module.removeprefix(f"{PACKAGE}.").split(".")[0]
    if module == PACKAGE:
        return module
    return modules[module].parent.name  # a dags/ or plugins/ file


def project_imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    """The project modules `module` imports, anywhere in its source."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` imports the module; `from module import name` the module.
            targets = list(
                dict.fromkeys(
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                )
            )
        else:
            continue
        for target in targets:
            if target in modules and target != module:
                yield Import(module, target, node.lineno)


@functools.cache
def all_imports() -> tuple[Import, ...]:
    modules = module_files()
    return tuple(
        found
        for module, path in modules.items()
        for found in project_imports(module, path, modules)
    )


def layer_of(unit: str) -> int:
    if unit == PACKAGE:  # its __init__, below everything
        return 0
    for number, layer in enumerate(LAYERS):
        if unit in layer:
            return number
    raise AssertionError(f"{unit!r} is in no layer: add it to LAYERS in {Path(__file__).name}")


def up_imports(imports: Iterable[Import]) -> list[Import]:
    modules = module_files()
    return [
        found
        for found in imports
        if layer_of(unit_of(found.imported, modules)) > layer_of(unit_of(found.importer, modules))
    ]


def circles(imports: Iterable[Import]) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for found in imports:
        graph.setdefault(found.importer, set()).add(found.imported)
        graph.setdefault(found.imported, set())
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                lowlink[node] = min(lowlink[node], lowlink[successor])
            elif successor in on_stack:
                lowlink[node] = min(lowlink[node], index[successor])
        if lowlink[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_unit_of_the_project_has_a_layer() -> None:
    modules = module_files()
    units = {unit_of(module, modules) for module in modules} - {PACKAGE}
    declared = set().union(*LAYERS)
    assert units - declared == set(), f"add them to LAYERS in {Path(__file__).name}"
    assert declared - units == set(), "LAYERS names units that no longer exist"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    found = up_imports(all_imports())
    unexpected = [
        f"{item.importer} (line {item.line}) imports {item.imported}"
        for item in found
        if (item.importer, item.imported) not in KNOWN_UP_IMPORTS
    ]
    assert unexpected == [], "imports that run up the layers:\n" + "\n".join(unexpected)
    fixed = KNOWN_UP_IMPORTS - {(item.importer, item.imported) for item in found}
    assert fixed == set(), f"fixed, remove them from KNOWN_UP_IMPORTS: {sorted(fixed)}"


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert circles(all_imports()) == []


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        (["a>b", "b>c"], []),
        (["a>b", "b>a"], [["a", "b"]]),
        (["a>b", "b>c", "c>a", "c>d"], [["a", "b", "c"]]),
    ],
)
def test_circles_finds_every_circle_and_nothing_else(
    imports: list[str], expected: list[list[str]]
) -> None:
    edges = [Import(*pair.split(">"), line=1) for pair in imports]
    assert circles(edges) == expected
