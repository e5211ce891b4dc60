"""A small, safe expression language for formula KPIs. Pure Python: no Django imports, never eval.

Grammar: numbers, KPI slugs, the reserved name ``months``, + − * / ( ) and unary minus. Division by
zero and missing operands give None (null), never an exception.

``months`` is the length of the period being computed in months (1 for a month, 3 for a quarter, 12
for a year), so a formula can pro-rate an annual figure: ``won_revenue / (market_size * months / 12)``
is the share of an annual market won in the period (DESIGN §4). The evaluator resolves it per period
like a KPI, which is why no KPI may take the name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/×÷()]))"
)


# The period's length in months: a name formulas may use beside KPI slugs, never a KPI's slug.
PERIOD_MONTHS = "months"
RESERVED = frozenset({PERIOD_MONTHS})


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Ref:
    slug: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


Node = Num | Ref | Neg | BinOp


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            rest = text[pos:]
            at = pos + len(rest) - len(rest.lstrip())
            raise FormulaError(f"unexpected character {text[at]!r} at position {at + 1}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        value = {"×": "*", "÷": "/"}.get(value, value)
        tokens.append((kind, value, m.start(kind) + 1))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise FormulaError("the formula ends too early")
        self.i += 1
        return tok

    def expr(self) -> Node:
        node = self.term()
        while (tok := self.peek()) and tok[1] in "+-":
            self.take()
            node = BinOp(tok[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while (tok := self.peek()) and tok[1] in "*/":
            self.take()
            node = BinOp(tok[1], node, self.factor())
        return node

    def factor(self) -> Node:
        kind, value, pos = self.take()
        if value == "-":
            return Neg(self.factor())
        if value == "+":
            return self.factor()
        if kind == "num":
            return Num(float(value))
        if kind == "name":
            return Ref(value)
        if value == "(":
            node = self.expr()
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise FormulaError(f"missing ')' for the '(' at position {pos}")
            self.take()
            return node
        raise FormulaError(f"unexpected {value!r} at position {pos}")


def parse(text: str) -> Node:
    if not text or not text.strip():
        raise FormulaError("the formula is empty")
    parser = _Parser(text)
    node = parser.expr()
    if (tok := parser.peek()) is not None:
        raise FormulaError(f"unexpected {tok[1]!r} at position {tok[2]}")
    return node


def references(node: Node) -> set[str]:
    if isinstance(node, Ref):
        return {node.slug}
    if isinstance(node, Neg):
        return references(node.operand)
    if isinstance(node, BinOp):
        return references(node.left) | references(node.right)
    return set()


def evaluate(node: Node, resolve: Callable[[str], float | None] | Mapping[str, float | None]) -> float | None:
    lookup = resolve.get if isinstance(resolve, Mapping) else resolve
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        value = lookup(node.slug)
        return None if value is None else float(value)
    if isinstance(node, Neg):
        inner = evaluate(node.operand, lookup)
        return None if inner is None else -inner
    left = evaluate(node.left, lookup)
    right = evaluate(node.right, lookup)
    if left is None or right is None:
        return None
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    return None if right == 0 else left / right


def validate(slug: str, text: str, formulas: Mapping[str, str], known: Iterable[str]) -> Node:
    """Parse ``text`` as the formula of KPI ``slug`` and check every reference and the absence of cycles.

    ``formulas`` maps the other formula KPIs' slugs to their formula text; ``known`` is every KPI slug.
    """
    if slug in RESERVED:
        raise FormulaError(f"{slug!r} is a reserved name (the period's length in months)")
    node = parse(text)
    known_set = set(known) | {slug} | RESERVED
    unknown = sorted(references(node) - known_set)
    if unknown:
        raise FormulaError(f"unknown KPI {', '.join(unknown)}")
    graph = {s: references(parse(f)) for s, f in formulas.items() if s != slug}
    graph[slug] = references(node)

    def visit(current: str, trail: list[str]) -> None:
        if current in trail:
            cycle = " → ".join([*trail[trail.index(current) :], current])
            raise FormulaError(f"circular reference: {cycle}")
        for nxt in sorted(graph.get(current, ())):
            visit(nxt, [*trail, current])

    visit(slug, [])
    return node


def evaluation_order(formulas: Mapping[str, str]) -> list[str]:
    """Formula KPI slugs ordered so each comes after the formula KPIs it refers to."""
    graph = {s: references(parse(f)) & set(formulas) for s, f in formulas.items()}
    order: list[str] = []
    done: set[str] = set()

    def visit(s: str, trail: tuple[str, ...]) -> None:
        if s in done:
            return
        if s in trail:
            raise FormulaError(f"circular reference involving {s}")
        for dep in sorted(graph[s]):
            visit(dep, (*trail, s))
        done.add(s)
        order.append(s)

    for s in sorted(graph):
        visit(s, ())
    return order
