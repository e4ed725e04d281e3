"""Tests for tinygrad_lite.compile: the compiled program computes what the scalar engine does.

Comparisons are against the engine itself (``Value.backward`` on one graph per example), on
random graphs over every op and on random MLPs with both costs. Tolerance: 1e-9 relative, plus
1e-9 times the largest term that entered the computation (:func:`scales`). Summation orders
differ (BLAS blocks a dot product, the engine adds left to right), so a result that cancels to
nearly 0 (1e-194 + 1 − 1) carries an absolute error of order ε·|largest term|, which no
relative tolerance on the result alone can bound.
"""

from __future__ import annotations

import dataclasses
import math
import random
import signal

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_lite import Value, no_grad
from tinygrad_lite.optable import BUILTIN_OP_NAMES
from tinygrad_lite.compile import (
    CompiledTrainer,
    Program,
    TraceError,
    UnsupportedOpError,
    cache_info,
    compile_cost,
    compile_function,
    compile_graph,
    compile_model,
)
from tinygrad_lite.compile import program as program_module
from tinygrad_lite.data import iterate_minibatches
from tinygrad_lite.losses import batch_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.optim import SGD

RTOL = 1e-9


def assert_close(actual, expected, rtol=RTOL, scale=0.0):
    """|actual − expected| ≤ rtol·(|expected| + scale), elementwise; scale defaults to the
    largest |expected| (for results with no cancellation to speak of)."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    if expected.size:
        scale = max(scale, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale + 1e-300)


def scales(roots):
    """(largest |term| of any value, largest |term| of any gradient) in the graphs of roots,
    after backward(): a term is a node's value, a parent's value times its local derivative,
    or a node's gradient times a local derivative (one chain-rule contribution)."""
    stack, seen, value, grad = list(roots), set(), 0.0, 0.0
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        value = max(value, abs(v.data))
        for p, local in zip(v.parents, v.local_grads):
            value = max(value, abs(local * p.data))
            grad = max(grad, abs(local * v.grad))
            stack.append(p)
    return value, grad


def engine_gradients(build, X, params, reduction="mean"):
    """(outputs, gradient of the mean/sum, value scale, gradient scale) by the scalar engine,
    one graph per example."""
    for p in params:
        p.grad = 0.0
    outs, roots = [], []
    for row in X:
        out = build([Value(float(x)) for x in row])
        out.backward()
        outs.append(out.data)
        roots.append(out)
    factor = 1.0 / len(X) if reduction == "mean" else 1.0
    value_scale, grad_scale = scales(roots)
    return (np.array(outs), np.array([p.grad * factor for p in params]), value_scale,
            grad_scale * factor)


# --------------------------------------------------------------------------- random graphs
# Ops with a restricted domain are applied to a "positive" form of their operand (|x| + c,
# σ(x) + 0.05 or x·x + 0.25), so every example of the batch is inside every op's domain.
OPS = ("+", "-", "*", "/", "neg", "**n", "**v", "rpow", "exp", "log", "tanh", "sigmoid",
       "relu", "abs", "sum", "affine")
CONSTANTS = st.sampled_from([0.5, -1.0, 2.0, 1.5, -0.25, 3.0])
EXPONENTS = st.sampled_from([2.0, 3.0, 1.0, 0.0, -1.0, -2.0, 0.5, 1.5, -0.5])


def positive(x, variant, c):
    if variant == 0:
        return x.abs() + c
    if variant == 1:
        return x.sigmoid() + 0.05
    return x * x + 0.25


def apply_step(op, args, extra):
    a = args[0]
    if op in ("+", "-", "*"):
        b = args[1]
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b}[op]()
    if op == "/":
        variant, c, sign, num_first = extra
        divisor = positive(args[1], variant, c) * sign
        return a / divisor if num_first else divisor / a if isinstance(a, float) else a / divisor
    if op == "neg":
        return -a
    if op == "**n":
        p, variant, c = extra
        if p >= 0 and float(p).is_integer():
            return a ** p
        return positive(a, variant, c) ** p
    if op == "**v":
        variant, c = extra
        return positive(a, variant, c) ** (args[1].tanh() * 2.0)
    if op == "rpow":
        return extra ** a.tanh()
    if op == "exp":
        return a.tanh().exp()
    if op == "log":
        variant, c = extra
        return positive(a, variant, c).log()
    if op in ("tanh", "sigmoid", "relu", "abs"):
        return getattr(a, op)()
    if op == "sum":
        return Value.sum(args)
    n, has_bias = extra  # affine
    if has_bias:
        return Value.affine(args[:n], args[n:2 * n], args[2 * n])
    return Value.affine(args[:n], args[n:2 * n])


class Recipe:
    """A random graph over n_inputs placeholders and n_params parameters."""

    def __init__(self, n_inputs, n_params, steps, outputs):
        self.n_inputs, self.n_params, self.steps, self.outputs = n_inputs, n_params, steps, outputs

    def build(self, inputs, params):
        pool = list(inputs) + list(params)
        for op, refs, extra in self.steps:
            args = [pool[r] if isinstance(r, int) else r[1] for r in refs]
            pool.append(apply_step(op, args, extra))
        outs = [pool[i] for i in self.outputs]
        return outs[0] if len(outs) == 1 else Value.sum(outs)

    def __repr__(self):
        return f"Recipe({self.n_inputs}, {self.n_params}, {self.steps!r}, {self.outputs!r})"


def draw_step(draw, op, size):
    """One step applying ``op`` to earlier nodes (indices < size) and constants."""

    def node():  # any earlier node: sub-expressions get shared, t * t happens
        return draw(st.integers(0, size - 1))

    def node_or_const():
        return node() if draw(st.booleans()) else ("c", draw(CONSTANTS))

    pos = (draw(st.integers(0, 2)), draw(st.sampled_from([0.1, 0.5, 1.0])))
    if op in ("+", "-", "*"):
        refs = [node(), node_or_const()]
        if draw(st.booleans()):
            refs.reverse()  # a number on the left: 2.0 * x, 1.0 - x
        return op, refs, None
    if op == "/":
        return op, [node(), node()], (*pos, draw(st.sampled_from([1.0, -1.0])), True)
    if op == "**n":
        return op, [node()], (draw(EXPONENTS), *pos)
    if op == "**v":
        return op, [node(), node()], pos
    if op == "rpow":
        return op, [node()], draw(st.sampled_from([2.0, 0.5, math.e]))
    if op == "log":
        return op, [node()], pos
    if op == "sum":
        return op, [node()] + [node_or_const() for _ in range(draw(st.integers(0, 3)))], None
    if op == "affine":
        n = draw(st.integers(1, 3))
        has_bias = draw(st.booleans())
        refs = [node_or_const() for _ in range(2 * n + has_bias)]
        refs[n] = node()
        return op, refs, (n, has_bias)
    return op, [node()], None


@st.composite
def recipes(draw, required=None, max_steps=7):
    n_inputs = draw(st.integers(1, 3))
    n_params = draw(st.integers(1, 3))
    size = n_inputs + n_params
    count = draw(st.integers(1, max_steps))
    at = draw(st.integers(0, count - 1))
    steps = []
    for k in range(count):
        op = required if k == at and required else draw(st.sampled_from(OPS))
        steps.append(draw_step(draw, op, size))
        size += 1
    outputs = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=3))
    if draw(st.booleans()):
        outputs[0] = size - 1  # usually end on the last step
    return Recipe(n_inputs, n_params, steps, outputs)


def magnitude(out):
    """The largest |value| in out's graph (to skip draws whose numbers explode)."""
    stack, seen, big = [out], set(), 0.0
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        big = max(big, abs(v.data))
        stack.extend(v.parents)
    return big


floats = st.floats(-2.0, 2.0, allow_nan=False)


@pytest.mark.slow
@pytest.mark.parametrize("required", OPS)
@given(data=st.data())
def test_random_graphs_over_every_op_match_the_engine(required, data):
    recipe = data.draw(recipes(required), label="recipe")
    b = data.draw(st.integers(1, 4))
    X = np.array(data.draw(st.lists(st.lists(floats, min_size=recipe.n_inputs,
                                             max_size=recipe.n_inputs),
                                    min_size=b, max_size=b)))
    params = [Value(x) for x in data.draw(st.lists(floats, min_size=recipe.n_params,
                                                   max_size=recipe.n_params))]
    reduction = data.draw(st.sampled_from(["mean", "sum"]))
    assume(usable(recipe, X, params))
    check_recipe(recipe, X, params, reduction)


def usable(recipe, X, params):
    """Whether the engine builds the graph for every example, with no number above 1e6."""
    try:
        return all(magnitude(recipe.build([Value(float(x)) for x in row], params)) < 1e6
                   for row in X)
    except (OverflowError, ZeroDivisionError):
        return False


def check_recipe(recipe, X, params, reduction):
    def build(xs):
        return recipe.build(xs, params)

    outs, grads, value_scale, grad_scale = engine_gradients(build, X, params, reduction)
    program = compile_function(build, recipe.n_inputs, params, trace_inputs=([X[0]], [X[-1]]))
    got_outs, got_grads = program.gradients(X, reduction=reduction)
    assert_close(got_outs, outs, scale=value_scale)
    assert_close(got_grads, grads, scale=grad_scale)
    assert_close(program.forward(X), outs, scale=value_scale)


@pytest.mark.parametrize("recipe, X, theta", [
    # found by the nightly profile: results that cancel to 0 (1e-194 + 1 − 1)
    (Recipe(1, 3, [("abs", [0], None), ("neg", [2], None), ("+", [0, ("c", 0.5)], None)],
            [1, 2, 5]), [[0.0]], [1.2277028891394177e-194, 1.0, 0.0]),
    (Recipe(1, 3, [("-", [0, 3], None)], [4, 3, 1]), [[0.0]], [8.658715425316097e-181, 0.0, 1.0]),
    (Recipe(1, 2, [("**v", [0, 1], (1, 0.1)), ("/", [3, 0], (2, 0.1, 1.0, True)),
                   ("neg", [0], None), ("rpow", [4], 2.0), ("neg", [0], None)], [6]),
     [[0.0]], [-0.875, 0.0]),
])
def test_cancelling_graphs_found_by_the_nightly_profile(recipe, X, theta):
    params = [Value(t) for t in theta]
    assert usable(recipe, np.array(X), params)
    check_recipe(recipe, np.array(X), params, "mean")


def test_the_random_graphs_use_every_op():
    # The strategy draws from OPS; this pins that OPS reaches every engine op.
    x, y, w = Value(0.3), Value(-0.7), Value(1.2)
    ops = set()
    for op in OPS:
        refs_extra = {"/": (0, 0.5, 1.0, True), "**n": (-0.5, 0, 0.5), "**v": (1, 0.1),
                      "rpow": 2.0, "log": (2, 0.1), "affine": (1, True)}.get(op)
        args = [x, y, w] if op != "affine" else [w, x, y]
        out = apply_step(op, args, refs_extra)
        stack = [out]
        while stack:
            v = stack.pop()
            if v.op:
                ops.add(v.op)
            stack.extend(v.parents)
    assert ops == BUILTIN_OP_NAMES


def _every_op(xs, params):
    a, b = xs
    w, c = params
    t = a * w + b  # shared below
    u = Value.sum([t.tanh(), t.sigmoid(), (-t).relu(), (t - c).abs(), 2.0, t ** 2])
    v = (t * t + 1.0).log() + (a.tanh()).exp() / (w * w + 0.5) - (c.sigmoid() + 0.1) ** (b.tanh())
    z = Value.affine([w, 0.5, c], [u, v, t], c) + 2.0 ** a.tanh() + (t.abs() + 0.1) ** -1.5
    return z * t - u / (v * v + 1.0)


def test_a_graph_with_every_op_and_shared_nodes_matches_the_engine():
    params = [Value(0.7), Value(-0.4)]
    X = np.array([[0.1, -0.3], [1.5, 0.2], [-1.1, 0.9], [0.0, 0.0], [0.4, -1.7]])
    build = lambda xs: _every_op(xs, params)  # noqa: E731
    outs, grads, value_scale, grad_scale = engine_gradients(build, X, params)
    program = compile_function(build, 2, params)
    got_outs, got_grads = program.gradients(X)
    assert_close(got_outs, outs, scale=value_scale)
    assert_close(got_grads, grads, scale=grad_scale)


# --------------------------------------------------------------------------- networks
@st.composite
def networks(draw, activation):
    nin = draw(st.integers(1, 5))
    nouts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    output_activation = draw(st.sampled_from([None, "linear", "sigmoid"]))
    seed = draw(st.integers(0, 2**16))
    return MLP(nin, nouts, activation, output_activation=output_activation, seed=seed)


def label_targets(labels: list[int], n_out: int) -> np.ndarray:
    """The targets batch_cost makes of labels: one-hot for several outputs, and for one
    output the number itself."""
    return np.eye(n_out)[labels] if n_out > 1 else np.array(labels, dtype=float)[:, None]


@pytest.mark.slow
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh", "linear"])
@given(data=st.data())
def test_random_mlps_with_both_costs_match_batch_cost_backward(activation, cost, data):
    model = data.draw(networks(activation), label="model")
    b = data.draw(st.integers(1, 5))
    X = np.array(data.draw(st.lists(st.lists(floats, min_size=model.nin, max_size=model.nin),
                                    min_size=b, max_size=b)))
    n_out = model.nouts[-1]
    labels = data.draw(st.lists(st.integers(0, n_out - 1), min_size=b, max_size=b))
    params = model.parameters()
    model.zero_grad()
    c = batch_cost(model, X, labels, cost)
    c.backward()
    expected = np.array([p.grad for p in params])
    value_scale, grad_scale = scales([c])
    program = compile_cost(model, cost)
    costs, grads = program.gradients(X, label_targets(labels, n_out))
    assert_close(costs.mean(), c.data, scale=value_scale)
    assert_close(grads, expected, scale=grad_scale)


def test_the_3b1b_network_matches_the_engine_and_runs_as_three_matmuls():
    model = MLP(784, [16, 16, 10], seed=0)
    rng = np.random.default_rng(0)
    X = rng.random((3, 784))
    labels = [3, 0, 9]
    model.zero_grad()
    c = batch_cost(model, X, labels)
    c.backward()
    program = compile_cost(model)
    costs, grads = program.gradients(X, np.eye(10)[labels])
    assert_close(costs.mean(), c.data)
    assert_close(grads, [p.grad for p in model.parameters()])
    text = program.describe()
    assert text.count("matmul") == 3 and "gathered" not in text, text


@pytest.mark.slow
def test_the_number_of_instructions_grows_with_depth_not_width():
    narrow = compile_cost(MLP(784, [16, 16, 10], seed=0))
    wide = compile_cost(MLP(784, [64, 64, 10], seed=0))
    deep = compile_cost(MLP(784, [16, 16, 16, 10], seed=0))
    assert narrow.n_instructions == wide.n_instructions
    assert deep.n_instructions == narrow.n_instructions + 2  # one more matmul and sigmoid


def test_weights_outside_a_regular_block_are_gathered_and_still_exact():
    model = MLP(4, [3, 2], seed=1)
    params = model.parameters()[::-1]  # the flat vector in reverse order: no regular block
    X = np.random.default_rng(2).normal(size=(5, 4))
    Y = np.eye(2)[[0, 1, 1, 0, 1]]

    def cost(x, y):
        return Value.sum([(a - t) ** 2 for a, t in zip(model(x), y)])

    program = compile_function(cost, (4, 2), params)
    assert "gathered" in program.describe()
    model.zero_grad()
    batch_cost(model, X, Y.tolist()).backward()
    _, grads = program.gradients(X, Y)
    assert_close(grads, [p.grad for p in params])


def test_layers_shared_inputs_of_placeholders_numbers_and_constants_match_the_engine():
    # The neurons of one affine_layer share one inputs tuple, which the tracer numbers once it
    # can: here the first layer's mixes placeholders, a plain number and a constant Value (an
    # op of no input), and the second layer's a constant Value no earlier node uses.
    rng = random.Random(5)

    def layer(n_in, n_out):
        return ([[Value(rng.uniform(-1.0, 1.0)) for _ in range(n_in)] for _ in range(n_out)],
                [Value(rng.uniform(-1.0, 1.0)) for _ in range(n_out)])

    (W1, b1), (W2, b2) = layer(4, 3), layer(4, 3)
    params = [p for W, b in ((W1, b1), (W2, b2)) for row, bias in zip(W, b)
              for p in (*row, bias)]
    first, second = Value(2.0) * Value(0.25), Value(3.0) * Value(0.5)

    def f(x):
        hidden = [z.sigmoid() for z in Value.affine_layer(W1, [x[0], 0.5, first, x[1]], b1)]
        zs = Value.affine_layer(W2, [*hidden, second], b2)
        return Value.sum([z.sigmoid() * (j + 1.0) for j, z in enumerate(zs)])

    program = compile_function(f, 2, params)
    X = np.random.default_rng(6).normal(size=(5, 2))
    for p in params:
        p.grad = 0.0
    outputs = []
    for row in X:
        out = f([Value(float(v)) for v in row])
        out.backward()
        outputs.append(out.data)
    got, grads = program.gradients(X, reduction="sum")
    assert_close(got, outputs)
    assert_close(grads, [p.grad for p in params])


def test_compile_model_outputs_and_weighted_gradients():
    model = MLP(3, [4, 2], "tanh", seed=4)
    X = np.random.default_rng(3).normal(size=(6, 3))
    program = compile_model(model)
    with no_grad():
        expected = np.array([[o.data for o in model(row)] for row in X])
    assert_close(program.forward(X), expected)
    weights = np.random.default_rng(4).normal(size=(6, 2))
    model.zero_grad()
    for row, wk in zip(X, weights):
        Value.sum([o * float(w) for o, w in zip(model(row), wk)]).backward()
    _, grads = program.gradients(X, grad_output=weights, reduction="sum")
    assert_close(grads, [p.grad for p in model.parameters()])
    with pytest.raises(ValueError, match="grad_output"):
        program.gradients(X)


def test_backward_adds_into_grad_like_value_backward():
    model = MLP(2, [2, 1], seed=5)
    X = np.array([[0.5, -1.0], [2.0, 0.3]])
    program = compile_cost(model)
    Y = np.array([[1.0], [0.0]])
    model.zero_grad()
    first = program.backward(X, Y)
    assert_close([p.grad for p in model.parameters()], first)
    program.backward(X, Y)
    assert_close([p.grad for p in model.parameters()], 2 * first)


def test_outputs_that_are_leaves_and_constants():
    w = Value(1.5)
    x = Value(0.0)
    program = compile_graph([x, w, Value(2.0) * Value(3.0)], [x], [w])
    out = program.forward(np.array([[4.0], [-1.0]]))
    assert_close(out, [[4.0, 1.5, 6.0], [-1.0, 1.5, 6.0]])
    _, grad = program.gradients(np.array([[4.0], [-1.0]]), grad_output=np.ones((2, 3)))
    assert_close(grad, [1.0])  # mean over 2 examples of ∂(x + w + 6)/∂w = 1


def test_large_batches_run_in_chunks_with_the_same_result(monkeypatch):
    model = MLP(3, [3, 2], seed=6)
    program = compile_cost(model)
    X = np.random.default_rng(5).normal(size=(11, 3))
    Y = np.eye(2)[np.arange(11) % 2]
    whole = program.gradients(X, Y)
    monkeypatch.setattr(program_module, "CHUNK", 4)
    chunked = program.gradients(X, Y)
    assert_close(chunked[0], whole[0])
    assert_close(chunked[1], whole[1])


def test_params_can_be_given_as_an_array():
    model = MLP(2, [2], seed=7)
    program = compile_model(model)
    X = np.array([[1.0, 2.0]])
    theta = np.linspace(-1, 1, program.n_params)
    for p, t in zip(model.parameters(), theta):
        p.data = float(t)
    expected = program.forward(X)
    for p in model.parameters():
        p.data = 0.0
    assert_close(program.forward(X, params=theta), expected)
    with pytest.raises(ValueError, match="6 numbers"):
        program.forward(X, params=theta[:3])


# --------------------------------------------------------------------------- the cache
def test_the_same_structure_is_lowered_once():
    compile_cost(MLP(5, [3, 2], seed=1))
    before = cache_info()
    a = compile_cost(MLP(5, [3, 2], seed=2))
    b = compile_cost(MLP(5, [3, 2], seed=3), "quadratic")
    after = cache_info()
    assert after["hits"] == before["hits"] + 2 and after["misses"] == before["misses"]
    assert a.lowered is b.lowered
    assert not np.array_equal(a.theta, b.theta)  # separate parameters
    compile_cost(MLP(5, [3, 2], seed=2), "cross-entropy")
    assert cache_info()["misses"] == after["misses"] + 1


# --------------------------------------------------------------------------- what cannot compile
def test_a_branch_on_data_is_a_trace_error():
    def branchy(x):
        return x[0] * 2.0 if x[0].data > 0.5 else x[0].relu()

    with pytest.raises(TraceError, match="different path"):
        compile_function(branchy, 1, [], trace_inputs=([[0.9]], [[0.1]]))
    program = compile_function(branchy, 1, [], trace_inputs=([[0.9]], [[0.7]]))
    assert_close(program.forward(np.array([[0.3]])), [0.6])  # the traced branch, as documented


def test_a_constant_computed_from_data_is_a_trace_error():
    w = Value(0.5)
    with pytest.raises(TraceError, match=r"computed from \.data"):
        compile_function(lambda x: x[0] * x[1].data + w, 2, [w])
    with pytest.raises(TraceError, match="constant term"):
        compile_function(lambda x: Value.sum([x[0], x[1].data]) * w, 2, [w])


def test_a_softmax_shift_by_the_max_of_data_is_recomputed_per_example():
    # cross_entropy_cost subtracts m = max(a.data); the compiled program must use each
    # example's own maximum, so logits far apart (which overflow with a fixed shift) work.
    model = MLP(2, [3], "linear", seed=0)
    program = compile_cost(model, "cross-entropy")
    assert "max" in program.describe()
    for p in model.parameters():
        p.data *= 400.0
    X = np.array([[3.0, -2.0], [-3.0, 2.5]])
    Y = np.eye(3)[[1, 2]]
    model.zero_grad()
    c = batch_cost(model, X, [1, 2], "cross-entropy")
    c.backward()
    costs, grads = program.gradients(X, Y)
    assert_close(costs.mean(), c.data)
    assert_close(grads, [p.grad for p in model.parameters()])


def test_a_log_sum_exp_of_the_inputs_shifts_each_example_by_its_own_maximum():
    w = Value(1.0)

    def logsumexp(x):
        m = max(v.data for v in x)
        return (Value.sum([(v - m).exp() for v in x]).log() + m) * w

    program = compile_function(logsumexp, 3, [w])
    X = np.array([[1000.0, 999.0, -5.0], [-800.0, -801.0, -799.5], [0.1, 0.2, 0.3]])
    expected = [logsumexp([Value(float(v)) for v in row]).data for row in X]
    assert_close(program.forward(X), expected)


def test_custom_ops_are_unsupported_unless_constant():
    def sinh(v):
        return Value.from_op(math.sinh(v.data), (v,), (math.cosh(v.data),), "sinh")

    with pytest.raises(UnsupportedOpError, match="'sinh'"):
        compile_function(lambda x: sinh(x[0]), 1, [])
    program = compile_function(lambda x: x[0] * sinh(Value(1.0)), 1, [])
    assert_close(program.forward(np.array([[2.0]])), [2 * math.sinh(1.0)])


def test_tracing_needs_gradients_enabled_and_values_returned():
    with no_grad(), pytest.raises(TraceError, match="no_grad"):
        compile_function(lambda x: x[0] * 2.0, 1, [])
    with pytest.raises(TypeError, match="Value"):
        compile_function(lambda x: 3.0, 1, [])
    with pytest.raises(ValueError, match="input_sizes"):
        compile_function(lambda x: x[0], 0, [])


def test_bad_placeholders_and_parameters_are_rejected():
    a = Value(1.0)
    b = a * 2.0
    with pytest.raises(ValueError, match="leaf"):
        compile_graph(b, [a], [b])
    with pytest.raises(ValueError, match="also"):
        compile_graph(b, [a], [a])
    with pytest.raises(TypeError, match="Value"):
        compile_graph(b, [a], [1.0])


# --------------------------------------------------------------------------- errors when running
def test_domain_errors_raise_the_engines_errors_naming_the_op():
    w = Value(1.0)
    cases = [
        (lambda x: (x[0] * w).exp(), [[800.0]], OverflowError, "exp"),
        (lambda x: (x[0] * w).log(), [[-1.0]], ValueError, "log"),
        (lambda x: w / x[0], [[0.0]], ZeroDivisionError, "division"),
        (lambda x: (x[0] * w) ** 0.5, [[-4.0]], ValueError, "negative base"),
        (lambda x: (x[0] * w) ** -1.0, [[0.0]], ZeroDivisionError, "zero to a negative"),
        (lambda x: (x[0] * w) ** x[0], [[-2.0]], ValueError, "positive"),
    ]
    for fn, X, error, words in cases:
        program = compile_function(fn, 1, [w])
        with pytest.raises(error, match=words):
            program.forward(np.array(X))


def test_bad_inputs_are_rejected_with_clear_errors():
    program = compile_cost(MLP(3, [2], seed=0))
    X, Y = np.zeros((2, 3)), np.zeros((2, 2))
    with pytest.raises(TypeError, match="2 input array"):
        program.forward(X)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        program.forward(np.zeros(3), Y)
    with pytest.raises(ValueError, match="not finite"):
        program.forward(np.array([[0.0, np.nan, 0.0], [0, 0, 0]]), Y)
    with pytest.raises(ValueError, match="batch sizes"):
        program.forward(X, np.zeros((3, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        program.forward(np.array([["a", "b", "c"]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="reduction"):
        program.gradients(X, Y, reduction="max")


NOT_REAL = [
    (np.array([[1 + 2j, 0, 0]]), "complex128"),
    (np.array([["1", "2", "3"]]), "<U1"),
    (np.array([["2020-01-01"] * 3], dtype="datetime64[D]"), "datetime64"),
    (np.array([[0.5, 1, object()]], dtype=object), "object"),
    ([[1j, 0.0, 0.0]], "complex128"),
]


@pytest.mark.parametrize("bad, dtype", NOT_REAL, ids=["complex", "str", "datetime", "object",
                                                      "complex-list"])
def test_inputs_and_targets_that_are_not_real_numbers_are_a_type_error_naming_the_dtype(
        bad, dtype):
    program = compile_cost(MLP(3, [3], seed=0))
    Y = np.zeros((1, 3))
    with pytest.raises(TypeError, match=dtype):
        program.forward(bad, Y)
    with pytest.raises(TypeError, match=dtype):
        program.gradients(Y, bad)
    with pytest.raises(TypeError, match=dtype):
        program.gradients(Y, Y, grad_output=np.asarray(bad)[:, 0])
    trainer = CompiledTrainer(MLP(3, [3], seed=0), lr=0.1)
    theta = trainer.theta.copy()
    for call in (lambda: trainer.train_batch(bad, [0]), lambda: trainer.train_batch(Y, bad),
                 lambda: trainer.train_epoch(bad, [0], 1, 0), lambda: trainer.evaluate(bad),
                 lambda: trainer.cost_and_predictions(Y, bad)):
        with pytest.raises(TypeError, match=dtype):
            call()
    assert np.array_equal(trainer.theta, theta) and trainer.steps == 0


@pytest.mark.parametrize("dtype", [bool, np.int8, np.uint16, np.int64, np.float16, np.float32])
def test_every_real_dtype_is_accepted_and_computed_in_float64(dtype):
    X = np.array([[1, 0, 1], [0, 1, 1]]).astype(dtype)
    Y = np.array([[1, 0], [0, 1]]).astype(dtype)
    program = compile_cost(MLP(3, [2], seed=1))
    expected = program.gradients(X.astype(np.float64), Y.astype(np.float64))
    got = program.gradients(X, Y)
    assert got[0].dtype == got[1].dtype == np.float64
    assert_close(got[0], expected[0])
    assert_close(got[1], expected[1])
    trainer = CompiledTrainer(MLP(3, [2], seed=1), lr=0.1)
    assert_close(trainer.train_batch(X, Y), expected[0].mean())


def test_a_parameter_vector_that_is_not_real_is_a_type_error():
    program = compile_model(MLP(2, [1], seed=0))
    with pytest.raises(TypeError, match="complex128"):
        program.forward(np.ones((1, 2)), params=np.ones(3) * 1j)


def identity_model():
    """A linear 1 → 1 neuron computing y = x (weight 1, bias 0)."""
    model = MLP(1, [1], "linear", seed=0)
    for p, t in zip(model.parameters(), [1.0, 0.0]):
        p.data = t
    return model


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_a_step_that_would_make_a_parameter_infinite_is_refused(momentum):
    # The gradient is finite (about 1e10) but lr · gradient is not: the updated values are
    # what must be checked, and nothing may change.
    X, Y = np.full((1, 1), 1e5), np.zeros((1, 1))
    trainer = CompiledTrainer(identity_model(), lr=1e300, momentum=momentum)
    _, grad = trainer.gradients(X, Y)
    assert np.isfinite(grad).all() and abs(grad[0]) > 1e9
    for call in (lambda: trainer.train_batch(X, Y),
                 lambda: trainer.train_epoch(X, Y, 1, random.Random(0))):
        with pytest.raises(ValueError, match="refusing to write nan/inf") as error:
            call()
        assert "parameter 0 would become -inf" in str(error.value)
        assert trainer.steps == 0 and trainer.theta.tolist() == [1.0, 0.0]
        assert trainer.in_sync and not trainer.velocity.any()
    assert [p.data for p in trainer.params] == [1.0, 0.0]


# --------------------------------------------------------------------------- training
def scalar_training(model, X, labels, batch_size, rng, lr, momentum, epochs=1, cost="quadratic"):
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    for _ in range(epochs):
        for batch in iterate_minibatches(len(X), batch_size, rng):
            opt.zero_grad()
            batch_cost(model, X[batch], [labels[k] for k in batch], cost).backward()
            opt.step()
    return opt


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_compiled_training_follows_scalar_sgd_step_for_step(momentum, cost):
    X = np.random.default_rng(8).normal(size=(23, 6))
    labels = [k % 4 for k in range(23)]
    scalar = MLP(6, [5, 4], seed=9)
    compiled = MLP(6, [5, 4], seed=9)
    scalar_training(scalar, X, labels, 5, random.Random(1), 0.5, momentum, epochs=2, cost=cost)
    trainer = CompiledTrainer(compiled, cost, lr=0.5, momentum=momentum)
    rng = random.Random(1)
    for _ in range(2):
        trainer.train_epoch(X, np.array(labels), 5, rng)
    assert trainer.in_sync and trainer.steps == 10
    assert_close([p.data for p in compiled.parameters()], [p.data for p in scalar.parameters()])
    assert_close([p.grad for p in compiled.parameters()], [p.grad for p in scalar.parameters()])


def test_the_values_are_stale_until_synced_and_never_silently():
    model = MLP(3, [2], seed=10)
    before = [p.data for p in model.parameters()]
    trainer = CompiledTrainer(model, lr=1.0)
    X, labels = np.eye(3), np.array([0, 1, 1])
    trainer.train_batch(X, labels)
    assert not trainer.in_sync
    assert [p.data for p in model.parameters()] == before
    trainer.sync_to_values()
    assert trainer.in_sync
    assert [p.data for p in model.parameters()] == trainer.theta.tolist()
    with trainer:
        trainer.train_batch(X, labels)
    assert [p.data for p in model.parameters()] == trainer.theta.tolist()
    trainer.train_batch(X, labels)
    model.parameters()[0].data = 42.0  # someone else writes a parameter meanwhile
    with pytest.raises(RuntimeError, match="changed outside"):
        trainer.sync_to_values()
    trainer.sync_from_values()
    assert trainer.theta[0] == 42.0 and trainer.in_sync


def test_values_changed_while_in_sync_are_used_by_the_next_step():
    model = MLP(3, [2], seed=16)
    trainer = CompiledTrainer(model, lr=0.5)
    X, labels = np.eye(3), np.array([0, 1, 0])
    for p in model.parameters():
        p.data = 0.25  # e.g. weights loaded from a file after the trainer was made
    fresh = CompiledTrainer(MLP(3, [2], seed=16), lr=0.5)
    for p in fresh.params:
        p.data = 0.25
    fresh.sync_from_values()
    assert trainer.train_batch(X, labels) == fresh.train_batch(X, labels)
    assert np.array_equal(trainer.theta, fresh.theta)


def test_the_trainer_uses_and_updates_an_sgd_optimizer():
    X = np.random.default_rng(11).normal(size=(8, 3))
    labels = [0, 1] * 4
    scalar, compiled = MLP(3, [2], seed=12), MLP(3, [2], seed=12)
    scalar_opt = scalar_training(scalar, X, labels, 4, random.Random(2), 0.3, 0.5)
    opt = SGD(compiled.parameters(), lr=0.3, momentum=0.5)
    trainer = CompiledTrainer(compiled, optimizer=opt)
    trainer.train_epoch(X, np.array(labels), 4, random.Random(2))
    assert_close(opt.velocity, scalar_opt.velocity)
    opt.lr = 0.1
    assert trainer.lr == 0.1
    with pytest.raises(ValueError, match="optimizer"):
        CompiledTrainer(compiled, optimizer=SGD(scalar.parameters(), lr=0.1))


def test_lr_and_momentum_changed_by_on_batch_take_effect_at_the_next_step():
    # Each step of an epoch with on_batch reads the optimizer's lr and momentum again, whether
    # the fused step takes it (momentum 0) or the checked path does.
    X = np.random.default_rng(13).normal(size=(12, 3))
    labels = [0, 1, 1] * 4

    def schedule(opt, i):
        opt.lr = 0.3 / (i + 1)
        opt.momentum = 0.5 if i == 1 else 0.0

    scalar, compiled = MLP(3, [2], seed=14), MLP(3, [2], seed=14)
    scalar_opt = SGD(scalar.parameters(), lr=0.3)
    for i, batch in enumerate(iterate_minibatches(len(X), 3, random.Random(4))):
        scalar_opt.zero_grad()
        batch_cost(scalar, X[batch], [labels[k] for k in batch]).backward()
        scalar_opt.step()
        schedule(scalar_opt, i)
    opt = SGD(compiled.parameters(), lr=0.3)
    trainer = CompiledTrainer(compiled, optimizer=opt)
    assert trainer.program.fused
    trainer.train_epoch(X, np.array(labels), 3, random.Random(4),
                        on_batch=lambda i, cost: schedule(opt, i))
    assert trainer.steps == 4 and opt.lr == 0.3 / 4
    assert_close([p.data for p in compiled.parameters()], [p.data for p in scalar.parameters()])
    assert_close(opt.velocity, scalar_opt.velocity)


def test_the_gradient_after_train_batch_is_the_steps_as_the_engine_gives_it():
    X, labels = np.random.default_rng(6).normal(size=(4, 5)), [0, 2, 1, 2]
    scalar = MLP(5, [4, 3], seed=1)
    batch_cost(scalar, X, labels).backward()
    trainer = CompiledTrainer(MLP(5, [4, 3], seed=1), lr=0.5)
    assert trainer.program.fused  # the step runs in the fused step's own sgd_step
    assert_close(trainer.train_batch(X, np.array(labels)), batch_cost(scalar, X, labels).data)
    assert_close(trainer.grad, [p.grad for p in scalar.parameters()])


def test_train_batch_returns_the_batch_cost_and_accepts_targets_or_labels():
    model = MLP(4, [3], seed=13)
    X = np.random.default_rng(12).random((5, 4))
    labels = np.array([0, 2, 1, 1, 0])
    expected = batch_cost(model, X, labels.tolist()).data
    a = CompiledTrainer(model, lr=0.1)
    b = CompiledTrainer(MLP(4, [3], seed=13), lr=0.1)
    assert_close(a.train_batch(X, labels), expected)
    assert_close(b.train_batch(X, np.eye(3)[labels]), expected)
    assert_close(a.theta, b.theta)


def test_a_bad_batch_changes_nothing():
    model = MLP(3, [2], seed=14)
    trainer = CompiledTrainer(model, lr=0.1)
    theta = trainer.theta.copy()
    X = np.ones((2, 3))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"X is not finite at \[1, 2\]"):
        trainer.train_batch(X, [0, 1])
    with pytest.raises(ValueError, match="labels must be in"):
        trainer.train_batch(np.ones((2, 3)), [0, 5])
    with pytest.raises(ValueError, match="shape"):
        trainer.train_batch(np.ones((2, 4)), [0, 1])
    assert np.array_equal(trainer.theta, theta)


def test_evaluate_predict_cost_and_gradients_of_the_trainer():
    model = MLP(3, [4, 3], seed=15)
    trainer = CompiledTrainer(model, lr=0.2)
    X = np.random.default_rng(13).random((7, 3))
    labels = np.arange(7) % 3
    with no_grad():
        outputs = np.array([[o.data for o in model(row)] for row in X])
    assert_close(trainer.evaluate(X), outputs)
    assert np.array_equal(trainer.predict(X), outputs.argmax(axis=1))
    model.zero_grad()
    c = batch_cost(model, X, labels.tolist())
    c.backward()
    expected = [p.grad for p in model.parameters()]
    assert_close(trainer.cost(X, labels), c.data)
    model.zero_grad()
    cost, grad = trainer.gradients(X, labels, to_values=True)
    assert_close(cost, c.data)
    assert_close(grad, expected)
    assert_close([p.grad for p in model.parameters()], expected)
    trainer.train_batch(X, labels)  # evaluation reads the trainer's current parameters
    trainer.sync_to_values()
    with no_grad():
        after = np.array([[o.data for o in model(row)] for row in X])
    assert_close(trainer.evaluate(X), after)


def test_trainer_settings_are_checked():
    model = MLP(2, [1], seed=0)
    with pytest.raises(TypeError, match="lr"):
        CompiledTrainer(model)
    with pytest.raises(ValueError, match="lr"):
        CompiledTrainer(model, lr=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        CompiledTrainer(model, lr=1.0, momentum=1.0)
    with pytest.raises(ValueError, match="unknown cost"):
        CompiledTrainer(model, "hinge", lr=1.0)


# --------------------------------------------------------------------------- non-finite derivatives
@pytest.mark.parametrize("fn, x, theta", [
    (lambda x, w, c: (x[0] + w) ** 0.5 * c, 0.0, (0.0, 2.0)),  # x ** 0.5 at 0: inf
    (lambda x, w, c: (x[0] + w) ** 0.5 * 0.0 + c, 0.0, (0.0, 1.0)),  # inf·0 = nan
    (lambda x, w, c: x[0] / c + w, 1.0, (0.0, 1e-200)),  # -(a/b)/b overflows to -inf
    (lambda x, w, c: (w / x[0]) * 0.0 + c, 1e-310, (1e-300, 1.0)),  # 1/b = inf, times 0
    (lambda x, w, c: (x[0] * w).log() * 0.0 + c, 1e-310, (1.0, 1.0)),  # 1/x = inf, times 0
], ids=["pow-at-0", "inf-times-0", "tiny-divisor", "tiny-divisor-times-0", "log-tiny-times-0"])
def test_infinite_local_derivatives_give_the_engines_inf_and_nan_gradients(fn, x, theta):
    # The engine's backward raises nothing: it writes inf or nan into .grad (and SGD.step
    # then refuses it). The compiled backward gives the same gradients.
    params = [Value(t) for t in theta]
    build = lambda xs: fn(xs, *params)  # noqa: E731
    X = np.array([[x]])
    _, expected, _, _ = engine_gradients(build, X, params)
    assert not np.isfinite(expected).all()
    program = compile_function(build, 1, params, trace_inputs=([[0.5]], [[0.25]]))
    _, grads = program.gradients(X)
    np.testing.assert_array_equal(grads, expected)
    for p in params:
        p.grad = 0.0
    np.testing.assert_array_equal(program.backward(X), expected)
    np.testing.assert_array_equal([p.grad for p in params], expected)


def test_a_local_derivative_too_large_for_a_float_raises_in_both_engines():
    w = Value(1.0)

    def fn(x):
        return (x[0] * w) ** 0.01  # d/dx at 5e-324 is 0.01·x^(-0.99), beyond 1e308

    with pytest.raises(OverflowError, match="pow"):
        fn([Value(5e-324)])
    program = compile_function(fn, 1, [w])
    with pytest.raises(OverflowError, match="pow"):
        program.gradients(np.array([[5e-324]]))


def root_cost(outputs, targets):
    """√Σ(y − a): infinitely steep where the outputs meet the targets."""
    return Value.sum([t - a for a, t in zip(outputs, targets)]) ** 0.5


def test_the_trainer_refuses_a_non_finite_gradient_as_sgd_step_does():
    X, Y = np.ones((2, 3)), np.zeros((2, 2))  # outputs 0 = targets: the root's slope is inf

    def zeroed():
        model = MLP(3, [2], "linear", seed=0)
        for p in model.parameters():
            p.data = 0.0
        return model

    scalar = zeroed()
    opt = SGD(scalar.parameters(), lr=0.1)
    batch_cost(scalar, X, Y.tolist(), root_cost).backward()
    with pytest.raises(ValueError) as sgd_error:
        opt.step()
    assert "refusing to write nan/inf" in str(sgd_error.value)
    reason = str(sgd_error.value).removeprefix("SGD.step: ")

    model = zeroed()
    trainer = CompiledTrainer(model, root_cost, lr=0.1)
    with pytest.raises(ValueError) as error:
        trainer.train_batch(X, Y)
    assert str(error.value) == f"train_batch: {reason}"
    assert trainer.steps == 0 and not trainer.theta.any() and trainer.in_sync
    with pytest.raises(ValueError) as error:
        trainer.train_epoch(X, Y, 2, random.Random(0))
    assert str(error.value) == f"train_epoch, batch 0: {reason}"
    assert trainer.steps == 0 and all(p.data == 0.0 for p in model.parameters())
    _, grad = trainer.gradients(X, Y)  # no step: the gradient as backward() gives it
    np.testing.assert_array_equal(grad, [p.grad for p in scalar.parameters()])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_total_cost_too_large_for_a_float_is_the_engines_overflow_error():
    # Each example's cost (1.2e154)² fits in a float, their sum does not.
    X, Y = np.full((2, 1), 1.2e154), np.zeros((2, 1))
    with pytest.raises(OverflowError, match="sum: result too large"):
        batch_cost(identity_model(), X, Y.tolist())
    trainer = CompiledTrainer(identity_model(), lr=0.1)
    with pytest.raises(OverflowError, match="sum: result too large"):
        trainer.train_batch(X, Y)
    assert trainer.steps == 0 and trainer.theta.tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- syncing
@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_an_interrupt_during_a_sync_never_leaves_a_half_written_model():
    """Ctrl-C (a timer signal raising KeyboardInterrupt) lands while the trainer steps and
    syncs back to back; the Values are then all old or all new, never a mixture."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    model = MLP(200, [50, 10], seed=0)  # 10,560 parameters: syncing takes most of the time
    trainer = CompiledTrainer(model, lr=0.1)
    X, labels = np.random.default_rng(0).random((4, 200)), np.array([0, 1, 2, 3])
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for k in range(12):  # about half the interrupts land in the writes
            signal.setitimer(signal.ITIMER_REAL, 0.011 + 0.0037 * k)
            with pytest.raises(KeyboardInterrupt):
                while True:
                    trainer.train_batch(X, labels)
                    trainer.sync_to_values()
            values = [p.data for p in model.parameters()]
            if trainer.in_sync:
                assert values == trainer.theta.tolist()
            trainer.sync_to_values()  # raises if the Values were half written
            assert trainer.in_sync and [p.data for p in model.parameters()] == \
                trainer.theta.tolist()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_failed_sync_does_not_hide_the_error_that_stopped_training():
    model = MLP(3, [2], seed=17)
    trainer = CompiledTrainer(model, lr=0.1)
    X, labels = np.eye(3), np.array([0, 1, 1])

    def meddle(i, cost):
        model.parameters()[0].data = 42.0  # a Value changed meanwhile: the sync must refuse
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        trainer.train_epoch(X, labels, 1, random.Random(0), on_batch=meddle)
    assert "changed outside" in "".join(getattr(stopped.value, "__notes__", []))
    assert not trainer.in_sync and model.parameters()[0].data == 42.0
    trainer.sync_from_values()
    with pytest.raises(ValueError, match="stop") as stopped, trainer:
        trainer.train_batch(X, labels)
        model.parameters()[1].data = 7.0
        raise ValueError("stop")
    assert "changed outside" in "".join(getattr(stopped.value, "__notes__", []))
    trainer.sync_to_values(force=True)
    assert trainer.in_sync and [p.data for p in model.parameters()] == trainer.theta.tolist()


def test_program_store_params_writes_theta_into_the_values():
    model = MLP(2, [2], seed=3)
    program = compile_model(model)
    program.load_params(np.arange(program.n_params, dtype=float))
    program.store_params()
    assert [p.data for p in model.parameters()] == list(range(program.n_params))


def test_scalar_steps_between_compiled_epochs_keep_their_momentum():
    X = np.random.default_rng(18).normal(size=(8, 3))
    labels = [0, 1, 1, 0, 1, 0, 0, 1]
    scalar, compiled = MLP(3, [2], seed=19), MLP(3, [2], seed=19)
    scalar_opt = SGD(scalar.parameters(), lr=0.3, momentum=0.9)
    opt = SGD(compiled.parameters(), lr=0.3, momentum=0.9)
    trainer = CompiledTrainer(compiled, optimizer=opt)

    def step(model, opt, batch):
        opt.zero_grad()
        batch_cost(model, X[batch], [labels[k] for k in batch]).backward()
        opt.step()

    rng_scalar, rng_compiled = random.Random(4), random.Random(4)
    for epoch in range(2):
        for batch in iterate_minibatches(len(X), 4, rng_scalar):
            step(scalar, scalar_opt, batch)
        trainer.train_epoch(X, np.array(labels), 4, rng_compiled)
        # one scalar step in between: the optimizer's velocity moves on without the trainer
        step(scalar, scalar_opt, [0, 1])
        step(compiled, opt, [0, 1])
    assert_close([p.data for p in compiled.parameters()], [p.data for p in scalar.parameters()])
    assert_close(opt.velocity, scalar_opt.velocity)


# --------------------------------------------------------------------------- evaluation
def test_cost_and_predictions_come_from_one_forward_pass(monkeypatch):
    model = MLP(3, [4, 3], seed=20)
    trainer = CompiledTrainer(model, "cross_entropy", lr=0.2)
    X = np.random.default_rng(21).random((9, 3))
    labels = np.arange(9) % 3
    expected = (trainer.cost(X, labels), trainer.predict(X))
    passes = []
    evaluate = Program.evaluate

    def counting(self, batch):  # the public Program.evaluate, counted (not compiling's check)
        if batch.size == len(X):
            passes.append(batch.size)
        return evaluate(self, batch)

    monkeypatch.setattr(Program, "evaluate", counting)
    cost, predictions = trainer.cost_and_predictions(X, labels)
    assert passes == [len(X)]
    assert_close(cost, expected[0])
    assert np.array_equal(predictions, expected[1]) and predictions.dtype == np.int64
    trainer.train_batch(X, labels)  # the current parameters, synced or not
    cost, predictions = trainer.cost_and_predictions(X, labels)
    assert_close(cost, trainer.cost(X, labels))
    assert np.array_equal(predictions, trainer.predict(X))
    with pytest.raises(ValueError, match="not finite"):
        trainer.cost_and_predictions(np.full((1, 3), np.nan), [0])


def test_a_lowered_program_counts_its_op_nodes_once():
    program = compile_cost(MLP(3, [2], seed=0))
    lowered = program.lowered
    assert "n_nodes" not in {f.name for f in dataclasses.fields(lowered)}
    assert program.describe().startswith(f"Program: {lowered.n_rows} op nodes in ")
    assert repr(program).startswith(f"Program({lowered.n_rows} op nodes, ")


# --------------------------------------------------------------------------- float32
#: float32 results are checked against the engine (float64) to this relative tolerance, scaled
#: by the largest term as everywhere here: float32 carries 24 bits (ε ≈ 6e-8), and a dot
#: product of n terms can lose about √n·ε of its largest term.
RTOL32 = 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@given(data=st.data())
def test_float32_programs_match_the_engine_within_float32_tolerance(activation, cost, data):
    model = data.draw(networks(activation), label="model")
    b = data.draw(st.integers(1, 5))
    X = np.array(data.draw(st.lists(st.lists(floats, min_size=model.nin, max_size=model.nin),
                                    min_size=b, max_size=b)))
    labels = data.draw(st.lists(st.integers(0, model.nouts[-1] - 1), min_size=b, max_size=b))
    model.zero_grad()
    c = batch_cost(model, X, labels, cost)
    c.backward()
    value_scale, grad_scale = scales([c])
    program = compile_cost(model, cost, dtype="float32")
    assert program.dtype == np.float32 and program.theta.dtype == np.float32
    costs, grads = program.gradients(X, label_targets(labels, model.nouts[-1]))
    assert costs.dtype == grads.dtype == np.float32
    assert_close(costs.mean(), c.data, rtol=RTOL32, scale=value_scale)
    assert_close(grads, [p.grad for p in model.parameters()], rtol=RTOL32, scale=grad_scale)


def test_float32_training_follows_the_scalar_engine_within_float32_tolerance():
    X = np.random.default_rng(30).random((12, 784))
    labels = np.arange(12) % 10
    scalar, compiled = MLP(784, [16, 16, 10], seed=3), MLP(784, [16, 16, 10], seed=3)
    scalar_opt = scalar_training(scalar, X, labels.tolist(), 4, random.Random(5), 3.0, 0.0)
    trainer = CompiledTrainer(compiled, lr=3.0, dtype="float32")
    assert trainer.theta.dtype == np.float32
    trainer.train_epoch(X, labels, 4, random.Random(5))
    assert_close([p.data for p in compiled.parameters()], [p.data for p in scalar.parameters()],
                 rtol=RTOL32)
    assert_close(trainer.grad, [p.grad for p in scalar.parameters()], rtol=RTOL32)
    assert all(type(p.data) is float for p in compiled.parameters())  # Values stay floats
    assert scalar_opt.lr == 3.0
    expected = batch_cost(scalar, X, labels.tolist()).data
    assert_close(trainer.cost(X, labels), expected, rtol=RTOL32)
    assert np.array_equal(trainer.predict(X), CompiledTrainer(scalar, lr=1.0).predict(X))


def test_float64_is_the_default_and_other_dtypes_are_refused():
    model = MLP(2, [2], seed=0)
    assert CompiledTrainer(model, lr=1.0).theta.dtype == np.float64
    assert compile_model(model).dtype == np.float64
    for bad in ("float16", "int32", np.float16, None):
        with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32'"):
            CompiledTrainer(model, lr=1.0, dtype=bad)
        with pytest.raises(ValueError, match="dtype"):
            compile_model(model, dtype=bad)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_sigmoid_far_below_zero_trains_as_the_engine_does(dtype):
    # σ(−1000) = 0: e^1000 overflows inside the fast step, which then runs the careful way.
    def saturated():
        model = MLP(2, [2], seed=0)
        for p, t in zip(model.parameters(), [1000.0, 0.0, 0.5, -1000.0, 1.0, 0.0]):
            p.data = t
        return model

    X, labels = np.array([[-1.0, 0.0], [0.5, 1.0]]), [0, 1]
    scalar, compiled = saturated(), saturated()
    opt = SGD(scalar.parameters(), lr=0.5)
    opt.zero_grad()
    c = batch_cost(scalar, X, labels)
    c.backward()
    opt.step()
    trainer = CompiledTrainer(compiled, lr=0.5, dtype=dtype)
    rtol = RTOL if dtype == "float64" else RTOL32
    tiny = 0.0 if dtype == "float64" else 1e-30  # float32 has nothing below ~1e-38 (σ = 6e-39)
    assert_close(trainer.train_batch(X, np.array(labels)), c.data, rtol=rtol)
    trainer.sync_to_values()
    assert_close([p.data for p in compiled.parameters()], [p.data for p in scalar.parameters()],
                 rtol=rtol)
    assert_close(trainer.grad, [p.grad for p in scalar.parameters()], rtol=rtol, scale=tiny)
    assert_close(trainer.evaluate(X), compile_model(scalar).forward(X), rtol=rtol)
