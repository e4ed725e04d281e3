"""The videos' network as one fused step: recognised in a lowered program, run without the
instruction loop.

``MLP(n, [h₁, …, k])`` with sigmoid neurons and the quadratic cost lowers to a chain: per
layer one affine product on a ``[W | b]`` block of θ and one sigmoid, then ``a − y``, its
square and their sum. :func:`match_dense_chain` recognises exactly that shape in a
:class:`~tinygrad_lite.compile.program.Lowered` program (anything else gives None, and the
program runs its instructions as before). :class:`DenseStep` then runs forward and backward
of one batch size as a fixed sequence of in-place NumPy calls on buffers made once: no loop
over instruction closures, no gradient rows to seed or zero, activations batch-major with a
column of ones so one product gives ``W a + b`` and one product its gradient.

It computes what the instructions compute (the same formulas, summed in other orders, so
equal to ~1e-15), and only inside ``np.errstate(all="raise", under="ignore")``: any other
floating-point error is raised, and the step is not taken; the caller's checked path then runs
it through the instructions (after one more try of this step), which give the engine's
errors and numbers.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
from numpy import add, divide, dot, exp, matmul, multiply, negative, subtract, vdot

from tinygrad_lite.compile.access import B, P, V, Access
from tinygrad_lite.compile.instructions import Elementwise, Instruction, MatmulAffine, SegmentSum

__all__ = ["DenseLayer", "DenseChain", "match_dense_chain", "DenseStep"]


class DenseLayer(NamedTuple):
    """One layer of a chain: its ``(n_out, n_in + 1)`` block ``[W | b]`` of θ starts at
    ``offset``, row-major (the bias is each row's last entry), as ``MLP.parameters()`` has it."""

    offset: int
    n_out: int
    n_in: int


class DenseChain(NamedTuple):
    """Sigmoid layers in order, then the quadratic cost Σⱼ (aⱼ − yⱼ)² of the last one."""

    layers: tuple[DenseLayer, ...]


def _is_slice(access: Access | None, kind: int, start: int, m: int) -> bool:
    return (access is not None and access.kind == kind and access.form == "slice"
            and access.start == start and access.m == m)


def _block(mm: MatmulAffine, n_in: int) -> DenseLayer | None:
    """The layer of ``mm`` if its weights (and bias) are one row-major [W | b] block of θ."""
    if mm.n != n_in or mm.bias is not None and (mm.bias.kind != P or mm.ones_row):
        return None
    offset = int(mm.weights[0, 0])
    rows = offset + (n_in + 1) * np.arange(mm.k)[:, None]
    expected = rows + np.arange(n_in + 1)[None, :]
    if mm.ones_row:  # the bias index is each row's last weight index
        return DenseLayer(offset, mm.k, n_in) if np.array_equal(mm.weights, expected) else None
    if mm.bias is None or not np.array_equal(mm.weights, expected[:, :-1]) or \
            not np.array_equal(mm.bias.idx, expected[:, -1]):
        return None
    return DenseLayer(offset, mm.k, n_in)


def _layer(mm: Instruction, act: Instruction, first: bool, x_start: int,
           n_in: int) -> DenseLayer | None:
    """The layer made by a product and the sigmoid of its output, reading its inputs from
    input array 0 (the first layer) or the previous layer's sigmoid rows."""
    if not isinstance(mm, MatmulAffine) or not isinstance(act, Elementwise):
        return None
    if first:
        if mm.ones_row or mm.xs.bank != 0 or not _is_slice(mm.xs, B, 0, n_in):
            return None
    elif not mm.ones_row or not _is_slice(mm.xs, V, x_start, n_in):
        return None
    if act.op != "sigmoid" or not _is_slice(act.operands[0], V, mm.start, mm.k):
        return None
    return _block(mm, n_in)


def _quadratic_tail(instrs: Sequence[Instruction], a_start: int, k: int,
                    out_rows: np.ndarray) -> bool:
    """Whether the instructions are ``a − y``, ``(·)**2`` and their sum, the one output."""
    if len(instrs) != 3:
        return False
    sub, square, total = instrs
    if not (isinstance(sub, Elementwise) and sub.op == "-" and len(sub.operands) == 2
            and _is_slice(sub.operands[0], V, a_start, k)
            and _is_slice(sub.operands[1], B, 0, k) and sub.operands[1].bank == 1):
        return False
    if not (isinstance(square, Elementwise) and square.op == "**" and square.exponent == 2
            and _is_slice(square.operands[0], V, sub.start, k)):
        return False
    return (isinstance(total, SegmentSum) and total.counts == [k]
            and _is_slice(total.items, V, square.start, k) and not total.constants.any()
            and list(out_rows) == [total.start])


def match_dense_chain(instrs: Sequence[Instruction], n_inputs: Sequence[int],
                      out_rows: np.ndarray, n_params: int) -> DenseChain | None:
    """The chain that a lowered program's instructions form, or None if they are not one.

    A chain: two input arrays (inputs, targets), then per layer a product and a sigmoid, the
    first layer reading every column of input 0 in order, each later one the sigmoid rows of
    the layer before; then the quadratic cost against every column of input 1 as the one
    output; and the layers' blocks covering all ``n_params`` entries of θ exactly once.
    """
    n_layers = (len(instrs) - 3) // 2
    if len(n_inputs) != 2 or n_layers < 1 or len(instrs) != 2 * n_layers + 3:
        return None
    layers: list[DenseLayer] = []
    x_start, n_in = 0, n_inputs[0]
    for i in range(n_layers):
        layer = _layer(instrs[2 * i], instrs[2 * i + 1], i == 0, x_start, n_in)
        if layer is None:
            return None
        layers.append(layer)
        x_start, n_in = instrs[2 * i + 1].start, layer.n_out
    if n_inputs[1] != n_in or not _quadratic_tail(instrs[-3:], x_start, n_in, out_rows):
        return None
    end = 0
    for offset, size in sorted((lay.offset, lay.n_out * (lay.n_in + 1)) for lay in layers):
        if offset != end:
            return None
        end += size
    return DenseChain(tuple(layers)) if end == n_params else None


def _flat_views(flat: np.ndarray, shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Consecutive C-contiguous pieces of ``flat`` with the given shapes."""
    views, start = [], 0
    for rows, cols in shapes:
        views.append(flat[start:start + rows * cols].reshape(rows, cols))
        start += rows * cols
    return views


class _Buffers:
    """The arrays of one batch size ``b``, each a view of one flat array per kind.

    ``Z``: pre-activations; ``delta``: ∂(scaled cost)/∂Z; both views of ``checked``. ``acts``: the
    sigmoid outputs, hidden ones followed by a column of ones (the next layer's bias input);
    ``slopes`` has the same layout and gets σ' = a(1 − a) of every layer in two NumPy calls
    (the ones columns get 0, unused). ``scratch``: the sigmoid's, contiguous (a strided one
    makes each of its four NumPy calls slower).
    """

    def __init__(self, chain: DenseChain, b: int, dtype: np.dtype) -> None:
        sizes = [lay.n_out for lay in chain.layers]
        padded = [(b, n + 1) for n in sizes[:-1]] + [(b, sizes[-1])]
        total = sum(r * c for r, c in padded)
        # Pre-activations and δs in one array, so that one dot product checks them all.
        self.checked = np.empty(2 * b * sum(sizes), dtype)
        pieces = _flat_views(self.checked, [(b, n) for n in sizes] * 2)
        self.Z, self.delta = pieces[:len(sizes)], pieces[len(sizes):]
        self.all_acts = np.ones(total, dtype)
        self.with_ones = _flat_views(self.all_acts, padded)
        self.all_slopes = np.empty(total, dtype)
        slopes = _flat_views(self.all_slopes, padded)
        self.acts = [a[:, :n] for a, n in zip(self.with_ones, sizes)]
        self.slopes = [t[:, :n] for t, n in zip(slopes, sizes)]
        self.scratch = [np.empty((b, n), dtype) for n in sizes]


def _views(flat: np.ndarray, chain: DenseChain) -> list[np.ndarray]:
    return _flat_views(flat, [(lay.n_out, lay.n_in + 1) for lay in chain.layers])


class DenseStep:
    """Forward and backward of a chain for batches of ``b``, on θ and into :attr:`grad` (both
    flat).

    ``step(X, Y, scale)`` returns (Σ over the batch of the cost, whether the gradient is
    known to be finite) and writes ``scale`` · ∇(Σ cost) into :attr:`grad`. Call it inside
    ``np.errstate(all="raise", under="ignore")`` (an underflow is a harmless 0 here).

    Known finite: the sum of squares of every pre-activation and every δ is finite, so each is
    below ~1e154 in size. Finite pre-activations mean finite inputs and parameters (an inf
    or nan input or weight reaches a product), a call that raised nothing then has a finite
    gradient, and δs that small keep the gradient far from overflowing when added to θ (the
    check ``SGD.step`` makes); otherwise the caller checks the gradient itself.
    """

    def __init__(self, chain: DenseChain, b: int, theta: np.ndarray, G: np.ndarray) -> None:
        self.b = b
        buf = _Buffers(chain, b, theta.dtype)
        blocks, grads = _views(theta, chain), _views(G, chain)
        self._n_in = n_in = chain.layers[0].n_in
        # The first layer: its [W | b] block (the bias folded, for inputs with a ones column)
        # and W and b apart (for inputs without one), transposed for X @ Wᵀ; the same of G.
        self._first_block_t, self._first_grad = blocks[0].T, grads[0]
        self._W1_t, self._b1 = blocks[0][:, :-1].T, blocks[0][:, -1]
        self._gW1, self._gb1 = grads[0][:, :-1], grads[0][:, -1]
        self._buf = buf
        # Transposed views are made once: .T costs about as much as a small ufunc call.
        # Per layer: (input with ones, [W | b]ᵀ, Z, scratch, output); layer 0's product is
        # made apart (from X, with or without its ones column), so its first two are None.
        self._forward = [(buf.with_ones[i - 1] if i else None, blocks[i].T if i else None,
                          buf.Z[i], buf.scratch[i], buf.acts[i]) for i in range(len(blocks))]
        self._backward = [(buf.delta[i], buf.delta[i].T, grads[i], buf.with_ones[i - 1],
                           blocks[i][:, :-1], buf.delta[i - 1], buf.slopes[i - 1])
                          for i in range(len(blocks) - 1, 0, -1)]
        self._first_delta_t = buf.delta[0].T
        self._theta = theta
        #: The flat gradient buffer each call writes (the program's).
        self.grad = G
        #: What :meth:`plain_sgd` has done so far: steps taken (θ moved) and their mean costs.
        self.steps_taken, self.cost_sum = 0, 0.0

    def plain_sgd(self, gather: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                  order: np.ndarray, batch: int, scale: float) -> int:
        """Steps θ += G (:meth:`sgd_step`) on the batches of ``order`` (``b`` rows each) from
        batch number ``batch`` on, with ``scale`` = −lr/b; ``gather(idx)`` gives the inputs
        and targets of the examples idx. Each step adds to :attr:`steps_taken` and
        :attr:`cost_sum` once θ has moved.

        Returns the number of the batch it stopped at: the end, a shorter last batch, or a
        batch whose step it cannot vouch for; θ is untouched by that one, for the caller to
        take the careful way. Runs inside the errstate the class names; one loop for the whole
        epoch, because at mini-batch 10 the Python calls around each step cost about a tenth
        of it.
        """
        b, step = self.b, self.sgd_step
        for start in range(batch * b, len(order) - b + 1, b):
            total = step(*gather(order[start:start + b]), scale)
            if total is None:
                return batch
            self.steps_taken += 1
            self.cost_sum += total / b
            batch += 1
        return batch

    def sgd_step(self, X: np.ndarray, Y: np.ndarray, scale: float) -> float | None:
        """One plain SGD step θ += G, with ``scale`` = −lr/b, if this step can vouch for it;
        returns Σ cost of the batch (before the step). Returns None, θ untouched, for a step
        that raised a floating-point error or whose numbers it cannot vouch for (see the
        class). Runs inside the errstate the class names."""
        try:
            total, finite = self(X, Y, scale)
        except FloatingPointError:
            return None
        if not (finite and math.isfinite(total)):
            return None
        add(self._theta, self.grad, out=self._theta)
        return total

    def __call__(self, X: np.ndarray, Y: np.ndarray, scale: float) -> tuple[float, bool]:
        """One forward and backward pass; X may carry a column of ones after the inputs (a
        :class:`~tinygrad_lite.compile.training_set.TrainingSet`'s rows), which folds the
        first layer's bias into its products.

        One straight-line method (the sigmoid written out in each layer): at mini-batch 10
        each Python call around these ~30 NumPy calls costs about a percent of the step.
        """
        buf, folded = self._buf, X.shape[1] != self._n_in
        # Forward: every layer's Z and a = σ(Z) = 1 / (1 + e^(−Z)) (through a scratch t).
        if folded:
            matmul(X, self._first_block_t, out=buf.Z[0])
        else:
            matmul(X, self._W1_t, out=buf.Z[0])
            add(buf.Z[0], self._b1, out=buf.Z[0])
        for a_in, block_t, z, t, a in self._forward:
            if a_in is not None:
                dot(a_in, block_t, out=z)  # contiguous operands: dot costs less than matmul
            negative(z, out=t)
            exp(t, out=t)  # overflowing raises; the instructions then take the step
            add(t, 1.0, out=t)
            divide(1.0, t, out=a)
        # Every layer's σ'(Z) = a(1 − a) at once.
        subtract(1.0, buf.all_acts, out=buf.all_slopes)
        multiply(buf.all_slopes, buf.all_acts, out=buf.all_slopes)
        # The last layer's δ = c·(a − y)·σ'(Z), from d = a − y, with Σ d² the batch's cost.
        d = buf.delta[-1]
        subtract(buf.acts[-1], Y, out=d)
        total = float(vdot(d, d))
        multiply(d, buf.slopes[-1], out=d)
        multiply(d, 2.0 * scale, out=d)
        # Backward: each layer's [∂W | ∂b] block of G and the δ below it.
        for d, d_t, g, a_in, W, d_below, slope in self._backward:
            dot(d_t, a_in, out=g)  # weights and bias together (the ones column)
            matmul(d, W, out=d_below)
            multiply(d_below, slope, out=d_below)
        if folded:
            matmul(self._first_delta_t, X, out=self._first_grad)
        else:
            matmul(self._first_delta_t, X, out=self._gW1)
            add.reduce(buf.delta[0], axis=0, out=self._gb1)
        return total, math.isfinite(float(vdot(buf.checked, buf.checked)))
