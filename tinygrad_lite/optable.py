"""The op table: every op of the engine defined once, in one :class:`OpRecord`.

A record holds everything the library knows about one op:

* its **name** (the ``.op`` of the nodes it makes), **arity**, the **symbol** drawn in a graph's
  op node and the **formula** text of pictures and tooltips (templates with ``{x}``, or ``{a}``
  and ``{b}``, and ``{p}`` for an exponent);
* its **float path**: ``apply``, the ``Value`` method that computes the result and its local
  derivatives as floats and records the node, the fast path ``backward()`` uses. The table
  *points at* the method (one definition, no copy and no indirection on the hot path);
* its local derivatives **as Value expressions** of the node's inputs and output
  (``value_derivatives(node)``, e.g. ``out * (1.0 - out)`` for σ), so that a derivative can be
  differentiated again (:func:`tinygrad_lite.autodiff.grad` with ``create_graph=True``);
* its **NumPy kernels** for the compiled path: ``numpy_forward(arrays, ctx)`` and
  ``numpy_derivatives(arrays, out, ctx)``, one array per parent, in the order of
  :attr:`Value.parents`, with ``ctx`` the node's :attr:`Value.ctx`;
* ``example(rng)``: a node at a random point of the op's domain (away from kinks and edges),
  with which the tests check that all the parts agree.

:data:`OPS` maps every op name to its record: the built-in ops and the ops registered by
:func:`tinygrad_lite.ops.custom_op`. Built-in names (:data:`BUILTIN_OP_NAMES`) are reserved.
Adding a built-in op is one record here (and its ``Value`` method).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from tinygrad_lite.engine import Value, reserve_op_names

__all__ = ["OpRecord", "OPS", "BUILTIN_OP_NAMES", "op_record", "record_of", "register",
           "LocalDerivative"]

#: One local derivative as the table gives it: a ``Value`` (differentiable again) or a plain
#: float (a constant: its own derivative is 0).
LocalDerivative = Union[Value, float]
Arrays = Sequence[np.ndarray]


@dataclass(frozen=True)
class OpRecord:
    """Everything about one op (see the module docstring).

    Attributes:
        name: the ``.op`` name of its nodes.
        arity: the numbers of parents it may have (``()`` for any number ≥ 1).
        symbol: the text of its small op node in a graph (``"σ"``).
        formula: the result as text, e.g. ``"σ({x})"``.
        derivative_formulas: ∂result/∂parent as text, one per parent (or one for all of them).
        apply: the function that makes a node (the fast float path), e.g. ``Value.sigmoid``.
        value_derivatives: ``value_derivatives(node)``: the local derivatives of ``node`` as
            Values (or constant floats), one per parent; ``None`` if only floats are known.
        numpy_forward: ``numpy_forward(arrays, ctx) -> array``; ``None`` for a custom op.
        numpy_derivatives: ``numpy_derivatives(arrays, out, ctx) -> arrays``, one per parent.
        example: ``example(rng) -> Value``: a node made by this op at a random valid point.
        builtin: ``True`` for the engine's own ops.
    """

    name: str
    arity: tuple[int, ...]
    symbol: str
    formula: str
    derivative_formulas: tuple[str, ...]
    apply: Callable[..., Value]
    value_derivatives: Optional[Callable[[Value], Sequence[LocalDerivative]]]
    numpy_forward: Optional[Callable[[Arrays, Any], np.ndarray]] = None
    numpy_derivatives: Optional[Callable[[Arrays, np.ndarray, Any], tuple[np.ndarray, ...]]] = None
    example: Optional[Callable[[random.Random], Value]] = None
    builtin: bool = False


# ----------------------------------------------------------------------------- examples
def _leaf(rng: random.Random, low: float = -3.0, high: float = 3.0) -> Value:
    return Value(rng.uniform(low, high))


def _away_from_zero(rng: random.Random, margin: float = 0.25) -> Value:
    x = rng.uniform(margin, 3.0)
    return Value(x if rng.random() < 0.5 else -x)


def _example_pow(rng: random.Random) -> Value:
    if rng.random() < 0.5:  # a Value exponent: the base must be positive
        return _leaf(rng, 0.1, 3.0) ** _leaf(rng, -2.0, 2.0)
    p = rng.choice((2.0, 3.0, 0.5, -1.0, 1.5, -2.0, 0.0, 1.0, -0.5, 2.5))
    base = _leaf(rng, 0.1, 3.0) if not p.is_integer() else _away_from_zero(rng)
    return base**p


def _example_affine(rng: random.Random) -> Value:
    n = rng.randint(1, 4)
    ws = [_leaf(rng) if rng.random() < 0.7 else rng.uniform(-3, 3) for _ in range(n)]
    xs = [_leaf(rng) if rng.random() < 0.7 else rng.uniform(-3, 3) for _ in range(n)]
    xs[0] = _leaf(rng)
    b = _leaf(rng) if rng.random() < 0.5 else rng.uniform(-1, 1)
    return Value.affine(ws, xs, b)


# ----------------------------------------------------------------------------- NumPy kernels
def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sign(x: np.ndarray) -> np.ndarray:
    return np.sign(x).astype(float)


def _pow_forward(arrays: Arrays, ctx: Any) -> np.ndarray:
    if len(arrays) == 2:
        return np.power(arrays[0], arrays[1])
    return np.power(arrays[0], ctx)


def _pow_derivatives(arrays: Arrays, out: np.ndarray, ctx: Any) -> tuple[np.ndarray, ...]:
    x = arrays[0]
    if len(arrays) == 2:
        p = arrays[1]
        return p * np.power(x, p - 1.0), out * np.log(x)
    if ctx == 0.0:
        return (np.zeros_like(x),)
    return (ctx * np.power(x, ctx - 1.0),)


def _affine_terms(arrays: Arrays, ctx: Any) -> tuple[list[Any], list[Any], Any]:
    """The weights, inputs and bias of an affine node: parents' arrays where the wiring
    ``ctx = (ws, xs, b)`` has a Value, the constant itself elsewhere."""
    ws, xs, b = ctx
    parents = iter(arrays)

    def take(entry: Any) -> Any:
        return next(parents) if isinstance(entry, Value) else float(entry)

    wa = [take(w) for w in ws]
    xa = [take(x) for x in xs]
    return wa, xa, take(b)


def _affine_forward(arrays: Arrays, ctx: Any) -> np.ndarray:
    wa, xa, ba = _affine_terms(arrays, ctx)
    total = np.zeros(np.broadcast_shapes(*(np.shape(a) for a in arrays))) + ba
    for w, x in zip(wa, xa):
        total = total + w * x
    return total


def _affine_derivatives(arrays: Arrays, out: np.ndarray, ctx: Any) -> tuple[np.ndarray, ...]:
    ws, xs, b = ctx
    wa, xa, _ = _affine_terms(arrays, ctx)
    ones = np.ones_like(out)
    local = [xa[i] * ones for i, w in enumerate(ws) if isinstance(w, Value)]
    local += [wa[i] * ones for i, x in enumerate(xs) if isinstance(x, Value)]
    if isinstance(b, Value):
        local.append(ones)
    return tuple(local)


# ----------------------------------------------------------------------------- Value derivatives
def _pow_value_derivatives(node: Value) -> tuple[LocalDerivative, ...]:
    if len(node.parents) == 2:
        x, p = node.parents
        return p * x ** (p - 1.0), node * x.log()
    (x,) = node.parents
    p = node.ctx
    if p == 0.0:
        return (0.0,)
    if p == 1.0:
        return (1.0,)
    if p == 2.0:
        return (2.0 * x,)
    return (p * x ** (p - 1.0),)


def _affine_value_derivatives(node: Value) -> tuple[LocalDerivative, ...]:
    ws, xs, b = node.ctx
    local: list[LocalDerivative] = [x for w, x in zip(ws, xs) if isinstance(w, Value)]
    local += [w for w, x in zip(ws, xs) if isinstance(x, Value)]
    if isinstance(b, Value):
        local.append(1.0)
    return tuple(local)


def _constant_slopes(node: Value) -> tuple[float, ...]:
    """The float local derivatives of ``node`` (relu's and abs's 0/±1): constants, so every
    higher derivative through them is 0 (away from the kink, where it is exact)."""
    return tuple(node.local_grads)


def _unary(name: str, symbol: str, formula: str, derivative: str, apply: Callable[..., Value],
           value_derivatives: Callable[[Value], Sequence[LocalDerivative]],
           forward: Callable[[np.ndarray], np.ndarray],
           local: Callable[[np.ndarray, np.ndarray], np.ndarray],
           example: Callable[[random.Random], Value]) -> OpRecord:
    return OpRecord(
        name, (1,), symbol, formula, (derivative,), apply, value_derivatives,
        lambda arrays, ctx: forward(arrays[0]),
        lambda arrays, out, ctx: (local(arrays[0], out),),
        example, True,
    )


def _binary(name: str, symbol: str, formula: str, derivatives: tuple[str, str],
            apply: Callable[..., Value],
            value_derivatives: Callable[[Value], Sequence[LocalDerivative]],
            forward: Callable[[np.ndarray, np.ndarray], np.ndarray],
            local: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
            example: Callable[[random.Random], Value]) -> OpRecord:
    return OpRecord(
        name, (2,), symbol, formula, derivatives, apply, value_derivatives,
        lambda arrays, ctx: forward(arrays[0], arrays[1]),
        lambda arrays, out, ctx: local(arrays[0], arrays[1], out),
        example, True,
    )


def _builtin_records() -> list[OpRecord]:
    ones = np.ones_like
    return [
        _binary("+", "+", "{a} + {b}", ("1", "1"), Value.__add__,
                lambda v: (1.0, 1.0), np.add, lambda a, b, out: (ones(out), ones(out)),
                lambda rng: _leaf(rng) + _leaf(rng)),
        _binary("-", "−", "{a} − {b}", ("1", "−1"), Value.__sub__,
                lambda v: (1.0, -1.0), np.subtract, lambda a, b, out: (ones(out), -ones(out)),
                lambda rng: _leaf(rng) - _leaf(rng)),
        _binary("*", "×", "{a} · {b}", ("{b}", "{a}"), Value.__mul__,
                lambda v: (v.parents[1], v.parents[0]), np.multiply,
                lambda a, b, out: (b * ones(out), a * ones(out)),
                lambda rng: _leaf(rng) * _leaf(rng)),
        _binary("/", "÷", "{a} / {b}", ("1/{b}", "−{a}/{b}²"), Value.__truediv__,
                lambda v: (1.0 / v.parents[1], -v / v.parents[1]), np.divide,
                lambda a, b, out: (1.0 / b * ones(out), -(out / b)),
                lambda rng: _leaf(rng) / _away_from_zero(rng)),
        _unary("neg", "−x", "−{x}", "−1", Value.__neg__, lambda v: (-1.0,),
               np.negative, lambda x, out: -ones(x), lambda rng: -_leaf(rng)),
        OpRecord("**", (1, 2), "xʸ", "{a}^{b}", ("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"),
                 Value.__pow__, _pow_value_derivatives, _pow_forward, _pow_derivatives,
                 _example_pow, True),
        _unary("exp", "exp", "exp({x})", "exp({x})", Value.exp, lambda v: (v,),
               np.exp, lambda x, out: out, lambda rng: _leaf(rng).exp()),
        _unary("log", "log", "ln({x})", "1/{x}", Value.log, lambda v: (1.0 / v.parents[0],),
               np.log, lambda x, out: 1.0 / x, lambda rng: _leaf(rng, 0.1, 5.0).log()),
        _unary("tanh", "tanh", "tanh({x})", "1 − tanh²({x})", Value.tanh,
               lambda v: (1.0 - v * v,), np.tanh, lambda x, out: 1.0 - out * out,
               lambda rng: _leaf(rng).tanh()),
        _unary("sigmoid", "σ", "σ({x})", "σ({x})(1 − σ({x}))", Value.sigmoid,
               lambda v: (v * (1.0 - v),), _sigmoid_array, lambda x, out: out * (1.0 - out),
               lambda rng: _leaf(rng).sigmoid()),
        _unary("relu", "ReLU", "ReLU({x}) = max(0, {x})", "1 if {x} > 0 else 0", Value.relu,
               _constant_slopes,
               lambda x: np.maximum(x, 0.0), lambda x, out: (x > 0.0).astype(float),
               lambda rng: _away_from_zero(rng, 0.05).relu()),
        _unary("abs", "|x|", "|{x}|", "sign({x})", Value.abs,
               _constant_slopes,
               np.abs, lambda x, out: _sign(x), lambda rng: _away_from_zero(rng, 0.05).abs()),
        OpRecord("sum", (), "Σ", "Σᵢ xᵢ", ("1",), Value.sum,
                 lambda v: (1.0,) * len(v.parents),
                 lambda arrays, ctx: sum(arrays[1:], arrays[0] + ctx),
                 lambda arrays, out, ctx: tuple(np.ones_like(out) for _ in arrays),
                 lambda rng: Value.sum([_leaf(rng) for _ in range(rng.randint(1, 4))]
                                       + [rng.uniform(-1, 1)]), True),
        OpRecord("affine", (), "Σwx+b", "Σᵢ wᵢ·xᵢ + b", ("xᵢ", "wᵢ", "1"), Value.affine,
                 _affine_value_derivatives, _affine_forward, _affine_derivatives,
                 _example_affine, True),
    ]


#: Every op by name: the built-in ones, then those :func:`register` ed by ``custom_op``.
OPS: dict[str, OpRecord] = {r.name: r for r in _builtin_records()}

#: The names of the engine's own ops, reserved for them.
BUILTIN_OP_NAMES: frozenset[str] = frozenset(OPS)
reserve_op_names(BUILTIN_OP_NAMES)


def op_record(name: str) -> Optional[OpRecord]:
    """The record of the op called ``name``, or ``None`` for a name no op has."""
    return OPS.get(name)


def record_of(node: Value) -> Optional[OpRecord]:
    """The record of the op that made ``node``: a built-in op's, the custom op's that made it
    (which its ``ctx`` names, even when a later op took the same name), or the table's entry
    for its name; ``None`` for a leaf or an unknown name."""
    own = getattr(node.ctx, "record", None)
    if isinstance(own, OpRecord) and own.name == node.op and not own.builtin:
        return own
    return OPS.get(node.op) if node.op else None


def register(record: OpRecord) -> OpRecord:
    """Add a user op's record to :data:`OPS` (replacing an earlier one of the same name).

    Raises:
        ValueError: the name is a built-in op's, or the record claims to be built in.
    """
    if record.name in BUILTIN_OP_NAMES or record.builtin:
        raise ValueError(f"op name {record.name!r} is a built-in op of the engine; choose "
                         "another name")
    OPS[record.name] = record
    return record
