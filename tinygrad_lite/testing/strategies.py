"""Hypothesis strategies for property-testing gradients: random expressions and networks.

* :func:`expressions` draws a :class:`GeneratedExpression`: a random graph over the engine's ops
  (and yours), with shared sub-expressions and nodes used twice, and a point inside every op's
  domain, away from kinks and overflow;
* :func:`mlps` draws a small random ``MLP`` with an input, a target and a cost;
* :func:`gradcheck_property` is a ready test: "for every generated graph using my op,
  ``gradcheck`` passes"; :func:`gradgradcheck_property` the same for second derivatives
  (``gradgradcheck``). In a test module::

      from tinygrad_lite.testing import gradcheck_property
      from mypackage import softplus

      test_softplus_gradient = gradcheck_property(softplus)

Needs hypothesis (``pip install "tinygrad-lite[test]"``); pytest is not needed. Importing this
module sends hypothesis's example database and caches to ``~/.cache/tinygrad_lite/hypothesis``
instead of a ``.hypothesis/`` folder in the working directory, unless you chose a place
(``HYPOTHESIS_STORAGE_DIRECTORY``, or ``hypothesis.configuration.set_hypothesis_home_dir``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

try:
    from hypothesis import assume, given
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory
    from hypothesis import settings as Settings
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'tinygrad_lite.testing strategies need hypothesis: pip install "tinygrad-lite[test]"'
    ) from error

from tinygrad_lite._checks import positive_int

# Hypothesis keeps its example database and caches in ./.hypothesis unless told where: a
# learner's working folder should not fill up with them. Unless HYPOTHESIS_STORAGE_DIRECTORY or
# hypothesis.configuration.set_hypothesis_home_dir chose a place, they go to the user's cache.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") and storage_directory(
        intent_to_write=False).home_directory == Path.cwd() / ".hypothesis":
    set_hypothesis_home_dir(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                            / "tinygrad_lite" / "hypothesis")
from tinygrad_lite import losses
from tinygrad_lite.engine import Value
from tinygrad_lite.gradcheck import gradcheck, gradcheck_directional, gradgradcheck
from tinygrad_lite.nn import ACTIVATIONS  # the activations an MLP accepts (re-exported)
from tinygrad_lite.nn import MLP
from tinygrad_lite.testing._graphs import (
    BINARY,
    BUILTIN_OPS,
    GeneratedExpression,
    Invalid,
    OpSpec,
    Step,
    evaluate_step,
)

__all__ = [
    "expressions",
    "mlps",
    "gradcheck_property",
    "gradgradcheck_property",
    "GeneratedNetwork",
    "ACTIVATIONS",
    "COSTS",
]

#: The costs :func:`mlps` pairs networks with (names of functions in ``tinygrad_lite.losses``).
COSTS: tuple[str, ...] = ("quadratic_cost", "cross_entropy_cost")

_CONSTANTS = st.one_of(
    st.sampled_from((2.0, 0.5, -1.0, 3.0, -0.5)),
    st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False),
)
_POSITIVE_CONSTANTS = st.one_of(
    st.sampled_from((2.0, 0.5, 3.0, math.e)), st.floats(0.1, 3.0)
)
_EXPONENTS = st.sampled_from((2.0, 3.0, 0.5, -1.0, 1.5, -2.0, 0.0, 1.0, -0.5, 2.5))
_INPUTS = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
_FALLBACK = ("tanh", "sigmoid", "neg")  # always valid: bounded, with |derivative| ≤ 1


# ----------------------------------------------------------------------------- expressions
class _Builder:
    """A program under construction with every node's value and input-gradient."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.values: list[float] = []
        self.grads: list[dict[int, float]] = []
        self.inputs: list[float] = []

    def add_input(self, x: float) -> int:
        k = len(self.inputs)
        self.inputs.append(float(x))
        self.steps.append(Step("input", (), k))
        self.values.append(float(x))
        self.grads.append({k: 1.0})
        return len(self.steps) - 1

    def try_add(self, step: Step) -> bool:
        try:
            value, grad = evaluate_step(step, self.values, self.grads)
        except Invalid:
            return False
        self.steps.append(step)
        self.values.append(value)
        self.grads.append(grad)
        return True

    @property
    def last(self) -> int:
        return len(self.steps) - 1

    def expression(self) -> GeneratedExpression:
        return GeneratedExpression(self.steps, self.inputs, self.values[-1])


_NEWEST = st.sampled_from((True, True, False))


def _draw_ref(draw: Any, builder: _Builder, first: bool) -> int:
    # Counted back from the newest node, so shrinking makes chains: f(g(h(x0))). A step's first
    # operand is mostly the newest node, which keeps most steps in the output's graph.
    if first and draw(_NEWEST):
        return builder.last
    return builder.last - draw(st.integers(0, builder.last))


def _draw_operands(
    draw: Any, builder: _Builder, pattern: Sequence[str], anchor: int | None
) -> tuple[int | float, ...]:
    """One operand per pattern letter: "n" a node, "c" a constant, "p" a positive constant."""
    args: list[int | float] = []
    for letter in pattern:
        if letter == "n":
            first = not any(type(a) is int for a in args)
            if anchor is not None and first:
                args.append(anchor)
            else:
                args.append(_draw_ref(draw, builder, first))
        elif letter == "p":
            args.append(float(draw(_POSITIVE_CONSTANTS)))
        else:
            args.append(float(draw(_CONSTANTS)))
    return tuple(args)


def _node_or_constant(draw: Any, n: int) -> list[str]:
    """n letters, the first a node, the rest a node or a constant (shrinking to nodes)."""
    return ["n"] + ["c" if draw(st.booleans()) else "n" for _ in range(n - 1)]


def _draw_step(draw: Any, builder: _Builder, op: str | OpSpec, anchor: int | None = None) -> Step:
    if isinstance(op, OpSpec):
        pattern = _node_or_constant(draw, op.arity)
        return Step("custom", _draw_operands(draw, builder, pattern, anchor), op)
    if op in BINARY:
        if op == "vpow":
            pattern = draw(st.sampled_from(("pn", "nn")))  # 2.0 ** x first: valid at x = 0
        else:
            pattern = draw(st.sampled_from(("nn", "nc", "cn")))
        return Step(op, _draw_operands(draw, builder, pattern, anchor))
    if op == "pow":
        return Step(op, _draw_operands(draw, builder, "n", anchor), float(draw(_EXPONENTS)))
    if op == "sum":
        pattern = _node_or_constant(draw, draw(st.integers(1, 4)))
        return Step(op, _draw_operands(draw, builder, pattern, anchor))
    if op == "affine":
        n = draw(st.integers(1, 3))
        has_bias = draw(st.booleans())
        ws = ["c" if draw(st.booleans()) else "n" for _ in range(n)]
        xs = ["n"] + ["c" if draw(st.booleans()) else "n" for _ in range(n - 1)]
        bias = ["c" if draw(st.booleans()) else "n"] if has_bias else []
        args = list(_draw_operands(draw, builder, [*ws, *xs, *bias], None))
        if anchor is not None:
            args[n] = anchor  # the first input, always a node
        return Step(op, tuple(args), n)
    return Step(op, _draw_operands(draw, builder, "n", anchor))


def _first_ref(step: Step) -> int:
    return next(a for a in step.args if type(a) is int)


def _with_fresh_inputs(step: Step, first_input: int) -> Step:
    """``step`` with every operand replaced by a new input (indices from first_input)."""
    return Step(step.op, tuple(range(first_input, first_input + len(step.args))), step.param)


_GO_ON = st.sampled_from((False, True, True, True))


@st.composite
def _valid_step(
    draw: Any, builder: _Builder, pool: tuple[str | OpSpec, ...], anchor: int | None = None
) -> Step:
    """A step drawn from ``pool``, or a tanh/sigmoid/neg of its operand if it is not valid."""
    step = _draw_step(draw, builder, draw(st.sampled_from(pool)), anchor)
    try:
        evaluate_step(step, builder.values, builder.grads)
    except Invalid:
        return Step(draw(st.sampled_from(_FALLBACK)), (anchor if anchor is not None else
                                                       _first_ref(step),))
    return step


@st.composite
def _expressions(
    draw: Any,
    pool: tuple[str | OpSpec, ...],
    require: str | OpSpec | None,
    max_inputs: int,
    min_steps: int,
    max_steps: int,
    inputs: st.SearchStrategy[float],
) -> GeneratedExpression:
    builder = _Builder()
    for _ in range(draw(st.integers(1, max_inputs))):
        builder.add_input(draw(inputs))
    for n in range(max_steps):
        # "Go on?" drawn per step (3 in 4 yes, shrinking to no), so shrinking deletes steps.
        if n >= min_steps and not draw(_GO_ON):
            break
        added = builder.try_add(draw(_valid_step(builder, pool)))
        assert added
    if require is not None:
        step = _draw_step(draw, builder, require)
        if not builder.try_add(step):
            # No earlier node is a valid operand: apply the op to new inputs from its domain.
            def valid(xs: Sequence[float]) -> bool:
                scratch = _Builder()
                for x in xs:
                    scratch.add_input(x)
                return scratch.try_add(_with_fresh_inputs(step, 0))

            fresh = draw(st.lists(inputs, min_size=len(step.args), max_size=len(step.args))
                         .filter(valid))
            first = len(builder.steps)
            for x in fresh:
                builder.add_input(x)
            added = builder.try_add(_with_fresh_inputs(step, first))
            assert added
        for _ in range(2):  # up to 2 ops on top of it, so that it is not always the root
            if not draw(st.booleans()):
                break
            added = builder.try_add(draw(_valid_step(builder, pool, builder.last)))
            assert added
    return builder.expression()


def _op_entry(op: Any) -> str | OpSpec:
    if isinstance(op, str):
        if op not in BUILTIN_OPS:
            raise ValueError(f"unknown op {op!r}; the built-in ops are {', '.join(BUILTIN_OPS)}")
        return op
    return OpSpec.of(op)


def expressions(
    ops: Iterable[str | OpSpec | Callable[..., Value]] | None = None,
    *,
    require: str | OpSpec | Callable[..., Value] | None = None,
    max_inputs: int = 3,
    min_steps: int | None = None,
    max_steps: int = 6,
    inputs: st.SearchStrategy[float] | None = None,
) -> st.SearchStrategy[GeneratedExpression]:
    """A strategy for random expression graphs with a point to check them at.

    Each drawn :class:`GeneratedExpression` is a graph of up to ``max_steps`` ops over up to
    ``max_inputs`` inputs, with shared sub-expressions and nodes used twice (``t * t``); its
    ``inputs`` keep every op in its domain with a margin (log of ≥ 0.1, divisors and bases of
    negative powers ≥ 0.25 in size, Value-exponent and fractional powers of bases ≥ 0.1),
    ``relu``/``abs`` ≥ 0.05 away from their kink, every node within ±1000 and every
    ∂node/∂input within ±1000. A candidate op that would break this is replaced by a
    ``tanh``/``sigmoid``/``neg`` of its operand. Failing examples shrink to short chains over
    few inputs and print readably: ``GeneratedExpression('sigmoid((x0 * x1) + log(x2))',
    inputs=[...])``.

    Args:
        ops: the ops to draw from: names of :data:`BUILTIN_OPS` and your own ops (a
            :class:`tinygrad_lite.ops.CustomOp`, a function of Values, or an :class:`OpSpec`
            with a ``domain``). Default: every built-in op.
        require: an op that every drawn expression uses at least once (added to ``ops`` if
            missing); if no earlier node is a valid operand it gets new inputs from ``inputs``.
        max_inputs: at most this many inputs x0, x1, ... (at least 1).
        min_steps, max_steps: how many ops to draw before ``require`` (and up to 2 after it);
            ``min_steps`` defaults to 1, or 0 with ``require``.
        inputs: the strategy for input values; default floats in [−3, 3].

    Raises:
        ValueError/TypeError: an unknown op name, a non-callable op, bad sizes.
    """
    pool = tuple(_op_entry(op) for op in (BUILTIN_OPS if ops is None else ops))
    required = None if require is None else _op_entry(require)
    if required is not None and required not in pool:
        pool = (*pool, required)
    if not pool:
        raise ValueError("ops is empty: give at least one op to draw from")
    max_inputs = positive_int(max_inputs, "max_inputs")
    if min_steps is None:
        min_steps = 0 if required is not None else 1
    min_steps = positive_int(min_steps, "min_steps", 0 if required is not None else 1)
    max_steps = positive_int(max_steps, "max_steps", min_steps)
    if inputs is None:
        inputs = _INPUTS
    elif not isinstance(inputs, st.SearchStrategy):
        raise TypeError(f"inputs must be a hypothesis strategy, got {type(inputs).__name__}")
    return _expressions(pool, required, max_inputs, min_steps, max_steps, inputs)


def gradcheck_property(
    op: str | OpSpec | Callable[..., Value] | None = None,
    *,
    arity: int | None = None,
    domain: Callable[..., bool] | None = None,
    directional: bool = False,
    max_inputs: int = 3,
    max_steps: int = 4,
    inputs: st.SearchStrategy[float] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    settings: Settings | None = None,
) -> Callable[[], None]:
    """A ready hypothesis test: for every generated graph using ``op``, ``gradcheck`` passes.

    Assign it to a ``test_...`` name in a test module and pytest runs it::

        test_softplus_gradient = gradcheck_property(softplus)

    or call it: ``gradcheck_property(softplus)()``. A wrong derivative fails with
    hypothesis's shrunk falsifying example (the expression and its inputs) and the
    :class:`~tinygrad_lite.gradcheck.GradcheckError` naming the input whose derivative differs.

    Args:
        op: your op (a ``CustomOp``, a function of Values, an :class:`OpSpec`) or a built-in
            op name; ``None`` checks random graphs over every built-in op.
        arity, domain: for a plain function: how many Values it takes, and where it may be
            evaluated (``domain(*floats) -> bool``, excluding kinks).
        directional: use :func:`gradcheck_directional` instead of :func:`gradcheck`.
        max_inputs, max_steps, inputs: passed to :func:`expressions`.
        eps, atol, rtol: passed to the check.
        settings: hypothesis ``settings`` for this test (default: the active profile).
    """
    check = gradcheck_directional if directional else gradcheck
    return _check_property(check, "gradcheck", op, arity, domain, max_inputs, max_steps, inputs,
                           eps, atol, rtol, settings)


def _check_property(
    check: Callable[..., bool], what: str, op: Any, arity: int | None,
    domain: Callable[..., bool] | None, max_inputs: int, max_steps: int,
    inputs: st.SearchStrategy[float] | None, eps: float, atol: float, rtol: float,
    settings: Settings | None,
) -> Callable[[], None]:
    """The hypothesis test "``check`` passes on every generated graph using ``op``"."""
    if op is None:
        strategy = expressions(max_inputs=max_inputs, max_steps=max_steps, inputs=inputs)
        label = "builtin_ops"
    else:
        spec = op if isinstance(op, str) else OpSpec.of(op, arity, domain)
        strategy = expressions(
            require=spec, max_inputs=max_inputs, max_steps=max_steps, inputs=inputs
        )
        label = spec if isinstance(spec, str) else spec.name

    def test(expr: GeneratedExpression) -> None:
        __tracebackhide__ = True
        check(expr.build, expr.inputs, eps=eps, atol=atol, rtol=rtol)

    safe = "".join(c if c.isalnum() else "_" for c in label)
    test.__name__ = test.__qualname__ = f"test_{what}_{safe}"
    test.__doc__ = f"For every generated graph using {label}, {what} passes."
    wrapped = given(strategy)(test)
    return settings(wrapped) if settings is not None else wrapped


def gradgradcheck_property(
    op: str | OpSpec | Callable[..., Value] | None = None,
    *,
    arity: int | None = None,
    domain: Callable[..., bool] | None = None,
    max_inputs: int = 3,
    max_steps: int = 4,
    inputs: st.SearchStrategy[float] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    settings: Settings | None = None,
) -> Callable[[], None]:
    """A ready hypothesis test: for every generated graph using ``op``, ``gradgradcheck`` passes.

    The second-order twin of :func:`gradcheck_property`: every second derivative of every drawn
    graph (from the op table's ``Value`` derivatives and, for a custom op, its derivative
    called on Values) must match central differences of the first derivatives::

        test_cube_curvature = gradgradcheck_property(cube)

    An op whose derivative works on floats only fails with the ``TypeError`` that says it is
    first order only. Arguments as for :func:`gradcheck_property`.
    """
    return _check_property(gradgradcheck, "gradgradcheck", op, arity, domain, max_inputs,
                           max_steps, inputs, eps, atol, rtol, settings)


# ----------------------------------------------------------------------------- networks
@dataclass
class GeneratedNetwork:
    """A random network with one example: check it with ``gradcheck_model(*net.args)``.

    Attributes:
        model: a fresh ``MLP``.
        x: its input (floats).
        y: the target (floats; a one-hot vector for ``cross_entropy_cost``).
        cost: the cost function, ``cost(model(x), y) -> Value``.
        description: how it was made, e.g. ``"MLP(2, [3, 1], activation='tanh', seed=5)"``.
    """

    model: Any
    x: list[float]
    y: list[float]
    cost: Callable[[Any, Any], Value]
    description: str

    @property
    def args(self) -> tuple[Any, list[float], list[float], Callable[[Any, Any], Value]]:
        """``(model, x, y, cost)``, the positional arguments of ``gradcheck_model``."""
        return self.model, self.x, self.y, self.cost

    def __repr__(self) -> str:
        return (f"GeneratedNetwork({self.description}, cost={self.cost.__name__}, "
                f"x={self.x!r}, y={self.y!r})")


def _near_kink(out: Value, margin: float) -> bool:
    """Whether any relu/abs node of ``out``'s graph has its argument within ``margin`` of 0."""
    stack, seen = [out], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.op in ("relu", "abs") and abs(node.parents[0].data) < margin:
            return True
        stack.extend(node.parents)
    return False


@st.composite
def _mlps(
    draw: Any,
    activations: tuple[str, ...],
    costs: tuple[str, ...],
    max_inputs: int,
    max_layers: int,
    max_width: int,
) -> GeneratedNetwork:

    nin = draw(st.integers(1, max_inputs))
    nouts = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_layers))
    activation = draw(st.sampled_from(activations))
    output_activation = draw(st.sampled_from(activations))
    seed = draw(st.integers(0, 2**16))
    model = MLP(nin, nouts, activation, output_activation=output_activation, seed=seed)
    x = draw(st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=nin, max_size=nin))
    cost_name = draw(st.sampled_from(costs))
    cost = getattr(losses, cost_name)
    n_out = nouts[-1]
    if cost_name == "cross_entropy_cost":
        y = losses.one_hot(draw(st.integers(0, n_out - 1)), n_out)
    else:
        y = draw(st.lists(st.floats(0.0, 1.0), min_size=n_out, max_size=n_out))
    # Finite differences straddling a relu kink disagree with any derivative: avoid them.
    assume(not _near_kink(cost(model(x), y), 1e-3))
    model.zero_grad()
    description = (f"MLP({nin}, {nouts}, activation={activation!r}, "
                   f"output_activation={output_activation!r}, seed={seed})")
    return GeneratedNetwork(model, list(x), list(y), cost, description)


def mlps(
    *,
    activations: Sequence[str] = ACTIVATIONS,
    costs: Sequence[str] = COSTS,
    max_inputs: int = 4,
    max_layers: int = 3,
    max_width: int = 4,
) -> st.SearchStrategy[GeneratedNetwork]:
    """A strategy for small random ``MLP`` s, each with an input, a target and a cost.

    Draws ``MLP(nin, nouts, activation, output_activation=..., seed=...)`` (both activations
    from ``activations``) with ``nin ≤ max_inputs``, up to
    ``max_layers`` layers of up to ``max_width`` neurons, an input in [−2, 2], a target (floats
    in [0, 1] for ``quadratic_cost``, a one-hot vector for ``cross_entropy_cost``) and skips
    draws with a relu argument within 1e-3 of its kink. Check one with
    ``gradcheck_model(*net.args)``.

    Args:
        activations: the hidden/output activations to draw from (:data:`ACTIVATIONS`).
        costs: names of cost functions in ``tinygrad_lite.losses`` (:data:`COSTS`).
        max_inputs, max_layers, max_width: size limits (each at least 1).
    """
    activations = tuple(activations)
    costs = tuple(costs)
    for a in activations:
        if a not in ACTIVATIONS:
            raise ValueError(f"unknown activation {a!r}; choose from {', '.join(ACTIVATIONS)}")
    for c in costs:
        if c not in COSTS:
            raise ValueError(f"unknown cost {c!r}; choose from {', '.join(COSTS)}")
    if not activations or not costs:
        raise ValueError("activations and costs must not be empty")
    return _mlps(
        activations,
        costs,
        positive_int(max_inputs, "max_inputs"),
        positive_int(max_layers, "max_layers"),
        positive_int(max_width, "max_width"),
    )
