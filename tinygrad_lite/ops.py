"""Add your own op: a forward function and its local derivative, as one graph node.

An op in this engine is a function that computes its result **and** the local derivative
∂result/∂input for each input, then records both with :meth:`Value.from_op`. ``backward()``
multiplies those local derivatives by the incoming gradient, the graph renderer shows the node
by its op name, and :func:`tinygrad_lite.gradcheck.gradcheck` compares the result with finite
differences. :func:`custom_op` (or the :func:`op` decorator) does the bookkeeping::

    import math
    from tinygrad_lite import Value
    from tinygrad_lite.ops import op

    # softplus(x) = log(1 + eˣ); its derivative σ(x) equals 1 − e^(−out), which cannot overflow
    @op("softplus", derivative=lambda x, out: -math.expm1(-out))
    def softplus(x: float) -> float:
        return math.log1p(math.exp(-abs(x))) + max(x, 0.0)

    y = softplus(Value(0.5))       # a Value with y.op == "softplus"

``forward`` and ``derivative`` work on plain floats: ``forward(x1, ..., xn) -> float`` and
``derivative(x1, ..., xn, out) -> float`` for one input, or a sequence of n floats
(∂out/∂x1, ..., ∂out/∂xn) for several; ``out`` is the forward result, handy when the
derivative is expressed through it (σ' = out·(1 − out)).

Every custom op is registered in the op table (:data:`tinygrad_lite.optable.OPS`), beside the
built-in ops, whose names it may not take. Higher derivatives
(:func:`tinygrad_lite.autodiff.grad` with ``create_graph=True``, ``hessian``, ``hvp``,
``gradgradcheck``) call the same ``derivative`` with ``Value`` s instead of floats: one written
with arithmetic and ``Value`` methods (``lambda x, out: 3 * x * x``, ``out * (1 - out)``) works
at every order; one that needs floats (``math.exp``, ``math.expm1``...) is first order only, and
asking for a second derivative raises a ``TypeError`` that says so.
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable, Sequence

# BUILTIN_OP_NAMES: the ``.op`` names the engine itself uses; custom ops must pick another name.
from tinygrad_lite._checks import finite_number
from tinygrad_lite.engine import Value, is_grad_enabled
from tinygrad_lite.optable import BUILTIN_OP_NAMES
from tinygrad_lite.optable import OpRecord, register

__all__ = ["CustomOp", "custom_op", "op", "BUILTIN_OP_NAMES"]

_RECOVERABLE = (ValueError, ZeroDivisionError, OverflowError, ArithmeticError)


def _positional_arity(fn: Callable[..., Any]) -> int | None:
    """The number of required positional parameters of ``fn``, or None if it cannot be told."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    count = 0
    for p in signature.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            count += 1
    return count


def _accepts(fn: Callable[..., Any], n: int) -> bool:
    """Whether ``fn`` can be called with ``n`` positional arguments (True if unknown)."""
    try:
        inspect.signature(fn).bind(*([0.0] * n))
    except TypeError:
        return False
    except ValueError:
        return True
    return True


class CustomOp:
    """A user-defined op made by :func:`custom_op`: call it on Values to get one graph node.

    Calling it with ``arity`` arguments (``Value`` s or plain numbers, which become constant
    leaves like in ``x + 2``) runs ``forward`` on their data, asks ``derivative`` for the local
    derivatives and records the result with :meth:`Value.from_op` under ``name``.

    Attributes:
        name: the node's ``.op`` (shown by the graph renderer).
        forward: ``forward(x1, ..., xn) -> float``.
        derivative: ``derivative(x1, ..., xn, out) -> float`` (n = 1) or n floats.
        arity: the number of inputs n.
        record: its :class:`tinygrad_lite.optable.OpRecord` in the op table (whose
            ``value_derivatives`` calls ``derivative`` on Values, for higher derivatives).
    """

    def __init__(
        self,
        name: str,
        forward: Callable[..., float],
        derivative: Callable[..., Any],
        arity: int,
    ) -> None:
        self.name = name
        self.forward = forward
        self.derivative = derivative
        self.arity = arity
        self.__name__ = getattr(forward, "__name__", name)
        self.__qualname__ = getattr(forward, "__qualname__", self.__name__)
        self.__doc__ = forward.__doc__ or f"The custom op {name!r} ({arity} input(s))."
        self.__wrapped__ = forward
        self.record = register(OpRecord(
            name, (arity,), name, f"{name}({', '.join(_argument_names(arity))})",
            tuple(f"∂{name}/∂{x}" for x in _argument_names(arity)), self,
            self._value_derivatives,
        ))

    def _value_derivatives(self, node: Value) -> tuple[Value | float, ...]:
        """The local derivatives of ``node`` as Values: ``derivative`` called on Values.

        Raises:
            TypeError: ``node`` was not made by this op, or ``derivative`` works on floats only.
        """
        if node.ctx is not self:
            raise TypeError(
                f"the node of op {self.name!r} was made with Value.from_op, not by this custom "
                "op, so only its float local derivatives are known: it can be differentiated "
                "once, not twice"
            )
        try:
            raw = self.derivative(*node.parents, node)
        except (TypeError, AttributeError) as error:
            raise TypeError(
                f"custom op {self.name!r}: its derivative works on plain floats only "
                f"({type(error).__name__}: {error}), so {self.name!r} can be differentiated "
                "once (backward(), grad()) but not twice: a second derivative (grad with "
                "create_graph=True, hessian, hvp, gradgradcheck) needs the derivative written "
                "with Value arithmetic and methods, e.g. lambda x, out: out * (1 - out) or "
                "x.exp() instead of math.exp(x)"
            ) from error
        grads = (raw,) if self.arity == 1 and not isinstance(raw, (tuple, list)) else tuple(raw)
        if len(grads) != self.arity or not all(isinstance(g, (Value, numbers.Real))
                                                 for g in grads):
            raise TypeError(f"custom op {self.name!r}: derivative called on Values returned "
                            f"{raw!r:.80}; expected {self.arity} Value(s) or number(s)")
        return tuple(g if isinstance(g, Value) else float(g) for g in grads)

    def __repr__(self) -> str:
        return f"<custom op {self.name!r} of {self.arity} input(s)>"

    def __call__(self, *args: Value | float) -> Value:
        """Apply the op: one ``Value`` node whose parents are the arguments."""
        if len(args) != self.arity:
            raise TypeError(
                f"{self.name}() takes {self.arity} argument(s), got {len(args)}"
            )
        parents = []
        for i, a in enumerate(args):
            if isinstance(a, Value):
                parents.append(a)
            elif isinstance(a, numbers.Real):
                parents.append(Value(a))  # a constant leaf; Value rejects nan/inf
            else:
                raise TypeError(
                    f"{self.name}(): argument {i} must be a Value or a real number, "
                    f"got {type(a).__name__}: {a!r:.60}"
                )
        xs = [p.data for p in parents]
        try:
            raw = self.forward(*xs)
        except _RECOVERABLE as error:
            if type(error) not in _RECOVERABLE:
                raise
            raise type(error)(self._at(xs, str(error))) from error
        out = self._float(raw, xs, "the value forward returned")
        if not is_grad_enabled():
            return Value.from_op(out, (), (), self.name)
        raw_grads = self.derivative(*xs, out)
        if self.arity == 1 and isinstance(raw_grads, numbers.Real):
            raw_grads = (raw_grads,)
        if isinstance(raw_grads, (str, bytes)) or not isinstance(raw_grads, Sequence):
            raise TypeError(
                f"{self.name}: derivative must return "
                f"{'a float' if self.arity == 1 else f'{self.arity} floats'} "
                f"(one per input), got {type(raw_grads).__name__}: {raw_grads!r:.60}"
            )
        if len(raw_grads) != self.arity:
            raise ValueError(
                f"{self.name}: derivative returned {len(raw_grads)} value(s) for "
                f"{self.arity} input(s); return one local derivative per input"
            )
        local = tuple(self._float(g, xs, f"derivative {i}") for i, g in enumerate(raw_grads))
        return Value.from_op(out, parents, local, self.name, ctx=self)

    def _at(self, xs: Sequence[float], what: str) -> str:
        """``"name(x0, x1): what"``, for error messages (built only when one is raised)."""
        return f"{self.name}({', '.join(repr(x) for x in xs)}): {what}"

    def _float(self, x: Any, xs: Sequence[float], what: str) -> float:
        if type(x) is float and math.isfinite(x):
            return x  # the usual case, checked without building a message
        if isinstance(x, Value):
            raise TypeError(self._at(xs, f"{what} is a Value; forward and derivative work on "
                                         "plain floats"))
        return finite_number(x, self._at(xs, what))


def _argument_names(arity: int) -> list[str]:
    return ["x"] if arity == 1 else [f"x{i}" for i in range(1, arity + 1)]


def custom_op(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    *,
    arity: int | None = None,
) -> CustomOp:
    """Make a new op from ``forward`` and its local ``derivative``, both on plain floats.

    >>> from tinygrad_lite import Value
    >>> square = custom_op("square", lambda x: x * x, lambda x, out: 2 * x)
    >>> y = square(Value(3.0)); y.backward()
    >>> y.data, y.op
    (9.0, 'square')

    Args:
        name: the op name recorded in ``.op`` and shown in graphs; not one of the engine's
            own names (:data:`BUILTIN_OP_NAMES`).
        forward: ``forward(x1, ..., xn) -> float``.
        derivative: ``derivative(x1, ..., xn, out) -> ∂out/∂x1`` for n = 1, else a sequence
            of n floats (∂out/∂x1, ..., ∂out/∂xn).
        arity: n; by default the number of required positional parameters of ``forward``.

    Returns:
        A :class:`CustomOp`: call it on Values (or numbers) to get a Value. It is registered
        in :data:`tinygrad_lite.optable.OPS` (a later op of the same name replaces it there).

    Raises:
        TypeError: ``name`` is not a str, ``forward``/``derivative`` not callable, or
            ``derivative`` cannot take n + 1 arguments.
        ValueError: ``name`` is empty or a built-in op name; the arity is not a positive int
            or cannot be told from ``forward`` (pass ``arity=``).
    """
    if not isinstance(name, str):
        raise TypeError(f"op name must be a str, got {type(name).__name__}")
    if not name.strip():
        raise ValueError("op name must not be empty")
    if name in BUILTIN_OP_NAMES:
        raise ValueError(
            f"op name {name!r} is a built-in op of the engine; choose another name"
        )
    if not callable(forward):
        raise TypeError(f"forward must be callable, got {type(forward).__name__}")
    if not callable(derivative):
        raise TypeError(f"derivative must be callable, got {type(derivative).__name__}")
    if arity is None:
        arity = _positional_arity(forward)
        if arity is None:
            raise ValueError(
                f"{name}: cannot tell how many inputs forward takes; pass arity=n"
            )
    if isinstance(arity, bool) or not isinstance(arity, int) or arity < 1:
        raise ValueError(f"{name}: arity must be a positive int, got {arity!r}")
    if not _accepts(derivative, arity + 1):
        args = ", ".join(f"x{i}" for i in range(1, arity + 1)) if arity > 1 else "x"
        raise TypeError(
            f"{name}: derivative must take the {arity} input(s) and the output: "
            f"derivative({args}, out)"
        )
    return CustomOp(name, forward, derivative, arity)


def op(
    name: str, *, derivative: Callable[..., Any], arity: int | None = None
) -> Callable[[Callable[..., float]], CustomOp]:
    """Decorator form of :func:`custom_op`: ``@op("softplus", derivative=...)`` on ``forward``.

    >>> @op("cube", derivative=lambda x, out: 3 * x * x)
    ... def cube(x):
    ...     return x ** 3
    >>> cube(Value(2.0)).data
    8.0
    """

    def decorate(forward: Callable[..., float]) -> CustomOp:
        return custom_op(name, forward, derivative, arity=arity)

    return decorate
