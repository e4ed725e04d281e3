"""Compiled training of an ``MLP``: the cost program, flat parameters and one-array SGD steps.

Reading or writing the 13,002 ``Value`` attributes of ``MLP(784, [16, 16, 10])`` takes about a
millisecond, longer than a whole compiled step at mini-batch 10. So during compiled training the
parameters, their gradients and the momentum live in flat arrays, the SGD step is one array
operation, and the ``Value``\\ s are written only by :meth:`CompiledTrainer.sync_to_values`
(which :meth:`~CompiledTrainer.train_epoch`, leaving a ``with`` block and
:meth:`~CompiledTrainer.close` call). Until then ``model.parameters()[i].data`` is stale:
:attr:`CompiledTrainer.in_sync` says so.

Ownership alternates, so neither side is silently stale: between a step and the next sync the
trainer owns the parameters (a Value changed meanwhile makes the sync raise instead of being
overwritten); once synced, the Values own them again (the trainer re-reads them before its next
step if someone changed them).
"""

from __future__ import annotations

import math
import random
import warnings
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from tinygrad_lite._checks import momentum as check_momentum
from tinygrad_lite._checks import positive_int, positive_number
from tinygrad_lite.compile.arrays import check_dtype, check_finite, real_array
from tinygrad_lite.compile.compiler import compile_function
from tinygrad_lite.compile.dense import DenseStep
from tinygrad_lite.compile.program import Batch, Program, Stepper
from tinygrad_lite.compile.training_set import TrainingSet, make_training_set, split_rows
from tinygrad_lite.data import shuffled_order
from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.losses import get_cost
from tinygrad_lite.optim import assign_all

__all__ = ["compile_cost", "compile_model", "CompiledTrainer", "PreparedBatch", "TrainingSet"]


def _check_model(model: Any) -> list[Value]:
    if not callable(model) or not hasattr(model, "parameters") or not hasattr(model, "nin"):
        raise TypeError(f"model must be an MLP (callable, with nin and parameters()), got "
                        f"{type(model).__name__}")
    return list(model.parameters())


def _n_outputs(model: Any) -> int:
    nouts = getattr(model, "nouts", None)
    if isinstance(nouts, Sequence) and nouts:
        return int(nouts[-1])
    with no_grad():
        return len(model([0.0] * model.nin))


def compile_cost(model: Any, cost: Any = "quadratic", *, dtype: str = "float64") -> Program:
    """The per-example cost of ``model`` as a program of two input arrays: inputs and targets.

    ``program.forward(X, Y)`` gives each example's cost C_k (shape ``(b,)``) and
    ``program.gradients(X, Y)`` the gradient of their mean, as :func:`~tinygrad_lite.losses.
    batch_cost` builds it. Traced once per graph structure (compiling the same architecture and
    cost again reuses the lowered program).

    Args:
        model: an ``MLP`` (anything with ``nin``, ``parameters()`` and ``model(x)``).
        cost: ``"quadratic"``, ``"cross-entropy"`` (or ``"cross_entropy"``) or a function
            ``cost(outputs, targets) -> Value``.
        dtype: ``"float64"`` or ``"float32"`` (see :func:`~tinygrad_lite.compile.compile_graph`).
    """
    params = _check_model(model)
    cost_fn = get_cost(cost)
    return compile_function(lambda x, y: cost_fn(model(x), y),
                            (int(model.nin), _n_outputs(model)), params, dtype=dtype)


def compile_model(model: Any, *, dtype: str = "float64") -> Program:
    """The forward pass of ``model`` as a program: ``program.forward(X)`` → ``(b, n_out)``."""
    params = _check_model(model)
    return compile_function(lambda x: list(model(x)), int(model.nin), params, dtype=dtype)


def _surely_finite(x: np.ndarray) -> bool:
    """True only if every entry is finite (one fast pass: x·x is finite iff every |xᵢ| is below
    about 1e154 in float64; a False may be a false alarm, for the caller to check exactly)."""
    try:
        return math.isfinite(float(np.dot(x, x)))
    except FloatingPointError:
        return False


# Gives the inputs and targets of the examples idx, in buffers reused from call to call.
Gather = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _pair_gatherer(X: np.ndarray, Y: np.ndarray) -> Gather:
    buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def gather(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = len(idx)
        if size not in buffers:
            buffers[size] = (np.empty((size, X.shape[1]), X.dtype),
                             np.empty((size, Y.shape[1]), Y.dtype))
        xb, yb = buffers[size]
        np.take(X, idx, axis=0, out=xb, mode="clip")  # "raise" would copy out first
        np.take(Y, idx, axis=0, out=yb, mode="clip")
        return xb, yb
    return gather


def _row_gatherer(rows: np.ndarray, n_inputs: int, with_ones: bool) -> Gather:
    """One gather of whole ``[x | 1 | y]`` rows; the inputs with or without the ones column."""
    buffers: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def gather(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = len(idx)
        if size not in buffers:
            rb = np.empty((size, rows.shape[1]), rows.dtype)
            xb, yb = split_rows(rb, n_inputs)
            buffers[size] = (rb, xb if with_ones else xb[:, :n_inputs], yb)
        rb, xb, yb = buffers[size]
        np.take(rows, idx, axis=0, out=rb, mode="clip")
        return xb, yb
    return gather


class PreparedBatch(NamedTuple):
    """Inputs and targets checked once by :meth:`CompiledTrainer.prepare` (shapes, real dtype,
    finite; labels made one-hot; converted to the trainer's float type), to be evaluated
    after every epoch without checking again."""

    X: np.ndarray
    Y: np.ndarray


class CompiledTrainer:
    """Mini-batch SGD on an ``MLP`` with the compiled program and flat parameter arrays.

    The same math as the scalar loop (``optimizer.zero_grad(); batch_cost(...).backward();
    optimizer.step()``), the same update rule as :class:`~tinygrad_lite.optim.SGD`
    (v ← μv + ∇C, p ← p − lr·v), at array speed::

        with CompiledTrainer(model, "quadratic", lr=3.0) as trainer:
            data = trainer.training_set(images, labels)  # checked and laid out once
            for epoch in range(30):
                trainer.train_epoch(data, None, batch_size=10, rng=rng)
        # leaving the block wrote the trained parameters into model's Values

    Args:
        model: the ``MLP`` to train in place.
        cost: ``"quadratic"``, ``"cross-entropy"`` or a cost function (see :func:`compile_cost`).
        lr: the learning rate (required unless ``optimizer`` is given).
        momentum: in [0, 1).
        optimizer: an :class:`~tinygrad_lite.optim.SGD` over ``model.parameters()``: its ``lr``
            and ``momentum`` are used (read at every step, so changing ``optimizer.lr``
            works), and its velocity is taken over whenever the Values are in sync (so scalar
            ``optimizer.step()`` calls between compiled epochs keep their momentum) and written
            back by :meth:`sync_to_values`.
        dtype: ``"float64"`` (default: the scalar engine's numbers, to ~1e-12) or ``"float32"``
            (about 1.7× the throughput at mini-batch 100; costs and gradients agree with the
            scalar engine to 1e-4 of the largest term, as tests/test_compile.py checks).

    Raises:
        TypeError / ValueError: bad settings, or an optimizer over other parameters.
        TraceError / UnsupportedOpError: the model or cost cannot be compiled.
    """

    def __init__(self, model: Any, cost: Any = "quadratic", lr: float | None = None,
                 momentum: float = 0.0, *, optimizer: Any = None, dtype: str = "float64") -> None:
        self.model = model
        self.params = _check_model(model)
        self.dtype = check_dtype(dtype)
        self.optimizer = optimizer
        if optimizer is not None:
            others = list(getattr(optimizer, "parameters", []))
            if len(others) != len(self.params) or any(a is not b for a, b in
                                                      zip(others, self.params)):
                raise ValueError("optimizer must be over exactly model.parameters(), in order")
        else:
            if lr is None:
                raise TypeError("CompiledTrainer needs lr= (or optimizer=)")
            self._lr = positive_number(lr, "lr")
            self._momentum = check_momentum(momentum)
        self._cost_fn = get_cost(cost)
        self.program = compile_cost(model, self._cost_fn, dtype=dtype)
        self.params = self.program.params  # the same list: one pointer per parameter, not two
        self.n_outputs = _n_outputs(model)
        self.theta = self.program.theta
        self.velocity = (self._optimizer_velocity() if optimizer is not None
                         else np.zeros(len(self.params), self.dtype))
        self._G = np.zeros_like(self.theta)  # the last gradient times _G_scale (the program's)
        self._G_scale = 1.0
        self._momentum_buffers: tuple[np.ndarray, np.ndarray] | None = None  # made when needed
        self._stepper = self.program.stepper()
        self._eval: Program | None = None
        self._eval_cost: Program | None = None
        self._eye = np.eye(self.n_outputs, dtype=self.dtype)
        self._synced = self.theta.astype(np.float64)
        self._stepped = False
        self.steps = 0

    # ------------------------------------------------------------------ settings
    @property
    def lr(self) -> float:
        """The learning rate (the optimizer's, if one was given)."""
        return float(self.optimizer.lr) if self.optimizer is not None else self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if self.optimizer is not None:
            self.optimizer.lr = value
        else:
            self._lr = positive_number(value, "lr")

    @property
    def momentum(self) -> float:
        """The momentum μ (the optimizer's, if one was given)."""
        return float(self.optimizer.momentum) if self.optimizer is not None else self._momentum

    @property
    def in_sync(self) -> bool:
        """Whether the model's Values hold the current parameters (no step since the last sync)."""
        return not self._stepped

    @property
    def grad(self) -> np.ndarray:
        """The flat gradient of the last step or :meth:`gradients` call (read-only)."""
        grad = self._G / self._G_scale if self._G_scale != 1.0 else self._G.view()
        grad.flags.writeable = False
        return grad

    # ------------------------------------------------------------------ arrays
    def _inputs(self, X: Any) -> np.ndarray:
        nin = self.program.n_inputs[0]
        if type(X) is np.ndarray and X.dtype == self.dtype and X.ndim == 2 and X.shape[0] and \
                X.shape[1] == nin:
            return X  # the common case, checked in a few attribute reads
        X = real_array(X, "X", self.dtype)
        if X.ndim != 2 or X.shape[1] != nin or X.shape[0] == 0:
            raise ValueError(f"X must have shape (batch, {nin}) with batch ≥ 1, got {X.shape}")
        return X

    def _targets(self, Y: Any, b: int) -> np.ndarray:
        n = self.n_outputs
        if type(Y) is np.ndarray and Y.dtype == self.dtype and Y.shape == (b, n):
            return Y
        Y = real_array(Y, "Y", None)
        if Y.ndim == 1 and n == 1:  # one output: each number is its target, as in batch_cost
            if Y.shape[0] != b:
                raise ValueError(f"{Y.shape[0]} targets for {b} inputs; they must match")
            return Y.astype(self.dtype).reshape(b, 1)
        if Y.ndim == 1 and Y.dtype.kind in "iu":
            if Y.shape[0] != b:
                raise ValueError(f"{Y.shape[0]} labels for {b} inputs; they must match")
            if b and (Y.min() < 0 or Y.max() >= n):
                raise ValueError(f"labels must be in [0, {n}), got {int(Y.min())}..{int(Y.max())}")
            return self._eye[Y]
        Y = Y.astype(self.dtype, copy=False)
        if Y.shape != (b, n):
            raise ValueError(f"Y must be {b} int labels or targets of shape ({b}, {n}), got an "
                             f"array of shape {Y.shape}")
        return Y

    def prepare(self, X: Any, Y: Any) -> PreparedBatch:
        """Check ``X`` and ``Y`` once (see :class:`PreparedBatch`) for :meth:`cost_and_predictions`.

        Raises:
            TypeError: not real numbers (naming the dtype); ValueError: shapes, labels, nan/inf.
        """
        X = self._inputs(X)
        Y = self._targets(Y, X.shape[0])
        check_finite(X, "X")
        check_finite(Y, "Y")
        return PreparedBatch(X, Y)

    # ------------------------------------------------------------------ training
    def train_batch(self, X: Any, Y: Any) -> float:
        """One SGD step on a mini-batch; returns its mean cost (before the step).

        Args:
            X: inputs, shape ``(b, nin)``.
            Y: ``b`` int labels (one-hot targets) or targets of shape ``(b, n_out)``.

        Raises:
            TypeError: inputs or targets that are not real numbers (naming the dtype).
            ValueError: bad shapes or labels, inputs/targets that are not finite, or a step
                that would write nan/inf into the parameters (as ``SGD.step``); the parameters
                are unchanged then. The engine's errors (OverflowError, ...) if an op leaves
                its domain.
        """
        X = self._inputs(X)
        Y = self._targets(Y, X.shape[0])
        if not self._stepped:
            self._adopt_values()
        with self._stepper as step:
            return self._step(step, X, Y)

    def _step(self, step: Stepper, X: np.ndarray, Y: np.ndarray,
              batch: int | None = None) -> float:
        """One SGD step, by the fused step itself when it can vouch for it (plain SGD on a
        fused program), else the checked way of :meth:`_train_step`; its mean cost."""
        lean = self._plain_fused_step(X.shape[0])
        if lean is not None:
            cost = self._lean_batch(lean, X, Y)
            if cost is not None:
                return cost
        return self._train_step(step, X, Y, batch)

    def _plain_fused_step(self, b: int) -> DenseStep | None:
        """The fused step for batches of ``b`` if the step is plain SGD (no momentum)."""
        return self.program.fused_step(b) if self.momentum == 0.0 else None

    def _lean_batch(self, lean: DenseStep, X: np.ndarray, Y: np.ndarray) -> float | None:
        """The mean cost of one plain SGD step taken by the fused step itself
        (:meth:`DenseStep.sgd_step`), or None, nothing changed, if it cannot vouch for the
        step (then :meth:`_train_step` takes it the checked way, which names what is wrong)."""
        b, was_stepped = X.shape[0], self._stepped
        scale = -self.lr / b
        # First, as in _train_step: once θ has moved, a Ctrl-C must find the trainer out of
        # sync and the gradient's scale that of this step (a refused step's fallback sets it).
        self._stepped = True
        self._G, self._G_scale = lean.grad, scale * b  # as _gradient keeps them
        total = lean.sgd_step(X, Y, scale)
        if total is None:
            self._stepped = was_stepped
            return None
        self.steps += 1
        return total / b

    def _train_step(self, step: Stepper, X: np.ndarray, Y: np.ndarray,
                    batch: int | None = None) -> float:
        """One checked SGD step: θ moves only if the cost and every new θᵢ are finite."""
        lr, mu, b = self.lr, self.momentum, X.shape[0]
        # Without momentum the step −lr·∇C is the gradient of −lr·C: seeding the backward pass
        # with −lr/b gives the step itself, saving a pass over θ.
        cost, G = self._gradient(step, X, Y, -lr / b if mu == 0.0 else 1.0 / b)
        delta = G if mu == 0.0 else self._momentum_step(G, mu, lr)
        if not (math.isfinite(cost) and _surely_finite(delta)):
            what = "train_batch" if batch is None else f"train_epoch, batch {batch}"
            self._check_step(step, X, Y, cost, delta, what)
        # First: a Ctrl-C arriving after θ has moved must not leave the trainer "in sync".
        self._stepped = True
        if mu != 0.0:
            self.velocity[:] = self._momentum_buffers[0]  # type: ignore[index]
        np.add(self.theta, delta, out=self.theta)
        self.steps += 1
        return cost

    def _momentum_step(self, G: np.ndarray, mu: float, lr: float) -> np.ndarray:
        """The step −lr·v for the new velocity v = μv + G (kept aside until the step is taken)."""
        if self._momentum_buffers is None:
            self._momentum_buffers = (np.empty_like(self.theta), np.empty_like(self.theta))
        v, delta = self._momentum_buffers
        with np.errstate(all="ignore"):  # an overflow is an inf that the caller refuses
            np.multiply(self.velocity, mu, out=v)
            np.add(v, G, out=v)
            np.multiply(v, -lr, out=delta)
        return delta

    def _gradient(self, step: Stepper, X: np.ndarray, Y: np.ndarray,
                  scale: float) -> tuple[float, np.ndarray]:
        """``(mean cost, gradient of scale·Σ cost)``; the gradient is kept in ``self._G``."""
        try:
            total, G = step(X, Y, scale=scale)
        except (ArithmeticError, ValueError):
            check_finite(X, "X")
            check_finite(Y, "Y")
            raise
        self._G, self._G_scale = G, scale * X.shape[0]
        return total / X.shape[0], G

    def _check_step(self, step: Stepper, X: np.ndarray, Y: np.ndarray, cost: float,
                    delta: np.ndarray, what: str) -> None:
        """Return if the step θ + delta is finite after all; else raise (nothing changed).

        As the scalar loop: non-finite inputs are a ValueError, a total cost too large for a
        float the OverflowError of ``Value.sum``, and an inf/nan gradient, or a step that
        would make a parameter inf/nan, the ValueError of ``SGD.step``.
        """
        with np.errstate(all="ignore"):
            new = self.theta + delta
        if math.isfinite(cost) and np.isfinite(new).all():
            return
        check_finite(X, "X")
        check_finite(Y, "Y")
        if not math.isfinite(cost):
            raise OverflowError(f"{what}: sum: result too large for a float (the total cost of "
                                f"the batch); the parameters were not changed")
        _, G = self._gradient(step, X, Y, 1.0 / X.shape[0])  # the gradient itself, to name it
        if not np.isfinite(G).all():
            i = int(np.flatnonzero(~np.isfinite(G))[0])
            raise ValueError(f"{what}: parameter {i} has gradient {float(G[i])}; "
                             "refusing to write nan/inf into the model")
        i = int(np.flatnonzero(~np.isfinite(new))[0])
        raise ValueError(f"{what}: parameter {i} would become {float(new[i])} (gradient "
                         f"{float(G[i])!r}, lr {self.lr!r}); refusing to write nan/inf into "
                         "the model; the parameters were not changed")

    def training_set(self, images: Any, targets: Any = None) -> TrainingSet:
        """The data set checked once and laid out for :meth:`train_epoch` (a copy of it).

        Each row holds an example's inputs, a 1 and its targets, so an epoch gathers each
        mini-batch with one NumPy call and the first layer's bias is part of its products:
        pass the result to :meth:`train_epoch` for every epoch (with ``targets=None``).

        Args:
            images: ``(n, nin)`` inputs, or a :class:`PreparedBatch` (already checked; then
                ``targets`` is None); targets: ``n`` int labels or ``(n, n_out)`` targets.

        Raises:
            TypeError: not real numbers (naming the dtype); ValueError: shapes, labels, nan/inf.
        """
        if isinstance(images, PreparedBatch):
            if targets is not None:
                raise TypeError("training_set: a PreparedBatch holds its targets; pass "
                                "targets=None")
            return make_training_set(images.X, images.Y)
        return make_training_set(*self.prepare(images, targets))

    def train_epoch(self, images: Any, targets: Any, batch_size: int,
                    rng: random.Random | np.random.Generator | int,
                    *, on_batch: Callable[[int, float], None] | None = None) -> float:
        """One epoch of shuffled mini-batches; syncs the Values at the end; returns the mean
        of the batch costs.

        The batches come from :func:`tinygrad_lite.data.iterate_minibatches` with ``rng``, so
        the same ``rng`` gives the same batches as the scalar training loop. The Values are
        synced even if the epoch is interrupted (Ctrl-C, an error, ``on_batch`` raising); then
        the interruption is what propagates (a failed sync only adds a note to it).

        Args:
            images: ``(n, nin)`` inputs, or a :class:`TrainingSet` from :meth:`training_set`
                (faster: checked once, one gather a step); targets: ``n`` int labels or
                ``(n, n_out)`` targets, or None with a TrainingSet. Plain SGD (no momentum)
                on a :attr:`Program.fused` program without ``on_batch`` runs the epoch's
                steps in the fused step's own loop, fastest.
            batch_size: examples per step; rng: a NumPy Generator (fastest), a
                ``random.Random`` or an int seed: see ``iterate_minibatches``.
            on_batch: called with (batch index, batch cost) after each step.
        """
        gather, n = self._gatherer(images, targets)
        if not self._stepped:
            self._adopt_values()
        batch_size = positive_int(batch_size, "batch_size")
        order = shuffled_order(n, rng)
        lean = self._lean_step(batch_size, on_batch)
        try:
            with self._stepper as step:
                total = self._epoch_steps(step, gather, order, batch_size, on_batch, lean)
        except BaseException as exc:
            self._sync_after(exc)
            raise
        self.sync_to_values()
        return total / max(-(-n // batch_size), 1)

    def _gatherer(self, images: Any, targets: Any) -> tuple[Gather, int]:
        """(a function giving the (inputs, targets) of the rows idx, the number of examples)."""
        if not isinstance(images, TrainingSet):
            X = self._inputs(images)
            return _pair_gatherer(X, self._targets(targets, X.shape[0])), X.shape[0]
        if targets is not None:
            raise TypeError("train_epoch: a TrainingSet holds its targets; pass targets=None")
        rows, nin = images.rows, self.program.n_inputs[0]
        if images.n_inputs != nin or rows.shape[1] != nin + 1 + self.n_outputs or \
                rows.dtype != self.dtype:
            raise ValueError(f"train_epoch: {images!r} was made for another network or dtype; "
                             f"this trainer takes {nin} inputs, {self.n_outputs} targets, "
                             f"{self.dtype}")
        # The fused step takes the ones column too (its first layer's bias); else only inputs.
        return _row_gatherer(rows, nin, self.program.fused), rows.shape[0]

    def _lean_step(self, batch_size: int,
                   on_batch: Callable[[int, float], None] | None) -> DenseStep | None:
        """The fused step whose own loop may run this epoch's steps: plain SGD with nothing
        to call between the steps (so nothing can change lr meanwhile)."""
        return None if on_batch is not None else self._plain_fused_step(batch_size)

    def _epoch_steps(self, step: Stepper, gather: Gather, order: np.ndarray, batch_size: int,
                     on_batch: Callable[[int, float], None] | None,
                     lean: DenseStep | None = None) -> float:
        """The steps of one epoch on the rows ``order``, cut into batches and gathered into
        buffers reused from step to step; returns the sum of the batch costs.

        With ``lean`` the fused step's own loop takes the batches it can vouch for, and a batch
        it stops at goes the checked way of :meth:`_train_step` (which names what is wrong);
        without it each batch is a :meth:`_step`.
        """
        total, i, n_batches = 0.0, 0, -(-len(order) // batch_size)
        while i < n_batches:
            if lean is not None:
                i, cost_sum = self._lean_steps(lean, gather, order, i)
                total += cost_sum
                if i == n_batches:
                    break
            xb, yb = gather(order[i * batch_size:(i + 1) * batch_size])
            if lean is not None:  # where the lean loop stopped: a refused or a short batch
                cost = self._train_step(step, xb, yb, i)
            else:  # lr and momentum read again at every step
                cost = self._step(step, xb, yb, i)
            total += cost
            if on_batch is not None:
                on_batch(i, cost)
            i += 1
        return total

    def _lean_steps(self, lean: DenseStep, gather: Gather, order: np.ndarray,
                    batch: int) -> tuple[int, float]:
        """(the batch :meth:`DenseStep.plain_sgd` stopped at, the sum of its steps' costs)."""
        lean.steps_taken, lean.cost_sum = 0, 0.0
        scale = -self.lr / lean.b
        self._stepped = True  # first: θ may move from here on (see _train_step)
        try:
            stop = lean.plain_sgd(gather, order, batch, scale)
        finally:  # also when interrupted: the steps taken and the gradient of the last one
            self.steps += lean.steps_taken
            if lean.steps_taken:
                self._G, self._G_scale = lean.grad, scale * lean.b
        return stop, lean.cost_sum

    def gradients(self, X: Any, Y: Any, *, to_values: bool = False) -> tuple[float, np.ndarray]:
        """``(mean cost, flat gradient of the mean cost)`` for a batch, without a step.

        A gradient that is not finite (an infinite local derivative somewhere) is returned as
        it is, as ``backward()`` would write it into ``.grad``.

        Args:
            to_values: also ADD the gradient into each parameter's ``.grad``, as
                ``batch_cost(...).backward()`` would (zero them first for the gradient alone).
        """
        X, Y = self.prepare(X, Y)
        if not self._stepped:
            self._adopt_values()
        with self._stepper as step:
            cost, G = self._gradient(step, X, Y, 1.0 / X.shape[0])
        grad = G.copy()
        if to_values:
            for p, g in zip(self.params, grad.tolist()):
                p.grad += g
        return cost, grad

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, X: Any) -> np.ndarray:
        """The model's outputs for a batch, shape ``(b, n_out)``, with the current parameters."""
        X = self._inputs(X)
        check_finite(X, "X")
        if not self._stepped:
            self._adopt_values()
        if self._eval is None:
            self._eval = compile_model(self.model, dtype=self.dtype).sharing(self.theta)
        return self._eval.evaluate(Batch((X,), X.shape[0]))

    def predict(self, X: Any) -> np.ndarray:
        """The index of the largest output for each example (int64, shape ``(b,)``)."""
        return np.argmax(self.evaluate(X), axis=1).astype(np.int64)

    def cost(self, X: Any, Y: Any) -> float:
        """The mean cost over a batch with the current parameters (no step)."""
        X, Y = self.prepare(X, Y)
        if not self._stepped:
            self._adopt_values()
        return float(self.program.evaluate(Batch((X, Y), X.shape[0])).mean())

    def cost_and_predictions(self, X: Any, Y: Any = None) -> tuple[float, np.ndarray]:
        """``(mean cost, predicted class of each example)`` for a batch, from ONE forward pass.

        The numbers of :meth:`cost` and :meth:`predict` for the price of one: the cost is
        compiled (once, on first use) with the model's outputs as extra outputs. ``X`` may be
        a :class:`PreparedBatch` (then leave out ``Y``), so that a data set evaluated after
        every epoch is checked once.
        """
        batch = X if isinstance(X, PreparedBatch) and Y is None else self.prepare(X, Y)
        if not self._stepped:
            self._adopt_values()
        if self._eval_cost is None:
            model, cost_fn = self.model, self._cost_fn

            def cost_and_outputs(x: list[Value], y: list[Value]) -> list[Value]:
                outputs = list(model(x))
                return [cost_fn(outputs, y), *outputs]

            program = compile_function(cost_and_outputs, (int(model.nin), self.n_outputs),
                                       self.params, dtype=self.dtype)
            self._eval_cost = program.sharing(self.theta)
        out = self._eval_cost.evaluate(Batch((batch.X, batch.Y), batch.X.shape[0]))
        return float(out[:, 0].mean()), np.argmax(out[:, 1:], axis=1).astype(np.int64)

    # ------------------------------------------------------------------ syncing
    def sync_to_values(self, *, force: bool = False) -> None:
        """Write the flat parameters into the model's Values (and the last gradient into
        ``.grad``, the velocity into the optimizer).

        Every Value is written even if Ctrl-C arrives midway (the KeyboardInterrupt is raised
        once they all are), so the model is never left half old, half new.

        Raises:
            RuntimeError: a parameter Value was changed by someone else since the trainer
                last read or wrote it (its change would be lost); call
                :meth:`sync_from_values` to take it, or pass ``force=True`` to overwrite it.
        """
        if not self._stepped:
            return
        if not force:
            current = np.array([p.data for p in self.params])
            changed = np.flatnonzero(current != self._synced)
            if len(changed):
                raise RuntimeError(
                    f"parameter {int(changed[0])} (and {len(changed) - 1} more) changed outside "
                    f"the trainer since it last synced: call sync_from_values() to train on "
                    f"from the changed values, or sync_to_values(force=True) to overwrite them")
        data, grads = self.theta.tolist(), self.grad.tolist()
        velocity = self.velocity.tolist() if self.optimizer is not None else None
        try:
            assign_all(self.params, data, grads)
        finally:
            # Once assign_all has begun it writes every Value, even if interrupted; an interrupt
            # before it began wrote none (the last Value does not hold our float object), and
            # then the trainer keeps the parameters.
            if not data or self.params[-1].data is data[-1]:
                self._synced[:] = self.theta
                self._stepped = False
                if self.optimizer is not None:
                    self.optimizer.velocity = velocity

    def _sync_after(self, exc: BaseException) -> None:
        """Sync after ``exc`` stopped an epoch or a ``with`` block, without hiding ``exc``: if
        the sync fails (a Value changed outside the trainer), that is added to it as a note."""
        try:
            self.sync_to_values()
        except Exception as sync_exc:  # whatever it is, exc is what the caller must see
            note = f"the trainer could not write its parameters into the model: {sync_exc}"
            if hasattr(exc, "add_note"):  # Python ≥ 3.11
                exc.add_note(note)
            else:  # pragma: no cover - Python 3.10
                warnings.warn(note, RuntimeWarning, stacklevel=3)

    def _optimizer_velocity(self) -> np.ndarray:
        """A copy of ``optimizer.velocity`` as a flat array, its length checked."""
        velocity = np.array(self.optimizer.velocity, dtype=self.dtype)
        if velocity.shape != (len(self.params),):
            raise ValueError(f"optimizer.velocity must hold {len(self.params)} numbers, got "
                             f"an array of shape {velocity.shape}")
        return velocity

    def _adopt_values(self) -> None:
        """In sync, the Values own the parameters and the optimizer its velocity: re-read them
        in case someone changed them (weights loaded from a file, a scalar ``optimizer.step()``)."""
        current = np.array([p.data for p in self.params])
        if not np.array_equal(current, self._synced):
            self.theta[:] = current
            self._synced[:] = current
        if self.optimizer is not None:
            self.velocity[:] = self._optimizer_velocity()

    def sync_from_values(self) -> None:
        """Reload the flat parameters from the model's Values (after changing them directly)."""
        if self._stepped and self.optimizer is not None:
            self.optimizer.velocity = self.velocity.tolist()  # the optimizer owns it again
        self.program.load_params()
        self._synced[:] = self.theta
        self._stepped = False

    def close(self) -> None:
        """Sync the Values (see :meth:`sync_to_values`)."""
        self.sync_to_values()

    def __enter__(self) -> "CompiledTrainer":
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.sync_to_values()
        else:
            self._sync_after(exc)

    def __repr__(self) -> str:
        return (f"CompiledTrainer({self.program!r}, lr={self.lr:g}, momentum={self.momentum:g}, "
                f"{self.steps} steps, {'in sync' if self.in_sync else 'Values stale'})")
