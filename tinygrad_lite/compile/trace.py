"""Tracing: turn the ``Value`` graph the ordinary API builds into a numbered, structure-only graph.

A traced :class:`Graph` lists the nodes the outputs depend on in topological order (parents
first). Every node is a plain tuple, so a graph's structure is hashable and two traces can be
compared node by node:

* ``("input", bank, column)``: a placeholder, column ``column`` of input array ``bank``;
* ``("param", p)``: the parameter at position ``p`` of the ``params`` list;
* ``("const", value)``: a leaf that is neither (a lifted number such as the ``1.0`` of ``1 - a``),
  or a whole sub-graph that depends on no input and no parameter (folded to its value);
* ``(op, parent_ids, extra)`` for an engine op: ``extra`` is the exponent of ``x ** 2.0``, the
  constant term of ``Value.sum``, ``(n, has_bias)`` for ``affine`` (whose parents are then the
  n weights, the n inputs and the bias, constants included as ``const`` nodes), else ``None``.
  The compiler adds ``"_max"`` (the per-example maximum of its parents, with no gradient) for
  the shift of a stable softmax, see :func:`resolve_traces`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Sequence

from tinygrad_lite.engine import Value, topological_order
from tinygrad_lite.optable import BUILTIN_OP_NAMES

__all__ = [
    "SUPPORTED_OPS",
    "TraceError",
    "UnsupportedOpError",
    "Graph",
    "trace_graph",
    "resolve_traces",
]

#: Every op of the engine, all of which the compiler runs vectorised. Ops made by other code
#: with ``Value.from_op`` (``tinygrad_lite.ops.custom_op``, say) are not supported, except inside
#: a sub-graph that depends on no input and no parameter (it is folded into a constant).
SUPPORTED_OPS: frozenset[str] = BUILTIN_OP_NAMES

_UNARY = frozenset({"neg", "exp", "log", "tanh", "sigmoid", "relu", "abs"})
_BINARY = frozenset({"+", "-", "*", "/"})

Node = tuple  # see the module docstring


class TraceError(ValueError):
    """The traced function does something a compiled program cannot repeat for other inputs.

    Raised when two traces with different placeholder values build different graphs: a Python
    branch on ``.data`` (``if v.data > 0:``), or a constant computed from ``.data``. The message
    says which node differs and how.
    """


class UnsupportedOpError(TypeError):
    """The graph uses an op the compiler cannot vectorise (a custom ``Value.from_op`` op)."""


@dataclass(frozen=True, eq=False)
class Graph:
    """A traced graph: nodes in topological order, which of them are outputs, and sizes.

    Attributes:
        nodes: one tuple per node (see the module docstring); parents come before children.
        outputs: the node index of each output.
        n_inputs: the number of placeholders of each input array ("bank").
        n_params: the number of parameters.
        data: every node's value in this trace (used to check the compiled program).
        labels: every node's ``Value.label`` (for error messages).
    """

    nodes: tuple[Node, ...]
    outputs: tuple[int, ...]
    n_inputs: tuple[int, ...]
    n_params: int
    data: tuple[float, ...] = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)

    @property
    def key(self) -> tuple:
        """The structure alone (hashable): equal keys compile to the same program."""
        return (self.nodes, self.outputs, self.n_inputs, self.n_params)


def parents_of(node: Node) -> tuple[int, ...]:
    """The parent node ids of ``node`` (empty for a leaf)."""
    return node[1] if len(node) == 3 and isinstance(node[1], tuple) else ()


def describe_node(graph: Graph, i: int) -> str:
    """A short human description of node ``i``, e.g. ``"node #12 (op 'relu', label 'z')"``."""
    node = graph.nodes[i]
    kind = node[0]
    if kind == "input":
        text = f"input {node[2]} of input array {node[1]}"
    elif kind == "param":
        text = f"parameter {node[1]}"
    elif kind == "const":
        text = f"constant {node[1]!r}"
    else:
        text = f"op {kind!r} with {len(node[1])} parent(s)"
    label = graph.labels[i]
    return f"node #{i} ({text}{f', label {label!r}' if label else ''})"


def _check_values(values: Sequence[Any], what: str) -> list[Value]:
    if isinstance(values, Value) or not isinstance(values, Sequence):
        raise TypeError(f"{what} must be a sequence of Values, got {type(values).__name__}")
    out = list(values)
    for i, v in enumerate(out):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__}")
        if not v.is_leaf:
            raise ValueError(f"{what}[{i}] must be a leaf Value (no parents), got a Value made "
                             f"by op {v.op!r}")
    return out


def _leaf_map(banks: Sequence[Sequence[Value]], params: Sequence[Value]) -> dict[int, Node]:
    where: dict[int, Node] = {}
    for b, bank in enumerate(banks):
        for c, v in enumerate(bank):
            if id(v) in where:
                raise ValueError(f"the placeholder input {b}[{c}] is listed twice (as "
                                 f"{where[id(v)][:3]}); every input must be its own Value")
            where[id(v)] = ("input", b, c)
    for p, v in enumerate(params):
        if id(v) in where:
            first = where[id(v)]
            what = "an input placeholder" if first[0] == "input" else f"parameter {first[1]}"
            raise ValueError(f"parameter {p} is also {what}; every parameter must appear once")
        where[id(v)] = ("param", p)
    return where


def trace_graph(
    outputs: Value | Sequence[Value],
    inputs: Sequence[Sequence[Value]],
    params: Sequence[Value],
) -> Graph:
    """Number the graph of ``outputs`` with respect to placeholder ``inputs`` and ``params``.

    Args:
        outputs: the Value (or Values) to compute.
        inputs: one sequence of placeholder leaf Values per input array.
        params: the trainable leaf Values, in the order of the flat parameter vector.

    Raises:
        TypeError: something is not a Value; UnsupportedOpError: an op the compiler does not
            know depends on an input or a parameter.
        ValueError: a placeholder or parameter that is not a leaf or is listed twice.
    """
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    if not outs:
        raise ValueError("nothing to compile: outputs is empty")
    for i, o in enumerate(outs):
        if not isinstance(o, Value):
            raise TypeError(f"outputs[{i}] must be a Value, got {type(o).__name__}")
    banks = [_check_values(bank, f"inputs[{b}]") for b, bank in enumerate(inputs)]
    params = _check_values(params, "params")
    where = _leaf_map(banks, params)

    order = topological_order(outs)
    live: dict[int, bool] = {}
    for v in order:
        if v.is_leaf:
            live[id(v)] = id(v) in where
        else:
            live[id(v)] = any(live[id(p)] for p in v.parents)

    nodes: list[Node] = []
    data: list[float] = []
    labels: list[str] = []
    index: dict[int, int] = {}

    def emit(node: Node, value: float, label: str = "") -> int:
        nodes.append(node)
        data.append(float(value))
        labels.append(label)
        return len(nodes) - 1

    def ref(v: Value | float) -> int:
        """The node id of parent ``v``; a non-live parent becomes a constant on first use.

        A plain number (an affine weight, input or bias given as a number) gets a fresh
        constant node, as the engine would lift it.
        """
        if not isinstance(v, Value):
            return emit(("const", float(v)), v)
        i = index.get(id(v))
        if i is None:
            i = index[id(v)] = emit(("const", float(v.data)), v.data, v.label)
        return i

    for v in order:
        key = id(v)
        if v.is_leaf:
            if key in where:
                index[key] = emit(where[key], v.data, v.label)
            continue  # constants are emitted on first use, see ref()
        if not live[key]:
            continue
        index[key] = emit(_normalise(v, ref), v.data, v.label)
    out_ids = tuple(ref(o) for o in outs)
    return Graph(tuple(nodes), out_ids, tuple(len(b) for b in banks), len(params),
                 tuple(data), tuple(labels))


def _normalise(v: Value, ref: Any) -> Node:
    """The node tuple of the live op node ``v`` (its parents already numbered by ``ref``)."""
    op, parents, ctx = v.op, v.parents, v.ctx
    if op not in SUPPORTED_OPS:
        raise UnsupportedOpError(
            f"op {op!r} (made with Value.from_op) cannot be compiled: the compiler vectorises "
            f"only the engine's ops ({', '.join(sorted(SUPPORTED_OPS))}); build the function "
            f"from those, or keep {op!r} on a part that depends on no input or parameter"
        )
    n = len(parents)

    def expect(count: int) -> None:
        if n != count:
            raise UnsupportedOpError(f"op {op!r} with {n} parents is not the engine's {op!r} "
                                     f"(which has {count}); was it made with Value.from_op?")

    if op in _UNARY:
        expect(1)
        return (op, (ref(parents[0]),), None)
    if op in _BINARY:
        expect(2)
        return (op, (ref(parents[0]), ref(parents[1])), None)
    if op == "**":
        if n == 2:
            return (op, (ref(parents[0]), ref(parents[1])), None)
        expect(1)
        if not isinstance(ctx, numbers.Real):
            raise UnsupportedOpError(f"op '**' with one parent needs its exponent as ctx, "
                                     f"got {ctx!r:.60}")
        return (op, (ref(parents[0]),), float(ctx))
    if op == "sum":
        if n == 0 or not isinstance(ctx, numbers.Real):
            raise UnsupportedOpError(f"op 'sum' needs parents and its constant as ctx, got "
                                     f"{n} parents and ctx {ctx!r:.60}")
        return (op, tuple(ref(p) for p in parents), float(ctx))
    return _normalise_affine(v, ref)


def _normalise_affine(v: Value, ref: Any) -> Node:
    ctx = v.ctx
    ok = isinstance(ctx, tuple) and len(ctx) == 3
    if ok:
        ws, xs, b = ctx
        ok = isinstance(ws, tuple) and isinstance(xs, tuple) and len(ws) == len(xs)
    if ok:
        wired = [e for e in (*ws, *xs, b) if isinstance(e, Value)]
        ok = len(wired) == len(v.parents) and all(a is p for a, p in zip(wired, v.parents))
    if not ok:
        raise UnsupportedOpError("an 'affine' node whose ctx is not the engine's (ws, xs, b) "
                                 "wiring of its parents cannot be compiled")

    refs = [ref(e) for e in (*ws, *xs)]
    has_bias = isinstance(b, Value) or float(b) != 0.0
    if has_bias:
        refs.append(ref(b))
    return ("affine", tuple(refs), (len(ws), has_bias))


# ------------------------------------------------------------------ comparing two traces
def _values_equal(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _structure_difference(g1: Graph, g2: Graph) -> str | None:
    """A message naming the first structural difference of two traces, or None."""
    if g1.n_inputs != g2.n_inputs or g1.n_params != g2.n_params:
        return "the two traces have different inputs or parameters"
    for i, (a, b) in enumerate(zip(g1.nodes, g2.nodes)):
        if a == b or (a[0] == b[0] == "const"):
            continue
        if a[0] == b[0] and a[1] == b[1] and len(a) == 3:
            what = {"sum": "its constant term", "**": "its exponent"}.get(a[0], "its constants")
            return (f"{describe_node(g1, i)} has {what} {a[2]!r} in one trace and {b[2]!r} in "
                    f"the other: a number computed from .data is used as a constant")
        return (f"{describe_node(g1, i)} in one trace is {describe_node(g2, i)} in the other: "
                f"the function takes a different path for different values (a Python branch "
                f"on .data such as `if v.data > 0:`, or max/min/sorted over .data)")
    if len(g1.nodes) != len(g2.nodes):
        return (f"one trace has {len(g1.nodes)} nodes and the other {len(g2.nodes)}: the "
                f"function takes a different path for different values (a Python branch on "
                f".data such as `if v.data > 0:`)")
    if g1.outputs != g2.outputs:
        return "the outputs are different nodes in the two traces"
    return None


def resolve_traces(g1: Graph, g2: Graph) -> Graph:
    """Check that two traces (different placeholder values) agree; return the compilable graph.

    Constants must be equal in both traces, with one exception, the shift of a numerically
    stable softmax / log-sum-exp: ``m = max(a.data for a in xs)`` used as ``a - m`` (and
    anywhere else as the same number). Such a constant is recomputed per example as the
    maximum of the values it is subtracted from, with no gradient, exactly as the engine
    treats it.

    Raises:
        TraceError: the traces differ in structure, or in a constant that is not such a shift.
    """
    problem = _structure_difference(g1, g2)
    if problem is not None:
        raise TraceError(f"cannot compile: {problem}")
    varying = [i for i, (a, b) in enumerate(zip(g1.nodes, g2.nodes))
               if a[0] == "const" and not _values_equal(a[1], b[1])]
    if not varying:
        return g1
    groups: dict[tuple[float, float], list[int]] = {}
    for i in varying:
        groups.setdefault((g1.nodes[i][1], g2.nodes[i][1]), []).append(i)
    consumers: dict[int, list[int]] = {}
    for j, node in enumerate(g1.nodes):
        for p in parents_of(node):
            consumers.setdefault(p, []).append(j)
    nodes = list(g1.nodes)
    alias: dict[int, int] = {}
    for (v1, v2), members in groups.items():
        shifted: list[int] = []
        for c in members:
            for j in consumers.get(c, ()):
                node = g1.nodes[j]
                if node[0] == "-" and node[1][1] == c and node[1][0] not in shifted:
                    shifted.append(node[1][0])
        ok = bool(shifted) and all(
            max(g.data[s] for s in shifted) == v for g, v in ((g1, v1), (g2, v2)))
        if not ok:
            i = members[0]
            users = ", ".join(describe_node(g1, j) for j in consumers.get(i, ())[:3])
            raise TraceError(
                f"cannot compile: {describe_node(g1, i)} is {v1!r} in one trace and {v2!r} in "
                f"the other, so it was computed from .data (used by {users or 'an output'}). "
                f"The compiled program would keep it fixed. The only such constant the "
                f"compiler accepts is the shift of a stable softmax, `a - max(x.data for x "
                f"in xs)`; otherwise build the value from Value ops")
        nodes[members[0]] = ("_max", tuple(shifted), None)
        for c in members[1:]:  # every copy of the constant reads the one maximum
            alias[c] = members[0]
    if alias:
        nodes = [(n[0], tuple(alias.get(p, p) for p in n[1]), n[2]) if parents_of(n) else n
                 for n in nodes]
    return _renumber(g1, nodes)


def _renumber(g: Graph, nodes: list[Node]) -> Graph:
    """``g`` with node tuples replaced by ``nodes``, re-sorted so that parents come first
    (nodes no output depends on any more are dropped)."""
    order: list[int] = []
    state = [0] * len(nodes)  # 0 new, 1 on the stack, 2 done
    for root in g.outputs:
        stack = [root]
        while stack:
            i = stack[-1]
            if state[i] == 0:
                state[i] = 1
                stack.extend(p for p in parents_of(nodes[i]) if state[p] == 0)
            else:
                stack.pop()
                if state[i] == 1:
                    state[i] = 2
                    order.append(i)
    new_id = {old: k for k, old in enumerate(order)}

    def remap(node: Node) -> Node:
        ps = parents_of(node)
        return (node[0], tuple(new_id[p] for p in ps), node[2]) if ps else node

    return Graph(tuple(remap(nodes[i]) for i in order), tuple(new_id[o] for o in g.outputs),
                 g.n_inputs, g.n_params, tuple(g.data[i] for i in order),
                 tuple(g.labels[i] for i in order))
