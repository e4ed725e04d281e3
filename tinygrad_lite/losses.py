"""Cost functions: the quadratic cost of the videos, its batch mean, and softmax cross-entropy.

* :func:`quadratic_cost` is 3Blue1Brown's C₀ = Σⱼ (aⱼ − yⱼ)² for one example: a plain sum over
  the outputs (no ½, no mean).
* :func:`batch_cost` is C = (1/n) Σₖ Cₖ over n examples, so its gradient is the mean of the
  per-example gradients.
* :func:`cross_entropy_cost` treats the outputs as logits: C = −Σⱼ yⱼ log softmax(a)ⱼ, whose
  gradient with respect to the logits is softmax(a) − y for a one-hot y. Pair it with a
  ``"linear"`` output layer.

Targets may be a label (an int, turned into :func:`one_hot` of the output length) or a sequence
of numbers of the same length as the outputs. A network with a single output takes one number:
a label 0/1 or a real-valued (regression) target, so ``quadratic_cost(net(x), 0.0)``,
``quadratic_cost(net(x)[0], 0.0)`` and ``batch_cost(net, X, [0, 1, 1, 0])`` work as written.
Every target number is converted to a Python float at this edge.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence, Union

from tinygrad_lite.data import one_hot
from tinygrad_lite.engine import Value

__all__ = [
    "quadratic_cost",
    "cross_entropy_cost",
    "batch_cost",
    "one_hot",
    "get_cost",
    "COSTS",
    "CostFunction",
    "Outputs",
    "Target",
]

#: A target: a label int, a sequence of numbers (or Values) as long as the outputs, or for a
#: single output one number.
Target = Union[int, Sequence[Union[float, Value]], Any]
#: A network's outputs: a sequence of Values, or one Value (``net(x)[0]`` of a single output).
Outputs = Union[Sequence[Value], Value]
#: A per-example cost: ``cost(outputs, target) -> Value``.
CostFunction = Callable[[Outputs, Target], Value]


def _output_list(outputs: Outputs, who: str) -> list:
    """``outputs`` as a list: one Value (a single-output network's ``net(x)[0]``) is a list of one."""
    if isinstance(outputs, Value):
        return [outputs]
    if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Sequence):
        raise TypeError(f"{who}: outputs must be a Value or a sequence of Values, "
                        f"got {type(outputs).__name__}")
    if len(outputs) == 0:
        raise ValueError(f"{who}: outputs is empty")
    return list(outputs)


def _target_number(y: Any, what: str) -> float:
    """One target number as a Python float (so float32 and float64 targets give one result)."""
    if isinstance(y, bool) or not isinstance(y, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(y).__name__}")
    try:
        y = float(y)
    except OverflowError:
        raise ValueError(f"{what} is too large for a float; targets must be finite") from None
    if not math.isfinite(y):
        raise ValueError(f"{what} is {y}; targets must be finite")
    return y


def _target_list(outputs: list, targets: Target, who: str) -> list:
    """The target as a list as long as ``outputs``.

    A label int becomes a one-hot vector; for a single output, one number (a label 0/1 or a
    real-valued target) is the target itself. Numbers become Python floats; Values stay.
    """
    n = len(outputs)
    if hasattr(targets, "tolist") and getattr(targets, "ndim", 1) in (0, 1):
        targets = targets.tolist()  # a NumPy scalar or 1-D array: Python numbers
    if isinstance(targets, (numbers.Real, Value)) and not isinstance(targets, bool) and n == 1:
        return [targets if isinstance(targets, Value) else _target_number(targets, f"{who}: target")]
    if isinstance(targets, numbers.Integral) and not isinstance(targets, bool):
        if not 0 <= targets < n:
            raise ValueError(f"{who}: label {int(targets)} out of range for {n} outputs "
                             f"(must be in [0, {n}))")
        return one_hot(int(targets), n)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        single = " (one number is a target only for a single output)" if isinstance(
            targets, numbers.Real) else ""
        raise TypeError(f"{who}: targets must be a label int or a sequence of numbers, "
                        f"got {type(targets).__name__}{single}")
    if len(targets) != n:
        raise ValueError(f"{who}: {len(targets)} targets for {n} outputs; they must match")
    return [y if isinstance(y, Value) else _target_number(y, f"{who}: target {j}")
            for j, y in enumerate(targets)]


def quadratic_cost(outputs: Outputs, targets: Target) -> Value:
    """C₀ = Σⱼ (aⱼ − yⱼ)², the cost of one example in 3Blue1Brown's videos.

    One ``sum`` node over the squared errors, so ∂C₀/∂aⱼ = 2(aⱼ − yⱼ).

    Args:
        outputs: the network's output activations a (Values; one Value for a single output).
        targets: the desired outputs y: a label int (→ one-hot) or a same-length sequence;
            for a single output also one number, e.g. ``quadratic_cost(net(x), 0.0)``.
            Numbers are taken as Python floats, so a float32 target gives the float64 result.

    Raises:
        ValueError: lengths differ, the label is out of range, or a target is not finite.
        TypeError: targets of the wrong type.
    """
    outputs = _output_list(outputs, "quadratic_cost")
    ys = _target_list(outputs, targets, "quadratic_cost")
    return Value.sum([(a - y) ** 2 for a, y in zip(outputs, ys)])


def cross_entropy_cost(outputs: Outputs, targets: Target) -> Value:
    """Softmax cross-entropy C = −Σⱼ yⱼ log softmax(a)ⱼ of the logits ``outputs``.

    Computed as C = (Σⱼ yⱼ)·LSE(a) − Σⱼ yⱼ aⱼ with the stable log-sum-exp
    LSE(a) = m + log Σⱼ exp(aⱼ − m), m = maxⱼ aⱼ, so no exp ever exceeds 1 and logits of
    ±10,000 are fine. Built from engine ops, so ∂C/∂aⱼ = (Σy)·softmax(a)ⱼ − yⱼ
    (softmax − y for a one-hot target).

    Args:
        outputs: logits (Values), typically from a ``"linear"`` output layer.
        targets: a label int (→ one-hot) or a same-length sequence of probabilities.

    Raises:
        ValueError / TypeError: as :func:`quadratic_cost`.
    """
    outputs = _output_list(outputs, "cross_entropy_cost")
    ys = _target_list(outputs, targets, "cross_entropy_cost")
    logits = [a if isinstance(a, Value) else Value(a) for a in outputs]
    # m is a constant: LSE's gradient does not depend on the shift, so it needs no graph.
    m = max(a.data for a in logits)
    lse = Value.sum([(a - m).exp() for a in logits]).log() + m
    weight = Value.sum(ys) if any(isinstance(y, Value) for y in ys) else float(sum(ys))
    return lse * weight - Value.affine(ys, logits)


#: Cost functions by the names the trainer and the command line use.
COSTS: dict[str, CostFunction] = {
    "quadratic": quadratic_cost,
    "cross-entropy": cross_entropy_cost,
}


def get_cost(cost: str | CostFunction) -> CostFunction:
    """A cost function from its name in :data:`COSTS` (or the function itself).

    A name may be spelled with an underscore instead of the hyphen: ``"cross_entropy"`` is
    ``"cross-entropy"``, wherever a cost is taken by name (:func:`batch_cost`, ``train``,
    ``CompiledTrainer``, ...).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        TypeError: neither a name nor a callable.
    """
    if isinstance(cost, str):
        try:
            return COSTS[cost.replace("_", "-")]
        except KeyError:
            raise ValueError(f"unknown cost {cost!r}; valid: {', '.join(COSTS)}") from None
    if not callable(cost):
        raise TypeError(f"cost must be a name ({', '.join(COSTS)}) or a function, "
                        f"got {type(cost).__name__}")
    return cost


def batch_cost(model: Callable[[Any], Sequence[Value]], xs: Sequence[Any] | Any,
               ys: Sequence[Target] | Any,
               cost: str | CostFunction = quadratic_cost) -> Value:
    """C = (1/n) Σₖ Cₖ: the mean cost of ``model`` over n examples.

    Its gradient is the mean of the per-example gradients, the quantity SGD steps along.

    Args:
        model: maps one input to its outputs (an :class:`~tinygrad_lite.nn.MLP`).
        xs: n inputs (a list of sequences or a 2-D NumPy array).
        ys: n targets (labels or target vectors).
        cost: a per-example cost function, or its name (``"quadratic"``, ``"cross-entropy"``;
            see :func:`get_cost`).

    Raises:
        ValueError: no examples, or ``xs`` and ``ys`` differ in length.
    """
    cost_fn = get_cost(cost)
    n = len(xs)
    if n == 0:
        raise ValueError("batch_cost: no examples (xs is empty)")
    if len(ys) != n:
        raise ValueError(f"batch_cost: {n} inputs but {len(ys)} targets; they must match")
    if hasattr(xs, "tolist"):
        xs = xs.tolist()
    if hasattr(ys, "tolist"):
        ys = ys.tolist()
    return Value.sum([cost_fn(model(x), y) for x, y in zip(xs, ys)]) * (1.0 / n)
