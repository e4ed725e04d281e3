"""Lowering a traced graph to instructions, and :class:`Program`, which runs them on batches.

Lowering groups the graph's op nodes by (depth, op): all nodes of one op at one depth become
ONE vectorised instruction over all of them and all examples, so the number of NumPy calls per
step grows with the depth of the network, not its width. Rows of the value workspace ``V`` are
given out group by group, in an order that keeps operands contiguous (a slice is a view, not a
copy), and an ``affine`` group whose weights form a regular block of the flat parameter
vector becomes a matrix product on a strided view of it.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np

from tinygrad_lite.compile.access import B, C, P, V, Access, Loc, Planner
from tinygrad_lite.compile.arrays import check_dtype, check_finite, real_array
from tinygrad_lite.compile.dense import DenseStep, match_dense_chain
from tinygrad_lite.compile.instructions import (
    FLAGGED,
    Elementwise,
    FloatingPointFlag,
    Instruction,
    MatmulAffine,
    SegmentAffine,
    SegmentMax,
    SegmentSum,
    fp_error,
    regular_block,
)
from tinygrad_lite.compile.trace import LEAF_KINDS, Graph, Node
from tinygrad_lite.engine import Value
from tinygrad_lite.optim import assign_all

__all__ = ["Lowered", "lower", "Program", "Batch", "Stepper"]

#: Batches larger than this run in chunks, so memory stays bounded (evaluating a test set).
CHUNK = 4096
_MAX_WORKSPACES = 4


@dataclass(frozen=True, eq=False)
class Lowered:
    """A graph lowered to instructions; independent of batch size and parameter values.

    Attributes:
        instructions: in forward order.
        n_rows: rows of the value and gradient workspaces.
        out_rows: the row of each output.
        n_inputs: columns of each input array; n_params: length of the parameter vector.
        zero_rows, zero_params: gradient rows/entries to zero before each backward pass.

    Every op node of the traced graph (and a copy of each output that is a leaf) has one row,
    so ``n_rows`` is also the number of op nodes.
    """

    instructions: tuple[Instruction, ...]
    n_rows: int
    out_rows: np.ndarray
    n_inputs: tuple[int, ...]
    n_params: int
    zero_rows: np.ndarray
    zero_params: np.ndarray
    ones_rows: np.ndarray


def _affine_inputs(node: Node) -> tuple[int, ...]:
    """The input node ids of an ``affine`` or ``dense`` node."""
    n = node.extra.n
    return node.parents[:n] if node.kind == "dense" else node.parents[n:2 * n]


def _fold_candidates(nodes: Sequence[Node]) -> set[tuple[int, ...]]:
    """The input tuples of affine nodes with a bias: a group of rows equal to one of them gets a
    row of ones after it, so that the bias can be folded into the matrix product."""
    return {_affine_inputs(node) for node in nodes
            if node.kind in ("affine", "dense") and node.extra.has_bias and node.extra.n}


def _places(nodes: Sequence[Node]) -> tuple[list[Loc], list[bool], dict[tuple, list[int]]]:
    """(location of each leaf, whether each node depends on a parameter, op nodes grouped by
    (depth, op, variant))."""
    n = len(nodes)
    depth = [0] * n
    need = [False] * n
    loc: list[Loc] = [Loc(C)] * n
    groups: dict[tuple, list[int]] = {}
    for i, node in enumerate(nodes):
        kind, ps = node.kind, node.parents
        if kind == "input":
            loc[i] = Loc(B, node.extra[1], node.extra[0])
        elif kind == "param":
            loc[i] = Loc(P, node.extra)
            need[i] = True
        elif kind == "const":
            loc[i] = Loc(C, value=node.extra)
        else:
            depth[i] = 1 + max(map(depth.__getitem__, ps), default=0)
            need[i] = kind == "dense" or (kind != "_max" and any(need[p] for p in ps))
            sub = None
            if kind == "**":
                sub = ("c", node.extra) if len(ps) == 1 else ("v",)
            groups.setdefault((depth[i], kind, sub), []).append(i)
    return loc, need, groups


def _gradient_flow(nodes: Sequence[Node], outputs: Sequence[int], need: list[bool]) -> list[bool]:
    """Whether a gradient reaches each node: only through consumers that pass one on (not
    "_max"); without that, the node's gradient row would never be written, so it must not be
    read either."""
    flows = [False] * len(nodes)
    for o in outputs:
        flows[o] = need[o]
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if flows[i] and node.kind not in LEAF_KINDS and node.kind != "_max":
            for p in node.parents:
                if need[p]:
                    flows[p] = True
    return flows


class _Rows:
    """Gives out rows of the workspaces group by group (with a row of ones after a group that
    is the input of products whose bias is folded in)."""

    def __init__(self, nodes: Sequence[Node], loc: list[Loc]) -> None:
        self.next, self.loc = 0, loc
        self.fold_inputs = _fold_candidates(nodes)
        self.ones: list[int] = []

    def give(self, ids: Sequence[int]) -> int:
        start = self.next
        for r, i in enumerate(ids):
            self.loc[i] = Loc(V, start + r)
        self.next += len(ids)
        if tuple(ids) in self.fold_inputs:
            self.ones.append(self.next)
            self.next += 1
        return start


def lower(graph: Graph) -> Lowered:
    """Group ``graph``'s op nodes by (depth, op) into vectorised instructions."""
    nodes = list(graph.nodes)
    outputs = list(graph.outputs)
    for j, o in enumerate(outputs):
        if nodes[o].kind in LEAF_KINDS:  # an output that is a leaf gets a row through a copy
            nodes.append(Node("id", (o,)))
            outputs[j] = len(nodes) - 1
    loc, need, groups = _places(nodes)
    need = _gradient_flow(nodes, outputs, need)
    rows = _Rows(nodes, loc)

    def access(refs: Sequence[int], full: bool = False, grads: bool = True) -> Access:
        return Access([loc[p] for p in refs], [grads and need[p] for p in refs], full=full)

    instructions: list[Instruction] = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], repr(k[2]))):
        d, op, sub = key
        ids = groups[key]
        if op in ("affine", "dense"):
            instructions.extend(_lower_affine(d, ids, nodes, loc, need, rows, access))
        else:
            ids = sorted(ids, key=lambda i: tuple(loc[p] for p in nodes[i].parents))
            instructions.append(_lower_group(d, op, sub, ids, nodes, rows.give(ids), access))
    out_rows = np.array([loc[o].index for o in outputs], dtype=np.int64)
    planner = Planner(out_rows.tolist(), rows.next, graph.n_params)
    for instr in reversed(instructions):
        if instr.needs_backward:
            instr.plan(planner)
    return Lowered(tuple(instructions), rows.next, out_rows, graph.n_inputs, graph.n_params,
                   planner.zero_rows, planner.zero_params, np.array(rows.ones, dtype=np.int64))


def _lower_group(d: int, op: str, sub: Any, ids: list[int], nodes: Sequence[Node], start: int,
                 access: Any) -> Instruction:
    """The instruction of the nodes ``ids`` of one op at depth ``d`` (rows from ``start``)."""
    if op in ("sum", "_max"):
        refs = [p for i in ids for p in nodes[i].parents]
        counts = [len(nodes[i].parents) for i in ids]
        if op == "sum":
            return SegmentSum(d, start, counts, access(refs, full=True),
                              [nodes[i].extra for i in ids])
        return SegmentMax(d, start, counts, access(refs, full=True, grads=False))
    arity = len(nodes[ids[0]].parents)
    operands = [access([nodes[i].parents[j] for i in ids]) for j in range(arity)]
    exponent = sub[1] if sub is not None and sub[0] == "c" else None
    return Elementwise(op, d, start, operands, exponent)


def _lower_affine(d: int, ids: list[int], nodes: list[Node], loc: list[Loc], need: list[bool],
                  rows: _Rows, access: Any) -> list[Instruction]:
    """Matrix products for clusters of nodes sharing their inputs; the rest as segment sums."""
    clusters: dict[tuple[int, ...], list[tuple[int, np.ndarray, int | None]]] = {}
    generic: list[int] = []
    for i in ids:
        node = nodes[i]
        n, has_bias = node.extra.n, node.extra.has_bias
        bias = node.parents[-1] if has_bias else None
        if node.kind == "dense":
            if {loc[x].kind for x in node.parents[:n]} <= {V, B}:
                first = node.extra.first
                clusters.setdefault(node.parents[:n], []).append(
                    (i, np.arange(first, first + n), bias))
            else:
                generic.append(i)
            continue
        ws, xs = node.parents[:n], node.parents[n:2 * n]
        w_kinds = {loc[w].kind for w in ws}
        x_kinds = {loc[x].kind for x in xs}
        if n and w_kinds == {P} and x_kinds <= {V, B}:
            params, shared = ws, xs
        elif n and x_kinds == {P} and w_kinds <= {V, B}:
            params, shared = xs, ws
        else:
            generic.append(i)
            continue
        clusters.setdefault(tuple(shared), []).append(
            (i, np.array([loc[w].index for w in params]), bias))
    out: list[Instruction] = []
    for shared, members in clusters.items():
        members.sort(key=lambda m: int(m[1][0]))
        start = rows.give([m[0] for m in members])
        weights = np.array([m[1] for m in members], dtype=np.int64)
        out.append(_matmul(d, start, weights, [m[2] for m in members],
                           access(list(shared), full=True), loc, need, set(rows.ones)))
    if generic:
        out.append(_segment_affine(d, rows.give(generic), generic, nodes, loc, need, access))
    return out


def _matmul(d: int, start: int, weights: np.ndarray, biases: list[int | None], xs: Access,
            loc: list[Loc], need: list[bool], ones_rows: set[int]) -> MatmulAffine:
    """One cluster's product; the biases folded in when they are parameters that extend the
    weights' block by one column and the inputs are rows of V with a row of ones below."""
    if (xs.kind == V and xs.form == "slice" and xs.start + xs.m in ones_rows
            and all(b is not None and loc[b].kind == P for b in biases)):
        extended = np.hstack([weights, [[loc[b].index] for b in biases]])  # type: ignore[index]
        if regular_block(extended) is not None:
            return MatmulAffine(d, start, extended, xs, None, ones_row=True)
    bias = None
    if any(b is not None for b in biases):
        bias = Access([loc[b] if b is not None else Loc(C) for b in biases],
                      [b is not None and need[b] for b in biases])
    return MatmulAffine(d, start, weights, xs, bias)


def _segment_affine(d: int, start: int, generic: list[int], nodes: list[Node], loc: list[Loc],
                    need: list[bool], access: Any) -> SegmentAffine:
    """Affine nodes of any other wiring, as products and segment sums."""
    w_locs: list[Loc] = []
    w_need: list[bool] = []
    x_refs: list[int] = []
    counts: list[int] = []
    bias_locs: list[Loc] = []
    bias_need: list[bool] = []
    for i in generic:
        node = nodes[i]
        n, has_bias = node.extra.n, node.extra.has_bias
        if node.kind == "dense":  # weights are parameters first.., inputs come first
            w_locs.extend(Loc(P, node.extra.first + j) for j in range(n))
            w_need.extend([True] * n)
            x_refs.extend(node.parents[:n])
        else:
            w_locs.extend(loc[w] for w in node.parents[:n])
            w_need.extend(need[w] for w in node.parents[:n])
            x_refs.extend(node.parents[n:2 * n])
        counts.append(n)
        bias = node.parents[-1]
        bias_locs.append(loc[bias] if has_bias else Loc(C))
        bias_need.append(has_bias and need[bias])
    return SegmentAffine(d, start, counts, Access(w_locs, w_need, full=True),
                         access(x_refs, full=True), Access(bias_locs, bias_need))


class _Workspace:
    """The arrays and bound closures of one program for one batch size."""

    def __init__(self, lowered: Lowered, b: int, theta: np.ndarray, G: np.ndarray) -> None:
        self.b, self.dtype = b, theta.dtype
        self.V = np.empty((lowered.n_rows, b), self.dtype)
        self.V[lowered.ones_rows] = 1.0  # below the inputs of products with a folded bias
        self.D = np.empty((lowered.n_rows, b), self.dtype)
        self.banks: list[Any] = [None] * len(lowered.n_inputs)
        self.theta, self.G = theta, G
        self.forward: list[Any] = []
        self.fast_forward: list[Any] = []  # for the Stepper, see instructions.py
        backward: list[tuple[Instruction, Any]] = []
        for instr in lowered.instructions:
            fwd, bwd = instr.bind(self)
            self.forward.append(fwd)
            self.fast_forward.append(getattr(fwd, "fast", fwd))
            if bwd is not None:
                backward.append((instr, bwd))
        backward.reverse()
        self.backward_instr = [i for i, _ in backward]
        self.backward = [f for _, f in backward]
        rows = lowered.out_rows
        self.single_row = int(rows[0]) if len(rows) == 1 else None
        self.first_output = self.V[int(rows[0])] if len(rows) else self.V[:0]
        # For the one-output step: seeding is filling one row when nothing needs zeroing.
        self.seed_row = (self.D[self.single_row] if self.single_row is not None
                         and not len(lowered.zero_rows) and not len(lowered.zero_params)
                         else None)


def _cached(cache: OrderedDict[int, Any], b: int, make: Any) -> Any:
    """``cache[b]``, made by ``make()`` if missing; the least recently used of more than
    ``_MAX_WORKSPACES`` entries is dropped (so memory stays bounded across batch sizes)."""
    item = cache.get(b)
    if item is None:
        item = cache[b] = make()
        if len(cache) > _MAX_WORKSPACES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(b)
    return item


class Batch(NamedTuple):
    """Input arrays checked and converted once by :meth:`Program.prepare` (shapes, real
    dtype, finite, the program's float type), to be run any number of times."""

    arrays: tuple[np.ndarray, ...]
    size: int


class Program:
    """A compiled scalar graph: forward and backward over whole batches with NumPy.

    Made by :func:`~tinygrad_lite.compile.compile_graph`, :func:`~tinygrad_lite.compile.
    compile_function`, :func:`~tinygrad_lite.compile.compile_cost` or
    :func:`~tinygrad_lite.compile.compile_model`. Inputs are 2-D arrays, one row per example
    and one column per placeholder; the graph's parameters are read from the flat vector
    :attr:`theta` (loaded from the parameter Values on each call unless told otherwise).

    Attributes:
        params: the parameter Values, in the order of :attr:`theta` and of gradients.
        theta: the flat parameter vector the program reads (of the program's :attr:`dtype`).
        n_inputs: the number of columns of each input array.
    """

    def __init__(self, lowered: Lowered, params: Sequence[Value], *, single_output: bool,
                 theta: np.ndarray | None = None, dtype: Any = "float64") -> None:
        self.lowered = lowered
        self.params = params if isinstance(params, list) else list(params)  # shared, not copied
        if theta is None:
            theta = np.array([p.data for p in self.params], dtype=check_dtype(dtype))
        self.theta = theta
        self._G = np.zeros(lowered.n_params, theta.dtype)
        self._single = single_output
        self._workspaces: OrderedDict[int, _Workspace] = OrderedDict()
        self._chain = match_dense_chain(lowered.instructions, lowered.n_inputs,
                                        lowered.out_rows, lowered.n_params)
        self._dense_steps: OrderedDict[int, DenseStep] = OrderedDict()

    # ------------------------------------------------------------------ sizes
    @property
    def dtype(self) -> np.dtype:
        """The float type the program computes in (float64 unless made with float32)."""
        return self.theta.dtype

    @property
    def n_inputs(self) -> tuple[int, ...]:
        """Columns of each input array (one per placeholder)."""
        return self.lowered.n_inputs

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.lowered.n_params

    @property
    def n_outputs(self) -> int:
        """How many outputs the program computes per example."""
        return len(self.lowered.out_rows)

    @property
    def n_instructions(self) -> int:
        """Vectorised instructions per forward pass (about the depth of the graph)."""
        return len(self.lowered.instructions)

    def describe(self) -> str:
        """The program as text: one line per instruction, e.g. ``d1 matmul 16×784 ...``."""
        lo = self.lowered
        head = (f"Program: {lo.n_rows - len(lo.ones_rows)} op nodes in {len(lo.instructions)} "
                f"instructions, inputs {'+'.join(map(str, lo.n_inputs)) or 'none'}, "
                f"{lo.n_params} parameters, {len(lo.out_rows)} output(s)")
        lines = [head, *(i.describe() for i in lo.instructions)]
        if self._chain is not None:
            sizes = " → ".join(str(lay.n_out) for lay in self._chain.layers)
            lines.append(f"training steps run fused: sigmoid layers {sizes}, quadratic cost "
                         "(compile/dense.py)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        lo = self.lowered
        return (f"Program({lo.n_rows - len(lo.ones_rows)} op nodes, {len(lo.instructions)} "
                f"instructions, {lo.n_params} parameters)")

    def sharing(self, theta: np.ndarray) -> "Program":
        """The same program reading its parameters from ``theta`` (shared, not copied: the
        caller owns it; it must be a 1-D array of :attr:`n_params` entries of :attr:`dtype`)."""
        if theta.shape != (self.n_params,) or theta.dtype != self.dtype:
            raise ValueError(f"theta must be a 1-D {self.dtype} array of {self.n_params} "
                             f"entries, got {theta.dtype} {theta.shape}")
        return Program(self.lowered, self.params, single_output=self._single, theta=theta)

    # ------------------------------------------------------------------ parameters
    def load_params(self, values: Any = None) -> None:
        """Fill :attr:`theta` from the parameter Values (default) or from a 1-D array."""
        if values is None:
            self.theta[:] = [p.data for p in self.params]
            return
        arr = real_array(values, "params", self.theta.dtype.type)
        if arr.shape != (self.n_params,):
            raise ValueError(f"params must be a 1-D array of {self.n_params} numbers, got shape "
                             f"{arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"params: entry {int(np.flatnonzero(~np.isfinite(arr))[0])} is "
                             "not finite")
        self.theta[:] = arr

    def store_params(self) -> None:
        """Write :attr:`theta` into the ``.data`` of the parameter Values.

        Every Value is written even if Ctrl-C arrives midway (the KeyboardInterrupt is re-raised
        afterwards), so the model is never left half old, half new.
        """
        assign_all(self.params, self.theta.tolist())

    # ------------------------------------------------------------------ public running
    def prepare(self, *inputs: Any) -> Batch:
        """Check and convert one input array per input of the program, once.

        Raises:
            TypeError: the wrong number of arrays, or one that does not hold real numbers
                (complex, strings, datetimes, objects), naming its dtype.
            ValueError: a wrong shape, an empty batch, different batch sizes, nan or inf.
        """
        sizes = self.lowered.n_inputs
        if len(inputs) != len(sizes):
            raise TypeError(f"this program takes {len(sizes)} input array(s) with "
                            f"{' and '.join(map(str, sizes)) or 'no'} columns, got {len(inputs)}")
        if not inputs:
            raise ValueError("this program has no inputs; it cannot be run on a batch")
        arrays = []
        for k, (x, n) in enumerate(zip(inputs, sizes)):
            arr = real_array(x, f"input {k}", self.theta.dtype.type)
            if arr.ndim != 2 or arr.shape[1] != n:
                hint = " (for one example use x[None, :])" if arr.ndim == 1 else ""
                raise ValueError(f"input {k} must have shape (batch, {n}), got {arr.shape}{hint}")
            if arr.shape[0] == 0:
                raise ValueError(f"input {k} is empty: the batch needs at least one example")
            check_finite(arr, f"input {k}")
            arrays.append(arr)
        if len({a.shape[0] for a in arrays}) > 1:
            raise ValueError(f"the input arrays have different batch sizes: "
                             f"{[a.shape[0] for a in arrays]}")
        return Batch(tuple(arrays), arrays[0].shape[0])

    def forward(self, *inputs: Any, params: Any = None) -> np.ndarray:
        """The outputs for a batch: shape ``(b,)`` for one output, ``(b, n_outputs)`` for several.

        Args:
            inputs: one 2-D array ``(b, n)`` per input array of the program.
            params: ``None`` to read the parameter Values, or a flat array to use instead.

        Raises:
            ValueError / TypeError: inputs of the wrong number, shape, type, or not finite.
            OverflowError, ValueError, ZeroDivisionError: as the engine, when an op leaves
                its domain for some example (naming the op).
        """
        batch = self.prepare(*inputs)
        self.load_params(params)
        return self._shape(self.evaluate(batch))

    def gradients(self, *inputs: Any, params: Any = None, reduction: str = "mean",
                  grad_output: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(outputs, flat gradient)`` for a batch; does not touch any Value's ``.grad``.

        The gradient is of the mean (``reduction="mean"``, as :func:`~tinygrad_lite.losses.
        batch_cost`) or the sum over the batch of the output (or of Σⱼ grad_output[:, j] ·
        output j, for several outputs), ordered as :attr:`params`.

        As ``Value.backward``, the backward pass raises nothing: an infinite local derivative
        (``x ** 0.5`` at 0, a divisor near 0) gives inf or nan entries, as the engine's would.
        The forward pass raises the engine's errors (see :meth:`forward`).

        Args:
            inputs, params: as :meth:`forward`.
            reduction: ``"mean"`` or ``"sum"`` over the batch.
            grad_output: ``(b,)`` or ``(b, n_outputs)`` weights of the outputs; default 1 (it
                is required for a program with several outputs).
        """
        batch = self.prepare(*inputs)
        self.load_params(params)
        scale = self._scale(reduction, batch.size)
        seeds = self._check_grad_output(grad_output, batch.size)
        outs, grad = self.differentiate(batch, scale, seeds)
        return self._shape(outs), grad

    def backward(self, *inputs: Any, reduction: str = "mean",
                 grad_output: Any = None) -> np.ndarray:
        """Like ``Value.backward`` for a batch: ADD the gradient into each parameter's ``.grad``.

        Reads the parameters from their Values, runs forward and backward, adds the batch
        gradient (see :meth:`gradients`) into ``.grad`` and returns it as a flat array.
        """
        _, grad = self.gradients(*inputs, reduction=reduction, grad_output=grad_output)
        for p, g in zip(self.params, grad.tolist()):
            p.grad += g
        return grad

    # ------------------------------------------------------------------ prepared batches
    def evaluate(self, batch: Batch) -> np.ndarray:
        """The outputs ``(b, n_outputs)`` of a prepared batch with the current :attr:`theta`.

        Raises the engine's errors as :meth:`forward` does.
        """
        out = np.empty((batch.size, self.n_outputs), self.dtype)
        for s, e in self._chunks(batch.size):
            ws = self._workspace(e - s)
            self._run(ws, [a[s:e] for a in batch.arrays], None)
            out[s:e] = ws.V[self.lowered.out_rows].T
        return out

    def differentiate(self, batch: Batch, scale: float = 1.0,
                      seeds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(outputs (b, n_outputs), gradient)`` of ``scale`` · Σ over the batch of the output
        (of Σⱼ seeds[:, j] · output j with ``seeds``), with the current :attr:`theta`. The
        gradient is a new array."""
        out = np.empty((batch.size, self.n_outputs), self.dtype)
        total = np.zeros(self.n_params, self.dtype)
        for s, e in self._chunks(batch.size):
            ws = self._workspace(e - s)
            seed: Any = scale if seeds is None else (seeds[s:e].T * scale)
            self._run(ws, [a[s:e] for a in batch.arrays], seed)
            out[s:e] = ws.V[self.lowered.out_rows].T
            with np.errstate(all="ignore"):  # inf/nan gradients add up as the engine's do
                total += self._G
        return out, total

    def stepper(self) -> "Stepper":
        """A :class:`Stepper`: forward and backward of many batches, errors checked cheaply."""
        return Stepper(self)

    # ------------------------------------------------------------------ checks
    def _check_grad_output(self, grad_output: Any, b: int) -> np.ndarray | None:
        m = self.n_outputs
        if grad_output is None:
            if m != 1:
                raise ValueError(f"this program has {m} outputs: pass grad_output of shape "
                                 f"({b}, {m}) to say how they are weighted")
            return None
        arr = real_array(grad_output, "grad_output", self.theta.dtype.type)
        if arr.ndim == 1 and m == 1:
            arr = arr[:, None]
        if arr.shape != (b, m):
            raise ValueError(f"grad_output must have shape ({b}, {m}), got {arr.shape}")
        check_finite(arr, "grad_output")
        return arr

    @staticmethod
    def _scale(reduction: str, b: int) -> float:
        if reduction == "mean":
            return 1.0 / b
        if reduction == "sum":
            return 1.0
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")

    def _shape(self, outs: np.ndarray) -> np.ndarray:
        return outs[:, 0].copy() if self._single else outs

    # ------------------------------------------------------------------ running
    def _workspace(self, b: int) -> _Workspace:
        return _cached(self._workspaces, b,
                       lambda: _Workspace(self.lowered, b, self.theta, self._G))

    def _chunks(self, b: int) -> list[tuple[int, int]]:
        return [(s, min(s + CHUNK, b)) for s in range(0, b, CHUNK)]

    def _run(self, ws: _Workspace, arrays: Sequence[np.ndarray], seed: Any) -> None:
        """Forward over one chunk; backward too unless ``seed`` is None (gradient in ``_G``).

        ``seed`` is ∂(what is differentiated)/∂output: a number for every output and example,
        or an array ``(n_outputs, b)``.

        The forward pass raises the engine's error where an op leaves its domain. The backward
        pass raises nothing, as ``Value.backward`` raises nothing: an infinite local derivative
        (``x ** 0.5`` at 0, a tiny divisor) or an overflowing product gives inf or nan
        gradients (inf·0 = nan), which the caller sees and may refuse. (Only the local
        derivative of a power, which the engine already computes in the forward pass and
        which raises OverflowError there, raises here too.)
        """
        for k, a in enumerate(arrays):
            ws.banks[k] = a.T
        instrs = self.lowered.instructions
        with np.errstate(**FLAGGED):
            i = 0
            try:
                for i, f in enumerate(ws.forward):
                    f()
            except FloatingPointFlag as exc:
                raise fp_error(instrs[i], exc.flag, backward=False) from None
        if seed is None:
            return
        self._seed(ws, seed)
        with np.errstate(all="ignore"):
            try:
                for i, f in enumerate(ws.backward):
                    f()
            except FloatingPointFlag as exc:
                raise fp_error(ws.backward_instr[i], exc.flag, backward=True) from None

    def _seed(self, ws: _Workspace, seed: Any) -> None:
        lo = self.lowered
        D = ws.D
        if len(lo.zero_rows):
            D[lo.zero_rows] = 0.0
        if len(lo.zero_params):
            self._G[lo.zero_params] = 0.0
        if ws.single_row is not None:
            D[ws.single_row] = seed if isinstance(seed, numbers.Real) else seed[0]
            return
        rows = lo.out_rows
        seeds = np.broadcast_to(np.asarray(seed, dtype=self.dtype), (len(rows), ws.b))
        D[rows] = 0.0
        np.add.at(D, rows, seeds)  # an output listed twice gets both seeds

    @property
    def fused(self) -> bool:
        """Whether :meth:`stepper` runs this program as one fused step
        (:mod:`~tinygrad_lite.compile.dense`: sigmoid layers and the quadratic cost)."""
        return self._chain is not None

    def fused_step(self, b: int) -> DenseStep | None:
        """The fused step for batches of ``b`` (its buffers made once), or None if this
        program is not :attr:`fused` or ``b`` is larger than a chunk."""
        if self._chain is None or b > CHUNK:
            return None
        return self._dense_steps.get(b) or self._dense_step(b)  # no lambda made per call

    def _dense_step(self, b: int) -> DenseStep:
        return _cached(self._dense_steps, b,
                       lambda: DenseStep(self._chain, b, self.theta, self._G))  # type: ignore[arg-type]

    def _fast_step(self, arrays: Sequence[np.ndarray], scale: float) -> tuple[float, np.ndarray]:
        """:meth:`Stepper.__call__` (runs inside the Stepper's ``np.errstate(all="raise",
        under="ignore")``)."""
        b = arrays[0].shape[0]
        fused = self.fused_step(b)
        if fused is not None:
            try:
                return fused(arrays[0], arrays[1], scale)[0], self._G
            except FloatingPointError:
                pass  # the instructions below say what went wrong, or finish quietly
        n_in = self.lowered.n_inputs[0]
        if arrays[0].shape[1] != n_in:  # the fused step's ones column (see Stepper.__call__)
            arrays = (arrays[0][:, :n_in], *arrays[1:])
        if b > CHUNK:
            outs, grad = self.differentiate(Batch(tuple(arrays), b), scale)
            self._G[:] = grad
            return float(outs[:, 0].sum()), self._G
        return self._instruction_step(arrays, scale), self._G

    def _instruction_step(self, arrays: Sequence[np.ndarray], scale: float) -> float:
        ws = self._workspaces.get(arrays[0].shape[0]) or self._workspace(arrays[0].shape[0])
        banks = ws.banks
        for k, a in enumerate(arrays):
            banks[k] = a.T
        try:
            for f in ws.fast_forward:
                f()
            if ws.seed_row is not None:
                ws.seed_row.fill(scale)
            else:
                self._seed(ws, scale)
            for f in ws.backward:
                f()
        except (FloatingPointError, FloatingPointFlag):
            self._run(ws, arrays, scale)  # again, to raise the engine's error or finish quietly
        try:
            return float(np.add.reduce(ws.first_output))
        except FloatingPointError:  # the batch's total overflows: inf, for the caller to refuse
            with np.errstate(all="ignore"):
                return float(np.add.reduce(ws.first_output))


class Stepper:
    """Forward and backward of a one-output program for many batches, inside ONE
    ``np.errstate``: ``with program.stepper() as step: total, G = step(X, Y, scale=1/b)``.

    Entering and leaving an errstate costs about as much as a small NumPy operation, so a
    training loop enters it once. Any floating-point error makes the step run again the
    careful way (:meth:`Program.gradients`), which raises the engine's error for a forward op
    that leaves its domain and otherwise returns the inf/nan gradient as the engine gives it.
    """

    def __init__(self, program: Program) -> None:
        if program.n_outputs != 1:
            raise ValueError("a Stepper needs a program with one output (a cost)")
        self._program = program
        self._errstates: list[Any] = []  # a stack: a callback may step inside a step

    def __enter__(self) -> "Stepper":
        errstate = np.errstate(all="raise", under="ignore")
        errstate.__enter__()
        self._errstates.append(errstate)
        return self

    def __exit__(self, *exc: object) -> None:
        self._errstates.pop().__exit__(*exc)

    def __call__(self, *arrays: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
        """``(Σ over the batch of the output, gradient of scale · that sum)`` for arrays taken
        from a prepared batch (:meth:`Program.prepare`; they are not checked again). The
        gradient is the program's own buffer, overwritten by the next call. For a
        :attr:`Program.fused` program the inputs may be followed by a column of ones (one more
        column than the program's inputs), which folds the first layer's bias into its
        products."""
        if not self._errstates:
            raise RuntimeError("call a Stepper inside `with program.stepper() as step:`")
        return self._program._fast_step(arrays, scale)
