"""The instructions of a compiled program: one vectorised NumPy operation per group of nodes.

Each instruction computes ``k`` nodes of one op at one depth for every example of the batch:
their values fill rows ``start .. start+k`` of the workspace ``V`` (one column per example), and
in the backward pass the same rows of ``D`` hold ∂cost/∂node, which the instruction turns into
contributions to its operands (see :mod:`tinygrad_lite.compile.access`).

Instructions are independent of the batch size; :meth:`Instruction.bind` makes the two closures
that run them on one workspace. A forward closure may carry a cheaper variant as its ``fast``
attribute (the sigmoid without its clip against overflow): valid only where every
floating-point error raises and the step is then run again with the careful closures, as
:class:`~tinygrad_lite.compile.program.Stepper` does.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinygrad_lite.compile.access import B, V, Access, Bound, GradPart, Planner
from tinygrad_lite.kernels import FLAGGED, FloatingPointFlag, FPFlag, Kernels, raise_flag
from tinygrad_lite.optable import OPS

__all__ = [
    "Instruction",
    "Elementwise",
    "MatmulAffine",
    "SegmentAffine",
    "SegmentSum",
    "SegmentMax",
    "FPFlag",
    "FloatingPointFlag",
    "FLAGGED",
    "raise_flag",
    "fp_error",
    "regular_block",
]

Fn = Callable[[], None]


class Instruction:
    """``k`` nodes of op ``op`` at depth ``depth``, written to rows ``start .. start+k`` of V."""

    op: str = ""
    operands: Sequence[Access] = ()

    def __init__(self, op: str, depth: int, start: int, k: int) -> None:
        self.op, self.depth, self.start, self.k = op, depth, start, k

    @property
    def needs_backward(self) -> bool:
        """Whether any operand sends a gradient back."""
        return any(a.needs_grad for a in self.operands)

    def plan(self, planner: Planner) -> None:
        """Plan the gradient scatters in the order the backward closure runs them."""
        for a in self.operands:
            a.plan(planner)

    def bind(self, ws: Any) -> tuple[Fn, Fn | None]:
        """``(forward, backward or None)`` closures running this instruction on ``ws``."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line: ``depth  op×k  operands → v[rows]``."""
        args = ", ".join(a.describe() for a in self.operands)
        return (f"d{self.depth:<3} {self.label():<14} ({args}) → "
                f"v[{self.start}:{self.start + self.k}]")

    def label(self) -> str:
        """A short name: the op and how many nodes, e.g. ``sigmoid×16``."""
        return f"{self.op}×{self.k}"


class Elementwise(Instruction):
    """A unary or binary op applied to k nodes: ``v[rows] = f(a)`` or ``f(a, b)``."""

    def __init__(self, op: str, depth: int, start: int, operands: Sequence[Access],
                 exponent: float | None = None) -> None:
        super().__init__(op, depth, start, operands[0].m)
        self.operands = list(operands)
        self.exponent = exponent

    def label(self) -> str:
        """``**2×10`` for a number exponent, else as :meth:`Instruction.label`."""
        if self.exponent is not None:
            return f"**{self.exponent:g}×{self.k}"
        return super().label()

    def bind(self, ws: Any) -> tuple[Fn, Fn | None]:
        k, b = self.k, ws.b
        out = ws.V[self.start:self.start + k]
        dout = ws.D[self.start:self.start + k]
        bound = [a.bind(ws) for a in self.operands]
        tmp = np.empty((k, b), ws.dtype)
        kernels = _kernels(self.op)
        p = self.exponent
        fwd = kernels.forward([x.get for x in bound], out, tmp, p)
        if all(x.scatter is None for x in bound):
            return fwd, None
        values = [x.value for x in bound]
        steps = []
        for which, x in enumerate(bound):
            if x.scatter is None:
                continue
            target = x.direct if x.direct is not None else np.empty((k, b), ws.dtype)
            compute = kernels.contribution(which, values, out, dout, target, tmp, p)
            steps.append(compute if x.direct is not None else _then_scatter(compute, x, target))
        return fwd, _sequence(steps)


def _kernels(op: str) -> Kernels:
    """The op table's in-place kernels of ``op``; ``id`` (a copy) is the compiler's own."""
    if op == "id":
        return _COPY
    kernels = OPS[op].kernels
    if kernels is None:  # pragma: no cover - lowering emits Elementwise for these ops only
        raise AssertionError(f"op {op!r} has no elementwise kernels")
    return kernels


_COPY = Kernels(lambda ops, out, t, p: (lambda: np.copyto(out, ops[0]())),
                lambda which, ops, out, dout, target, t, p: (lambda: np.copyto(target, dout)))


def _then_scatter(compute: Fn, operand: Bound, target: np.ndarray) -> Fn:
    """``compute()`` into ``target``, then send ``target`` to the operand's gradients."""
    scatter = operand.scatter

    def contribute() -> None:
        compute()
        scatter(target)  # type: ignore[misc]
    return contribute


class MatmulAffine(Instruction):
    """k affine nodes sharing their n inputs, weights a block of θ: ``v[rows] = W @ x + bias``.

    ``W`` is a ``(k, n)`` view of θ when the weights' indices form a regular block (row stride,
    column stride), as a layer's weights do in ``MLP.parameters()`` order; otherwise it is
    gathered per step. With ``ones_row`` the bias is folded into the product: ``weights`` is
    ``(k, n + 1)`` with each node's bias index last, and the inputs (rows of ``V``) are followed
    by a row of ones, so one product gives ``W @ x + b`` and one product its gradient.
    """

    def __init__(self, depth: int, start: int, weights: np.ndarray, xs: Access,
                 bias: Access | None, *, ones_row: bool = False) -> None:
        k, cols = weights.shape
        super().__init__("affine", depth, start, k)
        self.weights = weights  # (k, n) parameter indices, (k, n + 1) with ones_row
        self.ones_row = ones_row
        self.n = cols - 1 if ones_row else cols
        self.xs = xs
        self.bias = bias
        self.block = regular_block(weights)
        # Whether dW assigns or adds to G, decided by the Planner (see plan()).
        self.w_part = GradPart("G", None, weights.ravel())
        self.operands = [a for a in (bias, xs) if a is not None]

    @property
    def needs_backward(self) -> bool:
        """Always: the weights are parameters."""
        return True

    def plan(self, planner: Planner) -> None:
        """Plan dW, the bias and the inputs, in the order the backward closure runs them."""
        planner.plan(self.w_part)
        super().plan(planner)

    def label(self) -> str:
        """``matmul k×n``."""
        return f"matmul {self.k}×{self.n}"

    def describe(self) -> str:
        """The product, the weights' view of θ, the inputs and the bias."""
        k, cols = self.weights.shape
        if self.block is not None:
            s, rs, cs = self.block
            w = f"θ[{s}:…] as {k}×{cols} (strides {rs},{cs})"
        else:
            w = f"θ gathered {k}×{cols}"
        bias = f" + {self.bias.describe()}" if self.bias is not None else ""
        ones = " with bias folded (x; 1)" if self.ones_row else ""
        return (f"d{self.depth:<3} {self.label():<14} {w} @ {self.xs.describe()}{bias}{ones} → "
                f"v[{self.start}:{self.start + self.k}]")

    def bind(self, ws: Any) -> tuple[Fn, Fn | None]:
        x = self.xs.bind(ws)
        get_w, W_T, GW = self._weight_views(ws)
        if self.ones_row:  # the inputs and the ones row below them, one view of V
            x_ext = ws.V[self.xs.start:self.xs.start + self.n + 1]
            get_x = x_value = lambda: x_ext  # noqa: E731
        else:
            get_x, x_value = x.get, x.value
        bias = self.bias.bind(ws) if self.bias is not None else None
        forward = self._forward(ws, get_w, get_x, bias)
        steps = [self._weight_gradient(ws, GW, x_value)]
        if bias is not None and bias.scatter is not None:
            dout = ws.D[self.start:self.start + self.k]
            steps.append(lambda: bias.scatter(dout))
        if x.scatter is not None:
            steps.append(self._input_gradient(ws, W_T, x))
        return forward, _sequence(steps)

    def _product(self) -> Callable[..., Any]:
        """``np.dot`` when every operand and result is a contiguous block (a folded block of θ
        times rows of V): it costs less per call than ``np.matmul``, but copies a strided
        operand first, where ``np.matmul`` hands the strides to BLAS."""
        k, cols = self.weights.shape
        contiguous = self.block is not None and self.block[1:] == (cols, 1)
        return np.dot if contiguous and self.xs.kind == V else np.matmul

    def _weight_views(self, ws: Any) -> tuple[Callable[[], np.ndarray],
                                               Callable[[], np.ndarray], np.ndarray | None]:
        """(read W, read the Wᵀ of the real inputs, the gradient view of W or None)."""
        k, cols = self.weights.shape
        n, theta = self.n, ws.theta
        if self.block is None:
            w_idx, Wbuf = self.weights, np.empty((k, cols), ws.dtype)

            def get_w() -> np.ndarray:
                np.take(theta, w_idx, out=Wbuf, mode="clip")
                return Wbuf
            return get_w, (lambda: Wbuf[:, :n].T), None
        s, rs, cs = self.block
        item = theta.itemsize
        W = as_strided(theta[s:], shape=(k, cols), strides=(rs * item, cs * item),
                       writeable=False)
        GW = as_strided(ws.G[s:], shape=(k, cols), strides=(rs * item, cs * item))
        W_T = W[:, :n].T
        return (lambda: W), (lambda: W_T), GW

    def _forward(self, ws: Any, get_w: Callable[[], np.ndarray],
                 get_x: Callable[[], np.ndarray], bias: Bound | None) -> Fn:
        out = ws.V[self.start:self.start + self.k]
        if self.xs.kind == B:
            return _batch_major_forward(ws, out, get_w, get_x, bias)
        product = self._product()
        if bias is None:
            return lambda: product(get_w(), get_x(), out=out)
        get_b = bias.get

        def forward() -> None:
            product(get_w(), get_x(), out=out)
            np.add(out, get_b(), out=out)
        return forward

    def _weight_gradient(self, ws: Any, GW: np.ndarray | None,
                         x_value: Callable[[], np.ndarray]) -> Fn:
        dout = ws.D[self.start:self.start + self.k]
        mode = self.w_part.mode
        if GW is not None and mode == "assign":
            product = self._product()
            return lambda: product(dout, x_value().T, out=GW)
        tw = np.empty(self.weights.shape, ws.dtype)
        if GW is not None and mode == "add":
            def add_dw() -> None:
                np.dot(dout, x_value().T, out=tw)
                np.add(GW, tw, out=GW)
            return add_dw
        G, flat_idx = ws.G, self.weights.ravel()

        def scatter_dw() -> None:
            np.dot(dout, x_value().T, out=tw)
            if mode == "assign":
                G[flat_idx] = tw.ravel()
            elif mode == "add":
                G[flat_idx] += tw.ravel()
            else:
                np.add.at(G, flat_idx, tw.ravel())
        return scatter_dw

    def _input_gradient(self, ws: Any, W_T: Callable[[], np.ndarray], x: Bound) -> Fn:
        dout = ws.D[self.start:self.start + self.k]
        product = self._product()
        if x.direct is not None:
            dx = x.direct
            return lambda: product(W_T(), dout, out=dx)
        tx = np.empty((self.n, ws.b), ws.dtype)
        scatter_x = x.scatter

        def send_dx() -> None:
            product(W_T(), dout, out=tx)
            scatter_x(tx)
        return send_dx


def _batch_major_forward(ws: Any, out: np.ndarray, get_w: Callable[[], np.ndarray],
                         get_x: Callable[[], np.ndarray], bias: Bound | None) -> Fn:
    """``out = W @ x + bias`` for inputs that are columns of an input array, computed as
    ``xᵀ @ Wᵀ``: BLAS is much faster writing a (batch, k) product than a (k, batch) one for
    a wide input array (784 pixels: about a third less time at batch 100); the transpose back
    into the rows of ``out`` comes with the bias addition."""
    zT = np.empty(out.shape[::-1], ws.dtype)
    if bias is None:
        def forward() -> None:
            np.matmul(get_x().T, get_w().T, out=zT)
            np.copyto(out, zT.T)
        return forward
    get_b = bias.get

    def forward_with_bias() -> None:
        np.matmul(get_x().T, get_w().T, out=zT)
        np.add(zT.T, get_b(), out=out)
    return forward_with_bias


def regular_block(idx: np.ndarray) -> tuple[int, int, int] | None:
    """``(start, row_stride, col_stride)`` if ``idx[i, j] = start + i·rs + j·cs`` with
    distinct entries and non-negative strides, else None."""
    k, n = idx.shape
    s = int(idx[0, 0])
    rs = int(idx[1, 0]) - s if k > 1 else 0
    cs = int(idx[0, 1]) - s if n > 1 else 0
    if rs < 0 or cs < 0:
        return None
    expected = s + rs * np.arange(k)[:, None] + cs * np.arange(n)[None, :]
    if not np.array_equal(expected, idx):
        return None
    rows_apart = k == 1 or rs >= cs * (n - 1) + 1  # each row ends before the next begins
    if not ((n == 1 or cs >= 1) and rows_apart) and len(np.unique(idx)) != idx.size:
        return None
    return s, rs, cs


def _sequence(steps: list[Fn]) -> Fn | None:
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def run() -> None:
        for step in steps:
            step()
    return run


def _segments(counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start of each non-empty segment, which segments are non-empty, segment of each item)."""
    counts_arr = np.asarray(counts, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts_arr)[:-1]]).astype(np.int64)
    nonempty = counts_arr > 0
    seg_of = np.repeat(np.arange(len(counts_arr)), counts_arr)
    return starts[nonempty], nonempty, seg_of


def _reduce_into(ufunc: np.ufunc, items: np.ndarray, starts: np.ndarray, nonempty: np.ndarray,
                 out: np.ndarray, empty: float) -> None:
    """out[s] = ufunc-reduction of the items of segment s (``empty`` for an empty segment)."""
    if nonempty.all():
        if items.shape[1] == out.shape[1]:
            ufunc.reduceat(items, starts, axis=0, out=out)
        else:
            np.copyto(out, ufunc.reduceat(items, starts, axis=0))
        return
    out.fill(empty)
    if len(starts):
        out[nonempty] = ufunc.reduceat(items, starts, axis=0)


class SegmentSum(Instruction):
    """k ``Value.sum`` nodes: a segment sum of their parents plus each node's constant."""

    def __init__(self, depth: int, start: int, counts: Sequence[int], items: Access,
                 constants: Sequence[float]) -> None:
        super().__init__("sum", depth, start, len(counts))
        self.counts = list(counts)
        self.items = items
        self.operands = [items]
        self.constants = np.asarray(constants, dtype=float)[:, None]
        self.starts, self.nonempty, self.seg_of = _segments(counts)
        n = self.counts[0]
        self.uniform = (all(c == n for c in self.counts)
                        and items.form == "slice" and items.kind == V)

    def bind(self, ws: Any) -> tuple[Fn, Fn | None]:
        k, b = self.k, ws.b
        out = ws.V[self.start:self.start + k]
        dout = ws.D[self.start:self.start + k]
        items = self.items.bind(ws)
        consts = self.constants.astype(ws.dtype)
        has_consts = bool(np.any(consts != 0.0))
        if self.uniform:
            n = self.counts[0]
            view = ws.V[self.items.start:self.items.start + k * n].reshape(k, n, b)

            def forward() -> None:
                np.add.reduce(view, axis=1, out=out)
                if has_consts:
                    np.add(out, consts, out=out)
        else:
            starts, nonempty, get = self.starts, self.nonempty, items.get

            def forward() -> None:
                _reduce_into(np.add, get(), starts, nonempty, out, 0.0)
                if has_consts:
                    np.add(out, consts, out=out)
        if items.scatter is None:
            return forward, None
        if self.uniform and items.direct is not None:
            n = self.counts[0]
            d3 = items.direct.reshape(k, n, b)
            return forward, lambda: np.copyto(d3, dout[:, None, :])
        spread = np.empty((self.items.m, b), ws.dtype)
        seg_of, scatter = self.seg_of, items.scatter

        def backward() -> None:
            np.take(dout, seg_of, axis=0, out=spread, mode="clip")
            scatter(spread)
        return forward, backward


class SegmentAffine(Instruction):
    """Affine nodes of any wiring: products w·x gathered, then segment sums, plus the bias."""

    def __init__(self, depth: int, start: int, counts: Sequence[int], weights: Access,
                 xs: Access, bias: Access) -> None:
        super().__init__("affine", depth, start, len(counts))
        self.counts = list(counts)
        self.weights, self.xs, self.bias = weights, xs, bias
        self.operands = [weights, xs, bias]
        self.starts, self.nonempty, self.seg_of = _segments(counts)

    def bind(self, ws: Any) -> tuple[Fn, Fn | None]:
        k, b, m = self.k, ws.b, self.weights.m
        out = ws.V[self.start:self.start + k]
        dout = ws.D[self.start:self.start + k]
        w, x, bias = (a.bind(ws) for a in (self.weights, self.xs, self.bias))
        prod = np.empty((m, b), ws.dtype)
        starts, nonempty = self.starts, self.nonempty

        def forward() -> None:
            np.multiply(w.get(), x.get(), out=prod)
            _reduce_into(np.add, prod, starts, nonempty, out, 0.0)
            np.add(out, bias.get(), out=out)

        steps: list[Fn] = []
        if w.scatter is not None or x.scatter is not None:
            spread = np.empty((m, b), ws.dtype)
            seg_of = self.seg_of
            steps.append(lambda: np.take(dout, seg_of, axis=0, out=spread, mode="clip"))
            for this, other in ((w, x), (x, w)):
                if this.scatter is not None:
                    steps.append(_times_into(spread, other.value, this,
                                             np.empty((m, b), ws.dtype)))
        if bias.scatter is not None:
            steps.append(lambda: bias.scatter(dout))
        return forward, _sequence(steps)


def _times_into(spread: np.ndarray, other: Callable[[], np.ndarray], this: Bound,
                tmp: np.ndarray) -> Fn:
    target = this.direct if this.direct is not None else tmp
    scatter = None if this.direct is not None else this.scatter

    def contribute() -> None:
        np.multiply(spread, other(), out=target)
        if scatter is not None:
            scatter(target)
    return contribute


class SegmentMax(Instruction):
    """The shift of a stable softmax: per example, the maximum of each node's parents.

    It is a constant to the engine (``max(a.data for a in xs)``), so no gradient flows back.
    """

    def __init__(self, depth: int, start: int, counts: Sequence[int], items: Access) -> None:
        super().__init__("max", depth, start, len(counts))
        self.items = items
        self.operands = [items]
        self.starts, self.nonempty, _ = _segments(counts)

    @property
    def needs_backward(self) -> bool:
        """Never: the shift is a constant to the engine."""
        return False

    def plan(self, planner: Planner) -> None:
        """Nothing to plan: no gradient flows back."""
        return None

    def bind(self, ws: Any) -> tuple[Fn, Fn | None]:
        out = ws.V[self.start:self.start + self.k]
        get, starts, nonempty = self.items.bind(ws).get, self.starts, self.nonempty
        return (lambda: _reduce_into(np.maximum, get(), starts, nonempty, out, -np.inf)), None


def fp_error(instr: Instruction, flag: FPFlag, backward: bool) -> Exception:
    """The engine's error for the floating-point ``flag`` raised while running ``instr``.

    The backward pass raises only where the engine does (in its forward pass): a power's
    local derivative p·x^(p−1) overflowing.
    """
    op = instr.op
    where = (f"in the compiled program ({instr.label()} at depth {instr.depth}"
             f"{', backward pass' if backward else ''})")
    if flag & FPFlag.OVERFLOW:
        if op == "**" and backward:
            return OverflowError(f"pow: the derivative p·x^(p−1) is too large for a float "
                                 f"{where}")
        return OverflowError(f"{op}: result too large for a float {where}")
    if op == "log":
        return ValueError(f"log: argument must be positive {where}")
    if op == "/":
        return ZeroDivisionError(f"division: divisor is zero {where}")
    if flag & FPFlag.DIVIDE:
        if op == "**":
            return ZeroDivisionError(f"pow: zero to a negative power {where}")
        return ZeroDivisionError(f"{op}: division by zero {where}")
    if op == "**":
        return ValueError(f"pow: negative base to a fractional power has no real value {where}")
    return ValueError(f"{op}: invalid value (nan) {where}; are the inputs finite?")
