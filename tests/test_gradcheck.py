"""Tests for tinygrad_lite.gradcheck.

A wrong derivative is made on purpose with ``Value.from_op`` or ``custom_op`` and must fail
loudly, naming the input; correct ones must pass; the tolerance is exactly
``atol + rtol * |numerical|``.
"""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite import Value, is_grad_enabled, no_grad
from tinygrad_lite.gradcheck import (
    GradcheckError,
    gradcheck,
    gradcheck_directional,
    gradcheck_model,
)
from tinygrad_lite.losses import cross_entropy_cost, one_hot, quadratic_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.ops import custom_op


def scaled(x: Value, local: float, scale: float) -> Value:
    """scale·x with a deliberately chosen local derivative ``local`` (right when == scale)."""
    return Value.from_op(scale * x.data, (x,), (local,), "scaled")


def square_with_derivative(k: float):
    """x² whose op claims derivative k·x (right for k = 2)."""
    return custom_op("sq_k", lambda x: x * x, lambda x, out: k * x)


def smooth(x):
    return (x[0] * x[1]).sigmoid() + x[2].log() * x[0].tanh() - x[1] ** 3 / (x[2] + 1.0)


# ----------------------------------------------------------------------------- gradcheck
@given(
    st.floats(-3, 3), st.floats(-3, 3), st.floats(0.2, 3),
)
def test_passes_on_correct_ops(a, b, c):
    assert gradcheck(smooth, [a, b, c]) is True


def test_returns_false_without_raising_and_true_when_right():
    wrong = lambda x: square_with_derivative(3.0)(x[0])  # noqa: E731
    right = lambda x: square_with_derivative(2.0)(x[0])  # noqa: E731
    assert gradcheck(wrong, [1.5], raise_exception=False) is False
    assert gradcheck(right, [1.5], raise_exception=False) is True


def test_wrong_derivative_raises_an_assertion_error_naming_the_input_and_numbers():
    # f = x0 + scaled(x1): only x1's derivative is wrong (0.5 instead of 3).
    f = lambda x: x[0] * 2.0 + scaled(x[1], 0.5, 3.0)  # noqa: E731
    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [1.0, -2.0], atol=1e-5, rtol=1e-3)
    error = info.value
    assert isinstance(error, AssertionError)
    message = str(error)
    assert "Jacobian mismatch for output 0 with respect to input 1" in message
    assert "input 0" not in message
    found = re.search(r"numerical: (\S+), analytical: (\S+),", message)
    assert found, message
    numerical, analytical = float(found.group(1)), float(found.group(2))
    assert numerical == pytest.approx(3.0, abs=1e-7)
    assert analytical == 0.5
    assert "tolerance: atol + rtol*|numerical| = 1e-05 + 0.001*3 = 0.00301" in message
    (mismatch,) = error.mismatches
    assert (mismatch.index, mismatch.analytical) == (1, 0.5)
    assert mismatch.numerical == pytest.approx(3.0, abs=1e-7)
    assert mismatch.tolerance == pytest.approx(1e-5 + 1e-3 * abs(mismatch.numerical))


def test_every_wrong_input_is_reported():
    f = lambda x: scaled(x[0], 1.0, 2.0) + x[1] + scaled(x[2], 5.0, 4.0)  # noqa: E731
    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [0.1, 0.2, 0.3])
    assert [m.index for m in info.value.mismatches] == [0, 2]
    assert "with respect to input 0" in str(info.value)
    assert "with respect to input 2" in str(info.value)


@pytest.mark.parametrize("offset", [1e-4, 5e-4, 2e-3, 0.1])
@pytest.mark.parametrize("atol,rtol", [(1e-5, 1e-3), (1e-3, 0.0), (0.0, 1e-2)])
def test_tolerance_is_atol_plus_rtol_times_numerical(offset, atol, rtol):
    # f = 0.5·x is linear, so the central difference is 0.5 up to rounding (~1e-10).
    f = lambda x: scaled(x[0], 0.5 + offset, 0.5)  # noqa: E731
    tolerance = atol + rtol * 0.5
    assert abs(offset - tolerance) > 1e-8  # not a borderline case
    assert gradcheck(f, [0.7], atol=atol, rtol=rtol, raise_exception=False) == (
        offset <= tolerance
    )


def test_nan_or_infinite_analytic_gradient_is_a_mismatch():
    for bad in (math.nan, math.inf):
        f = lambda x, bad=bad: scaled(x[0], bad, 1.0)  # noqa: E731
        with pytest.raises(GradcheckError, match="with respect to input 0"):
            gradcheck(f, [0.5])


def test_analytic_side_uses_one_backward_and_fd_side_runs_under_no_grad():
    calls = []

    def f(x):
        calls.append((is_grad_enabled(), [v.data for v in x]))
        return x[0] * x[1] + x[2]

    assert gradcheck(f, [1.0, 2.0, 3.0], eps=1e-3)
    assert len(calls) == 1 + 2 * 3
    assert calls[0] == (True, [1.0, 2.0, 3.0])
    assert all(not enabled for enabled, _ in calls[1:])
    shifted = sorted(tuple(xs) for _, xs in calls[1:])
    assert (1.001, 2.0, 3.0) in shifted and (1.0, 2.0, 2.999) in shifted


def test_caller_values_are_read_not_modified():
    a, b = Value(0.5), Value(-1.5)
    a.grad = 7.0
    assert gradcheck(lambda x: x[0] * x[1], [a, b])
    assert (a.data, a.grad, b.data, b.grad) == (0.5, 7.0, -1.5, 0.0)


def test_inputs_may_be_a_numpy_array():
    np = pytest.importorskip("numpy")
    assert gradcheck(lambda x: x[0].exp() * x[1], np.array([0.3, -0.4]))


@pytest.mark.parametrize(
    "kwargs,error,pattern",
    [
        ({"eps": 0.0}, ValueError, "eps must be > 0"),
        ({"eps": -1e-6}, ValueError, "eps must be > 0"),
        ({"eps": math.nan}, ValueError, "eps must be finite"),
        ({"eps": "1e-6"}, TypeError, "eps must be a real number, got str"),
        ({"eps": True}, TypeError, "eps must be a real number, got bool"),
        ({"atol": -1.0}, ValueError, "atol must be >= 0"),
        ({"rtol": -1.0}, ValueError, "rtol must be >= 0"),
        ({"rtol": None}, TypeError, "rtol must be a real number, got NoneType"),
        ({"raise_exception": 1}, TypeError, "raise_exception must be True or False"),
    ],
)
def test_bad_settings_are_rejected_clearly(kwargs, error, pattern):
    for check in (gradcheck, gradcheck_directional):
        with pytest.raises(error, match=re.escape(pattern)):
            check(lambda x: x[0] * 2.0, [1.0], **kwargs)


@pytest.mark.parametrize(
    "inputs,error,pattern",
    [
        ([], ValueError, "inputs is empty"),
        (1.5, TypeError, "got a single float; wrap it in a list"),
        (Value(1.0), TypeError, "got a single Value"),
        ("12", TypeError, "inputs must be a sequence of numbers, got str"),
        ([1.0, "2"], TypeError, "inputs[1] must be a real number or a Value, got str"),
        ([1.0, [2.0]], TypeError, "inputs[1] must be a real number or a Value, got list"),
        ([math.inf], ValueError, "inputs[0] must be finite"),
        (None, TypeError, "inputs must be a sequence of numbers, got NoneType"),
    ],
)
def test_bad_inputs_are_rejected_naming_them(inputs, error, pattern):
    with pytest.raises(error, match=re.escape(pattern)):
        gradcheck(lambda x: x[0], inputs)


@pytest.mark.parametrize(
    "result,pattern",
    [
        (lambda x: x[0].data * 2, "f must return a Value, got float: 2.0 (return the Value"),
        (lambda x: [x[0], x[0]], "f must return a Value, got list"),
        (lambda x: None, "f must return a Value, got NoneType"),
    ],
)
def test_f_returning_a_non_value_is_a_type_error_naming_what_it_returned(result, pattern):
    for check in (gradcheck, gradcheck_directional):
        with pytest.raises(TypeError, match=re.escape(pattern)):
            check(result, [1.0])


def test_f_must_be_callable():
    with pytest.raises(TypeError, match="f must be callable, got int"):
        gradcheck(3, [1.0])


def test_refuses_to_run_inside_no_grad():
    with no_grad():
        with pytest.raises(RuntimeError, match="no_grad"):
            gradcheck(lambda x: x[0] * x[0], [1.0])


def test_domain_edge_within_eps_is_a_clear_value_error():
    with pytest.raises(ValueError, match="f failed at the point shifted by -eps along input 0 "
                                         ".*within eps=1e-06 of the edge of a domain") as info:
        gradcheck(lambda x: x[0].log(), [5e-7])
    assert "log: argument must be positive" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


def test_an_input_that_f_ignores_has_a_zero_gradient_on_both_sides():
    assert gradcheck(lambda x: x[0].tanh(), [0.3, 99.0])


def test_a_graph_cut_by_reading_data_is_caught():
    # Rebuilding from .data hides x0 from backward(): analytic 0, numerical 2·x0.
    f = lambda x: Value(x[0].data ** 2) + x[1]  # noqa: E731
    with pytest.raises(GradcheckError, match="with respect to input 0"):
        gradcheck(f, [1.5, 2.0])


# ----------------------------------------------------------------------------- directional
def test_directional_passes_on_correct_functions():
    assert gradcheck_directional(smooth, [0.5, -1.0, 2.0], seed=0)
    assert gradcheck_directional(smooth, [0.5, -1.0, 2.0], seed=None)
    assert gradcheck_directional(smooth, [0.5, -1.0, 2.0], seed=random.Random(5))


def test_directional_evaluates_f_three_times_whatever_the_number_of_inputs():
    calls = []

    def f(x):
        calls.append(1)
        return Value.sum([v * v for v in x])

    assert gradcheck_directional(f, [0.01 * i for i in range(200)])
    assert len(calls) == 3


def many_inputs_one_wrong(x):
    """Σ xᵢ² except that x[7]'s derivative is claimed to be 2·x7 + 1."""
    terms = [v * v for v in x]
    terms[7] = Value.from_op(x[7].data ** 2, (x[7],), (2 * x[7].data + 1.0,), "bad_sq")
    return Value.sum(terms)


def test_directional_catches_a_wrong_derivative_for_a_fixed_seed_and_names_the_seed():
    point = [0.1 * i - 2.0 for i in range(40)]
    with pytest.raises(GradcheckError) as info:
        gradcheck_directional(many_inputs_one_wrong, point, seed=0)
    message = str(info.value)
    assert "Directional derivative mismatch for output 0 along a random unit direction v " \
           "(seed=0)" in message
    assert "Run gradcheck(f, inputs) to find which input" in message
    assert re.search(r"v = \[[^\]]*\.\.\. \(40 entries\)\]", message)
    # The same seed gives the same direction, hence the same numbers.
    with pytest.raises(GradcheckError) as again:
        gradcheck_directional(many_inputs_one_wrong, point, seed=0)
    assert str(again.value) == message
    assert gradcheck_directional(many_inputs_one_wrong, point, raise_exception=False) is False


def test_directional_catches_a_wrong_derivative_with_high_probability():
    point = [0.1 * i - 2.0 for i in range(40)]
    caught = sum(
        not gradcheck_directional(many_inputs_one_wrong, point, seed=s, raise_exception=False)
        for s in range(200)
    )
    # Missed only if |v₇| < ~1e-3, which for a random unit v in 40-D has probability ~0.5%.
    assert caught >= 190


def test_directional_rejects_a_bad_seed():
    with pytest.raises(TypeError, match="seed must be an int, a random.Random or None"):
        gradcheck_directional(smooth, [0.5, -1.0, 2.0], seed="0")


def test_a_numpy_int_seed_is_an_int_seed():
    xs = [0.5, -1.0, 2.0]
    wrong = custom_op("wrong_double", lambda x: 2 * x, lambda x, out: 2.5)

    def f(x):
        return wrong(x[0]) + x[1] * x[2]

    directions = []
    for seed in (7, np.int64(7)):
        with pytest.raises(GradcheckError) as info:
            gradcheck_directional(f, xs, seed=seed)
        directions.append(re.search(r"v = \[[^]]*\]", str(info.value)).group())
    assert directions[0] == directions[1]


# ----------------------------------------------------------------------------- models
@pytest.fixture
def net():
    return MLP(3, [4, 2], "tanh", seed=1)


def snapshot(model):
    return [(p.data, p.grad) for p in model.parameters()]


@pytest.mark.parametrize("cost", [quadratic_cost, cross_entropy_cost])
@pytest.mark.parametrize("directional", [False, True])
def test_model_gradients_pass_and_parameters_are_restored_exactly(net, cost, directional):
    for p in net.parameters():
        p.grad = 0.25  # whatever was there before must come back
    before = snapshot(net)
    assert gradcheck_model(net, [0.5, -0.3, 0.9], one_hot(1, 2), cost, directional=directional)
    assert snapshot(net) == before


def test_model_default_cost_is_the_quadratic_cost(net):
    calls = []

    def recording_quadratic(outputs, y):
        calls.append(1)
        return quadratic_cost(outputs, y)

    assert gradcheck_model(net, [0.5, -0.3, 0.9], [0.2, 0.8])
    assert gradcheck_model(net, [0.5, -0.3, 0.9], [0.2, 0.8], recording_quadratic)
    assert len(calls) == 1 + 2 * len(net.parameters())


wrong_square = custom_op("wrong_square", lambda a: a * a, lambda a, out: 3.0 * a)


def wrong_cost(outputs, y):
    """Σ (a − y)² through an op whose derivative is 3(a − y) instead of 2(a − y)."""
    return Value.sum([wrong_square(a - t) for a, t in zip(outputs, y)])


def test_model_mismatch_names_the_parameter_by_index_layer_neuron_and_weight(net):
    before = snapshot(net)
    with pytest.raises(GradcheckError) as info:
        gradcheck_model(net, [0.5, -0.3, 0.9], [0.2, 0.8], wrong_cost)
    message = str(info.value)
    assert "with respect to parameter 0 (w⁽¹⁾₀,₀: layer 1, neuron 0, weight 0; data = " in message
    assert "with respect to parameter 15 (b⁽¹⁾₃: layer 1, neuron 3, bias; data = " in message
    assert "with respect to parameter 16 (w⁽²⁾₀,₀: layer 2, neuron 0, weight 0; data = " in message
    assert len(info.value.mismatches) == len(net.parameters())
    assert snapshot(net) == before


@pytest.mark.parametrize(
    "raised,expected,pattern",
    [
        (KeyError("boom"), KeyError, "boom"),
        # A domain error at a shifted point is explained (the cost's 5th call is at −eps on
        # parameter 1).
        (ValueError("log: argument must be positive"), ValueError,
         "the cost failed at the point shifted by -eps on parameter 1 .*log: argument"),
    ],
)
def test_model_restores_parameters_even_when_the_cost_raises_midway(
    net, raised, expected, pattern
):
    for p in net.parameters():
        p.grad = -1.5
    before = snapshot(net)
    calls = []

    def flaky_cost(outputs, y):
        calls.append(1)
        if len(calls) == 5:
            raise raised
        return quadratic_cost(outputs, y)

    with pytest.raises(expected, match=pattern):
        gradcheck_model(net, [0.5, -0.3, 0.9], [0.2, 0.8], flaky_cost)
    assert snapshot(net) == before


@given(st.integers(1, 30), st.integers(0, 10**6))
def test_model_max_params_checks_a_seeded_subset(k, seed):
    model = MLP(2, [3, 2], "sigmoid", seed=0)
    n = len(model.parameters())
    with pytest.raises(GradcheckError) as first:
        gradcheck_model(model, [0.4, -0.6], [0.0, 1.0], wrong_cost, max_params=k, seed=seed)
    indices = [m.index for m in first.value.mismatches]
    assert len(indices) == min(k, n) and indices == sorted(set(indices))
    with pytest.raises(GradcheckError) as second:
        gradcheck_model(model, [0.4, -0.6], [0.0, 1.0], wrong_cost, max_params=k, seed=seed)
    assert [m.index for m in second.value.mismatches] == indices


def test_model_directional_catches_a_wrong_derivative(net):
    with pytest.raises(GradcheckError, match="Directional derivative mismatch .* parameter"):
        gradcheck_model(net, [0.5, -0.3, 0.9], [0.2, 0.8], wrong_cost, directional=True)
    assert not gradcheck_model(net, [0.5, -0.3, 0.9], [0.2, 0.8], wrong_cost,
                               directional=True, raise_exception=False)


def test_model_with_a_shared_parameter_is_checked_once_per_value():
    class Tied:
        def __init__(self):
            self.w = Value(0.7)

        def __call__(self, x):
            return [(self.w * x[0]).tanh() * self.w]

        def parameters(self):
            return [self.w, self.w]

    model = Tied()
    assert gradcheck_model(model, [1.3], [0.0])
    assert model.w.data == 0.7 and model.w.grad == 0.0


@pytest.mark.parametrize(
    "call,error,pattern",
    [
        (lambda m: gradcheck_model(object(), [1.0], [1.0]), TypeError,
         "model must be callable and have a parameters() method"),
        (lambda m: gradcheck_model(m, [0.1, 0.2, 0.3], [0.0, 1.0], lambda o, y: 1.0), TypeError,
         "cost must return a Value, got float"),
        (lambda m: gradcheck_model(m, [0.1, 0.2, 0.3], [0.0, 1.0], cost="quadratic"), TypeError,
         "cost must be callable"),
        (lambda m: gradcheck_model(m, [0.1, 0.2, 0.3], [0.0, 1.0], max_params=0), ValueError,
         "max_params must be a positive int, got 0"),
        (lambda m: gradcheck_model(m, [0.1, 0.2, 0.3], [0.0, 1.0], max_params=2.0), TypeError,
         "max_params must be a positive int, got float"),
        (lambda m: gradcheck_model(m, [0.1, 0.2, 0.3], [0.0, 1.0], directional="yes"),
         TypeError, "directional must be True or False"),
        (lambda m: gradcheck_model(m, [0.1, 0.2, 0.3], [0.0, 1.0], eps=0), ValueError,
         "eps must be > 0"),
    ],
)
def test_model_argument_errors(net, call, error, pattern):
    with pytest.raises(error, match=re.escape(pattern)):
        call(net)


def test_model_without_parameters_is_a_value_error():
    class Empty:
        def __call__(self, x):
            return [Value(1.0)]

        def parameters(self):
            return []

    with pytest.raises(ValueError, match="parameters\\(\\) is empty"):
        gradcheck_model(Empty(), [1.0], [1.0])


def test_model_check_refuses_no_grad(net):
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        gradcheck_model(net, [0.1, 0.2, 0.3], [0.0, 1.0])


# ----------------------------------------------------------------------------- gradgradcheck
from tinygrad_lite.gradcheck import gradgradcheck  # noqa: E402


def _cube_with_derivative(second: float):
    """x³ whose first derivative is right (3x²) but whose Value derivative is ``second``·x²
    (so its second derivative is wrong unless second == 3)."""
    def derivative(x, out):
        return 3 * x * x if isinstance(x, float) else second * x * x
    return custom_op(f"cube_{second:g}".replace(".", "_"), lambda x: x ** 3, derivative)


@given(st.floats(0.2, 3.0), st.floats(-2.0, 2.0))
def test_gradgradcheck_passes_on_smooth_functions(a, b):
    def f(x):
        return (x[0] * x[1]).sigmoid() + x[0].log() * x[1] ** 3 + (x[1] / x[0]).tanh()

    assert gradgradcheck(f, [a, b])


def test_gradgradcheck_names_the_wrong_second_derivative():
    cube = _cube_with_derivative(2.0)
    assert gradcheck(lambda x: cube(x[0]) * x[1], [0.7, 1.2])  # first order is right
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(lambda x: cube(x[0]) * x[1], [0.7, 1.2])
    message = str(info.value)
    assert "gradgradcheck failed: 2 of 4 second derivative(s)" in message
    assert "Jacobian mismatch for ∂f/∂x0 with respect to input 0 (x0 = 0.7)" in message
    first = info.value.mismatches[0]
    assert first.output == "∂f/∂x0" and first.index == 0
    assert first.numerical == pytest.approx(6 * 0.7 * 1.2, rel=1e-6)  # ∂²(x0³x1)/∂x0² = 6x0x1
    assert first.analytical == pytest.approx(4 * 0.7 * 1.2)
    assert gradgradcheck(lambda x: cube(x[0]), [0.7], raise_exception=False) is False
    assert gradgradcheck(lambda x: _cube_with_derivative(3.0)(x[0]) * x[1], [0.7, 1.2])


def test_gradgradcheck_says_when_an_op_is_first_order_only():
    floaty = custom_op("floaty_for_gradgrad", math.exp, lambda x, out: math.exp(x))
    with pytest.raises(TypeError, match="floats only"):
        gradgradcheck(lambda x: floaty(x[0]), [0.3])


def test_gradgradcheck_checks_its_arguments_like_gradcheck():
    with pytest.raises(ValueError, match="eps must be > 0"):
        gradgradcheck(lambda x: x[0] * x[0], [1.0], eps=0.0)
    with pytest.raises(ValueError, match="inputs is empty"):
        gradgradcheck(lambda x: x[0], [])
    with no_grad(), pytest.raises(RuntimeError, match="gradgradcheck needs backward"):
        gradgradcheck(lambda x: x[0] * x[0], [1.0])
    with pytest.raises(ValueError, match="shifted by -eps along input 0"):
        gradgradcheck(lambda x: x[0].log(), [1e-7], eps=1e-6)
