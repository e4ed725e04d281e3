"""grad (as floats and as graphs), hessian, hvp and jvp against closed forms."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite import Value, no_grad
from tinygrad_lite.autodiff import grad, hessian, hvp, jvp, jvp_graph
from tinygrad_lite.engine import topological_order
from tinygrad_lite.ops import custom_op
from tinygrad_lite.testing import expressions

POINTS = st.floats(-3.0, 3.0, allow_nan=False)
POSITIVE = st.floats(0.1, 5.0)


def derivatives(f, x: float, order: int) -> list[float]:
    """[f(x), f'(x), ..., f⁽ᵒʳᵈᵉʳ⁾(x)] by repeated grad(create_graph=True)."""
    leaf = Value(x)
    out = [f(leaf)]
    for _ in range(order):
        (d,) = grad(out[-1], [leaf], create_graph=True)
        out.append(d)
    return [v.data for v in out]


@given(POINTS)
def test_sigmoid_second_and_third_derivatives(x):
    s = 1.0 / (1.0 + math.exp(-x))
    _, d1, d2, d3 = derivatives(lambda v: v.sigmoid(), x, 3)
    assert d1 == pytest.approx(s * (1 - s), abs=1e-12)
    assert d2 == pytest.approx(s * (1 - s) * (1 - 2 * s), abs=1e-12)
    assert d3 == pytest.approx(s * (1 - s) * (1 - 6 * s + 6 * s * s), abs=1e-12)


@given(POINTS)
def test_tanh_second_derivative(x):
    t = math.tanh(x)
    _, d1, d2, d3 = derivatives(lambda v: v.tanh(), x, 3)
    assert d1 == pytest.approx(1 - t * t, abs=1e-12)
    assert d2 == pytest.approx(-2 * t * (1 - t * t), abs=1e-12)
    assert d3 == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), abs=1e-12)


@given(POINTS)
def test_cube_derivatives(x):
    _, d1, d2, d3, d4 = derivatives(lambda v: v ** 3, x, 4)
    assert (d1, d2, d3, d4) == pytest.approx((3 * x * x, 6 * x, 6.0, 0.0), abs=1e-12)


@given(POSITIVE)
def test_log_derivatives(x):
    _, d1, d2, d3 = derivatives(lambda v: v.log(), x, 3)
    assert (d1, d2, d3) == pytest.approx((1 / x, -1 / x ** 2, 2 / x ** 3), rel=1e-12)


@given(st.floats(-2.0, 2.0))
def test_exp_at_every_order(x):
    values = derivatives(lambda v: v.exp(), x, 6)
    assert values == pytest.approx([math.exp(x)] * 7, rel=1e-12)


@given(st.floats(0.05, 3.0), st.booleans())
def test_relu_and_abs_have_no_curvature_away_from_zero(x, negative):
    x = -x if negative else x
    for f in (lambda v: v.relu(), lambda v: v.abs()):
        _, d1, d2 = derivatives(f, x, 2)
        assert abs(d1) in (0.0, 1.0) and d2 == 0.0


@given(POSITIVE, st.floats(-2.0, 2.0))
def test_value_power_mixed_second_derivative(x, p):
    # f = x^p: ∂²f/∂x∂p = x^(p−1)·(1 + p·ln x)
    h = hessian(lambda v: v[0] ** v[1], [x, p])
    assert h[0][1] == pytest.approx(x ** (p - 1) * (1 + p * math.log(x)), rel=1e-9, abs=1e-12)
    assert h[1][0] == pytest.approx(h[0][1], rel=1e-12, abs=1e-12)
    assert h[1][1] == pytest.approx(x ** p * math.log(x) ** 2, rel=1e-9, abs=1e-12)


def test_grad_does_not_touch_dot_grad():
    x, y = Value(2.0), Value(-1.0)
    out = x * y + x.exp()
    assert grad(out, [x, y]) == pytest.approx([-1.0 + math.exp(2.0), 2.0])
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)
    graphs = grad(out, [x, y], create_graph=True)
    assert all(isinstance(g, Value) for g in graphs)
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)


def test_grad_of_an_unused_input_is_zero_and_of_the_output_is_one():
    x, unused = Value(1.5), Value(3.0)
    out = x.tanh()
    assert grad(out, [unused, out]) == [0.0, 1.0]
    zero, one = grad(out, [unused, out], create_graph=True)
    assert (zero.data, one.data) == (0.0, 1.0)


def test_gradient_graph_of_sigmoid_shows_s_times_one_minus_s():
    w = Value(0.8, label="w")
    s = (w * 0.6 - 0.2).sigmoid()
    (dw,) = grad(s, [w], create_graph=True)
    ops = [v.op for v in topological_order(dw)]
    assert "sigmoid" in ops and ops.count("-") >= 2 and "*" in ops  # s·(1 − s)·0.6
    assert s in topological_order(dw)  # built from the node s itself
    assert dw.data == pytest.approx(s.data * (1 - s.data) * 0.6)


def test_a_derivative_graph_trains_with_backward():
    # A gradient penalty: backward() through the graph of a gradient.
    x = Value(0.7)
    (dx,) = grad(x.sigmoid() * x, [x], create_graph=True)
    penalty = dx * dx
    penalty.backward()
    _, d1, d2 = derivatives(lambda v: v.sigmoid() * v, 0.7, 2)
    assert x.grad == pytest.approx(2 * d1 * d2, rel=1e-12)


def test_hessian_of_a_quadratic_form_is_its_matrix():
    # f = x0² + 3·x0·x1 + 2·x1²  →  H = [[2, 3], [3, 4]]
    h = hessian(lambda v: v[0] ** 2 + 3 * v[0] * v[1] + 2 * v[1] ** 2, [0.3, -1.2])
    assert h == [[2.0, 3.0], [3.0, 4.0]]


@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3),
       st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_hvp_is_the_hessian_times_v(xs, v):
    def f(x):
        return (x[0] * x[1]).tanh() + x[2].sigmoid() * x[0] + (x[1] * x[2]) ** 2

    h = hessian(f, xs)
    expected = [sum(h[i][j] * v[j] for j in range(3)) for i in range(3)]
    assert hvp(f, xs, v) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_jvp_of_a_product():
    value, tangent = jvp(lambda x: x[0] * x[1] + x[0], [3.0, 2.0], [1.0, 10.0])
    assert (value, tangent) == (9.0, 3.0 + 30.0)  # (x1 + 1)·1 + x0·10


def test_jvp_of_several_outputs():
    values, tangents = jvp(lambda x: [x[0].exp(), x[0] * x[1]], [0.0, 2.0], [1.0, 0.0])
    assert values == [1.0, 0.0] and tangents == [1.0, 2.0]


@settings(max_examples=60)
@given(expressions(max_inputs=3, max_steps=6), st.data())
def test_jvp_equals_the_reverse_mode_jacobian_column(expr, data):
    leaves = [Value(x) for x in expr.inputs]
    out = expr.build(leaves)
    j = data.draw(st.integers(0, len(leaves) - 1))
    unit = [1.0 if k == j else 0.0 for k in range(len(leaves))]
    column = jvp_graph(out, leaves, unit)
    assert column == pytest.approx(grad(out, leaves)[j], rel=1e-9, abs=1e-12)


def test_a_float_only_custom_derivative_is_first_order_only():
    softplus = custom_op("softplus_t", lambda x: math.log1p(math.exp(x)),
                         lambda x, out: -math.expm1(-out))
    x = Value(0.3)
    y = softplus(x)
    assert grad(y, [x]) == pytest.approx([1 / (1 + math.exp(-0.3))])
    with pytest.raises(TypeError, match="floats only.*differentiated\\s+once"):
        grad(y, [x], create_graph=True)


def test_a_value_custom_derivative_works_at_every_order():
    cube = custom_op("cube_t", lambda x: x ** 3, lambda x, out: 3 * x * x)
    _, d1, d2, d3 = derivatives(cube, 1.5, 3)
    assert (d1, d2, d3) == pytest.approx((6.75, 9.0, 6.0))


def test_a_from_op_node_is_first_order_only():
    x = Value(2.0)
    y = Value.from_op(4.0, [x], [4.0], "my_square")
    with pytest.raises(TypeError, match="only float local derivatives"):
        grad(y, [x], create_graph=True)


def test_bad_arguments_are_named():
    x = Value(1.0)
    with pytest.raises(TypeError, match="wrap it in a list"):
        grad(x * 2, x)
    with pytest.raises(TypeError, match="output must be a Value"):
        grad(2.0, [x])
    with pytest.raises(TypeError, match="create_graph must be True or False"):
        grad(x * 2, [x], create_graph=1)
    with pytest.raises(ValueError, match="v has 1 entries but xs has 2"):
        hvp(lambda v: v[0] * v[1], [1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="must return one Value"):
        hessian(lambda v: 1.0, [1.0])
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        grad(x * 2, [x], create_graph=True)


def test_draw_graph_of_a_gradient_shows_its_computation():
    from tinygrad_lite import draw_graph

    w, a, b, y = (Value(v, label=k) for k, v in
                  (("w", 0.8), ("a", 0.6), ("b", -0.2), ("y", 1.0)))
    s = (w * a + b).sigmoid()
    s.label = "s"
    cost = (s - y) ** 2
    cost.label = "C"
    (dw,) = grad(cost, [w], create_graph=True)
    source = draw_graph(dw).source
    assert "∂C/∂w" in source and "∂C/∂s" in source  # the gradient nodes are named
    one_minus_s = [v for v in topological_order(dw) if v.op == "-" and v.parents[1] is s]
    assert one_minus_s and one_minus_s[0].parents[0].data == 1.0  # the (1 − s) of s·(1 − s)
    assert dw.data == pytest.approx(0.6 * s.data * (1 - s.data) * 2 * (s.data - 1.0))
    assert s.label == "s" and w.label == "w"  # the original graph keeps its labels


def test_the_compiler_runs_a_gradient_graph():
    # A gradient penalty ‖∂C/∂(w, b)‖², compiled to NumPy: the same numbers as the scalar engine.
    import numpy as np

    from tinygrad_lite import compile_function

    w, b = Value(0.8, label="w"), Value(-0.2, label="b")

    def penalty(x):
        cost = ((w * x[0] + b).sigmoid() - x[1]) ** 2
        dw, db = grad(cost, [w, b], create_graph=True)
        return dw * dw + db * db

    program = compile_function(penalty, 2, [w, b])
    batch = np.array([[0.6, 1.0], [0.2, 0.0], [-1.5, 1.0]])
    values, gradients = program.gradients(batch, reduction="sum")
    expected = [penalty([Value(x), Value(t)]) for x, t in batch]
    assert values == pytest.approx([e.data for e in expected], rel=1e-12)
    by_engine = [sum(g) for g in zip(*(grad(e, [w, b]) for e in expected))]
    assert list(gradients) == pytest.approx(by_engine, rel=1e-10)
