"""Derivatives of derivatives: :func:`grad` (as numbers or as graphs), :func:`hessian`,
:func:`hvp` and forward mode :func:`jvp`.

``backward()`` adds ∂output/∂node into every node's ``.grad``. :func:`grad` computes the same
derivatives without touching ``.grad``, for the inputs you ask about, and can return them
**as graphs**: with ``create_graph=True`` each derivative is a ``Value`` built from the op
table's ``Value``-expression local derivatives (σ' = s·(1 − s), ...). Such a ``Value`` is an
ordinary graph: ``backward()``, ``grad()`` again, ``draw_graph`` and ``gradcheck`` work on it,
which is how second derivatives are computed::

    >>> from tinygrad_lite import Value
    >>> x = Value(2.0)
    >>> y = x ** 3
    >>> (dy,) = grad(y, [x], create_graph=True)     # 3x², as a graph
    >>> dy.data, grad(dy, [x])[0]                     # 3·4, and (x³)'' = 6x = 12
    (12.0, 12.0)

There is no ``backward(create_graph=True)``: ``.grad`` holds floats (optimizers and the
compiler rely on it), so graphs of derivatives come from :func:`grad` only.

Forward mode (:func:`jvp`, :func:`jvp_graph`) pushes a tangent from the inputs to the outputs
through the recorded graph with the same float local derivatives ``backward()`` uses: one pass
per input direction, where reverse mode needs one pass per output.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Sequence, Union

from tinygrad_lite.engine import Value, is_grad_enabled, topological_order
from tinygrad_lite.optable import record_of

__all__ = ["grad", "hessian", "hvp", "jvp", "jvp_graph"]

Gradient = Union[Value, float]
Function = Callable[[list[Value]], Any]


# ----------------------------------------------------------------------------- checks
def _values(items: Any, what: str) -> list[Value]:
    if isinstance(items, Value):
        raise TypeError(f"{what} must be a sequence of Values, got a single Value; wrap it in "
                        "a list: [x]")
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"{what} must be a sequence of Values, got {type(items).__name__}")
    out = list(items)
    for i, v in enumerate(out):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{i}] must be a Value, got {type(v).__name__}: {v!r:.60}")
    return out


def _floats(items: Any, what: str) -> list[float]:
    """A sequence of real numbers (or Values, whose ``data`` is used) as floats."""
    if isinstance(items, (Value, numbers.Real, str, bytes)) or not hasattr(items, "__len__"):
        raise TypeError(f"{what} must be a sequence of numbers, got {type(items).__name__}")
    out = []
    for i, x in enumerate(items):
        if type(x) is float and x - x == 0.0:  # the usual case: a finite float
            out.append(x)
        elif isinstance(x, Value):
            out.append(x.data)
        elif isinstance(x, numbers.Real):
            out.append(Value(x).data)  # the engine's conversion and finiteness check
        else:
            raise TypeError(f"{what}[{i}] must be a real number, got {type(x).__name__}: "
                            f"{x!r:.60}")
    if not out:
        raise ValueError(f"{what} is empty: give at least one number")
    return out


def _flag(x: Any, name: str) -> bool:
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__}: {x!r:.60}")
    return x


def _scalar_output(f: Function, leaves: list[Value], who: str) -> Value:
    if not callable(f):
        raise TypeError(f"{who}: f must be callable, got {type(f).__name__}")
    out = f(list(leaves))
    if not isinstance(out, Value):
        raise TypeError(f"{who}: f must return one Value, got {type(out).__name__}: {out!r:.60}")
    return out


def _leaves(xs: Sequence[float]) -> list[Value]:
    return [Value(x, label=f"x{i}") for i, x in enumerate(xs)]


# ----------------------------------------------------------------------------- reverse mode
def _relevant(order: list[Value], inputs: list[Value]) -> set[int]:
    """The ids of the nodes through which ``output`` depends on an input (inputs included)."""
    wanted = {id(x) for x in inputs}
    relevant: set[int] = set()
    for node in order:
        if id(node) in wanted or any(id(p) in relevant for p in node.parents):
            relevant.add(id(node))
    return relevant


def _times(local: Gradient, g: Gradient) -> Gradient:
    """``local · g``, skipping the factors 1 and 0 so that derivative graphs stay small."""
    if isinstance(local, float):
        if local == 0.0:
            return 0.0
        if local == 1.0:
            return g
        if local == -1.0:
            return -g
    if isinstance(g, float):
        if g == 0.0:
            return 0.0
        if g == 1.0:
            return local
    return local * g


def _total(terms: list[Gradient]) -> Gradient:
    """The sum of the gradient contributions reaching one node."""
    values = [t for t in terms if isinstance(t, Value)]
    constant = sum(t for t in terms if not isinstance(t, Value))
    if not values:
        return float(constant)
    if len(values) == 1:
        return values[0] + constant if constant else values[0]
    if len(values) == 2 and not constant:
        return values[0] + values[1]
    return Value.sum([*values, constant] if constant else values)


def _value_derivatives(node: Value) -> Sequence[Gradient]:
    record = record_of(node)
    if record is None or record.value_derivatives is None:
        raise TypeError(
            f"op {node.op!r} (made with Value.from_op) has only float local derivatives: it can "
            "be differentiated once, not twice; define it with tinygrad_lite.ops.custom_op and "
            "a derivative written with Value ops to get derivatives as graphs"
        )
    return record.value_derivatives(node)


def _name_new(g: Gradient, node: Value, output: Value, original: set[int]) -> None:
    """Label a gradient Value made by this pass "∂C/∂s" after the labels of ``output`` and
    ``node``, so that drawings of derivative graphs read as backpropagation. Values of the
    original graph (∂(x·y)/∂x is y itself) keep their own labels."""
    if isinstance(g, Value) and node.label and not g.label and id(g) not in original:
        g.label = f"∂{output.label or 'out'}/∂{node.label}"


def _graph_pass(output: Value, order: list[Value], relevant: set[int]) -> dict[int, Gradient]:
    terms: dict[int, list[Gradient]] = {id(output): [1.0]}
    grads: dict[int, Gradient] = {}
    original = {id(v) for v in order}
    for node in reversed(order):
        pending = terms.pop(id(node), None)
        if pending is None:
            continue
        g = grads[id(node)] = _total(pending)
        _name_new(g, node, output, original)
        if not node.parents or (isinstance(g, float) and g == 0.0):
            continue
        locals_ = _value_derivatives(node)
        for parent, local in zip(node.parents, locals_):
            if id(parent) in relevant:
                term = _times(local, g)
                if not (isinstance(term, float) and term == 0.0):
                    terms.setdefault(id(parent), []).append(term)
    return grads


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Any]:
    """∂output/∂input for each of ``inputs``, without touching any ``.grad``.

    Args:
        output: the Value to differentiate.
        inputs: the Values to differentiate with respect to (leaves or interior nodes); an
            input ``output`` does not depend on gets 0.
        create_graph: ``False``: floats, from the float local derivatives ``backward()`` uses.
            ``True``: Values whose graphs compute the derivatives from the op table's
            ``Value``-expression local derivatives, so they can be differentiated again
            (an input's derivative that is a constant is a leaf ``Value``). New gradient
            nodes of labelled values get labels like ``"∂C/∂s"``, so drawings read well.

    Returns:
        One float (or Value) per input, in order.

    Raises:
        TypeError: ``output`` or an input is not a Value; with ``create_graph=True``, the graph
            has an op whose derivative is known only as floats (a ``Value.from_op`` op, or a
            ``custom_op`` whose derivative needs floats).
        RuntimeError: ``create_graph=True`` inside ``no_grad()``, which records no graph.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = _values(inputs, "grad: inputs")
    if _flag(create_graph, "create_graph") and not is_grad_enabled():
        raise RuntimeError("grad(..., create_graph=True) builds graphs, which no_grad() does "
                           "not record: call it outside no_grad()")
    if not create_graph:
        return output.derivatives(inputs)  # backward()'s own pass, read out
    order = topological_order(output)
    graphs = _graph_pass(output, order, _relevant(order, inputs))
    found = [graphs.get(id(x), 0.0) for x in inputs]
    return [g if isinstance(g, Value) else Value(g) for g in found]


def hessian(f: Function, xs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives H[i][j] = ∂²f/∂xᵢ∂xⱼ of ``f`` at ``xs``.

    ``f`` receives a list of fresh leaf Values (labelled ``x0``, ``x1``, ...) and returns one
    Value. Costs one graph of the gradient plus one reverse pass per input.

    >>> hessian(lambda x: x[0] * x[0] * x[1], [3.0, 2.0])
    [[4.0, 6.0], [6.0, 0.0]]

    Raises:
        TypeError: ``f`` is not callable or does not return a Value; ``xs`` is not numbers; an
            op of ``f`` has float-only derivatives.
    """
    leaves = _leaves(_floats(xs, "hessian: xs"))
    out = _scalar_output(f, leaves, "hessian")
    first = grad(out, leaves, create_graph=True)
    return [grad(g, leaves) for g in first]


def hvp(f: Function, xs: Sequence[float], v: Sequence[float]) -> list[float]:
    """The Hessian-vector product H·v of ``f`` at ``xs``, without forming H.

    Computed as ∇(∇f · v): one graph of the gradient and one reverse pass, whatever the
    number of inputs.

    Raises:
        ValueError: ``v`` and ``xs`` differ in length; TypeError as :func:`hessian`.
    """
    point = _floats(xs, "hvp: xs")
    direction = _floats(v, "hvp: v")
    if len(direction) != len(point):
        raise ValueError(f"hvp: v has {len(direction)} entries but xs has {len(point)}")
    leaves = _leaves(point)
    out = _scalar_output(f, leaves, "hvp")
    first = grad(out, leaves, create_graph=True)
    projected = Value.sum([g * d for g, d in zip(first, direction)])
    return grad(projected, leaves)


# ----------------------------------------------------------------------------- forward mode
def jvp_graph(outputs: Union[Value, Sequence[Value]], inputs: Sequence[Value],
              tangents: Sequence[float]) -> Union[float, list[float]]:
    """Forward mode on a recorded graph: the derivative of ``outputs`` along ``tangents``.

    Gives each input its tangent (dinput), then walks the graph from the inputs to the
    outputs computing dnode = Σ ∂node/∂parent · dparent with the float local derivatives
    ``backward()`` uses. One pass gives every output's derivative along one direction.

    Returns:
        A float for one output Value, a list of floats for a sequence of outputs.

    Raises:
        ValueError: ``tangents`` and ``inputs`` differ in length.
    """
    single = isinstance(outputs, Value)
    outs = [outputs] if single else _values(outputs, "jvp_graph: outputs")
    inputs = _values(inputs, "jvp_graph: inputs")
    direction = _floats(tangents, "jvp_graph: tangents") if inputs else []
    if len(direction) != len(inputs):
        raise ValueError(f"jvp_graph: {len(direction)} tangents for {len(inputs)} inputs")
    tangent: dict[int, float] = {}
    seeded = {id(x) for x in inputs}  # an input's tangent is its own, not computed
    for x, d in zip(inputs, direction):
        if d:
            tangent[id(x)] = tangent.get(id(x), 0.0) + d
    get = tangent.get
    for node in topological_order(outs):
        parents = node.parents
        if not parents or id(node) in seeded:
            continue
        total = 0.0
        for parent, local in zip(parents, node.local_grads):
            t = get(id(parent))
            if t:  # None (no tangent reaches it) and 0.0 add nothing
                total += local * t
        tangent[id(node)] = total
    found = [tangent.get(id(o), 0.0) for o in outs]
    return found[0] if single else found


def jvp(f: Callable[[list[Value]], Any], xs: Sequence[float],
        v: Sequence[float]) -> tuple[Any, Any]:
    """Forward mode: ``f(xs)`` and its derivative along ``v`` (the Jacobian times ``v``).

    ``f`` receives fresh leaf Values and returns one Value or a sequence of Values.

    >>> jvp(lambda x: x[0] * x[1], [3.0, 2.0], [1.0, 0.0])   # (6, ∂/∂x0 = 2)
    (6.0, 2.0)

    Returns:
        ``(value, derivative)``: floats for one output, lists of floats for several.

    Raises:
        ValueError: ``v`` and ``xs`` differ in length; TypeError: ``f`` returns no Value(s).
    """
    leaves = _leaves(_floats(xs, "jvp: xs"))
    direction = _floats(v, "jvp: v")
    if len(direction) != len(leaves):
        raise ValueError(f"jvp: v has {len(direction)} entries but xs has {len(leaves)}")
    if not callable(f):
        raise TypeError(f"jvp: f must be callable, got {type(f).__name__}")
    out = f(list(leaves))
    if isinstance(out, Value):
        return out.data, jvp_graph(out, leaves, direction)
    outs = _values(out, "jvp: the outputs of f")
    return [o.data for o in outs], jvp_graph(outs, leaves, direction)
