"""Tests for tinygrad_lite.ops: custom ops from a forward and a local derivative.

gradcheck must accept correct custom ops and fail loudly, naming the input, on a wrong one.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite import Value, no_grad
from tinygrad_lite.gradcheck import GradcheckError, gradcheck
from tinygrad_lite.ops import BUILTIN_OP_NAMES, CustomOp, custom_op, op

softplus = custom_op(
    "softplus",
    lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
    lambda x, out: -math.expm1(-out),  # σ(x) = 1 − e^(−softplus(x))
)


@given(st.floats(-30, 30))
def test_custom_op_node_has_the_name_parents_and_local_derivative(x):
    leaf = Value(x)
    out = softplus(leaf)
    assert out.op == "softplus"
    assert out.parents == (leaf,)
    assert out.data == pytest.approx(math.log1p(math.exp(x)) if x < 30 else x, rel=1e-12)
    assert out.local_grads[0] == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-9, abs=1e-300)
    (out * 3.0).backward()
    assert leaf.grad == pytest.approx(3.0 * out.local_grads[0], rel=1e-12)


@given(st.floats(-5, 5), st.floats(-5, 5))
def test_correct_custom_ops_pass_gradcheck(a, b):
    hypot = custom_op("hypot", math.hypot, lambda x, y, out: (x / out, y / out), arity=2)
    assert gradcheck(lambda x: softplus(x[0] * x[1]) + softplus(x[1]), [a, b])
    if math.hypot(a, b) > 0.1:
        assert gradcheck(lambda x: hypot(x[0], x[1]) * x[0], [a, b])


def test_wrong_custom_op_derivative_fails_loudly_naming_the_input():
    wrong_softplus = custom_op("softplus_wrong", softplus.forward, lambda x, out: out)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: x[0] * 0.5 + wrong_softplus(x[1]), [0.3, 1.2])
    message = str(info.value)
    assert "with respect to input 1 (x1 = 1.2)" in message
    assert "input 0" not in message
    found = re.search(r"numerical: (\S+), analytical: (\S+),", message)
    assert float(found.group(1)) == pytest.approx(1 / (1 + math.exp(-1.2)), abs=1e-8)
    assert float(found.group(2)) == pytest.approx(softplus.forward(1.2), rel=1e-9)


def test_custom_op_of_two_inputs_with_one_wrong_partial_names_that_input():
    mul_wrong = custom_op("mul_wrong", lambda a, b: a * b, lambda a, b, out: (b, 2 * a))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: mul_wrong(x[0], x[1]), [1.5, -0.5])
    assert [m.index for m in info.value.mismatches] == [1]


def test_numbers_become_constant_leaves_like_in_the_engine():
    out = softplus(2)
    assert out.op == "softplus" and out.parents[0].is_leaf and out.parents[0].data == 2.0


def test_op_decorator_makes_the_same_op_and_keeps_the_docstring():
    @op("cube", derivative=lambda x, out: 3 * x * x)
    def cube(x):
        """x³."""
        return x**3

    assert isinstance(cube, CustomOp)
    assert (cube.name, cube.arity, cube.__name__, cube.__doc__) == ("cube", 1, "cube", "x³.")
    assert "cube" in repr(cube)
    y = cube(Value(2.0))
    assert (y.data, y.local_grads) == (8.0, (12.0,))
    assert gradcheck(lambda x: cube(x[0]), [0.7])


def test_under_no_grad_the_derivative_is_not_evaluated():
    calls = []
    traced = custom_op("traced", lambda x: 2 * x, lambda x, out: calls.append(x) or 2.0)
    with no_grad():
        out = traced(Value(1.0))
    assert out.is_leaf and out.data == 2.0 and calls == []
    traced(Value(1.0))
    assert calls == [1.0]


@pytest.mark.parametrize(
    "make,error,pattern",
    [
        (lambda: custom_op(3, abs, lambda x, o: 1.0), TypeError, "op name must be a str"),
        (lambda: custom_op(" ", abs, lambda x, o: 1.0), ValueError, "must not be empty"),
        (lambda: custom_op("exp", math.exp, lambda x, o: o), ValueError,
         "'exp' is a built-in op of the engine"),
        (lambda: custom_op("f", 3.0, lambda x, o: 1.0), TypeError, "forward must be callable"),
        (lambda: custom_op("f", abs, None), TypeError, "derivative must be callable"),
        (lambda: custom_op("f", lambda x: x, lambda x: 1.0), TypeError,
         "derivative must take the 1 input(s) and the output: derivative(x, out)"),
        (lambda: custom_op("f", lambda *xs: sum(xs), lambda *a: 1.0), ValueError,
         "cannot tell how many inputs forward takes; pass arity=n"),
        (lambda: custom_op("f", lambda x: x, lambda x, o: 1.0, arity=0), ValueError,
         "arity must be a positive int"),
    ],
)
def test_custom_op_definition_errors(make, error, pattern):
    with pytest.raises(error, match=re.escape(pattern)):
        make()


def test_every_builtin_name_is_reserved():
    for name in BUILTIN_OP_NAMES:
        with pytest.raises(ValueError, match="built-in op"):
            custom_op(name, lambda x: x, lambda x, o: 1.0)


@pytest.mark.parametrize(
    "forward,derivative,args,error,pattern",
    [
        (lambda x: x, lambda x, o: 1.0, (Value(1.0), Value(2.0)), TypeError,
         "f() takes 1 argument(s), got 2"),
        (lambda x: x, lambda x, o: 1.0, ("a",), TypeError,
         "f(): argument 0 must be a Value or a real number, got str"),
        (lambda x: math.nan, lambda x, o: 1.0, (Value(1.0),), ValueError,
         "f(1.0): the value forward returned must be finite, got nan"),
        (lambda x: "1", lambda x, o: 1.0, (Value(1.0),), TypeError,
         "f(1.0): the value forward returned must be a real number, got str: '1'"),
        (lambda x: Value(x), lambda x, o: 1.0, (Value(1.0),), TypeError,
         "f(1.0): the value forward returned is a Value; forward and derivative work on "
         "plain floats"),
        (lambda x: math.log(x), lambda x, o: 1 / x, (Value(-1.0),), ValueError,
         "f(-1.0): math domain error"),
        (lambda x: x, lambda x, o: math.inf, (Value(1.0),), ValueError,
         "f(1.0): derivative 0 must be finite, got inf"),
        (lambda x: x, lambda x, o: (1.0, 2.0), (Value(1.0),), ValueError,
         "f: derivative returned 2 value(s) for 1 input(s)"),
        (lambda x: x, lambda x, o: None, (Value(1.0),), TypeError,
         "f: derivative must return a float (one per input), got NoneType"),
    ],
)
def test_custom_op_call_errors_name_the_op_and_inputs(forward, derivative, args, error, pattern):
    f = custom_op("f", forward, derivative)
    with pytest.raises(error, match=re.escape(pattern)):
        f(*args)


# ----------------------------------------------------------------------------- the op table
def test_a_custom_op_is_registered_in_the_op_table():
    from tinygrad_lite.optable import OPS

    square = custom_op("square_in_table", lambda x: x * x, lambda x, out: 2 * x)
    record = OPS["square_in_table"]
    assert record is square.record and record.apply is square and not record.builtin
    y = square(Value(3.0))
    assert y.ctx is square  # its nodes know which op made them
    assert record.value_derivatives(y)[0].data == 6.0


def test_custom_op_second_derivative_needs_value_ops():
    from tinygrad_lite.autodiff import grad

    smooth = custom_op("smooth_sq", lambda x: x * x, lambda x, out: 2 * x)
    floaty = custom_op("floaty_exp", math.exp, lambda x, out: math.exp(x))
    x = Value(0.5)
    (d1,) = grad(smooth(x), [x], create_graph=True)
    assert grad(d1, [x]) == [2.0]
    with pytest.raises(TypeError, match="'floaty_exp'.*floats only.*not twice"):
        grad(floaty(x), [x], create_graph=True)
    assert grad(floaty(x), [x]) == [pytest.approx(math.exp(0.5))]  # first order works


def test_a_from_op_node_named_like_a_custom_op_is_not_taken_for_it():
    from tinygrad_lite.autodiff import grad

    custom_op("shared_name", lambda x: x * x, lambda x, out: 2 * x)
    x = Value(2.0)
    y = Value.from_op(4.0, [x], [4.0], "shared_name")  # not made by the custom op
    with pytest.raises(TypeError, match="made with Value.from_op"):
        grad(y, [x], create_graph=True)


def test_a_later_op_of_the_same_name_does_not_change_an_earlier_ops_derivatives():
    from tinygrad_lite.autodiff import grad

    first = custom_op("reused_name", lambda x: x * x, lambda x, out: 2 * x)
    custom_op("reused_name", lambda x: x * x * x, lambda x, out: 3 * x * x)  # replaces it in OPS
    x = Value(1.5)
    (d1,) = grad(first(x), [x], create_graph=True)
    assert d1.data == 3.0 and grad(d1, [x]) == [2.0]  # the first op's own derivative
