"""Stochastic gradient descent, with optional momentum.

Usage, once per mini-batch::

    opt = SGD(model.parameters(), lr=3.0)
    opt.zero_grad()
    batch_cost(model, xs, ys).backward()
    opt.step()          # every parameter moves a step of lr down its gradient
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

from tinygrad_lite._checks import momentum as check_momentum
from tinygrad_lite._checks import positive_number
from tinygrad_lite.engine import Value, zero_grad

__all__ = ["SGD"]


def _run_to_end(drain: Callable[[], None]) -> None:
    """Call ``drain`` (a loop over an iterator) until it finishes, even if Ctrl-C arrives.

    Python delivers a KeyboardInterrupt between loop iterations, never inside one iteration's
    writes, so calling ``drain`` again resumes from the same iterator; the interrupt is
    re-raised once the loop is done. An interrupted update never leaves a model half old,
    half new.
    """
    interrupt: KeyboardInterrupt | None = None
    while True:
        try:
            drain()
            break
        except KeyboardInterrupt as exc:  # a second Ctrl-C while finishing is caught as well
            interrupt = exc
    if interrupt is not None:
        raise interrupt


def assign_all(values: Sequence[Value], data: Iterable[float],
               grads: Iterable[float] | None = None) -> None:
    """Set ``values[i].data = data[i]`` (and ``.grad = grads[i]``) for every i, all of them even
    if Ctrl-C arrives midway (see :func:`_run_to_end`).

    The one interrupt-safe writer of many Values: :meth:`SGD.step` moves the parameters with
    it, and the compiled path writes its flat arrays back into the model's Values with it.
    """
    if grads is None:
        pairs = zip(values, data)

        def drain() -> None:
            for v, x in pairs:
                v.data = x
    else:
        triples = zip(values, data, grads)

        def drain() -> None:
            for v, x, g in triples:
                v.data = x
                v.grad = g

    _run_to_end(drain)


def _refuse_non_finite(params: Sequence[Value], steps: Sequence[float], new_data: Sequence[float],
                       lr: float) -> None:
    """ValueError naming the first parameter whose step or new value is nan/inf, if any."""
    for i, (p, step, x) in enumerate(zip(params, steps, new_data)):
        if not math.isfinite(p.grad):
            raise ValueError(f"SGD.step: parameter {i} has gradient {p.grad}; refusing to "
                             "write nan/inf into the model")
        if not math.isfinite(x):
            raise ValueError(f"SGD.step: parameter {i} would become {x} (data {p.data!r}, step "
                             f"{step!r}, lr {lr:g}); refusing to write nan/inf into the model "
                             "(lower the learning rate)")


class SGD:
    """Mini-batch stochastic gradient descent: p ← p − lr·v, with v = momentum·v + ∂C/∂p.

    With ``momentum=0`` (the default) this is the plain update p ← p − lr·∂C/∂p of the videos.
    With momentum the velocity v remembers earlier gradients (the form PyTorch uses).

    Args:
        parameters: the Values to train (``model.parameters()``).
        lr: the learning rate η, a positive number (``opt.lr`` may be changed later).
        momentum: in [0, 1); 0 disables it.

    Raises:
        TypeError: a parameter is not a Value, or lr/momentum are not numbers.
        ValueError: no parameters, the same parameter twice, lr ≤ 0, momentum outside [0, 1).
    """

    def __init__(self, parameters: Iterable[Value], lr: float, momentum: float = 0.0) -> None:
        self.parameters: list[Value] = list(parameters)
        if not self.parameters:
            raise ValueError("SGD: parameters is empty; nothing to train")
        for i, p in enumerate(self.parameters):
            if not isinstance(p, Value):
                raise TypeError(f"SGD: parameter {i} must be a Value, got {type(p).__name__}")
        if len({id(p) for p in self.parameters}) != len(self.parameters):
            raise ValueError("SGD: a parameter appears more than once; it would be updated twice")
        self.lr = lr
        self.momentum = momentum
        self.velocity: list[float] = [0.0] * len(self.parameters)

    @property
    def lr(self) -> float:
        """The learning rate (a positive, finite float)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = positive_number(value, "lr")

    @property
    def momentum(self) -> float:
        """The momentum μ in [0, 1) (0: plain SGD); may be changed between steps."""
        return self._momentum

    @momentum.setter
    def momentum(self, value: float) -> None:
        self._momentum = check_momentum(value)

    def step(self) -> None:
        """Move every parameter one step against its gradient.

        A KeyboardInterrupt (Ctrl-C) during the update is re-raised only once every parameter
        has moved, so an interrupted training run keeps a consistent model.

        Raises:
            ValueError: a gradient, or a parameter's new value, is not finite (nan or inf: a
                learning rate too large for the gradient, say); no parameter (and no velocity)
                is changed then.
        """
        params, lr = self.parameters, self._lr
        if self.momentum == 0.0:
            velocity = None
            new_data = [p.data - lr * p.grad for p in params]
        else:
            mu = self.momentum
            velocity = [mu * v + p.grad for v, p in zip(self.velocity, params)]
            new_data = [p.data - lr * v for p, v in zip(params, velocity)]
        if not math.isfinite(sum(new_data)):  # one fast check; find the culprit only if it fails
            steps = velocity if velocity is not None else [p.grad for p in params]
            _refuse_non_finite(params, steps, new_data, lr)
        if velocity is not None:
            self.velocity = velocity
        assign_all(params, new_data)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (call before each backward pass)."""
        zero_grad(self.parameters)

    def __repr__(self) -> str:
        return f"SGD({len(self.parameters):,} parameters, lr={self._lr:g}, momentum={self.momentum:g})"
