"""The scalar autograd engine: :class:`Value`, reverse-mode :meth:`Value.backward`, :class:`no_grad`.

Every operation creates a new :class:`Value` that remembers

* its **parents** (the values it was computed from),
* its **local derivatives** ∂self/∂parent, one float per parent, computed during the forward pass,
* the name of the **op** that made it.

``backward()`` then applies the chain rule: walking the graph from the output back to the
leaves, every node hands each parent ``local derivative × its own gradient``.

Gradient semantics (the same as PyTorch's for leaves):

* ``backward()`` *accumulates*: every call adds the gradient of this call into ``.grad``
  of every node it reaches (leaves and intermediate nodes alike). Calling it twice gives
  twice the gradients; reset them with :meth:`Value.zero_grad` or :func:`zero_grad`. (A
  weight's terms from ``sum`` and ``affine`` nodes are added to its ``.grad`` one by one, as
  micrograd does, not as the call's total in one addition: so a weight the chain rule meets
  more than once, through several such nodes as in a mini-batch's graph, or through one and
  another use, may get a second call's gradient different in the last bit.)
* Each call propagates only the gradient of *that* call, never what earlier calls left in
  ``.grad``, so repeated calls add, they do not compound.
* A value used in several places receives the sum of the gradients along all its paths.

Grad mode is per thread, as in PyTorch: :class:`no_grad` turns recording off in the thread
that enters it only, and every thread starts with recording on. A ``backward()`` in one
thread is never affected by a ``no_grad`` block in another.

Every plain number entering the engine (``Value(x)``, the constants of ``x + 2``, ``x ** p``,
``Value.sum`` and ``Value.affine``) is converted once to a Python ``float`` (float64): a
NumPy ``float16`` input computes in float64 like any other.

Each op is defined once in :mod:`tinygrad_lite.optable`: its ``Value`` method here is the fast
float path, and the table adds its symbol, formula, ``Value``-expression derivatives (for
:func:`tinygrad_lite.autodiff.grad` with ``create_graph=True``) and NumPy kernels.

Overflow policy: ``exp()`` (and ``**``) of a number whose result does not fit in a float raise
:class:`OverflowError` with a message naming the op and the input, instead of returning ``inf``
that would silently turn into ``nan`` later. ``sigmoid()`` and ``tanh()`` never overflow.
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
from math import isfinite
from contextlib import ContextDecorator
from itertools import islice
from typing import Any, Iterable, Sequence, Union

__all__ = [
    "Value", "no_grad", "is_grad_enabled", "zero_grad", "topological_order", "Number", "ValueLike",
    "reserve_op_names", "all_leaves", "LeafRows",
]

Number = Union[int, float]
ValueLike = Union["Value", int, float]


#: The ``.op`` names of the engine's own ops, which :meth:`Value.from_op` refuses; filled by the
#: op table (:mod:`tinygrad_lite.optable`), which is built from Value's methods.
_reserved_names: set[str] = set()


def reserve_op_names(names: Iterable[str]) -> None:
    """Reserve ``names`` for the engine's built-in ops: :meth:`Value.from_op` refuses them.

    Called once by the op table (:mod:`tinygrad_lite.optable`) with every built-in op's name,
    so that a user's op can never be mistaken for one by the compiler or the graph views.
    """
    _reserved_names.update(names)


class _GradMode(threading.local):
    """Whether ops record a graph, per thread; a new thread starts with the class default."""

    enabled = True


_mode = _GradMode()

# How many no_grad blocks are open, in all threads together. While it is 0 every thread
# records, and an op need not read the thread-local flag (a slow attribute): see _recording.
_open_no_grad = 0
_open_no_grad_lock = threading.Lock()


def _count_no_grad(change: int) -> None:
    global _open_no_grad
    with _open_no_grad_lock:
        _open_no_grad += change


def is_grad_enabled() -> bool:
    """Return ``True`` unless this thread is inside a :class:`no_grad` block."""
    return _mode.enabled


def _recording() -> bool:
    """``is_grad_enabled()``, without the thread-local read while no thread is in no_grad."""
    return not _open_no_grad or _mode.enabled


class no_grad(ContextDecorator):
    """Context manager (and decorator) under which ops compute values but record no graph.

    It affects the thread that enters it only (grad mode is per thread).

    Use it for evaluation: results are plain leaves, so nothing is kept alive and
    ``backward()`` cannot reach through them::

        with no_grad():
            prediction = model(x)
    """

    def __init__(self) -> None:
        # A stack, so that one instance (a decorator, say) can be entered again while active.
        self._previous: list[bool] = []

    def __enter__(self) -> "no_grad":
        self._previous.append(_mode.enabled)
        _count_no_grad(+1)  # before the flag: a thread never skips reading a False flag
        _mode.enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self._previous.pop()
        _count_no_grad(-1)


def _real(x: Any, what: str) -> float:
    """Convert a plain real number to float or raise a TypeError naming its type."""
    if isinstance(x, numbers.Real):
        try:
            return float(x)
        except OverflowError:  # an int beyond any float
            raise ValueError(f"{what} must be finite, got an integer too large for a float "
                             f"({len(str(abs(x)))} digits)") from None
    size = getattr(x, "size", None)
    if size == 1 and hasattr(x, "item") and isinstance(x.item(), numbers.Real):
        return float(x.item())  # a one-element NumPy array
    kind = type(x).__name__
    if size is not None and hasattr(x, "shape"):
        kind += f" of shape {tuple(x.shape)}"
    raise TypeError(f"{what} must be a real number (int, float or bool), got {kind}: {x!r:.60}")


def _finite_real(x: Any, what: str) -> float:
    """``_real`` that also rejects nan and infinities with a ValueError."""
    value = _real(x, what)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return value


def _finite(x: float, op: str, operands: Sequence[Any]) -> float:
    """``x`` if finite; else an OverflowError (or ValueError for nan) naming the op and operands."""
    if isfinite(x):
        return x
    shown = ", ".join(repr(o.data if isinstance(o, Value) else o) for o in operands[:4])
    if len(operands) > 4:
        shown += f", ... ({len(operands)} operands)"
    if math.isnan(x):
        raise ValueError(f"{op}: result is nan for operands ({shown})")
    raise OverflowError(f"{op}: result too large for a float for operands ({shown})")


# How many numbers _number has converted, so that a caller can tell, without another pass,
# whether its items were all Values and floats already. Another thread's conversions can only
# make it take the slower (always correct) path.
_conversions = 0


def _number(x: Any) -> float:
    """A plain real number as a finite float; raises (without naming it) for anything else."""
    global _conversions
    _conversions += 1
    return _finite_real(x, "number")


def _data_floats(items: Sequence[Any], what: str) -> tuple[list[float], bool]:
    """``.data`` of the Values and ``float(x)`` of the numbers of ``items``, and whether no
    entry needed converting (all were Values or floats).

    The fast path converts only entries that are not already a Value or a float; on a bad
    entry, a second pass names it ("affine: input 3 must be a real number ...").
    """
    before = _conversions
    try:
        floats = [x.data if type(x) is Value else x if type(x) is float else _number(x)
                  for x in items]
    except (TypeError, ValueError):
        return _named_floats(items, what), False
    return floats, _conversions == before


def _named_floats(items: Sequence[Any], what: str) -> list[float]:
    """``_data_floats`` that checks every number (nan and inf too), naming a bad one."""
    return [x.data if type(x) is Value else _finite_real(x, f"affine: {what} {i}")
            for i, x in enumerate(items)]


def _dot(a: Sequence[float], b: Sequence[float], start: float) -> float:
    """``start + Σᵢ aᵢ·bᵢ``, added left to right.

    A plain loop, as :meth:`Value.affine_layer` runs for its input layer (where it beats
    building the list of the weights' data for ``sum(map(mul, ...))``, on CPython 3.11), so
    that ``affine`` and ``affine_layer`` agree to the bit on every Python version: from 3.12
    ``sum`` of floats compensates its rounding, which a loop does not (the loop is then the
    less accurate, as NumPy's and PyTorch's dot products are not compensated either).
    """
    total = start
    for x, y in zip(a, b):
        total += x * y
    return total


def _wiring(items: Sequence[Any], floats: list[float], is_value: list[bool]) -> tuple[Any, ...]:
    """``items`` with each plain number replaced by its float (the affine ctx)."""
    return tuple(x if keep else d for x, d, keep in zip(items, floats, is_value))


def _power(x: float, p: float) -> float:
    """``x ** p``, or an OverflowError naming both when the result exceeds a float."""
    try:
        return x**p
    except OverflowError:
        raise OverflowError(f"pow: result too large for a float ({x!r} ** {p!r})") from None


def _power_slope(x: float, p: float, out: float) -> float:
    """d/dx x**p = p·x^(p−1), for x ≠ 0, with ``out`` = x**p.

    x^(p−1) alone can overflow where the slope does not (x = p = 1e-320: x^(p−1) = 1e320 but
    p·x^(p−1) = 1), so on overflow the slope is computed as p·out/x instead; only a slope
    that really exceeds a float is an OverflowError.
    """
    try:
        slope = p * x ** (p - 1.0)
    except OverflowError:
        slope = math.inf
    if math.isfinite(slope):
        return slope
    slope = p * (out / x)
    if not math.isfinite(slope):
        slope = (p / x) * out
    if not math.isfinite(slope):
        raise OverflowError(f"pow: the derivative p·x^(p−1) is too large for a float "
                            f"({x!r} ** {p!r})")
    return slope


def _leaf_data(data: Any, label: Any) -> float:
    """``data`` as a finite float for ``Value(data, label)``, or the error naming the problem."""
    if isinstance(data, Value):
        raise TypeError("Value data must be a real number, got Value (use the Value itself)")
    x = _real(data, "Value data")
    if not isfinite(x):
        raise ValueError(f"Value data must be finite, got {x}")
    if not isinstance(label, str):
        raise TypeError(f"Value label must be a str, got {type(label).__name__}")
    return x


class Value:
    """A scalar in a computation graph: its value ``data``, gradient ``grad`` and history.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> a.grad, b.grad      # ∂c/∂a = b + 1, ∂c/∂b = a
    (-2.0, 2.0)

    Args:
        data: a real number (int, float, bool or a one-element NumPy array); stored as float.
        label: an optional name, shown by ``repr`` and the graph renderer.

    Raises:
        TypeError: ``data`` is not a real number (str, None, complex, list, a larger array...).
        ValueError: ``data`` is ``nan`` or infinite.
    """

    __slots__ = ("data", "grad", "label", "_prev", "_local", "_op", "_ctx", "_seen", "_fresh",
                 "_known_leaves")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The hot paths test `type(x) is Value`; add ops with `Value.from_op` instead.
        raise TypeError("Value is not meant to be subclassed; define new ops with Value.from_op")

    # Stop NumPy from broadcasting `array + value` into an object array of Values.
    __array_ufunc__ = None

    def __init__(self, data: Any, label: str = "") -> None:
        if type(data) is not float or not isfinite(data) or type(label) is not str:
            data = _leaf_data(data, label)
        self.data = data
        self.grad = 0.0
        self.label = label
        self._prev: tuple[Value, ...] = ()
        self._local: tuple[float, ...] = ()
        self._op = ""
        self._ctx: Any = None
        # backward()'s mark and scratch gradient; _fresh is set only where _seen is a mark
        self._seen: object = None
        # None, or (k, nonzero) for an affine node of LeafRows weights: its first k parents
        # are leaves, and only those at the positions `nonzero` (None: all) have a local
        # derivative other than 0; backward() skips them in _visit and adds their terms untested
        self._known_leaves: tuple[int, tuple[int, ...] | None] | None = None

    @classmethod
    def from_op(
        cls,
        data: float,
        parents: Sequence["Value"],
        local_grads: Sequence[float],
        op: str,
        ctx: Any = None,
    ) -> "Value":
        """Create the result of an op: ``data`` with one local derivative per parent.

        This is the engine's extension point: an op is a function that computes its result
        and ∂result/∂parent for each parent, then calls ``from_op``. ``backward()`` multiplies
        those local derivatives by the incoming gradient (the chain rule). Under
        :class:`no_grad` the parents are dropped and the result is a plain leaf.
        ``tinygrad_lite.ops.custom_op`` wraps this in a friendlier interface.

        Args:
            data: the result of the op (a real number).
            parents: the ``Value`` inputs the result depends on.
            local_grads: ∂data/∂parent (real numbers), aligned with ``parents``.
            op: a short name for the op (``"+"``, ``"sigmoid"``, ...), shown in graphs.
            ctx: op-specific constants (an exponent, say) kept for tools that re-run the graph.

        Raises:
            TypeError: a parent is not a Value, or ``data``/a local gradient is not a number.
            ValueError: lengths differ, ``data`` is nan, or ``op`` is a built-in op's name
                (reserved for the engine's own ops, see :func:`reserve_op_names`).
            OverflowError: ``data`` is infinite.
        """
        if not isinstance(op, str) or not op:
            raise TypeError(f"from_op: op must be a non-empty str, got {op!r}")
        if op in _reserved_names:
            raise ValueError(
                f"from_op: op name {op!r} is reserved for the engine's built-in op (the "
                "compiler and the graph views would take the node for it); choose another name"
            )
        x = _real(data, f"op {op!r}: data")
        parents = tuple(parents)
        local = tuple(local_grads)
        if not all(type(d) is float for d in local):
            local = tuple(_real(d, f"op {op!r}: local gradient {i}") for i, d in enumerate(local))
        if not all(type(p) is Value for p in parents):
            for i, p in enumerate(parents):
                if not isinstance(p, Value):
                    raise TypeError(
                        f"op {op!r}: parent {i} must be a Value, got {type(p).__name__}"
                    )
        if len(parents) != len(local):
            raise ValueError(f"op {op!r}: {len(parents)} parents but {len(local)} local gradients")
        return _node(_finite(x, op, parents), parents, local, op, ctx)

    # ----------------------------------------------------------------- introspection
    @property
    def op(self) -> str:
        """The name of the op that made this value (``""`` for a leaf)."""
        return self._op

    @property
    def parents(self) -> tuple["Value", ...]:
        """The values this one was computed from (empty for a leaf)."""
        return self._prev

    @property
    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂parent for each parent, in the order of :attr:`parents`."""
        return self._local

    @property
    def ctx(self) -> Any:
        """Op-specific constants (the exponent of ``x ** 3``, say), or ``None``."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        """``True`` for a value that was not computed from other values."""
        return not self._prev

    def __repr__(self) -> str:
        parts = [f"data={self.data:.4f}", f"grad={self.grad:.4f}"]
        if self._op:
            parts.append(f"op={self._op!r}")
        if self.label:
            parts.append(f"label={self.label!r}")
        return f"Value({', '.join(parts)})"

    # ----------------------------------------------------------------- arithmetic
    # The hot paths: `type(other) is Value` first (Value has no subclasses), the finiteness
    # check inline, and the local derivatives of + and − as constant tuples (no allocation).
    def __add__(self, other: ValueLike) -> "Value":
        if type(other) is not Value:
            other = _lift(other, "+")
        data = self.data + other.data
        if not isfinite(data):
            _finite(data, "+", (self, other))
        return _node(data, (self, other), (1.0, 1.0), "+")

    def __radd__(self, other: ValueLike) -> "Value":
        return _lift(other, "+") + self

    def __sub__(self, other: ValueLike) -> "Value":
        if type(other) is not Value:
            other = _lift(other, "-")
        data = self.data - other.data
        if not isfinite(data):
            _finite(data, "-", (self, other))
        return _node(data, (self, other), (1.0, -1.0), "-")

    def __rsub__(self, other: ValueLike) -> "Value":
        return _lift(other, "-") - self

    def __mul__(self, other: ValueLike) -> "Value":
        if type(other) is not Value:
            other = _lift(other, "*")
        data = self.data * other.data
        if not isfinite(data):
            _finite(data, "*", (self, other))
        return _node(data, (self, other), (other.data, self.data), "*")

    def __rmul__(self, other: ValueLike) -> "Value":
        return _lift(other, "*") * self

    def __truediv__(self, other: ValueLike) -> "Value":
        if type(other) is not Value:
            other = _lift(other, "/")
        a, b = self.data, other.data
        if b == 0.0:
            raise ZeroDivisionError(f"division: divisor is zero ({a!r} / {b!r})")
        # -(a / b) / b rather than -a / b², which underflows to 0 for tiny b.
        return _node(_finite(a / b, "/", (self, other)), (self, other), (1.0 / b, -(a / b) / b),
                     "/")

    def __rtruediv__(self, other: ValueLike) -> "Value":
        return _lift(other, "/") / self

    def __neg__(self) -> "Value":
        return _node(-self.data, (self,), (-1.0,), "neg")

    def __pos__(self) -> "Value":
        return self

    def __pow__(self, exponent: ValueLike) -> "Value":
        if type(exponent) is float and isfinite(exponent):
            p = exponent
        elif type(exponent) is int and -2**53 <= exponent <= 2**53:  # exactly a float
            p = float(exponent)
        elif isinstance(exponent, Value):
            return self._pow_value(exponent)
        else:
            p = _lift(exponent, "**").data
        x = self.data
        if x == 0.0 and p < 0.0:
            raise ZeroDivisionError(f"pow: zero to a negative power ({x!r} ** {p!r})")
        if x < 0.0 and not p.is_integer():
            raise ValueError(
                f"pow: negative base to a fractional power has no real value ({x!r} ** {p!r})"
            )
        out = _power(x, p)
        if p == 0.0:
            local = 0.0
        elif x == 0.0 and p < 1.0:
            local = math.inf  # d/dx x**p is unbounded at 0 for 0 < p < 1
        else:
            local = _power_slope(x, p, out)
        if not isfinite(out):
            _finite(out, "**", (self, p))
        return _node(out, (self,), (local,), "**", ctx=p)

    def _pow_value(self, exponent: "Value") -> "Value":
        x, p = self.data, exponent.data
        if x <= 0.0:
            raise ValueError(
                f"pow: base must be positive when the exponent is a Value, got base={x!r}"
            )
        out = _power(x, p)
        locals_ = (_power_slope(x, p, out), out * math.log(x))
        if not math.isfinite(locals_[1]):
            raise OverflowError(f"pow: the derivative x^y·ln(x) is too large for a float "
                                f"({x!r} ** {p!r})")
        return _node(_finite(out, "**", (self, exponent)), (self, exponent), locals_, "**")

    def __rpow__(self, base: Number) -> "Value":
        return _lift(base, "**")._pow_value(self)

    # ----------------------------------------------------------------- functions
    def exp(self) -> "Value":
        """e**self. Raises OverflowError (naming the input) if the result exceeds a float."""
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(
                f"exp: result too large for a float for x={self.data!r} (the limit is x < 709.78)"
            ) from None
        return _node(e, (self,), (e,), "exp")

    def log(self) -> "Value":
        """Natural logarithm. Raises ValueError for a non-positive input."""
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log: argument must be positive, got {x!r}")
        return _node(math.log(x), (self,), (1.0 / x,), "log")

    def tanh(self) -> "Value":
        """Hyperbolic tangent; never overflows (tanh(±1000) = ±1, with gradient 0)."""
        t = math.tanh(self.data)
        return _node(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self) -> "Value":
        """σ(x) = 1/(1 + e^(−x)), computed without overflow; σ'(x) = σ(x)(1 − σ(x))."""
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)  # for very negative x this underflows harmlessly to 0.0
            s = e / (1.0 + e)
        return _node(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self) -> "Value":
        """max(0, x); its derivative at exactly 0 is taken as 0, as in PyTorch."""
        x = self.data
        return _node(x if x > 0.0 else 0.0, (self,), (1.0,) if x > 0.0 else (0.0,), "relu")

    def abs(self) -> "Value":
        """|x|; its derivative at exactly 0 is taken as 0, as in PyTorch."""
        x = self.data
        sign = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
        return _node(abs(x), (self,), (sign,), "abs")

    __abs__ = abs

    # ----------------------------------------------------------------- n-ary nodes
    @staticmethod
    def sum(values: Iterable[ValueLike]) -> "Value":
        """One ``Σ`` node adding many values (plain numbers are folded in as constants).

        Unlike Python's ``sum``, which makes a chain of n two-input ``+`` nodes, this is a single
        node whose local derivative to each parent is 1.
        """
        parents: list[Value] = []
        constant = 0.0
        for i, v in enumerate(values):
            if isinstance(v, Value):
                parents.append(v)
            else:
                constant += _finite_real(v, f"Value.sum: item {i}")
        if not parents:
            return Value(constant)
        total = _finite(sum([p.data for p in parents], constant), "sum", parents)
        return _node(total, tuple(parents), (1.0,) * len(parents), "sum", ctx=constant)

    @staticmethod
    def affine(ws: Sequence[ValueLike], xs: Sequence[ValueLike], b: ValueLike = 0.0) -> "Value":
        """The weighted sum z = Σᵢ wᵢ·xᵢ + b as ONE node: the "w, a, b → z" step of a neuron.

        Its parents are the ``Value`` entries of ``ws``, ``xs`` and ``b``, with local derivatives
        ∂z/∂wᵢ = xᵢ, ∂z/∂xᵢ = wᵢ and ∂z/∂b = 1. Entries that are plain numbers are constants and
        need no ``Value`` (a network's input pixels, say). Forward and backward are tight loops
        over floats, so a 784-input neuron costs one node instead of 1,568.

        Plain-number entries are converted to ``float`` (a NumPy ``float16`` pixel computes in
        float64); ``ctx`` records the wiring with those floats.

        Raises:
            ValueError: ``ws`` and ``xs`` differ in length; an entry is nan, infinite or an
                integer too large for a float (the message names it: "affine: input 0 ...").
            TypeError: an entry is neither a ``Value`` nor a real number.
        """
        n = len(ws)
        if len(xs) != n:
            raise ValueError(f"affine: {n} weights but {len(xs)} inputs; they must match")
        wd, ws_exact = _data_floats(ws, "weight")
        xd, xs_exact = _data_floats(xs, "input")
        b_is_value = type(b) is Value
        bd = b.data if b_is_value else _finite_real(b, "affine: bias")
        z = _dot(wd, xd, bd)
        if not math.isfinite(z):  # name a nan/inf entry, else report the overflow
            _named_floats(ws, "weight")
            _named_floats(xs, "input")
            z = _finite(z, "affine", [*ws, *xs, b])
        if not _recording():
            return _node(z, (), (), "affine")
        parents: list[Value] = []
        local: list[float] = []
        w_is_value = [type(w) is Value for w in ws]
        if all(w_is_value):
            parents.extend(ws)
            local.extend(xd)
        else:
            parents.extend(w for w, keep in zip(ws, w_is_value) if keep)
            local.extend(x for x, keep in zip(xd, w_is_value) if keep)
        x_is_value = [type(x) is Value for x in xs]
        if any(x_is_value):
            parents.extend(x for x, keep in zip(xs, x_is_value) if keep)
            local.extend(w for w, keep in zip(wd, x_is_value) if keep)
        if b_is_value:
            parents.append(b)
            local.append(1.0)
        # ctx keeps the wiring (which inputs were constants) for tools that re-run the graph.
        ctx = (tuple(ws) if ws_exact else _wiring(ws, wd, w_is_value),
               tuple(xs) if xs_exact else _wiring(xs, xd, x_is_value), b if b_is_value else bd)
        return _node(z, tuple(parents), tuple(local), "affine", ctx=ctx)

    @staticmethod
    def affine_layer(
        weights: Union[Sequence[Sequence[ValueLike]], "LeafRows"], xs: Sequence[ValueLike],
        biases: Sequence[ValueLike]
    ) -> list["Value"]:
        """``[Value.affine(weights[j], xs, biases[j]) for j ...]``: the z's of a whole layer.

        The nodes are exactly those ``affine`` makes, one per neuron; the work on the shared
        input ``xs`` (reading ``.data``, finding which entries are Values) is done once for the
        layer instead of once per neuron, which makes a 784-input layer about 3× faster.
        ``weights`` may be a :class:`LeafRows`: the same nodes, whose weights ``backward()``
        then need not test for being leaves.

        Raises:
            ValueError: ``weights`` and ``biases`` differ in length, or as :meth:`affine`.
            TypeError: as :meth:`affine`.
        """
        if len(weights) != len(biases):
            raise ValueError(
                f"affine_layer: {len(weights)} weight rows but {len(biases)} biases; they must match"
            )
        n = len(xs)
        xd, exact = _data_floats(xs, "input")
        value_idx = [i for i, x in enumerate(xs) if type(x) is Value]
        value_xs = [xs[i] for i in value_idx]
        ctx_xs = tuple(xs) if exact else _wiring(xs, xd, [type(x) is Value for x in xs])
        # Without Value inputs every neuron has the same local derivatives: one tuple for all.
        number_inputs_local = None if value_idx else (*xd, 1.0)
        all_values = len(value_idx) == n  # ∂z/∂xᵢ = wᵢ for every input: the weights' data
        known, nonzero = None, None
        if type(weights) is LeafRows:
            if not value_idx:  # a zero input's weight adds nothing to z, nor it to the weight
                nonzero = tuple([i for i, x in enumerate(xd) if x])
                nonzero = nonzero if len(nonzero) < n else None
            weights, known = weights._rows, (n, nonzero)
        out: list[Value] = []
        for ws, b in zip(weights, biases):
            # Fast path: Value weights and bias, number inputs. Anything else (a plain-number
            # weight, a bad entry, an overflow) goes through affine, which names the problem.
            try:
                if len(ws) != n or type(b) is not Value:
                    raise TypeError
                if value_idx:
                    wd = [w.data for w in ws]
                    z = _dot(wd, xd, b.data)
                elif nonzero is not None:  # the input layer, with zero pixels: skip them
                    z = b.data
                    for i in nonzero:
                        z += ws[i].data * xd[i]
                else:  # the input layer: no list of the weights' data needed
                    z = b.data
                    for w, x in zip(ws, xd):
                        z += w.data * x
                if not math.isfinite(z):
                    raise TypeError
            except (TypeError, AttributeError):
                out.append(Value.affine(ws, xs, b))
                continue
            if not _recording():
                out.append(_node(z, (), (), "affine"))
                continue
            parents = (*ws, *value_xs, b)
            local = number_inputs_local or (
                *xd, *(wd if all_values else [wd[i] for i in value_idx]), 1.0)
            node = _node(z, parents, local, "affine", ctx=(tuple(ws), ctx_xs, b))
            node._known_leaves = known
            out.append(node)
        return out

    # ----------------------------------------------------------------- backward
    # backward() and derivatives() keep a node's gradient of the current call in its `_fresh`
    # scratch slot, valid while its `_seen` holds that call's `done` mark. Each call makes new
    # marks (plain objects), so no mark of an earlier, maybe interrupted, call can be taken
    # for one of this call and nothing needs unmarking afterwards; the marks hold no
    # reference back, so the nodes stay free of reference cycles. Three passes: _visit lists
    # the interior nodes, children before parents; _chain_rule hands each parent local
    # derivative × gradient; backward() adds each marked leaf's total to its .grad.
    def _visit(self, order: list["Value"], leaves: list["Value"], opened: object,
               done: object) -> None:
        """Fill ``order`` with the interior nodes of this value's graph, each before its
        parents (reverse topological order), marked ``done`` with ``_fresh`` 0.0; the leaves of
        its one- and two-parent nodes likewise, into ``leaves``. A many-parent node's leaves,
        its weights say, are left to :meth:`_chain_rule`, which meets them once instead of
        twice.

        Iterative depth-first search on a plain stack of nodes, so graph depth is limited only
        by memory and no tuple is allocated per node (which would wake the cycle collector).
        A node is marked ``opened`` while its parents, above it on the stack, are visited; it
        may be on the stack twice (two children pushed it before it was opened), and the copy
        met once it is done is dropped.
        """
        stack = [self]
        push = stack.append
        while stack:
            node = stack[-1]
            mark = node._seen
            if mark is done:
                stack.pop()
            elif mark is opened:  # on top again: all its parents are done
                order.append(node)
                node._fresh = 0.0
                node._seen = done
                stack.pop()
            else:
                node._seen = opened
                parents = node._prev
                if len(parents) > 2:
                    known = node._known_leaves
                    for p in (parents[known[0]:] if known is not None else parents):
                        if p._prev and p._seen is not done:
                            push(p)
                    continue
                for p in parents:
                    if p._seen is not done:
                        if p._prev:
                            push(p)
                        else:
                            leaves.append(p)
                            p._fresh = 0.0
                            p._seen = done
        order.reverse()

    def _chain_rule(self, order: list["Value"], leaves: list["Value"], done: object,
                    accumulate: bool) -> None:
        """Seed this value with gradient 1, then, for each node of ``order`` (children first),
        add local derivative × the node's gradient into each parent's ``_fresh``.

        With ``accumulate`` each node's gradient, complete once its turn comes, is also added
        to its ``.grad``, and so is each term for a leaf :meth:`_visit` did not mark (one met
        only by sum and affine nodes) and each nonzero term for a node's known leaves (see
        :class:`LeafRows`): one pass over the weights instead of two, which makes a network's
        ``backward()`` ~1.6× faster. Without ``accumulate``, such a leaf is marked ``done`` and
        appended to ``leaves`` when first met. The marked leaves' totals are left to the
        caller.
        """
        self._fresh = 1.0
        for node in order:
            g = node._fresh
            if accumulate:
                node.grad += g
            parents = node._prev
            n = len(parents)
            if n == 2:  # most nodes: unrolled, without a zip
                a, b = parents
                da, db = node._local
                a._fresh += da * g
                b._fresh += db * g
            elif n == 1:
                parents[0]._fresh += node._local[0] * g
            elif accumulate:
                pairs = zip(parents, node._local)
                known = node._known_leaves
                if known is not None:  # known leaves: no test
                    k, nonzero = known
                    if nonzero is None:
                        for parent, local in islice(pairs, k):
                            parent.grad += local * g
                    else:  # only the terms whose local derivative is not 0
                        locals_ = node._local
                        for i in nonzero:
                            parents[i].grad += locals_[i] * g
                        pairs = islice(pairs, k, None)
                for parent, local in pairs:
                    if parent._seen is done:
                        parent._fresh += local * g
                    else:  # a leaf of sum or affine nodes only: its term goes straight in
                        parent.grad += local * g
            else:
                for parent, local in zip(parents, node._local):
                    if parent._seen is done:
                        parent._fresh += local * g
                    else:  # a leaf of a sum or affine node, met for the first time
                        parent._seen = done
                        leaves.append(parent)
                        parent._fresh = local * g

    def backward(self, create_graph: bool = False) -> None:
        """Add ∂self/∂node to ``node.grad`` for this value and every value it depends on.

        ``.grad`` holds floats, so ``create_graph=True`` (PyTorch's way to get gradients as
        graphs) is refused with a pointer to :func:`tinygrad_lite.autodiff.grad`, which returns
        derivatives as ``Value`` graphs without touching ``.grad``.

        Seeds this value's gradient with 1, then walks the graph in reverse topological order
        applying the chain rule. Gradients accumulate across calls (see the module docstring);
        reset them with :meth:`zero_grad`. Iterative: a chain of a million nodes works.
        If interrupted (Ctrl-C), it may have added its gradient to some nodes only: zero the
        gradients before the next one (which reaches every node again: each call marks the
        nodes with marks of its own). Not thread-safe: do not run two ``backward()`` calls
        on one graph at the same time.
        """
        if create_graph is not False:
            raise ValueError(
                "backward(create_graph=True) is not supported: .grad holds floats. For "
                "derivatives as graphs use tinygrad_lite.grad(output, inputs, "
                "create_graph=True), which returns them as Values"
            )
        if not self._prev:
            self.grad += 1.0
            return
        done = object()
        order: list[Value] = []
        leaves: list[Value] = []
        self._visit(order, leaves, object(), done)
        self._chain_rule(order, leaves, done, accumulate=True)
        # A marked leaf's gradient of this call, in one addition.
        for node in leaves:
            node.grad += node._fresh

    def derivatives(self, inputs: Sequence["Value"]) -> list[float]:
        """∂self/∂x for each Value x of ``inputs``, as floats, without touching any ``.grad``.

        The same pass as :meth:`backward` (and as fast), read out instead of accumulated; an
        input this value does not depend on gets 0. :func:`tinygrad_lite.autodiff.grad`
        returns these (and, with ``create_graph=True``, derivatives as graphs). Not
        thread-safe on one graph, like ``backward()``.

        Raises:
            TypeError: an input is not a Value.
        """
        for i, x in enumerate(inputs):
            if type(x) is not Value:
                raise TypeError(f"derivatives: input {i} must be a Value, got {type(x).__name__}")
        if not self._prev:
            return [1.0 if x is self else 0.0 for x in inputs]
        done = object()
        order: list[Value] = []
        self._visit(order, [], object(), done)
        self._chain_rule(order, [], done, accumulate=False)
        return [x._fresh if x._seen is done else 0.0 for x in inputs]

    def zero_grad(self) -> None:
        """Set ``.grad`` to 0 on this value and every value it depends on."""
        for node in topological_order(self):
            node.grad = 0.0


_new_object = object.__new__


def _node(data: float, parents: tuple[Value, ...], local_grads: tuple[float, ...], op: str,
          ctx: Any = None) -> Value:
    """The result of a built-in op (``from_op`` without the checks, which the ops guarantee).

    Under :class:`no_grad` the result is a plain leaf: no parents, no op.
    """
    out = _new_object(Value)  # Value() would check data meant for a leaf
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._seen = None
    out._known_leaves = None
    if not _recording():
        parents, local_grads, op, ctx = (), (), "", None
    out._prev = parents
    out._local = local_grads
    out._op = op
    out._ctx = ctx
    return out


def _lift(other: Any, op: str) -> Value:
    """``other`` as a Value (a plain number becomes a constant leaf), else a TypeError."""
    if type(other) is Value:
        return other
    if type(other) is float or isinstance(other, numbers.Real):  # float first: no ABC check
        return Value(other)
    raise TypeError(
        f"unsupported operand for {op}: Value and {type(other).__name__} "
        "(use a Value or a real number)"
    )


def zero_grad(values: Iterable[Value]) -> None:
    """Set ``.grad`` to 0 on each of ``values`` (a model's parameters, say)."""
    for v in values:
        v.grad = 0.0


_parents_of = operator.attrgetter("_prev")


def all_leaves(values: Iterable[Value]) -> bool:
    """Whether every one of ``values`` (all Values) is a leaf, one with no parents.

    Checked at C speed (no ``parents`` property call per value): the compiler checks a
    layer's million weights with it.
    """
    return not any(map(_parents_of, values))


class LeafRows:
    """Rows of leaf Values (a layer's weights), checked once to be leaves: Values with no
    parents, which they stay (a Value's parents never change).

    Give it to :meth:`Value.affine_layer` as ``weights``: the nodes are the same as for the
    rows themselves, and ``backward()`` then neither visits these weights in its depth-first
    pass nor tests them in its chain rule (~9% of a 784-16-16-10 training step). With plain
    number inputs (a network's first layer), the weights of the inputs that are exactly 0 are
    also skipped, in the forward pass and in ``backward()``: their terms are 0 (w·0 adds
    nothing to z, and ∂z/∂w = 0 adds nothing to the weight's gradient). Most pixels of a digit
    are 0 (64% of the embedded digits at 28×28, 81% of MNIST's), which makes a training step
    on the embedded digits ~1.4× faster. :class:`~tinygrad_lite.nn.Layer` keeps a LeafRows
    for its neurons' weights and checks it with :meth:`holds` before each forward pass.

    Args:
        rows: sequences of leaf Values; copied, so later changes to them do not reach it.

    Raises:
        TypeError: an entry is not a Value. ValueError: an entry has parents (an op's result).
    """

    __slots__ = ("_rows",)

    def __init__(self, rows: Iterable[Sequence[Value]]) -> None:
        copies = [list(row) for row in rows]
        for i, row in enumerate(copies):
            for k, w in enumerate(row):
                if type(w) is not Value:
                    raise TypeError(f"LeafRows: row {i}, entry {k} must be a Value, "
                                    f"got {type(w).__name__}")
            if not all_leaves(row):
                k = next(k for k, w in enumerate(row) if w._prev)
                raise ValueError(f"LeafRows: row {i}, entry {k} is the result of op "
                                 f"{row[k]._op!r}, not a leaf; pass such rows to "
                                 "affine_layer as they are")
        self._rows = copies

    @classmethod
    def of(cls, rows: Iterable[Sequence[Any]]) -> "LeafRows | None":
        """``LeafRows(rows)``, or ``None`` if an entry is not a leaf Value."""
        try:
            return cls(rows)
        except (TypeError, ValueError):
            return None

    def holds(self, rows: Sequence[Sequence[Value]]) -> bool:
        """Whether ``rows``, a list of lists, holds the same Values in the same order (rows of
        another type, tuples or arrays, are never taken to).

        Compares pointers only (Values compare by identity), so it is cheap enough to run
        before every forward pass.
        """
        return (type(rows) is list and all(type(row) is list for row in rows)
                and self._rows == rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"LeafRows({len(self._rows)} rows)"


def topological_order(roots: Union[Value, Iterable[Value]]) -> list[Value]:
    """Every value ``roots`` depend on, the roots included, each after all of its parents.

    ``roots`` is one Value or several. The order is deterministic: a depth-first walk from each
    root in turn, visiting a node's parents in the order of :attr:`Value.parents`; a value
    reached twice is listed once. Iterative, so graph depth is limited only by memory, and
    free of side effects: unlike ``backward()`` it marks no node, so it may be called at any
    time (the compiler and the graph views walk graphs with it).

    >>> a = Value(2.0, label="a"); b = Value(3.0, label="b")
    >>> [v.label or v.op for v in topological_order(a * b + a)]
    ['a', 'b', '*', '+']

    Raises:
        TypeError: a root is not a Value.
    """
    if isinstance(roots, Value):
        roots = (roots,)
    order: list[Value] = []
    seen: set[int] = set()
    for i, root in enumerate(roots):
        if not isinstance(root, Value):
            raise TypeError(f"topological_order: root {i} must be a Value, got "
                            f"{type(root).__name__}")
        if id(root) in seen:
            continue
        seen.add(id(root))
        # Depth-first with one iterator over the parents per open node; a leaf is listed as
        # soon as it is met (it has no parents to wait for), without a trip through the stack.
        stack: list[tuple[Value, Any]] = [(root, iter(root._prev))]
        while stack:
            node, parents = stack[-1]
            for p in parents:
                key = id(p)
                if key not in seen:
                    seen.add(key)
                    if p._prev:
                        stack.append((p, iter(p._prev)))
                        break
                    order.append(p)
            else:
                stack.pop()
                order.append(node)
    return order

