"""Tests for tinygrad_lite.losses: values and gradients against closed forms."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite import data, losses
from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.losses import (
    COSTS,
    batch_cost,
    cross_entropy_cost,
    get_cost,
    one_hot,
    quadratic_cost,
)
from tinygrad_lite.nn import MLP

finite = st.floats(-5.0, 5.0, allow_nan=False)


def softmax(z: list[float]) -> list[float]:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return [v / s for v in e]


# --------------------------------------------------------------------------- quadratic
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=10))
def test_quadratic_cost_value_and_gradient_are_the_closed_forms(pairs):
    a = [Value(p) for p, _ in pairs]
    y = [t for _, t in pairs]
    c = quadratic_cost(a, y)
    assert c.data == pytest.approx(sum((p - t) ** 2 for p, t in pairs), rel=1e-12, abs=1e-12)
    c.backward()
    for ai, t in zip(a, y):  # ∂C₀/∂aⱼ = 2(aⱼ − yⱼ): no ½, no mean
        assert ai.grad == pytest.approx(2 * (ai.data - t), rel=1e-12, abs=1e-12)


def test_quadratic_cost_is_a_sum_not_a_mean():
    assert quadratic_cost([Value(1.0), Value(0.0), Value(0.5)], [0.0, 0.0, 0.0]).data == 1.25


def test_label_targets_become_one_hot():
    a = [Value(v) for v in (0.1, 0.7, 0.2)]
    assert quadratic_cost(a, 1).data == pytest.approx(0.01 + 0.09 + 0.04)
    assert quadratic_cost(a, np.int64(1)).data == quadratic_cost(a, [0.0, 1.0, 0.0]).data
    assert quadratic_cost(a, np.array([0.0, 1.0, 0.0])).data == quadratic_cost(a, 1).data


def test_last_layer_weight_gradient_is_a_times_sigma_prime_times_2_error():
    """∂C₀/∂w_jk^(L) = a_k^(L−1) · σ'(z_j^(L)) · 2(a_j^(L) − y_j), the formula of the videos."""
    net = MLP(4, [3, 2], seed=11)
    x = [0.2, 0.9, -0.4, 0.5]
    y = [1.0, 0.0]
    quadratic_cost(net(x), y).backward()
    with no_grad():
        hidden = [h.data for h in net.layers[0](x)]
    for j, neuron in enumerate(net.layers[1].neurons):
        z = sum(w.data * h for w, h in zip(neuron.w, hidden)) + neuron.b.data
        a = 1 / (1 + math.exp(-z))
        delta = a * (1 - a) * 2 * (a - y[j])
        for k, w in enumerate(neuron.w):
            assert w.grad == pytest.approx(hidden[k] * delta, rel=1e-10)
        assert neuron.b.grad == pytest.approx(delta, rel=1e-10)


# --------------------------------------------------------------------------- batch
def test_batch_cost_is_the_mean_and_its_gradient_the_mean_of_per_example_gradients():
    net = MLP(3, [4, 2], seed=1)
    rng = random.Random(0)
    xs = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(5)]
    ys = [rng.randrange(2) for _ in range(5)]
    per_example, per_cost = [], []
    for x, y in zip(xs, ys):
        net.zero_grad()
        c = quadratic_cost(net(x), y)
        c.backward()
        per_cost.append(c.data)
        per_example.append([p.grad for p in net.parameters()])
    net.zero_grad()
    c = batch_cost(net, xs, ys)
    assert c.data == pytest.approx(sum(per_cost) / 5, rel=1e-12)
    c.backward()
    mean_grad = np.mean(per_example, axis=0)
    assert [p.grad for p in net.parameters()] == pytest.approx(mean_grad.tolist(), rel=1e-9,
                                                                abs=1e-14)


def test_batch_cost_accepts_arrays_names_and_functions():
    net = MLP(2, [3], seed=0)
    xs = np.array([[0.1, 0.2], [0.3, -0.4]])
    ys = np.array([0, 2])
    by_function = batch_cost(net, xs, ys, cross_entropy_cost).data
    assert batch_cost(net, xs, ys, "cross-entropy").data == by_function
    manual = (cross_entropy_cost(net(xs[0]), 0).data + cross_entropy_cost(net(xs[1]), 2).data) / 2
    assert by_function == pytest.approx(manual, rel=1e-12)


def test_batch_cost_errors():
    net = MLP(2, [3], seed=0)
    with pytest.raises(ValueError, match="no examples"):
        batch_cost(net, [], [])
    with pytest.raises(ValueError, match="2 inputs but 1 targets"):
        batch_cost(net, [[0, 0], [1, 1]], [0])
    with pytest.raises(ValueError, match="unknown cost 'mse'.*quadratic, cross-entropy"):
        batch_cost(net, [[0, 0]], [0], "mse")
    with pytest.raises(TypeError, match="cost must be"):
        get_cost(3)  # type: ignore[arg-type]
    assert get_cost("quadratic") is quadratic_cost
    assert set(COSTS) == {"quadratic", "cross-entropy"}


def test_cost_names_may_use_an_underscore_for_the_hyphen():
    assert get_cost("cross_entropy") is get_cost("cross-entropy") is cross_entropy_cost
    net = MLP(2, [3], seed=0)
    xs, ys = np.array([[0.1, 0.2], [0.3, -0.4]]), np.array([0, 2])
    assert (batch_cost(net, xs, ys, "cross_entropy").data
            == batch_cost(net, xs, ys, "cross-entropy").data)
    with pytest.raises(ValueError, match="unknown cost 'cross entropy'"):
        get_cost("cross entropy")


# --------------------------------------------------------------------------- cross-entropy
@given(st.lists(finite, min_size=2, max_size=8), st.data())
def test_cross_entropy_value_and_gradient_is_softmax_minus_y(logits, data_):
    label = data_.draw(st.integers(0, len(logits) - 1))
    z = [Value(v) for v in logits]
    c = cross_entropy_cost(z, label)
    p = softmax(logits)
    assert c.data == pytest.approx(-math.log(p[label]), rel=1e-9, abs=1e-12)
    c.backward()
    y = one_hot(label, len(logits))
    for zj, pj, yj in zip(z, p, y):
        assert zj.grad == pytest.approx(pj - yj, rel=1e-9, abs=1e-12)


def test_cross_entropy_with_soft_targets_has_gradient_sum_y_softmax_minus_y():
    logits, y = [0.5, -1.0, 2.0], [0.2, 0.3, 0.7]  # Σy = 1.2, not a distribution
    z = [Value(v) for v in logits]
    c = cross_entropy_cost(z, y)
    p = softmax(logits)
    assert c.data == pytest.approx(-sum(t * math.log(q) for t, q in zip(y, p)), rel=1e-12)
    c.backward()
    for zj, pj, yj in zip(z, p, y):
        assert zj.grad == pytest.approx(1.2 * pj - yj, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("big", [800.0, 1e4, -1e4, 1e6])
def test_cross_entropy_is_stable_at_large_logits(big):
    z = [Value(big), Value(big - 3.0), Value(big - 1000.0)]
    c = cross_entropy_cost(z, 1)
    lse = math.log(1 + math.exp(-3.0) + math.exp(-1000.0))  # relative to the max
    assert c.data == pytest.approx(lse + 3.0, rel=1e-9)
    c.backward()
    p = softmax([0.0, -3.0, -1000.0])
    assert [v.grad for v in z] == pytest.approx([p[0], p[1] - 1.0, p[2]], rel=1e-9, abs=1e-300)
    assert all(math.isfinite(v.grad) for v in z)


def test_cross_entropy_gradients_match_finite_differences_through_a_network():
    net = MLP(3, [4, 3], "tanh", output_activation="linear", seed=2)
    x = [0.3, -0.7, 0.2]
    cross_entropy_cost(net(x), 2).backward()
    for p in net.parameters()[::3]:
        old = p.data
        p.data = old + 1e-6
        up = cross_entropy_cost(net(x), 2).data
        p.data = old - 1e-6
        down = cross_entropy_cost(net(x), 2).data
        p.data = old
        assert p.grad == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-8)


# --------------------------------------------------------------------------- targets
@pytest.mark.parametrize("cost", [quadratic_cost, cross_entropy_cost])
def test_target_errors(cost):
    a = [Value(0.1), Value(0.2), Value(0.3)]
    with pytest.raises(ValueError, match="2 targets for 3 outputs"):
        cost(a, [0.0, 1.0])
    with pytest.raises(ValueError, match="4 targets for 3 outputs"):
        cost(a, np.zeros(4))
    with pytest.raises(ValueError, match="label 3 out of range for 3 outputs"):
        cost(a, 3)
    with pytest.raises(ValueError, match="label -1"):
        cost(a, -1)
    with pytest.raises(TypeError, match="label int or a sequence"):
        cost(a, 1.0)
    with pytest.raises(TypeError, match="label int or a sequence"):
        cost(a, "abc")
    with pytest.raises(TypeError, match="target 1 must be a number"):
        cost(a, [0.0, None, 1.0])
    with pytest.raises(ValueError, match="target 2 is nan"):
        cost(a, [0.0, 0.0, float("nan")])
    with pytest.raises(ValueError, match="outputs is empty"):
        cost([], [])


def test_one_hot_is_the_data_modules_one():
    assert losses.one_hot is data.one_hot
    assert one_hot(3) == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert one_hot(1, 3) == [0.0, 1.0, 0.0]


# --------------------------------------------------------------------------- one output
@given(finite, finite)
def test_a_single_output_takes_one_number_as_its_target(a, y):
    """C₀ = (a − y)², ∂C₀/∂a = 2(a − y), whether the output is a list of one or a Value."""
    for outputs in ([Value(a)], Value(a)):
        c = quadratic_cost(outputs, y)
        c.backward()
        out = outputs if isinstance(outputs, Value) else outputs[0]
        assert c.data == pytest.approx((a - y) ** 2, rel=1e-12, abs=1e-12)
        assert out.grad == pytest.approx(2 * (a - y), rel=1e-12, abs=1e-12)


def test_xor_labels_are_the_targets_of_one_output():
    net = MLP(2, [2, 1], seed=0)
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    c = batch_cost(net, X, [0, 1, 1, 0])
    expected = sum((net(x)[0].data - y) ** 2 for x, y in zip(X, [0, 1, 1, 0])) / 4
    assert c.data == pytest.approx(expected, rel=1e-12)
    assert quadratic_cost(net(X[1]), 0.0).data == quadratic_cost(net(X[1])[0], 0).data


def test_a_single_number_for_several_outputs_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="one number is a target only for a single output"):
        quadratic_cost([Value(0.1), Value(0.2)], 0.5)
    with pytest.raises(TypeError, match="outputs must be a Value or a sequence"):
        quadratic_cost(0.5, 0.5)
    with pytest.raises(ValueError, match="target is inf"):
        quadratic_cost(Value(0.5), float("inf"))
    with pytest.raises(ValueError, match="target 0 is too large for a float"):
        quadratic_cost([Value(0.5)], [10**400])


@pytest.mark.parametrize("cost", [quadratic_cost, cross_entropy_cost])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int8, np.float64])
def test_numpy_targets_give_exactly_the_python_float_result(cost, dtype):
    outputs = [Value(0.3), Value(-1.2), Value(2.0)]
    targets = np.array([1, 0, 0.5]).astype(dtype)
    python = cost(outputs, [float(t) for t in targets])
    assert cost(outputs, list(targets)).data == python.data
    assert cost(outputs, targets).data == python.data
    single = quadratic_cost(Value(0.3), dtype(1))
    assert single.data == quadratic_cost(Value(0.3), 1.0).data
