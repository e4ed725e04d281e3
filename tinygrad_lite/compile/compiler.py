"""Compiling: trace, check, lower (cached by structure) and wrap in a :class:`Program`."""

from __future__ import annotations

import numbers
from itertools import repeat
from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_lite.compile.arrays import check_dtype, real_array
from tinygrad_lite.compile.program import Lowered, Program, lower
from tinygrad_lite.compile.trace import Graph, TraceError, resolve_traces, trace_graph
from tinygrad_lite.engine import Value, is_grad_enabled
from tinygrad_lite.optim import assign_all

__all__ = ["compile_graph", "compile_function", "clear_cache", "cache_info"]

_CACHE: OrderedDict[tuple, Lowered] = OrderedDict()
_CACHE_SIZE = 16
_stats = {"hits": 0, "misses": 0}


def clear_cache() -> None:
    """Forget every lowered program (the next compile lowers again)."""
    _CACHE.clear()
    _stats["hits"] = _stats["misses"] = 0


def cache_info() -> dict[str, int]:
    """``{"hits", "misses", "size"}`` of the structure-keyed cache of lowered programs."""
    return {**_stats, "size": len(_CACHE)}


def _lowered(graph: Graph) -> Lowered:
    key = graph.key
    lo = _CACHE.get(key)
    if lo is not None:
        _stats["hits"] += 1
        _CACHE.move_to_end(key)
        return lo
    _stats["misses"] += 1
    lo = lower(graph)
    _CACHE[key] = lo
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return lo


def _banks(inputs: Any) -> list[list[Value]]:
    """One list of placeholders per input array: ``[x0, x1]`` or ``[[x0, x1], [y0]]``."""
    if isinstance(inputs, Value) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a sequence of Values (or of sequences of Values), got "
                        f"{type(inputs).__name__}")
    items = list(inputs)
    if items and all(isinstance(x, Value) for x in items):
        return [items]
    if not all(isinstance(x, Sequence) and not isinstance(x, (str, bytes)) for x in items):
        raise TypeError("inputs must be a sequence of Values, or a sequence of such sequences "
                        "(one per input array); got a mixture")
    return [list(x) for x in items]


def _checked(lowered: Lowered, graph: Graph, params: Sequence[Value], single: bool,
             dtype: Any) -> Program:
    """The program of ``lowered``, after checking (in float64) that it reproduces the traced
    outputs from the trace's own inputs."""
    program = Program(lowered, params, single_output=single)
    _check(program, graph)
    if np.dtype(check_dtype(dtype)) == program.dtype:
        return program
    return Program(lowered, params, single_output=single, dtype=dtype)


def _check(program: Program, graph: Graph) -> None:
    """Run the program on the trace's own values; it must reproduce the traced outputs."""
    arrays = [np.empty((1, n)) for n in graph.n_inputs]
    for i, node in enumerate(graph.nodes):
        if node.kind == "input":
            bank, column = node.extra
            arrays[bank][0, column] = graph.data[i]
    if not arrays:
        return
    try:
        got = program.evaluate(program.prepare(*arrays))[0]
    except (ArithmeticError, ValueError):
        return  # a domain error at the trace point is the user's to meet when running it
    want = np.array([graph.data[o] for o in graph.outputs])
    if not np.allclose(got, want, rtol=1e-6, atol=1e-9 * (1.0 + np.abs(want).max())):
        raise AssertionError(f"internal error: the compiled program computes {got.tolist()} "
                             f"where the traced graph has {want.tolist()}; please report it")


def compile_graph(outputs: Value | Sequence[Value], inputs: Sequence[Any],
                  params: Sequence[Value], *, dtype: str = "float64") -> Program:
    """Compile an already built graph: ``outputs`` as functions of ``inputs`` and ``params``.

    Every leaf the outputs depend on that is neither a placeholder in ``inputs`` nor in
    ``params`` is a constant, baked in with its current value. With one graph there is no
    second trace to compare, so a data-dependent branch taken while building it goes
    unnoticed; prefer :func:`compile_function`, which checks.

    Args:
        outputs: a Value (the program's forward returns shape ``(b,)``) or a sequence of
            Values (shape ``(b, len(outputs))``).
        inputs: the placeholder leaf Values, in column order: one sequence (the program takes
            one input array) or a sequence of sequences (one input array each).
        params: the parameter leaf Values, in the order of the flat parameter vector.
        dtype: ``"float64"`` (the engine's numbers) or ``"float32"`` (faster, about 7
            significant digits).

    Raises:
        TypeError / ValueError: not Values, non-leaf placeholders or parameters, duplicates.
        UnsupportedOpError: a custom op depends on an input or parameter.
    """
    graph = trace_graph(outputs, _banks(inputs), params)
    return _checked(_lowered(graph), graph, params, isinstance(outputs, Value), dtype)


def compile_function(fn: Callable[..., Value | Sequence[Value]], input_sizes: int | Sequence[int],
                     params: Sequence[Value], *, seed: int = 0,
                     trace_inputs: tuple[Sequence[Any], Sequence[Any]] | None = None,
                     dtype: str = "float64") -> Program:
    """Trace ``fn`` on placeholders (twice, to catch data-dependent branches) and compile it.

    ``fn`` is called with one list of placeholder Values per input array, e.g.
    ``fn(x)`` for ``input_sizes=784`` or ``fn(x, y)`` for ``(784, 10)``, and must return a
    Value or a sequence of Values built with the engine's ops from them and ``params``. It is
    traced with placeholder values drawn uniformly from (0.05, 0.95), then again with other
    values and with each parameter temporarily scaled by a factor in (0.7, 1.3) (restored
    afterwards); the two graphs must agree (see :class:`TraceError`). Every leaf that is
    neither a placeholder nor in ``params`` is a constant, baked in with its current value.

    A number computed from ``.data`` may differ between the traces only as the shift of a
    stable softmax (``a - max(x.data for x in xs)``, as ``cross_entropy_cost`` does); the
    program then takes each example's own maximum. If that maximum is the same number in both
    traces (a dead relu output layer, say), it cannot be told from a constant and stays one:
    the same math, but ``exp`` may overflow (raising OverflowError) for logits more than ~709
    above it. ``trace_inputs`` lets you pick trace points that tell them apart.

    Args:
        fn: the function to compile.
        input_sizes: the number of placeholders of each input array.
        params: the parameter leaf Values the function reads, in flat-vector order.
        seed: seeds the placeholder values.
        trace_inputs: the placeholder values of the two traces instead of random ones: a pair,
            each one sequence of numbers per input array (pick values on both sides of a
            branch you want to be sure is caught).
        dtype: ``"float64"`` or ``"float32"``, as :func:`compile_graph`.

    Raises:
        TraceError: the two traces differ (a Python branch on ``.data``, or a constant
            computed from ``.data`` other than a softmax shift).
        UnsupportedOpError: a custom op depends on an input or parameter.
        TypeError / ValueError: bad sizes, ``fn`` not returning Values.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_dtype(dtype)
    sizes = [input_sizes] if isinstance(input_sizes, numbers.Integral) else list(input_sizes)
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"input_sizes must be positive ints, got {input_sizes!r}")
    params = list(params)
    rng = np.random.default_rng(seed)
    first = [rng.uniform(0.05, 0.95, n).tolist() for n in sizes]
    second = [rng.uniform(0.05, 0.95, n).tolist() for n in sizes]
    if trace_inputs is not None:
        first, second = (_trace_values(t, sizes, i) for i, t in enumerate(_pair(trace_inputs)))
    factors = rng.uniform(0.7, 1.3, len(params))  # an array: 8 bytes a parameter, not 32

    if not is_grad_enabled():
        raise TraceError("cannot trace inside no_grad(): ops would record no graph")
    g1, g2, single = _two_traces(fn, params, first, second, factors)
    return _checked(_lowered(resolve_traces(g1, g2)), g1, params, single, dtype)


def _trace(fn: Callable[..., Any], params: list[Value],
           values: list[list[float]]) -> tuple[Graph, bool]:
    """The graph of ``fn`` on placeholders holding ``values``, and whether it has one output."""
    banks = [[Value(v, label=f"in{k}[{j}]") for j, v in enumerate(vals)]
             for k, vals in enumerate(values)]
    if not all(map(isinstance, params, repeat(Value))):
        raise TypeError("params must be Values")
    out = fn(*banks)
    if isinstance(out, Value):
        return trace_graph(out, banks, params), True
    if isinstance(out, Sequence) and not isinstance(out, (str, bytes)):
        out = list(out)
        if out and all(isinstance(o, Value) for o in out):
            return trace_graph(out, banks, params), False
    raise TypeError(f"fn must return a Value or a sequence of Values, got "
                    f"{type(out).__name__}")


def _two_traces(fn: Callable[..., Any], params: list[Value], first: list[list[float]],
                second: list[list[float]], factors: np.ndarray) -> tuple[Graph, Graph, bool]:
    """Trace on ``first``, then on ``second`` with each parameter scaled by its factor (the
    parameters are restored afterwards, all of them even if Ctrl-C arrives)."""
    g1, single = _trace(fn, params, first)
    saved = [p.data for p in params]
    try:
        assign_all(params, (np.array(saved) * factors).tolist())
        try:
            g2, _ = _trace(fn, params, second)
        except (ArithmeticError, ValueError) as exc:
            raise TraceError(f"tracing again with other placeholder values failed: {exc}") from exc
    finally:
        assign_all(params, saved)
    return g1, g2, single


def _pair(trace_inputs: Any) -> tuple[Any, Any]:
    if not isinstance(trace_inputs, Sequence) or len(trace_inputs) != 2:
        raise TypeError("trace_inputs must be a pair (first trace, second trace)")
    return trace_inputs[0], trace_inputs[1]


def _trace_values(values: Any, sizes: list[int], which: int) -> list[list[float]]:
    """One list of floats per input array, checked against ``sizes``."""
    if not isinstance(values, Sequence) or len(values) != len(sizes):
        raise ValueError(f"trace_inputs[{which}] must hold {len(sizes)} sequence(s) of numbers, "
                         f"one per input array")
    out = []
    for k, (vals, n) in enumerate(zip(values, sizes)):
        arr = real_array(vals, f"trace_inputs[{which}][{k}]")
        if arr.shape != (n,):
            raise ValueError(f"trace_inputs[{which}][{k}] must have {n} numbers, got shape "
                             f"{arr.shape}")
        out.append(arr.tolist())
    return out
