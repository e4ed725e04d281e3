"""The NumPy kernels of the built-in elementwise ops, as the compiled path runs them.

The op table (:mod:`tinygrad_lite.optable`) gives each elementwise op's record its
:class:`Kernels`, as it gives it the ``Value`` method of the scalar engine; the compiler
(:mod:`tinygrad_lite.compile.instructions`) looks them up there by op name. A kernel works on
``k`` nodes × ``b`` examples at once, in place, on buffers the compiler allocated once:

* ``forward(operands, out, tmp, p)`` returns a function that writes the op of its operands
  (functions returning their current arrays) into ``out``; ``tmp`` is scratch of ``out``'s
  shape, ``p`` a number exponent (``x ** p``) or ``None``;
* ``contribution(which, operands, out, dout, target, tmp, p)`` returns a function that writes
  ``dout · ∂out/∂operand[which]`` (the chain rule for that operand) into ``target``.

They keep the engine's numbers, domain errors included: the floating-point errors they raise
inside ``np.errstate(**FLAGGED)`` are translated into the engine's errors by the compiler. A
forward function may carry a cheaper variant as its ``fast`` attribute (the sigmoid without
its clip against overflow), valid only where every floating-point error raises and the step is
then run again with the careful functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Any, Callable, NoReturn, Optional, Sequence

import numpy as np

__all__ = ["Kernels", "KERNELS", "FPFlag", "FloatingPointFlag", "FLAGGED", "raise_flag"]

Fn = Callable[[], None]
Getter = Callable[[], np.ndarray]


class FPFlag(IntFlag):
    """NumPy's floating-point status flags, as its ``errstate`` callback reports them."""

    DIVIDE = 1
    OVERFLOW = 2
    UNDERFLOW = 4
    INVALID = 8


class FloatingPointFlag(ArithmeticError):
    """Raised by :func:`raise_flag` inside ``np.errstate(all="call", call=raise_flag)``."""

    def __init__(self, flag: int) -> None:
        super().__init__(FPFlag(flag))
        self.flag = FPFlag(flag)


def raise_flag(kind: str, flag: int) -> NoReturn:
    """The ``np.errstate`` callback: raise the flag as :class:`FloatingPointFlag`."""
    raise FloatingPointFlag(flag)


#: Report every floating-point error as a FloatingPointFlag, except underflow (harmless).
FLAGGED = {"all": "call", "under": "ignore", "call": raise_flag}


@dataclass(frozen=True)
class Kernels:
    """The in-place NumPy kernels of one op (see the module docstring)."""

    forward: Callable[[Sequence[Getter], np.ndarray, np.ndarray, Optional[float]], Fn]
    contribution: Callable[[int, Sequence[Getter], np.ndarray, np.ndarray, np.ndarray,
                            np.ndarray, Optional[float]], Fn]


def _times_dout(local: Fn, dout: np.ndarray, t: np.ndarray, target: np.ndarray) -> Fn:
    """``target = dout · t`` after ``local()`` has written the local derivative into ``t``."""
    def contribute() -> None:
        local()
        np.multiply(dout, t, out=target)
    return contribute


def _ufunc_forward(ufunc: np.ufunc) -> Callable[..., Fn]:
    def forward(ops: Sequence[Getter], out: np.ndarray, t: np.ndarray, p: Any) -> Fn:
        if len(ops) == 1:
            (x,) = ops
            return lambda: ufunc(x(), out=out)
        a, b = ops
        return lambda: ufunc(a(), b(), out=out)
    return forward


# ------------------------------------------------------------------ unary ops
def _sigmoid_clip(dtype: np.dtype) -> float:
    """Where e^(−x) stops fitting the float type (709 for float64, 88 for float32); σ(x) is
    below the smallest normal number there anyway."""
    return float(np.floor(np.log(np.finfo(dtype).max)))


def _sigmoid_forward(ops: Sequence[Getter], out: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    (x,) = ops
    clip = _sigmoid_clip(t.dtype)

    def sigmoid() -> None:  # 1 / (1 + e^(−x)), e^(−x) clipped where it would overflow
        np.negative(x(), out=t)
        np.minimum(t, clip, out=t)
        np.exp(t, out=t)
        np.add(t, 1.0, out=t)
        np.divide(1.0, t, out=out)

    def sigmoid_unclipped() -> None:  # e^(−x) overflows for x < −709: an error, see above
        np.negative(x(), out=t)
        np.exp(t, out=t)
        np.add(t, 1.0, out=t)
        np.divide(1.0, t, out=out)
    sigmoid.fast = sigmoid_unclipped  # type: ignore[attr-defined]
    return sigmoid


def _sigmoid_contribution(which: int, ops: Sequence[Getter], out: np.ndarray,
                          dout: np.ndarray, target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    def local() -> None:  # σ' = σ(1 − σ)
        np.subtract(1.0, out, out=t)
        np.multiply(t, out, out=t)
    return _times_dout(local, dout, t, target)


def _tanh_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                       target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    def local() -> None:  # tanh' = 1 − tanh²
        np.multiply(out, out, out=t)
        np.subtract(1.0, t, out=t)
    return _times_dout(local, dout, t, target)


def _relu_forward(ops: Sequence[Getter], out: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    (x,) = ops
    return lambda: np.maximum(x(), 0.0, out=out)


def _relu_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                       target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    mask = np.empty(out.shape, dtype=bool)

    def local() -> None:  # 1 where x > 0 (relu(x) > 0 exactly there), else 0
        np.greater(out, 0.0, out=mask)
        np.copyto(t, mask)
    return _times_dout(local, dout, t, target)


def _abs_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    (x,) = ops
    return _times_dout(lambda: np.sign(x(), out=t), dout, t, target)


def _neg_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    return lambda: np.negative(dout, out=target)


def _exp_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    return lambda: np.multiply(dout, out, out=target)


def _log_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    (x,) = ops

    def log() -> None:  # (1/x)·dout, as the engine: inf·0 = nan for a tiny x
        np.divide(1.0, x(), out=target)
        np.multiply(target, dout, out=target)
    return log


# ------------------------------------------------------------------ powers
def _pow_forward(ops: Sequence[Getter], out: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    if len(ops) == 2:
        base_of, exponent_of = ops

        def power() -> None:
            base = base_of()
            if not (base > 0.0).all():
                raise ValueError("pow: base must be positive when the exponent is a Value, "
                                 f"got base={float(base[base <= 0.0].flat[0])!r} in the "
                                 "compiled program")
            np.power(base, exponent_of(), out=out)
        return power
    (x,) = ops
    if p == 2.0:
        def square() -> None:
            v = x()
            np.multiply(v, v, out=out)
        return square
    if p == 1.0:
        return lambda: np.copyto(out, x())
    return lambda: np.power(x(), p, out=out)


def _pow_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    if len(ops) == 2:
        return _pow_value_contribution(which, ops, out, dout, target)
    (x,) = ops
    if p == 1.0:
        return lambda: np.copyto(target, dout)
    if p == 0.0:  # x ** 0 is constant
        return lambda: target.fill(0.0)
    if p == 2.0:
        return _times_dout(lambda: np.multiply(x(), 2.0, out=t), dout, t, target)

    def local() -> None:  # p·x^(p−1); inf at x = 0 for p < 1, as the engine's
        # x^(p−1) overflowing raises OverflowError in the engine's forward pass: here too
        with np.errstate(over="call", call=raise_flag):
            np.power(x(), p - 1.0, out=t)
        np.multiply(t, p, out=t)
    return _times_dout(local, dout, t, target)


def _pow_value_contribution(which: int, ops: Sequence[Getter], out: np.ndarray,
                            dout: np.ndarray, target: np.ndarray) -> Fn:
    base, exponent = ops
    if which == 0:
        def d_base() -> None:  # ∂/∂base = p·x^(p−1) = p·out/x
            with np.errstate(over="call", call=raise_flag):  # x^(p−1) overflows: as the engine
                np.divide(out, base(), out=target)
            np.multiply(target, exponent(), out=target)
            np.multiply(target, dout, out=target)
        return d_base

    def d_exponent() -> None:  # ∂/∂exponent = out·log(base)
        np.log(base(), out=target)
        np.multiply(target, out, out=target)
        np.multiply(target, dout, out=target)
    return d_exponent


# ------------------------------------------------------------------ binary ops
def _add_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    return lambda: np.copyto(target, dout)


def _sub_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    if which == 0:
        return lambda: np.copyto(target, dout)
    return lambda: np.negative(dout, out=target)


def _mul_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    other = ops[1 - which]
    return lambda: np.multiply(dout, other(), out=target)


def _div_contribution(which: int, ops: Sequence[Getter], out: np.ndarray, dout: np.ndarray,
                      target: np.ndarray, t: np.ndarray, p: Any) -> Fn:
    a, b = ops
    if which == 0:
        def d_numerator() -> None:  # (1/b)·dout, as the engine: inf·0 = nan for a tiny b
            np.divide(1.0, b(), out=target)
            np.multiply(target, dout, out=target)
        return d_numerator

    def d_denominator() -> None:  # −a/b² · dout = −(out / b) · dout
        np.divide(out, b(), out=target)
        np.multiply(target, dout, out=target)
        np.negative(target, out=target)
    return d_denominator


#: The kernels of every built-in elementwise op, by op name (read through the op table).
KERNELS: dict[str, Kernels] = {
    "neg": Kernels(_ufunc_forward(np.negative), _neg_contribution),
    "exp": Kernels(_ufunc_forward(np.exp), _exp_contribution),
    "log": Kernels(_ufunc_forward(np.log), _log_contribution),
    "tanh": Kernels(_ufunc_forward(np.tanh), _tanh_contribution),
    "sigmoid": Kernels(_sigmoid_forward, _sigmoid_contribution),
    "relu": Kernels(_relu_forward, _relu_contribution),
    "abs": Kernels(_ufunc_forward(np.abs), _abs_contribution),
    "**": Kernels(_pow_forward, _pow_contribution),
    "+": Kernels(_ufunc_forward(np.add), _add_contribution),
    "-": Kernels(_ufunc_forward(np.subtract), _sub_contribution),
    "*": Kernels(_ufunc_forward(np.multiply), _mul_contribution),
    "/": Kernels(_ufunc_forward(np.divide), _div_contribution),
}
