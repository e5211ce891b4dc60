"""The custom import-linter contract (scripts/importlinter_contracts.py) on tiny graphs and a tiny project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest
from importlinter.domain.contract import ContractCheck

from scripts.importlinter_contracts import (
    AcyclicModulesContract,
    Loop,
    LoopImport,
    find_loops,
    shortest_cycle,
    strongly_connected_components,
)

REPO = Path(__file__).resolve().parent.parent


def graph_of(imports: dict[str, list[tuple[str, int]]], *extra_modules: str) -> grimp.ImportGraph:
    """A grimp graph: module → [(imported module, line number)]; parent packages are added too."""
    graph = grimp.ImportGraph()
    names = (
        set(extra_modules)
        | set(imports)
        | {imported for targets in imports.values() for imported, _ in targets}
    )
    for name in sorted(names):
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            graph.add_module(".".join(parts[:depth]))
    for importer, targets in imports.items():
        for imported, line in targets:
            graph.add_import(
                importer=importer, imported=imported, line_number=line, line_contents=f"import {imported}"
            )
    return graph


def contract(root_packages: list[str], **options: object) -> AcyclicModulesContract:
    return AcyclicModulesContract(
        name="No import loop",
        session_options={"root_packages": root_packages},
        contract_options={"type": "acyclic_modules", **options},
    )


# --- the graph algorithm ---------------------------------------------------------------------------


def test_a_dag_has_only_single_components_and_no_loop():
    edges = {"a": ["b", "c"], "b": ["c"], "c": []}
    assert strongly_connected_components(edges) == [["a"], ["b"], ["c"]]
    assert find_loops(edges) == []


def test_each_loop_is_found_once_with_all_its_modules():
    edges = {
        "a": ["b"],
        "b": ["c"],
        "c": ["a", "d"],  # a → b → c → a
        "d": ["e"],
        "e": ["d"],  # d ⇄ e, reached from the first loop but separate from it
        "f": ["a"],  # imports into a loop without being part of it
    }
    assert find_loops(edges) == [["a", "b", "c"], ["d", "e"]]


def test_a_module_importing_itself_is_a_loop_and_a_lone_module_is_not():
    assert find_loops({"a": ["a"], "b": []}) == [["a"]]


def test_the_result_does_not_depend_on_the_order_of_the_mapping():
    edges = {"x": ["y"], "y": ["z", "x"], "z": ["z"], "w": ["x"]}
    reordered = {key: list(reversed(edges[key])) for key in reversed(list(edges))}
    assert find_loops(edges) == find_loops(reordered) == [["x", "y"], ["z"]]


def test_targets_outside_the_nodes_are_ignored():
    assert find_loops({"a": ["django", "b"], "b": ["a", "numpy"]}) == [["a", "b"]]


def test_a_long_loop_needs_no_recursion():
    n = 5 * sys.getrecursionlimit()
    edges = {f"m{i}": [f"m{(i + 1) % n}"] for i in range(n)}
    (loop,) = find_loops(edges)
    assert len(loop) == n


def test_shortest_cycle_takes_the_short_way_round():
    edges = {"a": ["b", "d"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert shortest_cycle(edges, "a", {"a", "b", "c", "d"}) == ["a", "d", "a"]
    assert shortest_cycle(edges, "a", {"a", "b", "c"}) == ["a", "b", "c", "a"]
    assert shortest_cycle({"a": ["a"]}, "a", {"a"}) == ["a", "a"]
    with pytest.raises(ValueError, match="on no cycle"):
        shortest_cycle({"a": ["b"], "b": []}, "a", {"a", "b"})


# --- the contract on a grimp graph -----------------------------------------------------------------


def loops_of(check: ContractCheck) -> list[Loop]:
    return check.metadata["loops"]


def test_the_contract_reports_each_loop_with_its_imports_and_lines():
    graph = graph_of(
        {
            "shop.datasets": [("shop.datasets.one", 5), ("shop.errors", 3)],
            "shop.datasets.one": [("shop.datasets", 9), ("shop.errors", 2)],
            "shop.errors": [],
            "stock.models": [("stock.services", 40), ("stock.services", 80)],
            "stock.services": [("stock.models", 4), ("shop.errors", 1)],
        }
    )
    check = contract(["shop", "stock"]).check(graph, verbose=False)

    assert not check.kept
    assert loops_of(check) == [
        Loop(
            modules=("shop.datasets", "shop.datasets.one"),
            example=("shop.datasets", "shop.datasets.one", "shop.datasets"),
            imports=(
                LoopImport("shop.datasets", "shop.datasets.one", (5,)),
                LoopImport("shop.datasets.one", "shop.datasets", (9,)),
            ),
        ),
        Loop(
            modules=("stock.models", "stock.services"),
            example=("stock.models", "stock.services", "stock.models"),
            imports=(
                LoopImport("stock.models", "stock.services", (40, 80)),
                LoopImport("stock.services", "stock.models", (4,)),
            ),
        ),
    ]


def test_the_contract_is_kept_by_a_graph_without_loops():
    graph = graph_of(
        {"shop.datasets": [("shop.datasets.base", 1)], "shop.datasets.one": [("shop.datasets.base", 1)]}
    )
    assert contract(["shop"]).check(graph, verbose=False).kept


def test_packages_limit_the_modules_looked_at():
    graph = graph_of({"shop.a": [("shop.b", 1)], "shop.b": [("shop.a", 1)], "stock.c": [("stock.c", 1)]})
    check = contract(["shop", "stock"], packages=["stock"]).check(graph, verbose=False)
    assert [loop.modules for loop in loops_of(check)] == [("stock.c",)]


def test_a_loop_across_two_packages_is_found():
    # no common parent package: import-linter's acyclic_siblings contract cannot see this one
    graph = graph_of({"shop.services": [("stock.models", 1)], "stock.models": [("shop.services", 7)]})
    check = contract(["shop", "stock"]).check(graph, verbose=False)
    assert [loop.modules for loop in loops_of(check)] == [("shop.services", "stock.models")]


def test_an_ignored_import_breaks_the_loop():
    graph = graph_of({"shop.a": [("shop.b", 1)], "shop.b": [("shop.a", 1)]})
    check = contract(["shop"], ignore_imports=["shop.b -> shop.a"]).check(graph, verbose=False)
    assert check.kept
    assert check.ignored_import_count == 1


def test_a_missing_package_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="'stock' does not exist"):
        contract(["shop", "stock"]).check(graph_of({"shop.a": []}), verbose=False)


def test_an_unknown_option_is_refused():
    from importlinter.domain.contract import InvalidContractOptions

    with pytest.raises(InvalidContractOptions):
        contract(["shop"], pakages=["shop"])


# --- through lint-imports, on a project on disk --------------------------------------------------


def lint(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_lint_imports_finds_a_loop_made_by_an_import_inside_a_function(tmp_path):
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from shop import b\n")
    (package / "b.py").write_text("def late():\n    from shop import a\n\n    return a\n")
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            """\
            [importlinter]
            root_packages =
                shop
            contract_types =
                acyclic_modules: scripts.importlinter_contracts.AcyclicModulesContract

            [importlinter:contract:acyclic]
            name = No import loop
            type = acyclic_modules
            """
        )
    )

    broken = lint(tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Import loop through 2 modules: shop.a, shop.b" in broken.stdout
    assert "shop.a -> shop.b -> shop.a" in broken.stdout
    assert "shop.b -> shop.a (l.2)" in broken.stdout

    (package / "b.py").write_text("def late():\n    return None\n")
    kept = lint(tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "No import loop KEPT" in kept.stdout
