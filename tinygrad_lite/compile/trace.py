"""Tracing: turn the ``Value`` graph the ordinary API builds into a numbered, structure-only graph.

A traced :class:`Graph` lists the nodes the outputs depend on in topological order (parents
first). Every node is a :class:`Node` (a named tuple, so a graph's structure is hashable and two
traces can be compared node by node) with a ``kind``, its ``parents`` (node ids) and an
``extra``:

* ``Node("input", extra=(bank, column))``: a placeholder, column ``column`` of input array
  ``bank``;
* ``Node("param", extra=p)``: the parameter at position ``p`` of the ``params`` list;
* ``Node("const", extra=value)``: a leaf that is neither (a lifted number such as the ``1.0`` of
  ``1 - a``), or a whole sub-graph that depends on no input and no parameter (folded to its
  value);
* ``Node("dense", parents, Dense(first, n, has_bias))``: an ``affine`` node whose n weights are
  the parameters ``first .. first+n-1`` (a neuron of an ``MLP``); its parents are the n inputs
  and the bias, and its weights get no nodes of their own, so tracing and compiling grow with
  the number of neurons, not of weights;
* ``Node(op, parents, extra)`` for any other engine op: ``extra`` is the exponent of
  ``x ** 2.0``, the constant term of ``Value.sum``, ``Affine(n, has_bias)`` for ``affine``
  (whose parents are then the n weights, the n inputs and the bias, constants included as
  ``const`` nodes), else ``None``. The compiler adds ``"_max"`` (the per-example maximum of its
  parents, with no gradient) for the shift of a stable softmax, see :func:`resolve_traces`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import Any, NamedTuple, Sequence

import numpy as np

from tinygrad_lite.engine import Value, all_leaves
from tinygrad_lite.optable import BUILTIN_OP_NAMES, OPS

__all__ = [
    "TraceError",
    "UnsupportedOpError",
    "Node",
    "Dense",
    "Affine",
    "Graph",
    "LEAF_KINDS",
    "trace_graph",
    "resolve_traces",
]


def _elementwise_ops(arity: int) -> frozenset[str]:
    """The engine's elementwise ops of ``arity`` parents, read from the op table (the program
    runs their kernels from it), so that a new elementwise op needs no entry here."""
    return frozenset(record.name for record in OPS.values()
                     if record.builtin and record.arity == (arity,) and record.kernels is not None)


_UNARY = _elementwise_ops(1)
_BINARY = _elementwise_ops(2)

#: The kinds of leaf nodes.
LEAF_KINDS = frozenset({"input", "param", "const"})


class Node(NamedTuple):
    """One traced node: its kind (a leaf kind or an op), parent node ids and op details."""

    kind: str
    parents: tuple[int, ...] = ()
    extra: Any = None


class Dense(NamedTuple):
    """The ``extra`` of a ``"dense"`` node: weights are parameters ``first .. first+n-1``."""

    first: int
    n: int
    has_bias: bool


class Affine(NamedTuple):
    """The ``extra`` of an ``"affine"`` node: n weights, n inputs, then the bias if any."""

    n: int
    has_bias: bool


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
        nodes: one :class:`Node` per node; parents come before children.
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


def describe_node(graph: Graph, i: int) -> str:
    """A short human description of node ``i``, e.g. ``"node #12 (op 'relu', label 'z')"``."""
    node = graph.nodes[i]
    if node.kind == "input":
        text = f"input {node.extra[1]} of input array {node.extra[0]}"
    elif node.kind == "param":
        text = f"parameter {node.extra}"
    elif node.kind == "const":
        text = f"constant {node.extra!r}"
    elif node.kind == "dense":
        first, n = node.extra.first, node.extra.n
        text = f"op 'affine' of parameters {first}..{first + n - 1}"
    else:
        text = f"op {node.kind!r} with {len(node.parents)} parent(s)"
    label = graph.labels[i]
    return f"node #{i} ({text}{f', label {label!r}' if label else ''})"


def _check_values(values: Sequence[Any], what: str) -> list[Value]:
    if isinstance(values, Value) or not isinstance(values, Sequence):
        raise TypeError(f"{what} must be a sequence of Values, got {type(values).__name__}")
    out = list(values)
    if all(map(isinstance, out, repeat(Value))) and all_leaves(out):
        return out  # the common case, checked at C speed (a layer has a million weights)
    for i, v in enumerate(out):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__}")
        if not v.is_leaf:
            raise ValueError(f"{what}[{i}] must be a leaf Value (no parents), got a Value made "
                             f"by op {v.op!r}")
    return out


class _ParamIndex:
    """The position of each parameter, found by its ``id`` in a sorted array (24 bytes per
    parameter, a tenth of a dict's; a layer's weights are looked up in one vectorised call)."""

    def __init__(self, params: Sequence[Value]) -> None:
        self._params = params
        ids = np.fromiter(map(id, params), np.int64, len(params))
        self.order = np.argsort(ids, kind="stable")
        self.sorted = ids[self.order]

    def duplicated(self) -> bool:
        """Whether some parameter is listed twice."""
        return bool((self.sorted[1:] == self.sorted[:-1]).any())

    def positions(self, values: Sequence[Any]) -> np.ndarray:
        """The position of each value in the parameter list, −1 for a value not in it."""
        if not len(self.sorted):
            return np.full(len(values), -1)
        ids = np.fromiter(map(id, values), np.int64, len(values))
        at = np.minimum(np.searchsorted(self.sorted, ids), len(self.sorted) - 1)
        return np.where(self.sorted[at] == ids, self.order[at], -1)

    def get(self, v: Any) -> int | None:
        """The position of ``v``, or None."""
        p = int(self.positions((v,))[0])
        return None if p < 0 else p

    def run(self, values: Sequence[Any]) -> int | None:
        """``p`` if ``values`` are the parameters p, p+1, ... in order (a neuron's weights,
        usually), else None: one lookup, then the slice of the parameters from p compared with
        ``values`` by identity at C speed (Values define no ``==``), where looking up every
        value would search the sorted ids once per value."""
        p = self.get(values[0]) if len(values) else None
        if p is None or self._params[p:p + len(values)] != list(values):
            return None
        return p


class _Leaves:
    """Which Values are placeholders (``inputs[id] = (bank, column)``) and which parameters
    (:class:`_ParamIndex`)."""

    def __init__(self, banks: Sequence[Sequence[Value]], params: Sequence[Value]) -> None:
        self.inputs: dict[int, tuple[int, int]] = {}
        for b, bank in enumerate(banks):
            for c, v in enumerate(bank):
                if id(v) in self.inputs:
                    raise ValueError(f"the placeholder input {b}[{c}] is listed twice (as input "
                                     f"{self.inputs[id(v)]}); every input must be its own Value")
                self.inputs[id(v)] = (b, c)
        self.params = _ParamIndex(params)
        #: For each neuron met in the walk (by id): the position of its first weight when its
        #: weights are consecutive parameters, else None (see _ParamIndex.run).
        self.runs: dict[int, int | None] = {}
        #: The inputs tuples (by id) of neurons whose inputs were all walked already: a layer's
        #: neurons share one such tuple (see Value.affine_layer), so it is checked once.
        self.walked_inputs: set[int] = set()
        input_values = [v for bank in banks for v in bank]
        if self.params.duplicated() or (self.params.positions(input_values) >= 0).any():
            self._explain_duplicates(params)

    def _explain_duplicates(self, params: Sequence[Value]) -> None:
        seen: dict[int, int] = {}
        for p, v in enumerate(params):
            if id(v) in self.inputs:
                raise ValueError(f"parameter {p} is also an input placeholder; every parameter "
                                 f"must appear once")
            if id(v) in seen:
                raise ValueError(f"parameter {p} is also parameter {seen[id(v)]}; every "
                                 f"parameter must appear once")
            seen[id(v)] = p

    def __contains__(self, v: Value) -> bool:
        return id(v) in self.inputs or self.params.get(v) is not None

    def node(self, v: Value) -> Node | None:
        """The leaf node of ``v`` if it is a parameter or a placeholder, else None."""
        where = self.inputs.get(id(v))
        if where is not None:
            return Node("input", extra=where)
        p = self.params.get(v)
        return None if p is None else Node("param", extra=p)


def _walk(outs: Sequence[Value], leaves: _Leaves) -> list[Value]:
    """The op nodes and leaves ``outs`` depend on, parents first, WITHOUT the parameters that
    are weights of an ``affine`` node (a layer's weights are read by index, see
    :func:`_normalise_affine`; a weight needed as a node is numbered on first use)."""
    order: list[Value] = []
    seen: set[int] = set()
    for root in outs:
        stack: list[tuple[Value, bool]] = [(root, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                order.append(v)
            elif id(v) not in seen:
                seen.add(id(v))
                stack.append((v, True))
                parents = _walked_parents(v, leaves, seen)
                stack.extend((p, False) for p in reversed(parents) if id(p) not in seen)
    return order


def _walked_parents(v: Value, leaves: _Leaves, seen: set[int]) -> Sequence[Value]:
    """The parents of ``v`` to walk: for a neuron (an ``affine`` node whose weights are all
    parameters) only its inputs and bias, and none if all of them were walked already (every
    neuron of a layer has the same inputs: checked at C speed, and once per inputs tuple)."""
    ctx = v.ctx
    if v.op != "affine" or not (isinstance(ctx, tuple) and len(ctx) == 3 and ctx[0]):
        return v.parents
    weights, xs, b = ctx
    leaves.runs[id(v)] = run = leaves.params.run(weights)
    if run is None and (leaves.params.positions(weights) < 0).any():
        params = leaves.params.positions(v.parents) >= 0
        return [p for p, is_param in zip(v.parents, params) if not is_param]
    if id(xs) in leaves.walked_inputs or all(map(seen.__contains__, map(id, xs))):
        leaves.walked_inputs.add(id(xs))
        xs = ()
    return [x for x in (*xs, b) if isinstance(x, Value)]


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
    leaves = _Leaves(banks, params)
    tracer = _Tracer(leaves)
    for v in _walk(outs, leaves):
        tracer.visit(v)
    out_ids = tuple(tracer.ref(o) for o in outs)
    return Graph(tuple(tracer.nodes), out_ids, tuple(len(b) for b in banks), len(params),
                 tuple(tracer.data), tuple(tracer.labels))


class _Tracer:
    """Numbers nodes as :func:`trace_graph` meets them (parents first)."""

    def __init__(self, leaves: _Leaves) -> None:
        self.leaves = leaves
        self.nodes: list[Node] = []
        self.data: list[float] = []
        self.labels: list[str] = []
        self.index: dict[int, int] = {}
        self.live: dict[int, bool] = {}  # depends on an input or a parameter
        # id(inputs tuple) → (the tuple, kept so that its id stays its own; its refs)
        self._input_refs: dict[int, tuple[tuple[Any, ...], tuple[int, ...]]] = {}

    def emit(self, node: Node, value: float, label: str = "") -> int:
        self.nodes.append(node)
        self.data.append(float(value))
        self.labels.append(label)
        return len(self.nodes) - 1

    def ref(self, v: Value | float) -> int:
        """The node id of parent ``v``, numbered on first use: a parameter or placeholder as
        itself, anything else not live as a constant (a plain number too, as the engine would
        lift it)."""
        if not isinstance(v, Value):
            return self.emit(Node("const", extra=float(v)), v)
        i = self.index.get(id(v))
        if i is None:
            leaf = self.leaves.node(v)
            node = leaf if leaf is not None else Node("const", extra=float(v.data))
            i = self.index[id(v)] = self.emit(node, v.data, v.label)
        return i

    def refs(self, values: Sequence[Value | float]) -> tuple[int, ...]:
        """``ref`` of each value; at C speed when all are numbered already (the inputs of a
        layer's neurons after the first)."""
        try:
            return tuple(map(self.index.__getitem__, map(id, values)))
        except (KeyError, TypeError):
            return tuple(self.ref(v) for v in values)

    def input_refs(self, xs: tuple[Value | float, ...]) -> tuple[int, ...]:
        """``refs(xs)`` of a neuron's inputs tuple, looked up once per tuple: the neurons of a
        layer share one (see :meth:`Value.affine_layer`). Only a tuple of numbered Values is
        kept (the ref of a plain number is a new constant at each call)."""
        known = self._input_refs.get(id(xs))
        if known is not None:
            return known[1]
        try:
            out = tuple(map(self.index.__getitem__, map(id, xs)))
        except KeyError:
            return self.refs(xs)
        self._input_refs[id(xs)] = (xs, out)
        return out

    def is_live(self, v: Value) -> bool:
        if v.is_leaf:
            return v in self.leaves
        if v.op == "affine" and (self.leaves.runs.get(id(v)) is not None or
                                 (self.leaves.params.positions(v.parents) >= 0).any()):
            return True  # a neuron: its weights (not walked) are parameters
        live = self.live.get  # every walked node, leaves included, is in self.live
        return any(live(id(p), False) for p in v.parents)

    def visit(self, v: Value) -> None:
        self.live[id(v)] = live = self.is_live(v)
        if v.is_leaf:
            if v in self.leaves:
                self.ref(v)
            return  # constants are numbered on first use, see ref()
        if live:
            self.index[id(v)] = self.emit(_normalise(v, self), v.data, v.label)


def _normalise(v: Value, tracer: _Tracer) -> Node:
    """The node of the live op node ``v`` (its parents numbered by ``tracer.ref``)."""
    op, parents, ctx = v.op, v.parents, v.ctx
    ref = tracer.ref
    if op not in BUILTIN_OP_NAMES:
        raise UnsupportedOpError(
            f"op {op!r} (made with Value.from_op) cannot be compiled: the compiler vectorises "
            f"only the engine's ops ({', '.join(sorted(BUILTIN_OP_NAMES))}); build the "
            f"function from those, or keep {op!r} on a part that depends on no input or "
            f"parameter")
    n = len(parents)

    def expect(count: int) -> None:
        if n != count:
            raise UnsupportedOpError(f"op {op!r} with {n} parents is not the engine's {op!r} "
                                     f"(which has {count}); was it made with Value.from_op?")

    if op in _UNARY:
        expect(1)
        return Node(op, (ref(parents[0]),))
    if op in _BINARY:
        expect(2)
        return Node(op, (ref(parents[0]), ref(parents[1])))
    if op == "**":
        if n == 2:
            return Node(op, (ref(parents[0]), ref(parents[1])))
        expect(1)
        if not isinstance(ctx, numbers.Real):
            raise UnsupportedOpError(f"op '**' with one parent needs its exponent as ctx, "
                                     f"got {ctx!r:.60}")
        return Node(op, (ref(parents[0]),), float(ctx))
    if op == "sum":
        if n == 0 or not isinstance(ctx, numbers.Real):
            raise UnsupportedOpError(f"op 'sum' needs parents and its constant as ctx, got "
                                     f"{n} parents and ctx {ctx!r:.60}")
        return Node(op, tuple(ref(p) for p in parents), float(ctx))
    return _normalise_affine(v, tracer)


def _normalise_affine(v: Value, tracer: _Tracer) -> Node:
    ctx = v.ctx
    ok = isinstance(ctx, tuple) and len(ctx) == 3
    if ok:
        weights, xs, b = ctx
        ok = isinstance(weights, tuple) and isinstance(xs, tuple) and len(weights) == len(xs)
    if ok:
        ok = _wiring_matches(weights, xs, b, v.parents)
    if not ok:
        raise UnsupportedOpError("an 'affine' node whose ctx is not the engine's (ws, xs, b) "
                                 "wiring of its parents cannot be compiled")
    has_bias = isinstance(b, Value) or float(b) != 0.0
    bias = (tracer.ref(b),) if has_bias else ()
    first = tracer.leaves.runs.get(id(v))
    if first is not None:
        return Node("dense", tracer.input_refs(xs) + bias, Dense(first, len(weights), has_bias))
    return Node("affine", tracer.refs((*weights, *xs)) + bias, Affine(len(weights), has_bias))


def _wiring_matches(weights: tuple[Any, ...], xs: tuple[Any, ...], b: Any,
                    parents: tuple[Value, ...]) -> bool:
    """Whether the Values among ``weights``, ``xs`` and ``b`` are ``parents``, in order.

    Tuples of Values compare by identity at C speed (Value defines no ``==``): when every
    weight and input is a Value (a hidden layer's neurons, or a traced one's), as three slices
    of the parents, without looking at each entry.
    """
    n, m = len(weights), len(xs)
    bias = (b,) if isinstance(b, Value) else ()
    if parents[:n] == weights and parents[n:n + m] == xs and parents[n + m:] == bias:
        return True
    entries = (*weights, *xs, b)
    return tuple(compress(entries, map(isinstance, entries, repeat(Value)))) == parents


# ------------------------------------------------------------------ comparing two traces
def _values_equal(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _structure_difference(g1: Graph, g2: Graph) -> str | None:
    """A message naming the first structural difference of two traces, or None."""
    if g1.n_inputs != g2.n_inputs or g1.n_params != g2.n_params:
        return "the two traces have different inputs or parameters"
    for i, (a, b) in enumerate(zip(g1.nodes, g2.nodes)):
        if a == b or (a.kind == b.kind == "const"):
            continue
        if a.kind == b.kind and a.parents == b.parents and a.kind not in LEAF_KINDS:
            what = {"sum": "its constant term", "**": "its exponent"}.get(a.kind, "its constants")
            return (f"{describe_node(g1, i)} has {what} {a.extra!r} in one trace and "
                    f"{b.extra!r} in the other: a number computed from .data is used as a "
                    f"constant")
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
               if a.kind == "const" and not _values_equal(a.extra, b.extra)]
    if not varying:
        return g1
    groups: dict[tuple[float, float], list[int]] = {}
    for i in varying:
        groups.setdefault((g1.nodes[i].extra, g2.nodes[i].extra), []).append(i)
    consumers: dict[int, list[int]] = {}
    for j, node in enumerate(g1.nodes):
        for p in node.parents:
            consumers.setdefault(p, []).append(j)
    nodes = list(g1.nodes)
    alias: dict[int, int] = {}
    for (v1, v2), members in groups.items():
        shifted: list[int] = []
        for c in members:
            for j in consumers.get(c, ()):
                node = g1.nodes[j]
                if node.kind == "-" and node.parents[1] == c and node.parents[0] not in shifted:
                    shifted.append(node.parents[0])
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
        nodes[members[0]] = Node("_max", tuple(shifted))
        for c in members[1:]:  # every copy of the constant reads the one maximum
            alias[c] = members[0]
    if alias:
        nodes = [n._replace(parents=tuple(alias.get(p, p) for p in n.parents)) if n.parents
                 else n for n in nodes]
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
                stack.extend(p for p in nodes[i].parents if state[p] == 0)
            else:
                stack.pop()
                if state[i] == 1:
                    state[i] = 2
                    order.append(i)
    new_id = {old: k for k, old in enumerate(order)}

    def remap(node: Node) -> Node:
        ps = node.parents
        return node._replace(parents=tuple(new_id[p] for p in ps)) if ps else node

    return Graph(tuple(remap(nodes[i]) for i in order), tuple(new_id[o] for o in g.outputs),
                 g.n_inputs, g.n_params, tuple(g.data[i] for i in order),
                 tuple(g.labels[i] for i in order))
