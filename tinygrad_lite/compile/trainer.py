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

import itertools
import math
import random
import warnings
from typing import Any, Callable, NoReturn, Sequence

import numpy as np

from tinygrad_lite._checks import momentum as check_momentum
from tinygrad_lite._checks import positive_number
from tinygrad_lite.compile.compiler import compile_function
from tinygrad_lite.compile.program import CHUNK, Program, check_finite
from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.losses import get_cost
from tinygrad_lite.optim import assign_all

__all__ = ["compile_cost", "compile_model", "CompiledTrainer"]


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


def compile_cost(model: Any, cost: Any = "quadratic") -> Program:
    """The per-example cost of ``model`` as a program of two input arrays: inputs and targets.

    ``program.forward(X, Y)`` gives each example's cost C_k (shape ``(b,)``) and
    ``program.gradients(X, Y)`` the gradient of their mean, as :func:`~tinygrad_lite.losses.
    batch_cost` builds it. Traced once per graph structure (compiling the same architecture and
    cost again reuses the lowered program).

    Args:
        model: an ``MLP`` (anything with ``nin``, ``parameters()`` and ``model(x)``).
        cost: ``"quadratic"``, ``"cross-entropy"`` (or ``"cross_entropy"``) or a function
            ``cost(outputs, targets) -> Value``.
    """
    params = _check_model(model)
    cost_fn = get_cost(cost)
    return compile_function(lambda x, y: cost_fn(model(x), y),
                            (int(model.nin), _n_outputs(model)), params)


def compile_model(model: Any) -> Program:
    """The forward pass of ``model`` as a program: ``program.forward(X)`` → ``(b, n_out)``."""
    params = _check_model(model)
    return compile_function(lambda x: list(model(x)), int(model.nin), params)


class CompiledTrainer:
    """Mini-batch SGD on an ``MLP`` with the compiled program and flat parameter arrays.

    The same math as the scalar loop (``optimizer.zero_grad(); batch_cost(...).backward();
    optimizer.step()``), the same update rule as :class:`~tinygrad_lite.optim.SGD`
    (v ← μv + ∇C, p ← p − lr·v), at array speed::

        with CompiledTrainer(model, "quadratic", lr=3.0) as trainer:
            for epoch in range(30):
                trainer.train_epoch(images, labels, batch_size=10, rng=rng)
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

    Raises:
        TypeError / ValueError: bad settings, or an optimizer over other parameters.
        TraceError / UnsupportedOpError: the model or cost cannot be compiled.
    """

    def __init__(self, model: Any, cost: Any = "quadratic", lr: float | None = None,
                 momentum: float = 0.0, *, optimizer: Any = None) -> None:
        self.model = model
        self.params = _check_model(model)
        self.optimizer = optimizer
        if optimizer is not None:
            others = list(getattr(optimizer, "parameters", []))
            if len(others) != len(self.params) or any(a is not b for a, b in
                                                      zip(others, self.params)):
                raise ValueError("optimizer must be over exactly model.parameters(), in order")
            velocity = self._optimizer_velocity()
        else:
            if lr is None:
                raise TypeError("CompiledTrainer needs lr= (or optimizer=)")
            self._lr = positive_number(lr, "lr")
            self._momentum = check_momentum(momentum)
            velocity = np.zeros(len(self.params))
        self._cost_fn = get_cost(cost)
        self.program = compile_cost(model, self._cost_fn)
        self.n_outputs = _n_outputs(model)
        self.theta = self.program.theta
        self.velocity = velocity
        self._tmp = np.empty_like(self.theta)
        self._eval: Program | None = None
        self._eval_cost: Program | None = None
        self._eye = np.eye(self.n_outputs)
        self._out_row = int(self.program.lowered.out_rows[0])
        self._synced = self.theta.copy()
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
        """The flat gradient of the last step or :meth:`gradients` call (read-only view)."""
        view = self.program._G.view()
        view.flags.writeable = False
        return view

    # ------------------------------------------------------------------ arrays
    def _inputs(self, X: Any) -> np.ndarray:
        if type(X) is not np.ndarray or X.dtype != np.float64:
            if isinstance(X, Value):
                raise TypeError("X must be an array of numbers, got a Value")
            try:
                X = np.asarray(X, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"X must be a 2-D array of real numbers: {exc}") from None
        nin = self.program.n_inputs[0]
        if X.ndim != 2 or X.shape[1] != nin or X.shape[0] == 0:
            raise ValueError(f"X must have shape (batch, {nin}) with batch ≥ 1, got {X.shape}")
        return X

    def _targets(self, Y: Any, b: int) -> np.ndarray:
        if type(Y) is not np.ndarray:
            Y = np.asarray(Y)
        n = self.n_outputs
        if Y.ndim == 1 and Y.dtype.kind in "iu":
            if Y.shape[0] != b:
                raise ValueError(f"{Y.shape[0]} labels for {b} inputs; they must match")
            if b and (Y.min() < 0 or Y.max() >= n):
                raise ValueError(f"labels must be in [0, {n}), got {int(Y.min())}..{int(Y.max())}")
            return self._eye[Y]
        if Y.dtype != np.float64:
            try:
                Y = Y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"Y must be int labels or a 2-D array of targets: {exc}") from None
        if Y.shape != (b, n):
            raise ValueError(f"Y must be {b} int labels or targets of shape ({b}, {n}), got an "
                             f"array of shape {Y.shape}")
        return Y

    def _refuse(self, X: np.ndarray, Y: np.ndarray, cost: float, G: np.ndarray,
                what: str) -> NoReturn:
        """Raise the error for a step whose cost or gradient is not finite (nothing changed).

        As the scalar loop: non-finite inputs are a ValueError, a total cost too large for a
        float the OverflowError of ``Value.sum``, and an inf/nan gradient (which
        ``backward()`` would write into ``.grad``) the ValueError of ``SGD.step``.
        """
        check_finite(X, "X")
        check_finite(Y, "Y")
        if not math.isfinite(cost):
            raise OverflowError(f"{what}: sum: result too large for a float (the total cost of "
                                f"the batch); the parameters were not changed")
        i = int(np.flatnonzero(~np.isfinite(G))[0])
        raise ValueError(f"{what}: parameter {i} has gradient {float(G[i])}; "
                         "refusing to write nan/inf into the model")

    # ------------------------------------------------------------------ training
    def train_batch(self, X: Any, Y: Any) -> float:
        """One SGD step on a mini-batch; returns its mean cost (before the step).

        Args:
            X: inputs, shape ``(b, nin)``.
            Y: ``b`` int labels (one-hot targets) or targets of shape ``(b, n_out)``.

        Raises:
            ValueError: bad shapes or labels, inputs/targets that are not finite, or a gradient
                that is not finite (as ``SGD.step``); the parameters are unchanged then. The
                engine's errors (OverflowError, ...) if an op leaves its domain.
        """
        X = self._inputs(X)
        b = X.shape[0]
        Y = self._targets(Y, b)
        if not self._stepped:
            self._adopt_values()
        G = self._gradient(X, Y, b)
        cost = self._cost
        if not (math.isfinite(cost) and np.isfinite(G).all()):
            self._refuse(X, Y, cost, G, "train_batch")
        self._step(G)
        return cost

    def _gradient(self, X: np.ndarray, Y: np.ndarray, b: int) -> np.ndarray:
        program = self.program
        try:
            if b <= CHUNK:
                ws = program._workspace(b)
                program._run(ws, [X, Y], 1.0 / b)
                self._cost = float(np.add.reduce(ws.V[self._out_row])) / b
                return program._G
            outs, grad = program._gradients([X, Y], 1.0 / b, None)
            program._G[:] = grad
            self._cost = float(outs.mean())
            return program._G
        except (ArithmeticError, ValueError):
            check_finite(X, "X")
            check_finite(Y, "Y")
            raise

    def _step(self, G: np.ndarray) -> None:
        lr, mu = self.lr, self.momentum
        tmp, theta = self._tmp, self.theta
        # First: a Ctrl-C arriving after θ has moved must not leave the trainer "in sync".
        self._stepped = True
        if mu == 0.0:
            np.multiply(G, lr, out=tmp)
        else:
            v = self.velocity
            np.multiply(v, mu, out=v)
            np.add(v, G, out=v)
            np.multiply(v, lr, out=tmp)
        np.subtract(theta, tmp, out=theta)
        self.steps += 1

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
            images: ``(n, nin)`` inputs; targets: ``n`` int labels or ``(n, n_out)`` targets.
            batch_size: examples per step; rng: see ``iterate_minibatches``.
            on_batch: called with (batch index, batch cost) after each step.
        """
        from tinygrad_lite.data import iterate_minibatches

        X = self._inputs(images)
        n = X.shape[0]
        Y = self._targets(targets, n)
        if not self._stepped:
            self._adopt_values()
        batches = list(iterate_minibatches(n, batch_size, rng))
        order = np.fromiter(itertools.chain.from_iterable(batches), dtype=np.intp, count=n)
        total, count, start = 0.0, 0, 0
        try:
            for i, batch in enumerate(batches):
                idx = order[start:start + len(batch)]
                start += len(batch)
                xb, yb = X[idx], Y[idx]
                G = self._gradient(xb, yb, len(idx))
                cost = self._cost
                if not (math.isfinite(cost) and np.isfinite(G).all()):
                    self._refuse(xb, yb, cost, G, f"train_epoch, batch {i}")
                self._step(G)
                total += cost
                count += 1
                if on_batch is not None:
                    on_batch(i, cost)
        except BaseException as exc:
            self._sync_after(exc)
            raise
        self.sync_to_values()
        return total / max(count, 1)

    def gradients(self, X: Any, Y: Any, *, to_values: bool = False) -> tuple[float, np.ndarray]:
        """``(mean cost, flat gradient of the mean cost)`` for a batch, without a step.

        A gradient that is not finite (an infinite local derivative somewhere) is returned as
        it is, as ``backward()`` would write it into ``.grad``.

        Args:
            to_values: also ADD the gradient into each parameter's ``.grad``, as
                ``batch_cost(...).backward()`` would (zero them first for the gradient alone).
        """
        X = self._inputs(X)
        b = X.shape[0]
        Y = self._targets(Y, b)
        check_finite(X, "X")
        check_finite(Y, "Y")
        if not self._stepped:
            self._adopt_values()
        grad = self._gradient(X, Y, b).copy()
        if to_values:
            for p, g in zip(self.params, grad.tolist()):
                p.grad += g
        return self._cost, grad

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, X: Any) -> np.ndarray:
        """The model's outputs for a batch, shape ``(b, n_out)``, with the current parameters."""
        X = self._inputs(X)
        check_finite(X, "X")
        if not self._stepped:
            self._adopt_values()
        if self._eval is None:
            self._eval = compile_model(self.model)._sharing(self.theta)
        return self._eval._forward([X])

    def predict(self, X: Any) -> np.ndarray:
        """The index of the largest output for each example (int64, shape ``(b,)``)."""
        return np.argmax(self.evaluate(X), axis=1).astype(np.int64)

    def cost(self, X: Any, Y: Any) -> float:
        """The mean cost over a batch with the current parameters (no step)."""
        X = self._inputs(X)
        Y = self._targets(Y, X.shape[0])
        check_finite(X, "X")
        check_finite(Y, "Y")
        if not self._stepped:
            self._adopt_values()
        return float(self.program._forward([X, Y]).mean())

    def cost_and_predictions(self, X: Any, Y: Any) -> tuple[float, np.ndarray]:
        """``(mean cost, predicted class of each example)`` for a batch, from ONE forward pass.

        The numbers of :meth:`cost` and :meth:`predict` for the price of one: the cost is
        compiled (once, on first use) with the model's outputs as extra outputs.
        """
        return self._cost_and_predictions(*self._evaluation_arrays(X, Y))

    def _evaluation_arrays(self, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and ``Y`` checked (shapes, labels, finite), the labels made one-hot: the
        arguments of :meth:`_cost_and_predictions`, so a data set evaluated after every epoch
        is checked once."""
        X = self._inputs(X)
        Y = self._targets(Y, X.shape[0])
        check_finite(X, "X")
        check_finite(Y, "Y")
        return X, Y

    def _cost_and_predictions(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        """:meth:`cost_and_predictions` of arrays from :meth:`_evaluation_arrays`."""
        if not self._stepped:
            self._adopt_values()
        if self._eval_cost is None:
            model, cost_fn = self.model, self._cost_fn

            def cost_and_outputs(x: list[Value], y: list[Value]) -> list[Value]:
                outputs = list(model(x))
                return [cost_fn(outputs, y), *outputs]

            program = compile_function(cost_and_outputs, (int(model.nin), self.n_outputs),
                                       self.params)
            self._eval_cost = program._sharing(self.theta)
        out = self._eval_cost._forward([X, Y])
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
        data, grads = self.theta.tolist(), self.program._G.tolist()
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
        velocity = np.array(self.optimizer.velocity, dtype=np.float64)
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
