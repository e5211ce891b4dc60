"""Custom import-linter contract: no import loop between modules.

import-linter's built-in ``acyclic_siblings`` contract looks for cycles between the children of one
package, with each child standing for everything below it. That misses a loop between two top-level
apps (they have no common parent) and flags packages whose modules do not form a loop at all. This
contract works on modules: it takes every module of the listed packages (the root packages by
default), the direct imports between them as grimp records them (imports inside functions and under
``if TYPE_CHECKING:`` included), and reports every strongly connected component of two or more
modules, or a module importing itself, as a loop.

Configured in pyproject.toml:

    [tool.importlinter]
    contract_types = ["acyclic_modules: scripts.importlinter_contracts.AcyclicModulesContract"]

    [[tool.importlinter.contracts]]
    name = "..."
    type = "acyclic_modules"
    packages = [...]          # optional, default: the root packages
    ignore_imports = [...]    # optional, as in the built-in contracts
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from grimp import ImportGraph
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules
from importlinter.domain.imports import ImportExpression, ModuleExpression


@dataclass(frozen=True)
class LoopImport:
    importer: str
    imported: str
    line_numbers: tuple[int, ...]


@dataclass(frozen=True)
class Loop:
    modules: tuple[str, ...]  # sorted
    example: tuple[str, ...]  # one closed path through the loop: first module, ..., first module again
    imports: tuple[LoopImport, ...]  # every import between two modules of the loop, sorted


def strongly_connected_components(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; nodes are the keys (targets outside the keys are ignored).

    Each component comes back sorted, and the components sorted by their first node, so the result
    does not depend on the order of the mapping.
    """
    successors = {node: sorted(set(targets) & edges.keys()) for node, targets in edges.items()}
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(successors):
        if start in index_of:
            continue
        # Each frame: a node and an iterator over the successors still to visit.
        work = [(start, iter(successors[start]))]
        index_of[start] = low[start] = len(index_of)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            advanced = False
            for nxt in pending:
                if nxt not in index_of:
                    index_of[nxt] = low[nxt] = len(index_of)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(successors[nxt])))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return sorted(components)


def find_loops(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The components that are loops: two or more modules, or one module that imports itself."""
    return [
        component
        for component in strongly_connected_components(edges)
        if len(component) > 1 or component[0] in set(edges[component[0]])
    ]


def shortest_cycle(edges: Mapping[str, Iterable[str]], start: str, within: set[str]) -> list[str]:
    """The shortest path start → ... → start through modules of ``within`` (breadth first)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(set(edges[node]) & within):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise ValueError(f"{start} is on no cycle within the given modules")


class AcyclicModulesContract(Contract):
    """No module of the given packages reaches itself through imports (at any depth)."""

    type_name = "acyclic_modules"

    packages = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)
    broken_contract_guidance = fields.TextField(required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=cast("list[ImportExpression] | None", self.ignore_imports),
            unmatched_alerting=cast(AlertLevel, self.unmatched_ignore_imports_alerting),
        )
        scope = self._modules_in_scope(graph)
        edges = {module: graph.find_modules_directly_imported_by(module) & scope for module in scope}
        loops = []
        for component in find_loops(edges):
            members = set(component)
            imports = tuple(
                LoopImport(
                    importer,
                    imported,
                    tuple(
                        sorted(
                            detail["line_number"]
                            for detail in graph.get_import_details(importer=importer, imported=imported)
                        )
                    ),
                )
                for importer in component
                for imported in sorted(edges[importer] & members)
            )
            example = tuple(shortest_cycle(edges, component[0], members))
            loops.append(Loop(tuple(component), example, imports))
        output.verbose_print(verbose, f"{len(scope)} modules, {len(loops)} import loop(s).")
        return ContractCheck(
            kept=not loops,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"loops": loops},
        )

    def _modules_in_scope(self, graph: ImportGraph) -> set[str]:
        if self.packages:
            expressions = cast("Iterable[ModuleExpression]", self.packages)
            packages = {m.name for m in module_expressions_to_modules(graph, expressions)}
        else:
            packages = set(self.session_options["root_packages"])
        missing = sorted(p for p in packages if p not in graph.modules)
        if missing:
            raise ValueError(f"Module '{missing[0]}' does not exist.")
        scope: set[str] = set()
        for package in packages:
            scope.add(package)
            scope |= graph.find_descendants(package)
        return scope

    def render_broken_contract(self, check: ContractCheck) -> None:
        loops = cast("list[Loop]", check.metadata["loops"])
        for loop in loops:
            count = "itself" if len(loop.modules) == 1 else f"{len(loop.modules)} modules"
            output.print_error(f"Import loop through {count}: {', '.join(loop.modules)}", bold=True)
            output.print("  For example: " + " -> ".join(loop.example))
            output.print("  Imports within the loop (remove enough of them to break it):")
            for item in loop.imports:
                lines = ", ".join(f"l.{n}" for n in item.line_numbers)
                output.print(f"  - {item.importer} -> {item.imported} ({lines})")
            output.new_line()
        contract_utils.render_broken_contract_guidance(cast("str | None", self.broken_contract_guidance))
