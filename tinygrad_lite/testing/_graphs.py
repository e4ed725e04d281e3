"""Generated expression graphs: small programs over the engine's ops, replayable on Values.

A :class:`GeneratedExpression` is a list of :class:`Step` s. Each step applies one op to
*operands*: an ``int`` refers to an earlier step (a node of the graph), a ``float`` is a
constant (as in ``x + 2.0``). Inputs are steps too. The program knows its value at its own
``inputs`` from plain float math, independent of the engine, and it is built only from points
that are safe for finite differences: inside every op's domain, away from kinks, with bounded
values and bounded sensitivity to the inputs. This module needs no hypothesis; the strategies
that draw programs live in :mod:`tinygrad_lite.testing.strategies`.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import numpy as np

from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.optable import OPS

__all__ = ["BUILTIN_OPS", "OpSpec", "Step", "GeneratedExpression"]

Operand = Union[int, float]  # int: index of an earlier step; float: a constant

#: The engine ops the strategies draw from, by the names they accept.
BUILTIN_OPS: tuple[str, ...] = (
    "add", "mul", "sub", "div", "neg", "pow", "vpow", "exp", "log", "tanh", "sigmoid", "relu",
    "abs", "sum", "affine",
)
UNARY = frozenset({"neg", "exp", "log", "tanh", "sigmoid", "relu", "abs", "pow"})
BINARY = frozenset({"add", "sub", "mul", "div", "vpow"})

# Safety margins of a generated point. Finite differences with eps ≤ 1e-5 move any node by at
# most eps · GRAD_BOUND = 1e-2, well inside these margins.
DIV_MARGIN = 0.25  # |divisor| and |base of a negative power|
POS_MARGIN = 0.1  # argument of log, base of a fractional or Value power
KINK_MARGIN = 0.05  # |argument| of relu and abs
VALUE_BOUND = 1e3  # |value| of every node
GRAD_BOUND = 1e3  # |∂node/∂input| of every node and input
_PROBE = 1e-3  # step of the probes that estimate a custom op's derivative and spot its kinks


class Invalid(Exception):
    """A candidate step is outside the safe region (not an error: the generator picks another)."""


@dataclass(frozen=True)
class OpSpec:
    """A user op for the strategies: a function of ``arity`` Values returning a Value.

    Attributes:
        fn: the op, e.g. a :class:`tinygrad_lite.ops.CustomOp` or ``lambda x: x * x.sigmoid()``.
        arity: how many Values it takes.
        name: how generated expressions show it.
        domain: optional ``domain(*floats) -> bool``; points where it is False are never used.
            Exclude kinks there (the generator also skips points where one-sided slopes of
            ``fn`` disagree, which catches most kinks on its own).
    """

    fn: Callable[..., Value]
    arity: int
    name: str
    domain: Callable[..., bool] | None = None

    @classmethod
    def of(
        cls,
        fn: Any,
        arity: int | None = None,
        domain: Callable[..., bool] | None = None,
        name: str | None = None,
    ) -> "OpSpec":
        """An OpSpec for ``fn`` (a CustomOp or a function), inferring arity and name."""
        if isinstance(fn, OpSpec):
            return fn
        if not callable(fn):
            raise TypeError(f"an op must be callable or a built-in op name, got {fn!r:.60}")
        if arity is None:
            arity = getattr(fn, "arity", None)
        if arity is None:
            try:
                params = inspect.signature(fn).parameters.values()
            except (TypeError, ValueError):
                params = None
            if params is None or any(p.kind is p.VAR_POSITIONAL for p in params):
                raise ValueError(f"cannot tell how many inputs {fn!r:.60} takes; pass arity=n")
            arity = sum(1 for p in params if p.default is p.empty
                        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        if isinstance(arity, bool) or not isinstance(arity, int) or arity < 1:
            raise ValueError(f"arity must be a positive int, got {arity!r}")
        if domain is not None and not callable(domain):
            raise TypeError(f"domain must be callable, got {type(domain).__name__}")
        if name is None:
            name = getattr(fn, "name", None) or getattr(fn, "__name__", None) or "op"
            if name == "<lambda>":
                name = "op"
        return cls(fn, arity, str(name), domain)


@dataclass(frozen=True)
class Step:
    """One node of a generated program.

    ``op`` is ``"input"`` (``param`` = its input index), a name of :data:`BUILTIN_OPS`, or
    ``"custom"`` (``param`` = the :class:`OpSpec`). ``args`` are the operands; ``param`` is the
    exponent of ``pow`` and the number of weights of ``affine`` (whose args are the weights,
    then the inputs, then the bias if any).
    """

    op: str
    args: tuple[Operand, ...] = ()
    param: Any = None


def _is_ref(a: Operand) -> bool:
    return type(a) is int


# ----------------------------------------------------------------------------- float math
#: The op-table record behind each strategy op name.
TABLE_OPS: dict[str, str] = {
    "add": "+", "sub": "-", "mul": "*", "div": "/", "neg": "neg", "pow": "**", "vpow": "**",
    "exp": "exp", "log": "log", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu",
    "abs": "abs", "sum": "sum", "affine": "affine",
}
_PARENT = Value(0.0)  # in an affine wiring: "this entry is an operand" (see optable)


def _check_domain(op: str, vals: Sequence[float], param: Any) -> None:
    """Raise Invalid unless every operand is inside ``op``'s safe region."""
    a = vals[0]
    if op == "div" and abs(vals[1]) < DIV_MARGIN:
        raise Invalid
    if (op == "vpow" or op == "log") and a < POS_MARGIN:
        raise Invalid
    if op == "exp" and a > math.log(VALUE_BOUND):
        raise Invalid
    if op in ("relu", "abs") and abs(a) < KINK_MARGIN:
        raise Invalid
    if op == "pow":
        p = param
        if (not float(p).is_integer() and a < POS_MARGIN) or (p < 0 and abs(a) < DIV_MARGIN):
            raise Invalid


def _table_ctx(op: str, vals: Sequence[float], param: Any) -> Any:
    """The ``ctx`` a node of ``op`` has when every operand is one of its parents."""
    if op == "pow":
        return float(param)
    if op == "sum":
        return 0.0
    if op == "affine":
        n = param
        return ((_PARENT,) * n, (_PARENT,) * n, _PARENT if len(vals) > 2 * n else 0.0)
    return None


def _builtin(op: str, vals: Sequence[float], param: Any) -> tuple[float, list[float]]:
    """(value, ∂value/∂operand for each operand) from the op table's NumPy kernels (a code
    path of their own, not the engine's float path under test), or raise Invalid."""
    if op not in TABLE_OPS:
        raise ValueError(f"unknown op {op!r}; the built-in ops are {', '.join(BUILTIN_OPS)}")
    _check_domain(op, vals, param)
    record = OPS[TABLE_OPS[op]]
    arrays = [np.array(float(v)) for v in vals]
    ctx = _table_ctx(op, vals, param)
    with np.errstate(all="ignore"):
        out = record.numpy_forward(arrays, ctx)
        partials = record.numpy_derivatives(arrays, np.asarray(out), ctx)
    return float(out), [float(d) for d in partials]


def _apply_custom(spec: OpSpec, operands: Sequence[Value | float]) -> Value:
    out = spec.fn(*operands)
    if not isinstance(out, Value):
        raise TypeError(
            f"op {spec.name} must return a Value, got {type(out).__name__}: {out!r:.60}"
        )
    return out


def _custom_data(spec: OpSpec, vals: Sequence[float], refs: Sequence[bool]) -> float:
    """The op's value at ``vals`` (nodes as Values, constants as numbers), or raise Invalid."""
    try:
        with no_grad():
            out = _apply_custom(spec, [Value(v) if r else v for v, r in zip(vals, refs)])
    except (ValueError, ArithmeticError):
        raise Invalid from None
    return out.data


def _custom(spec: OpSpec, vals: Sequence[float], refs: Sequence[bool]) -> tuple[float, list[float]]:
    if spec.domain is not None and not spec.domain(*vals):
        raise Invalid
    out = _custom_data(spec, vals, refs)
    partials = []
    for i, is_ref in enumerate(refs):
        if not is_ref:
            partials.append(0.0)
            continue
        shifted = []
        for d in (-_PROBE, _PROBE):
            moved = list(vals)
            moved[i] += d
            shifted.append(_custom_data(spec, moved, refs))
        down, up = shifted
        slope_left, slope_right = (out - down) / _PROBE, (up - out) / _PROBE
        if abs(slope_right - slope_left) > 0.05 * (1.0 + abs(slope_left + slope_right)):
            raise Invalid  # a kink (or a very sharp bend) next to this point
        partials.append((up - down) / (2 * _PROBE))
    return out, partials


def evaluate_step(
    step: Step, values: Sequence[float], grads: Sequence[dict[int, float]]
) -> tuple[float, dict[int, float]]:
    """Value and gradient (input index → partial) of ``step`` given earlier steps', or Invalid.

    The gradient is propagated forward (Σ local · gradient of operand) from the float math
    above, not from the engine, so what is generated does not depend on what is tested.
    """
    vals = [values[a] if _is_ref(a) else float(a) for a in step.args]
    if step.op == "custom":
        out, partials = _custom(step.param, vals, [_is_ref(a) for a in step.args])
    else:
        out, partials = _builtin(step.op, vals, step.param)
    if not (math.isfinite(out) and abs(out) <= VALUE_BOUND):
        raise Invalid
    grad: dict[int, float] = {}
    for a, local in zip(step.args, partials):
        if _is_ref(a) and local != 0.0:
            for k, g in grads[a].items():
                grad[k] = grad.get(k, 0.0) + local * g
    if any(not math.isfinite(g) or abs(g) > GRAD_BOUND for g in grad.values()):
        raise Invalid
    return out, grad


# ----------------------------------------------------------------------------- rendering
def _const(c: float) -> tuple[str, bool]:
    text = repr(float(c))
    return (f"({text})", True) if text.startswith("-") else (text, True)


def _wrap(fragment: tuple[str, bool]) -> str:
    text, atomic = fragment
    return text if atomic else f"({text})"


_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "vpow": "**"}


def _render_step(step: Step, ops: list[tuple[str, bool]], python: bool) -> tuple[str, bool]:
    """(text, atomic) of one step given its operands' fragments."""
    op = step.op
    if op in _INFIX:
        return f"{_wrap(ops[0])} {_INFIX[op]} {_wrap(ops[1])}", False
    if op == "neg":
        return f"-{_wrap(ops[0])}", False
    if op == "pow":
        return f"{_wrap(ops[0])} ** {_const(step.param)[0]}", False
    if op in ("exp", "log", "tanh", "sigmoid", "relu", "abs"):
        return (f"{_wrap(ops[0])}.{op}()" if python else f"{op}({ops[0][0]})"), True
    if op == "sum":
        items = ", ".join(t for t, _ in ops)
        return (f"Value.sum([{items}])" if python else f"sum({items})"), True
    if op == "affine":
        n = step.param
        ws = ", ".join(t for t, _ in ops[:n])
        xs = ", ".join(t for t, _ in ops[n:2 * n])
        bias = f", {ops[2 * n][0]}" if len(ops) > 2 * n else ""
        return f"{'Value.' if python else ''}affine([{ws}], [{xs}]{bias})", True
    if op == "custom":
        return f"{step.param.name}({', '.join(t for t, _ in ops)})", True
    raise ValueError(f"unknown op {op!r}")


class GeneratedExpression:
    """A random expression graph with a point to check it at.

    Attributes:
        inputs: the point, one float per input ``x0, x1, ...``; inside every op's domain, away
            from kinks and overflow, so ``gradcheck(expr.build, expr.inputs)`` is meaningful.
        value: the expression's value at ``inputs`` by plain float math (not by the engine).
        steps: the program (see :class:`Step`); the output is the last step.

    ``str(expr)`` reads like math, shared nodes named once: ``"t0 = x0 * x1; sigmoid(t0) + t0"``;
    :meth:`to_python` gives a function to paste into a regression test.
    """

    def __init__(self, steps: Sequence[Step], inputs: Sequence[float], value: float) -> None:
        self.steps: tuple[Step, ...] = tuple(steps)
        self.inputs: tuple[float, ...] = tuple(float(x) for x in inputs)
        self.value = float(value)
        out = len(self.steps) - 1
        reachable = {out}
        uses = [0] * len(self.steps)
        for i in range(out, -1, -1):
            if i in reachable:
                for a in self.steps[i].args:
                    if _is_ref(a):
                        reachable.add(a)
                        uses[a] += 1
        self._reachable = frozenset(reachable)
        self._shared = frozenset(
            i for i in reachable if uses[i] > 1 and self.steps[i].op != "input"
        )

    # ------------------------------------------------------------------ properties
    @property
    def n_inputs(self) -> int:
        """How many inputs the expression takes."""
        return len(self.inputs)

    @property
    def op_names(self) -> frozenset[str]:
        """The ops the output depends on (built-in names; a custom op by its name)."""
        return frozenset(
            s.param.name if s.op == "custom" else s.op
            for i, s in enumerate(self.steps) if i in self._reachable and s.op != "input"
        )

    @property
    def has_shared_node(self) -> bool:
        """Whether a computed node is used more than once (``t * t`` or on two paths)."""
        return bool(self._shared)

    @property
    def size(self) -> int:
        """The number of op nodes the output depends on."""
        return sum(1 for i in self._reachable if self.steps[i].op != "input")

    # ------------------------------------------------------------------ building
    def build(self, xs: Sequence[Value | float]) -> Value:
        """The expression as a fresh graph over ``xs`` (Values; numbers become leaves)."""
        if len(xs) != self.n_inputs:
            raise ValueError(f"this expression takes {self.n_inputs} inputs, got {len(xs)}")
        leaves = [x if isinstance(x, Value) else Value(x) for x in xs]
        nodes: dict[int, Value] = {}
        for i, step in enumerate(self.steps):
            if i not in self._reachable:
                continue
            if step.op == "input":
                nodes[i] = leaves[step.param]
                continue
            ops = [nodes[a] if _is_ref(a) else float(a) for a in step.args]
            nodes[i] = _build_step(step, ops)
        return nodes[len(self.steps) - 1]

    __call__ = build

    def evaluate(self, xs: Sequence[float]) -> float:
        """The expression's value at ``xs`` computed by the engine under ``no_grad``."""
        with no_grad():
            return self.build(xs).data

    # ------------------------------------------------------------------ rendering
    def _render(self, python: bool) -> tuple[list[str], str]:
        names: dict[int, tuple[str, bool]] = {}
        lets: list[str] = []
        text: tuple[str, bool] = ("", True)
        for i, step in enumerate(self.steps):
            if i not in self._reachable:
                continue
            if step.op == "input":
                names[i] = (f"x{step.param}", True)
                continue
            ops = [names[a] if _is_ref(a) else _const(a) for a in step.args]
            text = _render_step(step, ops, python)
            if i in self._shared:
                name = f"t{len(lets)}"
                lets.append(f"{name} = {text[0]}")
                names[i] = (name, True)
            else:
                names[i] = text
        return lets, names[len(self.steps) - 1][0]

    def __str__(self) -> str:
        lets, out = self._render(python=False)
        return "; ".join([*lets, out])

    def __repr__(self) -> str:
        inputs = ", ".join(repr(x) for x in self.inputs)
        return f"GeneratedExpression({str(self)!r}, inputs=[{inputs}])"

    def to_python(self, name: str = "f") -> str:
        """Python source of ``def f(x): ...`` building the expression, for a regression test.

        Custom ops are called by their name, so that name must be in scope where it runs.
        """
        lets, out = self._render(python=True)
        names = ", ".join(f"x{k}" for k in range(self.n_inputs))
        lines = [f"def {name}(x):", f"    {names}{',' if self.n_inputs == 1 else ''} = x"]
        lines += [f"    {let}" for let in lets]
        lines.append(f"    return {out}")
        source = "\n".join(lines) + "\n"
        if "Value." in source:
            source = "from tinygrad_lite import Value\n\n\n" + source
        return source


def _build_step(step: Step, ops: list[Any]) -> Value:
    op = step.op
    if op == "add":
        return ops[0] + ops[1]
    if op == "sub":
        return ops[0] - ops[1]
    if op == "mul":
        return ops[0] * ops[1]
    if op == "div":
        return ops[0] / ops[1]
    if op == "vpow":
        return ops[0] ** ops[1]
    if op == "neg":
        return -ops[0]
    if op == "pow":
        return ops[0] ** step.param
    if op in ("exp", "log", "tanh", "sigmoid", "relu", "abs"):
        return getattr(ops[0], op)()
    if op == "sum":
        return Value.sum(ops)
    if op == "affine":
        n = step.param
        if len(ops) > 2 * n:
            return Value.affine(ops[:n], ops[n:2 * n], ops[2 * n])
        return Value.affine(ops[:n], ops[n:2 * n])
    if op == "custom":
        return _apply_custom(step.param, ops)
    raise ValueError(f"unknown op {op!r}")
