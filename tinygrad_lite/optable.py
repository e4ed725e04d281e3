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
* its **NumPy kernels**: ``numpy_forward(arrays, ctx)`` and ``numpy_derivatives(arrays, out,
  ctx)``, one array per parent, in the order of :attr:`Value.parents`, with ``ctx`` the
  node's :attr:`Value.ctx`; and, for an elementwise op, the in-place ``kernels`` the compiled
  path runs over whole mini-batches (:mod:`tinygrad_lite.kernels`);
* ``example(rng)``: a node at a random point of the op's domain (away from kinks and edges),
  with which the tests check that all the parts agree.

:data:`OPS` maps every op name to its record: the built-in ops and the ops registered by
:func:`tinygrad_lite.ops.custom_op`. Built-in names (:data:`BUILTIN_OP_NAMES`) are reserved.
Adding a built-in op is one record here (and its ``Value`` method).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from tinygrad_lite.engine import Value, reserve_op_names
from tinygrad_lite.kernels import KERNELS, Kernels

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
        kernels: the in-place NumPy :class:`~tinygrad_lite.kernels.Kernels` the compiled path
            runs for an elementwise op (``None`` for ``sum``, ``affine`` and custom ops, which
            the compiler lowers to matrix products and segment sums, or does not compile).
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
    kernels: Optional[Kernels] = None


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


# ------------------------------------------------------------- NumPy kernels of affine
# (an elementwise op's come from tinygrad_lite.kernels, see _elementwise; the compiler lowers
# affine nodes to matrix products of its own)
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
           example: Callable[[random.Random], Value]) -> OpRecord:
    """An elementwise op of one input; its NumPy kernels come from :mod:`tinygrad_lite.kernels`."""
    return _elementwise(OpRecord(name, (1,), symbol, formula, (derivative,), apply,
                                 value_derivatives, example=example, builtin=True))


def _binary(name: str, symbol: str, formula: str, derivatives: tuple[str, str],
            apply: Callable[..., Value],
            value_derivatives: Callable[[Value], Sequence[LocalDerivative]],
            example: Callable[[random.Random], Value]) -> OpRecord:
    """An elementwise op of two inputs; its NumPy kernels come from :mod:`tinygrad_lite.kernels`."""
    return _elementwise(OpRecord(name, (2,), symbol, formula, derivatives, apply,
                                 value_derivatives, example=example, builtin=True))


def _elementwise(record: OpRecord) -> OpRecord:
    """``record`` with the in-place kernels of its op and the whole-array NumPy forward and
    derivatives made from them, so that the compiled path and the table's checks run the
    same code."""
    kernels = KERNELS[record.name]

    def prepared(arrays: Arrays, ctx: Any) -> tuple[list[Callable[[], np.ndarray]], Any]:
        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        return [(lambda a=a: a) for a in arrays], (ctx if len(arrays) == 1 else None)

    def forward(arrays: Arrays, ctx: Any) -> np.ndarray:
        operands, p = prepared(arrays, ctx)
        out = np.empty(np.broadcast_shapes(*(np.shape(a()) for a in operands)))
        kernels.forward(operands, out, np.empty_like(out), p)()
        return out

    def derivatives(arrays: Arrays, out: np.ndarray, ctx: Any) -> tuple[np.ndarray, ...]:
        operands, p = prepared(arrays, ctx)
        out = np.asarray(out, dtype=np.float64)
        dout, local = np.ones_like(out), []
        for which in range(len(operands)):
            target = np.empty_like(out)
            kernels.contribution(which, operands, out, dout, target, np.empty_like(out), p)()
            local.append(target)
        return tuple(local)

    return replace(record, numpy_forward=forward, numpy_derivatives=derivatives,
                   kernels=kernels)


def _builtin_records() -> list[OpRecord]:
    return [
        _binary("+", "+", "{a} + {b}", ("1", "1"), Value.__add__,
                lambda v: (1.0, 1.0), lambda rng: _leaf(rng) + _leaf(rng)),
        _binary("-", "−", "{a} − {b}", ("1", "−1"), Value.__sub__,
                lambda v: (1.0, -1.0), lambda rng: _leaf(rng) - _leaf(rng)),
        _binary("*", "×", "{a} · {b}", ("{b}", "{a}"), Value.__mul__,
                lambda v: (v.parents[1], v.parents[0]), lambda rng: _leaf(rng) * _leaf(rng)),
        _binary("/", "÷", "{a} / {b}", ("1/{b}", "−{a}/{b}²"), Value.__truediv__,
                lambda v: (1.0 / v.parents[1], -v / v.parents[1]),
                lambda rng: _leaf(rng) / _away_from_zero(rng)),
        _unary("neg", "−x", "−{x}", "−1", Value.__neg__, lambda v: (-1.0,),
               lambda rng: -_leaf(rng)),
        _elementwise(OpRecord("**", (1, 2), "xʸ", "{a}^{b}",
                              ("{b}·{a}^({b}−1)", "{a}^{b}·ln({a})"), Value.__pow__,
                              _pow_value_derivatives, example=_example_pow, builtin=True)),
        _unary("exp", "exp", "exp({x})", "exp({x})", Value.exp, lambda v: (v,),
               lambda rng: _leaf(rng).exp()),
        _unary("log", "log", "ln({x})", "1/{x}", Value.log, lambda v: (1.0 / v.parents[0],),
               lambda rng: _leaf(rng, 0.1, 5.0).log()),
        _unary("tanh", "tanh", "tanh({x})", "1 − tanh²({x})", Value.tanh,
               lambda v: (1.0 - v * v,), lambda rng: _leaf(rng).tanh()),
        _unary("sigmoid", "σ", "σ({x})", "σ({x})(1 − σ({x}))", Value.sigmoid,
               lambda v: (v * (1.0 - v),), lambda rng: _leaf(rng).sigmoid()),
        _unary("relu", "ReLU", "ReLU({x}) = max(0, {x})", "1 if {x} > 0 else 0", Value.relu,
               _constant_slopes, lambda rng: _away_from_zero(rng, 0.05).relu()),
        _unary("abs", "|x|", "|{x}|", "sign({x})", Value.abs,
               _constant_slopes, lambda rng: _away_from_zero(rng, 0.05).abs()),
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
