"""The op table: every built-in op has every part, and the parts agree with each other."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tinygrad_lite import Value
from tinygrad_lite.optable import BUILTIN_OP_NAMES
from tinygrad_lite.optable import OPS, OpRecord, op_record, register
from tinygrad_lite.viz.graph import OP_SYMBOLS

BUILTIN = sorted(name for name, r in OPS.items() if r.builtin)
POINTS = 40  # random points per op


def _data(d: Value | float) -> float:
    return d.data if isinstance(d, Value) else d


def _arrays(node: Value) -> list[np.ndarray]:
    return [np.array(p.data) for p in node.parents]


def test_the_builtin_names_are_the_tables():
    assert set(BUILTIN) == BUILTIN_OP_NAMES
    assert set(OP_SYMBOLS) == BUILTIN_OP_NAMES  # the graph views read the table


@pytest.mark.parametrize("name", BUILTIN)
def test_every_op_has_every_part(name):
    r = OPS[name]
    assert r.name == name and r.builtin
    assert r.symbol and r.formula and r.derivative_formulas
    for part in (r.apply, r.value_derivatives, r.numpy_forward, r.numpy_derivatives, r.example):
        assert callable(part)
    node = r.example(random.Random(0))
    assert node.op == name  # the example really is made by this op's float path
    assert not r.arity or len(node.parents) in r.arity
    # An elementwise op carries the in-place kernels the compiled path runs; sum and affine
    # are lowered to matrix products and segment sums instead.
    assert (r.kernels is not None) == (name not in ("sum", "affine"))


def test_the_compiler_runs_the_tables_kernels(monkeypatch):
    from dataclasses import replace

    import numpy as np

    from tinygrad_lite.compile import compile_function
    from tinygrad_lite.kernels import Kernels

    real = OPS["tanh"].kernels
    calls = []

    def counting_forward(*args):
        calls.append("forward")
        return real.forward(*args)

    record = replace(OPS["tanh"], kernels=Kernels(counting_forward, real.contribution))
    monkeypatch.setitem(OPS, "tanh", record)
    program = compile_function(lambda x: (x[0] * 2.0).tanh(), 1, [])
    np.testing.assert_allclose(program.forward(np.array([[0.3], [-1.2]])), np.tanh([0.6, -2.4]))
    assert calls  # the table's tanh kernel is what the program ran


def test_the_float_path_is_the_value_method_itself():
    # The table points at the hand-written fast path instead of copying it.
    assert OPS["sigmoid"].apply is Value.sigmoid
    assert OPS["+"].apply is Value.__add__
    assert OPS["affine"].apply is Value.affine


@pytest.mark.parametrize("name", BUILTIN)
def test_float_value_and_numpy_derivatives_agree(name):
    r = OPS[name]
    rng = random.Random(name)
    for _ in range(POINTS):
        node = r.example(rng)
        floats = node.local_grads
        values = [_data(d) for d in r.value_derivatives(node)]
        arrays = _arrays(node)
        out = r.numpy_forward(arrays, node.ctx)
        kernels = [float(k) for k in r.numpy_derivatives(arrays, np.asarray(out), node.ctx)]
        assert float(out) == pytest.approx(node.data, rel=1e-12, abs=1e-12)
        assert values == pytest.approx(list(floats), rel=1e-12, abs=1e-12)
        assert kernels == pytest.approx(list(floats), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", BUILTIN)
def test_float_derivatives_match_finite_differences_of_the_numpy_forward(name):
    r = OPS[name]
    rng = random.Random(f"fd {name}")
    eps = 1e-6
    for _ in range(POINTS):
        node = r.example(rng)
        arrays = _arrays(node)
        for i, local in enumerate(node.local_grads):
            up = [a + eps if j == i else a for j, a in enumerate(arrays)]
            down = [a - eps if j == i else a for j, a in enumerate(arrays)]
            slope = (float(r.numpy_forward(up, node.ctx)) - float(r.numpy_forward(down, node.ctx)))
            assert slope / (2 * eps) == pytest.approx(local, rel=1e-5, abs=1e-6), (name, i)


def _batch_of_nodes(name: str, rng: random.Random) -> list[Value]:
    """Five nodes of op ``name`` with the same wiring (ctx) at different points."""
    if name in ("**", "sum", "affine"):
        leaves = [[Value(rng.uniform(0.5, 2.0)) for _ in range(3)] for _ in range(5)]
        build = {"**": lambda xs: xs[0] ** 3.0, "sum": lambda xs: Value.sum([*xs, 0.5]),
                 "affine": lambda xs: Value.affine(xs[:1], xs[1:2], xs[2])}[name]
        return [build(xs) for xs in leaves]
    return [OPS[name].example(rng) for _ in range(5)]


@pytest.mark.parametrize("name", BUILTIN)
def test_numpy_kernels_work_on_whole_arrays(name):
    # The compiled path runs a kernel on a batch: one array entry per example.
    r = OPS[name]
    nodes = _batch_of_nodes(name, random.Random(f"batch {name}"))
    ctx = nodes[0].ctx  # the same wiring for every node of the batch
    batch = [np.array([n.parents[i].data for n in nodes]) for i in range(len(nodes[0].parents))]
    out = r.numpy_forward(batch, ctx)
    assert np.allclose(out, [n.data for n in nodes], rtol=1e-12)
    derivatives = r.numpy_derivatives(batch, out, ctx)
    expected = np.array([n.local_grads for n in nodes]).T
    assert np.allclose(np.array(derivatives), expected, rtol=1e-12)


def test_op_record_finds_builtin_and_unknown_ops():
    assert op_record("tanh") is OPS["tanh"]
    assert op_record("no such op") is None


def test_register_refuses_builtin_names():
    record = OpRecord("exp", (1,), "e", "e({x})", ("e({x})",), Value.exp, None)
    with pytest.raises(ValueError, match="built-in op"):
        register(record)
    assert OPS["exp"].builtin
