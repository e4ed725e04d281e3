"""Trust the gradients: compare ``backward()`` with finite differences.

Every check evaluates a function twice per direction with its inputs nudged by ``±eps``,
computes the central difference ``(f(x + eps) − f(x − eps)) / 2eps`` and compares it with the
analytic partial derivative that :meth:`Value.backward` produced. A pair *matches* when

    |analytical − numerical| ≤ atol + rtol · |numerical|

* :func:`gradcheck` checks every partial derivative of ``f`` (2 evaluations per input);
* :func:`gradcheck_directional` checks one random directional derivative ∇f·v (2 evaluations in
  all, the check JAX's ``check_grads`` does), for functions of many inputs;
* :func:`gradcheck_model` checks a network's parameters against its cost on one example;
* :func:`gradgradcheck` checks every second derivative (the Hessian from
  :func:`tinygrad_lite.autodiff.grad` with ``create_graph=True``) against central differences
  of the analytic first derivatives (2 gradient evaluations per input).

On a mismatch they raise :class:`GradcheckError`, an ``AssertionError``, so a failed check
fails a test by itself; with ``raise_exception=False`` they return ``False`` instead.

Finite differences are only meaningful where ``f`` is smooth: keep the inputs away from kinks
(``relu``/``abs`` at 0) and from the edges of a domain (``log`` near 0) by more than ``eps``.
"""

from __future__ import annotations

import math
import numbers
import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from tinygrad_lite._checks import finite_number, positive_int
from tinygrad_lite._checks import rng as make_rng
from tinygrad_lite.autodiff import grad
from tinygrad_lite.engine import Value, is_grad_enabled, no_grad
from tinygrad_lite.losses import quadratic_cost
from tinygrad_lite.nn import bias_label, weight_label

__all__ = [
    "GradcheckError",
    "GradMismatch",
    "gradcheck",
    "gradcheck_directional",
    "gradcheck_model",
    "gradgradcheck",
]

Function = Callable[[list[Value]], Value]

_MAX_SHOWN = 8  # entries of a direction vector shown in a message


@dataclass(frozen=True)
class GradMismatch:
    """One analytic derivative that disagrees with its finite difference.

    Attributes:
        what: what it is the derivative with respect to ("input 2", "parameter 7 (layer 0, ...)",
            "a random unit direction v (seed=0)").
        index: the input or parameter index, or ``None`` for a directional derivative.
        numerical: the central finite difference.
        analytical: the value ``backward()`` produced.
        tolerance: ``atol + rtol * |numerical|``.
        output: what was differentiated: "output 0" (f itself), or "∂f/∂x1" for a second
            derivative found by :func:`gradgradcheck`.
    """

    what: str
    index: int | None
    numerical: float
    analytical: float
    tolerance: float
    output: str = "output 0"


class GradcheckError(AssertionError):
    """Analytic gradients from ``backward()`` disagree with finite differences.

    A subclass of ``AssertionError``, so a failed check fails a test without an ``assert``.
    ``mismatches`` lists every disagreeing derivative (see :class:`GradMismatch`).
    """

    def __init__(self, message: str, mismatches: Sequence[GradMismatch] = ()) -> None:
        super().__init__(message)
        self.mismatches: tuple[GradMismatch, ...] = tuple(mismatches)


# ----------------------------------------------------------------------------- validation
def _tolerances(eps: Any, atol: Any, rtol: Any) -> tuple[float, float, float]:
    eps_, atol_, rtol_ = finite_number(eps, "eps"), finite_number(atol, "atol"), finite_number(rtol, "rtol")
    if eps_ <= 0.0:
        raise ValueError(f"eps must be > 0, got {eps_}")
    if atol_ < 0.0:
        raise ValueError(f"atol must be >= 0, got {atol_}")
    if rtol_ < 0.0:
        raise ValueError(f"rtol must be >= 0, got {rtol_}")
    return eps_, atol_, rtol_


def _flag(x: Any, name: str) -> bool:
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__}: {x!r:.60}")
    return x


def _require_grad_mode(who: str) -> None:
    if not is_grad_enabled():
        raise RuntimeError(
            f"{who} needs backward(), which records nothing inside a no_grad() block; "
            "call it outside no_grad()"
        )


def _input_floats(inputs: Any) -> list[float]:
    """``inputs`` as a list of floats (Values contribute their ``data``)."""
    if isinstance(inputs, (Value, numbers.Real)):
        raise TypeError(
            f"inputs must be a sequence of numbers, got a single {type(inputs).__name__}; "
            "wrap it in a list: [x]"
        )
    if isinstance(inputs, (str, bytes)):
        raise TypeError(f"inputs must be a sequence of numbers, got {type(inputs).__name__}")
    try:
        items = list(inputs)
    except TypeError:
        raise TypeError(
            f"inputs must be a sequence of numbers, got {type(inputs).__name__}"
        ) from None
    if not items:
        raise ValueError("inputs is empty: gradcheck needs at least one input to vary")
    values = []
    for i, x in enumerate(items):
        if isinstance(x, Value):
            values.append(x.data)
        elif isinstance(x, numbers.Real):
            values.append(finite_number(x, f"inputs[{i}]"))
        else:
            raise TypeError(
                f"inputs[{i}] must be a real number or a Value, got {type(x).__name__}: {x!r:.60}"
            )
    return values


def _check_result(out: Any, who: str) -> Value:
    if isinstance(out, Value):
        return out
    hint = ""
    if isinstance(out, numbers.Real):
        hint = " (return the Value itself, not its .data or a float computed from it)"
    elif isinstance(out, (list, tuple)):
        hint = " (gradcheck checks a scalar function: return one Value, e.g. Value.sum(outputs))"
    raise TypeError(f"{who} must return a Value, got {type(out).__name__}: {out!r:.60}{hint}")


# ----------------------------------------------------------------------------- evaluation
def _call(f: Function, values: Sequence[float]) -> Value:
    """f on fresh leaves labelled x0, x1, ... (a copy of the list, in case f mutates it)."""
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    return _check_result(f(list(leaves)), "f")


def _analytic(f: Function, values: Sequence[float]) -> list[float]:
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    out = _check_result(f(list(leaves)), "f")
    out.backward()
    return [leaf.grad for leaf in leaves]


def _shifted_data(
    evaluate: Callable[[], Value], where: str, eps: float, who: str = "f"
) -> float:
    """``evaluate()`` under no_grad, with a clear error if it fails at the shifted point."""
    try:
        with no_grad():
            out = evaluate()
    except (ValueError, ArithmeticError) as error:
        raise ValueError(
            f"{who} failed at the point shifted by {where} ({type(error).__name__}: {error}); "
            f"the point is within eps={eps:g} of the edge of a domain (or of overflow): move "
            "it away from there or use a smaller eps"
        ) from error
    return out.data


def _central_difference(
    f: Function, values: Sequence[float], direction: Sequence[float], eps: float, where: str
) -> float:
    plus = [x + eps * d for x, d in zip(values, direction)]
    minus = [x - eps * d for x, d in zip(values, direction)]
    up = _shifted_data(lambda: _call(f, plus), f"+eps along {where}", eps)
    down = _shifted_data(lambda: _call(f, minus), f"-eps along {where}", eps)
    return (up - down) / (2.0 * eps)


def _compare(
    what: str, index: int | None, numerical: float, analytical: float, atol: float, rtol: float,
    output: str = "output 0",
) -> GradMismatch | None:
    tolerance = atol + rtol * abs(numerical)
    # `not <=` so that a nan on either side counts as a mismatch.
    if not abs(analytical - numerical) <= tolerance:
        return GradMismatch(what, index, numerical, analytical, tolerance, output)
    return None


def _fail(
    mismatches: list[GradMismatch], total: int, eps: float, atol: float, rtol: float,
    raise_exception: bool, footer: str,
    title: str = "gradcheck failed: {n} of {total} derivative(s) differ from central finite "
                 "differences",
) -> bool:
    __tracebackhide__ = True  # pytest then shows the caller's line, not this one
    if not mismatches:
        return True
    if not raise_exception:
        return False
    lines = [
        f"{title.format(n=len(mismatches), total=total)} "
        f"(eps={eps:g}, atol={atol:g}, rtol={rtol:g})."
    ]
    for m in mismatches:
        heading = (f"Jacobian mismatch for {m.output} with respect to" if m.index is not None
                   else f"Directional derivative mismatch for {m.output} along")
        lines.append(
            f"{heading} {m.what},\n"
            f"    numerical: {m.numerical:.10g}, analytical: {m.analytical:.10g}, "
            f"|difference|: {abs(m.analytical - m.numerical):.3g}, "
            f"tolerance: atol + rtol*|numerical| = {atol:g} + {rtol:g}*{abs(m.numerical):.6g} "
            f"= {m.tolerance:.6g}"
        )
    lines.append(footer)
    raise GradcheckError("\n".join(lines), mismatches)


_HINT = (
    "A wrong local derivative in an op is the usual cause; finite differences are also "
    "unreliable within eps of a kink (relu/abs at 0) or of the edge of a domain."
)


def _format_vector(values: Sequence[float]) -> str:
    shown = ", ".join(f"{v:.4g}" for v in values[:_MAX_SHOWN])
    more = f", ... ({len(values)} entries)" if len(values) > _MAX_SHOWN else ""
    return f"[{shown}{more}]"


def _unit_direction(n: int, rng: random.Random) -> list[float]:
    while True:
        v = [rng.gauss(0.0, 1.0) for _ in range(n)]
        norm = math.sqrt(sum(x * x for x in v))
        if norm > 1e-12:
            return [x / norm for x in v]


# ----------------------------------------------------------------------------- public checks
def _check_arguments(who: str, f: Any, inputs: Any, eps: Any, atol: Any, rtol: Any,
                     raise_exception: Any) -> tuple[list[float], float, float, float, bool]:
    """The checked arguments shared by :func:`gradcheck` and :func:`gradcheck_directional`."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    values = _input_floats(inputs)
    eps, atol, rtol = _tolerances(eps, atol, rtol)
    raise_exception = _flag(raise_exception, "raise_exception")
    _require_grad_mode(who)
    return values, eps, atol, rtol, raise_exception


def gradcheck(
    f: Function,
    inputs: Sequence[float | Value],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check every partial derivative of ``f`` at ``inputs`` against a central finite difference.

    ``f`` receives a list of fresh leaf ``Value`` s (labelled ``x0``, ``x1``, ...) holding the
    ``inputs`` and must return one ``Value``. The analytic gradient comes from one
    ``backward()``; the numerical one from ``(f(x + eps·eᵢ) − f(x − eps·eᵢ)) / 2eps``, with
    ``f`` evaluated under :class:`no_grad`. So ``f`` is called ``1 + 2·len(inputs)`` times and
    must give the same result for the same inputs. The caller's Values are not touched.

    >>> gradcheck(lambda x: (x[0] * x[1]).sigmoid() + x[2].log(), [0.5, -1.0, 2.0])
    True

    Args:
        f: a function from a list of Values to a Value.
        inputs: the point to check at: numbers (or Values, whose ``data`` is used).
        eps: the step of the finite difference (> 0).
        atol, rtol: a pair matches when ``|analytical − numerical| ≤ atol + rtol·|numerical|``.
        raise_exception: on a mismatch, raise (the default) or return ``False``.

    Returns:
        ``True`` when every derivative matches (``False`` on a mismatch if not raising).

    Raises:
        GradcheckError: a derivative differs; the message names the input index, both numbers
            and the tolerance, like PyTorch's "Jacobian mismatch for output 0 with respect to
            input 2, numerical: ..., analytical: ..., tolerance: ...".
        TypeError: ``f`` is not callable or returns something other than a ``Value``; an input
            is not a number.
        ValueError: ``inputs`` is empty; ``eps ≤ 0``; a tolerance is negative; ``f`` fails
            (a domain error) at ``x ± eps``.
        RuntimeError: called inside ``no_grad()``.
    """
    __tracebackhide__ = True
    values, eps, atol, rtol, raise_exception = _check_arguments(
        "gradcheck", f, inputs, eps, atol, rtol, raise_exception)

    analytic = _analytic(f, values)
    mismatches = []
    for i, x in enumerate(values):
        unit = [0.0] * len(values)
        unit[i] = 1.0
        numerical = _central_difference(f, values, unit, eps, f"input {i}")
        found = _compare(f"input {i} (x{i} = {x:.6g})", i, numerical, analytic[i], atol, rtol)
        if found:
            mismatches.append(found)
    return _fail(mismatches, len(values), eps, atol, rtol, raise_exception, _HINT)


def gradcheck_directional(
    f: Function,
    inputs: Sequence[float | Value],
    *,
    seed: int | random.Random | None = 0,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check one random directional derivative ∇f·v of ``f`` against a finite difference.

    Draws a random unit vector ``v`` (from ``seed``) and compares ∇f·v, with ∇f from one
    ``backward()``, with ``(f(x + eps·v) − f(x − eps·v)) / 2eps``: three calls of ``f``
    whatever the number of inputs, as JAX's ``check_grads`` and autograd's directional check
    do. A wrong partial derivative is caught unless ``v`` happens to be nearly orthogonal to the
    error, which for a random ``v`` is unlikely; when it fails, run :func:`gradcheck` to find
    which input is wrong. Arguments and errors are as for :func:`gradcheck`.

    Args:
        seed: an int or ``random.Random`` for a reproducible direction, or ``None`` for a fresh
            one each call.
    """
    __tracebackhide__ = True
    values, eps, atol, rtol, raise_exception = _check_arguments(
        "gradcheck_directional", f, inputs, eps, atol, rtol, raise_exception)
    rng = make_rng(seed)

    analytic = _analytic(f, values)
    v = _unit_direction(len(values), rng)
    where = f"a random unit direction v (seed={seed!r})" if not isinstance(
        seed, random.Random) else "a random unit direction v"
    numerical = _central_difference(f, values, v, eps, "v")
    projected = math.fsum(g * d for g, d in zip(analytic, v))
    found = _compare(where, None, numerical, projected, atol, rtol)
    footer = (
        f"v = {_format_vector(v)}, analytical = ∇f·v, numerical = (f(x+eps·v) − f(x−eps·v))/2eps.\n"
        f"Run gradcheck(f, inputs) to find which input's derivative is wrong. {_HINT}"
    )
    return _fail([found] if found else [], 1, eps, atol, rtol, raise_exception, footer)


def _gradient_at(f: Function, values: Sequence[float], where: str, eps: float) -> list[float]:
    """The analytic gradient of ``f`` at ``values`` (a point shifted by ``where``)."""
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    try:
        out = _check_result(f(list(leaves)), "f")
        return grad(out, leaves)
    except (ValueError, ArithmeticError) as error:
        raise ValueError(
            f"f failed at the point shifted by {where} ({type(error).__name__}: {error}); "
            f"the point is within eps={eps:g} of the edge of a domain (or of overflow): move "
            "it away from there or use a smaller eps"
        ) from error


def _analytic_hessian(f: Function, values: Sequence[float]) -> list[list[float]]:
    """H[j][i] = ∂(∂f/∂xⱼ)/∂xᵢ from the graphs of the first derivatives."""
    leaves = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    out = _check_result(f(list(leaves)), "f")
    return [grad(g, leaves) for g in grad(out, leaves, create_graph=True)]


def gradgradcheck(
    f: Function,
    inputs: Sequence[float | Value],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check every second derivative ∂²f/∂xᵢ∂xⱼ of ``f`` against finite differences.

    The analytic second derivatives come from the graphs of the first derivatives
    (:func:`tinygrad_lite.autodiff.grad` with ``create_graph=True``, built from the op table's
    ``Value`` derivatives); the numerical ones are central differences of the analytic first
    derivatives, ``(∂f/∂xⱼ(x + eps·eᵢ) − ∂f/∂xⱼ(x − eps·eᵢ)) / 2eps``. Arguments, tolerances
    and errors are those of :func:`gradcheck`; a mismatch names the first derivative and the
    input: "Jacobian mismatch for ∂f/∂x1 with respect to input 0 (x0 = 0.5), numerical: ...".

    >>> gradgradcheck(lambda x: (x[0] * x[1]).sigmoid() + x[1].log() * x[0], [0.5, 2.0])
    True

    Raises:
        GradcheckError: a second derivative differs.
        TypeError: as :func:`gradcheck`, and an op of ``f`` whose derivative is known only as
            floats (it cannot be differentiated twice).
        ValueError, RuntimeError: as :func:`gradcheck`.
    """
    __tracebackhide__ = True
    values, eps, atol, rtol, raise_exception = _check_arguments(
        "gradgradcheck", f, inputs, eps, atol, rtol, raise_exception)
    analytic = _analytic_hessian(f, values)
    mismatches = []
    for i, x in enumerate(values):
        up = _gradient_at(f, [v + eps if k == i else v for k, v in enumerate(values)],
                          f"+eps along input {i}", eps)
        down = _gradient_at(f, [v - eps if k == i else v for k, v in enumerate(values)],
                            f"-eps along input {i}", eps)
        for j in range(len(values)):
            numerical = (up[j] - down[j]) / (2.0 * eps)
            found = _compare(f"input {i} (x{i} = {x:.6g})", i, numerical, analytic[j][i],
                             atol, rtol, output=f"∂f/∂x{j}")
            if found:
                mismatches.append(found)
    n = len(values)
    return _fail(mismatches, n * n, eps, atol, rtol, raise_exception,
                 "A wrong Value-expression derivative (in the op table, or a custom op's "
                 "derivative written with Value ops) is the usual cause; finite differences are "
                 "also unreliable within eps of a kink (relu/abs at 0) or of the edge of a "
                 "domain.",
                 "gradgradcheck failed: {n} of {total} second derivative(s) differ from central "
                 "finite differences of the first derivatives")


def _parameter_names(model: Any) -> dict[int, str]:
    """id(parameter) → "w⁽¹⁾₀,₂: layer 1, neuron 0, weight 2" for MLP / Layer / Neuron models.

    The symbol is the parameter's name in the videos (:func:`~tinygrad_lite.nn.weight_label`,
    layers from 1); the words say the same for a reader who does not know the notation.
    """
    names: dict[int, str] = {}

    def neuron(n: Any, layer: int | None, j: int | None) -> None:
        where = "".join([f"layer {layer}, " if layer else "",
                         f"neuron {j}, " if j is not None else ""])
        ws = getattr(n, "w", None)
        for k, w in enumerate(ws if isinstance(ws, (list, tuple)) else ()):
            names.setdefault(id(w), f"{weight_label(layer, j, k)}: {where}weight {k}")
        b = getattr(n, "b", None)
        if isinstance(b, Value):
            names.setdefault(id(b), f"{bias_label(layer, j)}: {where}bias")

    def layer_(lay: Any, number: int | None) -> None:
        neurons = getattr(lay, "neurons", None)
        for j, n in enumerate(neurons if isinstance(neurons, (list, tuple)) else ()):
            neuron(n, number, j)

    layers = getattr(model, "layers", None)
    if isinstance(layers, (list, tuple)):
        for number, lay in enumerate(layers, start=1):
            layer_(lay, number)
    elif hasattr(model, "neurons"):
        layer_(model, None)
    else:
        neuron(model, None, None)
    return names


def _model_parameters(model: Any) -> list[Value]:
    get = getattr(model, "parameters", None)
    if not callable(get) or not callable(model):
        raise TypeError(
            f"model must be callable and have a parameters() method (an MLP, Layer or Neuron), "
            f"got {type(model).__name__}"
        )
    params = list(get())
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"model.parameters()[{i}] is a {type(p).__name__}, not a Value")
    if not params:
        raise ValueError("model.parameters() is empty: there is nothing to check")
    return params


def _chosen(n: int, max_params: Any, rng: random.Random) -> list[int]:
    if max_params is None:
        return list(range(n))
    max_params = positive_int(max_params, "max_params")
    if max_params >= n:
        return list(range(n))
    return sorted(rng.sample(range(n), max_params))


def gradcheck_model(
    model: Any,
    x: Sequence[float | Value],
    y: Any,
    cost: Callable[[Any, Any], Value] | None = None,
    *,
    directional: bool = False,
    max_params: int | None = None,
    seed: int | random.Random | None = 0,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check ∂cost/∂parameter from ``backward()`` for a network on one example ``(x, y)``.

    Evaluates ``cost(model(x), y)``, runs ``backward()``, then nudges each checked parameter's
    ``.data`` by ``±eps`` in place (or all of them along one random direction when
    ``directional=True``) and compares with the central finite difference of the cost.
    Every parameter's ``.data`` and ``.grad`` are restored exactly afterwards, even when the
    check fails or the model raises.

    Args:
        model: an ``MLP`` (or anything callable with a ``parameters()`` list of Values).
        x: one input (numbers or Values), as ``model(x)`` takes it.
        y: its target, as ``cost`` takes it (``one_hot(label)`` for a digit).
        cost: ``cost(outputs, y) -> Value``; the default is ``losses.quadratic_cost``.
        directional: check one random directional derivative instead of every partial
            (3 cost evaluations instead of 1 + 2 per parameter).
        max_params: check only this many parameters, chosen at random from ``seed``.
        seed: an int, ``random.Random`` or ``None``: picks ``max_params`` and the direction.
        eps, atol, rtol, raise_exception: as for :func:`gradcheck`.

    Returns:
        ``True`` when the gradients match (``False`` on a mismatch if not raising).

    Raises:
        GradcheckError: a derivative differs; the message names the parameter's index in
            ``model.parameters()`` and, for an ``MLP``, its layer, neuron and weight.
        TypeError: ``model`` has no ``parameters()``; ``cost`` does not return a ``Value``.
        ValueError: the model has no parameters; bad ``eps``/tolerances/``max_params``.
        RuntimeError: called inside ``no_grad()``.
    """
    __tracebackhide__ = True
    params = _model_parameters(model)
    if cost is None:
        cost = quadratic_cost
    elif not callable(cost):
        raise TypeError(f"cost must be callable, got {type(cost).__name__}")
    eps, atol, rtol = _tolerances(eps, atol, rtol)
    directional = _flag(directional, "directional")
    raise_exception = _flag(raise_exception, "raise_exception")
    rng = make_rng(seed)
    _require_grad_mode("gradcheck_model")

    chosen = [_unique_indices(params)[k] for k in _chosen(len(set(map(id, params))),
                                                           max_params, rng)]
    check = _ModelCheck(model, params, lambda: _check_result(cost(model(x), y), "cost"), eps)
    try:
        analytic = check.analytic(chosen)
        if directional:
            mismatches, total, footer = check.directional(chosen, analytic, rng, seed, atol, rtol)
        else:
            mismatches, total, footer = check.each(chosen, analytic, atol, rtol)
        return _fail(mismatches, total, eps, atol, rtol, raise_exception, footer)
    finally:
        check.restore()


def _unique_indices(params: Sequence[Value]) -> list[int]:
    """The index of each parameter's first appearance: one listed twice (a shared weight) is
    one input of the cost."""
    unique: list[int] = []
    seen: set[int] = set()
    for i, p in enumerate(params):
        if id(p) not in seen:
            seen.add(id(p))
            unique.append(i)
    return unique


class _ModelCheck:
    """The parameters of one :func:`gradcheck_model` call: nudged in place and restored."""

    def __init__(self, model: Any, params: list[Value], cost_value: Callable[[], Value],
                 eps: float) -> None:
        self.model, self.params, self.cost_value, self.eps = model, params, cost_value, eps
        self.saved = [(p.data, p.grad) for p in params]

    def analytic(self, chosen: Sequence[int]) -> dict[int, float]:
        """∂cost/∂parameter from ``backward()`` for the ``chosen`` parameters."""
        for p in self.params:
            p.grad = 0.0
        self.cost_value().backward()
        return {i: self.params[i].grad for i in chosen}

    def shifted_cost(self, shift: dict[int, float], where: str) -> float:
        """The cost with parameter i moved by ``shift[i]``, then put back."""
        params, saved = self.params, self.saved
        for i, d in shift.items():
            params[i].data = saved[i][0] + d
        try:
            return _shifted_data(self.cost_value, where, self.eps, "the cost")
        finally:
            for i in shift:
                params[i].data = saved[i][0]

    def each(self, chosen: Sequence[int], analytic: dict[int, float], atol: float,
             rtol: float) -> tuple[list[GradMismatch], int, str]:
        """Every chosen partial derivative against its central difference."""
        names = _parameter_names(self.model)
        mismatches = []
        for i in chosen:
            up = self.shifted_cost({i: self.eps}, f"+eps on parameter {i}")
            down = self.shifted_cost({i: -self.eps}, f"-eps on parameter {i}")
            numerical = (up - down) / (2.0 * self.eps)
            name = names.get(id(self.params[i]))
            what = f"parameter {i} ({f'{name}; ' if name else ''}data = {self.saved[i][0]:.6g})"
            found = _compare(what, i, numerical, analytic[i], atol, rtol)
            if found:
                mismatches.append(found)
        return mismatches, len(chosen), _HINT

    def directional(self, chosen: Sequence[int], analytic: dict[int, float],
                    rng: random.Random, seed: Any, atol: float,
                    rtol: float) -> tuple[list[GradMismatch], int, str]:
        """One random directional derivative over the chosen parameters."""
        eps = self.eps
        v = _unit_direction(len(chosen), rng)
        up = self.shifted_cost({i: eps * d for i, d in zip(chosen, v)}, "+eps along v")
        down = self.shifted_cost({i: -eps * d for i, d in zip(chosen, v)}, "-eps along v")
        numerical = (up - down) / (2.0 * eps)
        projected = math.fsum(analytic[i] * d for i, d in zip(chosen, v))
        found = _compare(f"a random unit direction v in parameter space (seed={seed!r})",
                         None, numerical, projected, atol, rtol)
        footer = (f"v = {_format_vector(v)} over parameters {_format_vector(chosen)}.\n"
                  f"Run gradcheck_model(..., directional=False) to find which parameter is "
                  f"wrong. {_HINT}")
        return ([found] if found else []), 1, footer

    def restore(self) -> None:
        """Every parameter's ``.data`` and ``.grad`` as they were before the check."""
        for p, (data, old_grad) in zip(self.params, self.saved):
            p.data = data
            p.grad = old_grad
