"""Tests for tinygrad_lite.engine: values, every op's gradient, backward semantics, errors."""

from __future__ import annotations

import gc
import math
import signal
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_lite import Value, is_grad_enabled, no_grad, zero_grad
from tinygrad_lite.engine import LeafRows, topological_order
from tinygrad_lite.optable import BUILTIN_OP_NAMES

EPS = 1e-6


def central_difference(f, xs, i, eps=EPS):
    """(f(x + eps e_i) - f(x - eps e_i)) / 2 eps for a function of plain floats."""
    up = list(xs)
    down = list(xs)
    up[i] += eps
    down[i] -= eps
    return (f(*up) - f(*down)) / (2 * eps)


def analytic(f, xs):
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def data_of(f, xs):
    """Evaluate a Value-building function on floats, returning a float."""
    with no_grad():
        return f(*[Value(x) for x in xs]).data


# Each op: (name, function of Values, closed-form value, closed-form gradient, input strategy)
def sig(x):
    return 1 / (1 + math.exp(-x))


moderate = st.floats(-5, 5, allow_nan=False)
positive = st.floats(0.1, 5, allow_nan=False)
away_from_zero = st.one_of(st.floats(-5, -0.1), st.floats(0.1, 5))

OPS = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, lambda a, b: [1, 1], (moderate, moderate)),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, lambda a, b: [1, -1], (moderate, moderate)),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, lambda a, b: [b, a], (moderate, moderate)),
    ("div", lambda a, b: a / b, lambda a, b: a / b, lambda a, b: [1 / b, -a / b**2],
     (moderate, away_from_zero)),
    ("neg", lambda a: -a, lambda a: -a, lambda a: [-1], (moderate,)),
    ("pow3", lambda a: a**3, lambda a: a**3, lambda a: [3 * a**2], (moderate,)),
    ("pow_half", lambda a: a**0.5, lambda a: a**0.5, lambda a: [0.5 * a**-0.5], (positive,)),
    ("pow_neg", lambda a: a**-2, lambda a: a**-2, lambda a: [-2 * a**-3], (away_from_zero,)),
    ("pow_value", lambda a, b: a**b, lambda a, b: a**b,
     lambda a, b: [b * a ** (b - 1), a**b * math.log(a)], (positive, st.floats(-2, 2))),
    ("rpow", lambda b: 2.0**b, lambda b: 2.0**b, lambda b: [2.0**b * math.log(2.0)], (moderate,)),
    ("exp", lambda a: a.exp(), math.exp, lambda a: [math.exp(a)], (moderate,)),
    ("log", lambda a: a.log(), math.log, lambda a: [1 / a], (positive,)),
    ("tanh", lambda a: a.tanh(), math.tanh, lambda a: [1 - math.tanh(a) ** 2], (moderate,)),
    ("sigmoid", lambda a: a.sigmoid(), sig, lambda a: [sig(a) * (1 - sig(a))], (moderate,)),
    ("relu", lambda a: a.relu(), lambda a: max(0.0, a), lambda a: [1.0 if a > 0 else 0.0],
     (away_from_zero,)),
    ("abs", lambda a: a.abs(), abs, lambda a: [math.copysign(1.0, a)], (away_from_zero,)),
    ("builtin_abs", lambda a: abs(a), abs, lambda a: [math.copysign(1.0, a)], (away_from_zero,)),
    ("radd", lambda a: 3 + a, lambda a: 3 + a, lambda a: [1], (moderate,)),
    ("rsub", lambda a: 3 - a, lambda a: 3 - a, lambda a: [-1], (moderate,)),
    ("rmul", lambda a: 3 * a, lambda a: 3 * a, lambda a: [3], (moderate,)),
    ("rdiv", lambda a: 3 / a, lambda a: 3 / a, lambda a: [-3 / a**2], (away_from_zero,)),
    ("sum", lambda a, b, c: Value.sum([a, b, c, 2.0]), lambda a, b, c: a + b + c + 2,
     lambda a, b, c: [1, 1, 1], (moderate, moderate, moderate)),
    ("affine", lambda w1, w2, a1, a2, b: Value.affine([w1, w2], [a1, a2], b),
     lambda w1, w2, a1, a2, b: w1 * a1 + w2 * a2 + b,
     lambda w1, w2, a1, a2, b: [a1, a2, w1, w2, 1], (moderate,) * 5),
]


@pytest.mark.parametrize("name,f,value,grad,domain", OPS, ids=[op[0] for op in OPS])
def test_op_value_and_gradient_match_closed_form_and_finite_differences(
    name, f, value, grad, domain
):
    @given(st.tuples(*domain))
    def check(xs):
        data, grads = analytic(f, xs)
        assert data == pytest.approx(value(*xs), rel=1e-12, abs=1e-12)
        for i, g in enumerate(grads):
            assert g == pytest.approx(grad(*xs)[i], rel=1e-9, abs=1e-12), f"closed form, input {i}"
            numeric = central_difference(lambda *v: data_of(f, v), xs, i)
            assert g == pytest.approx(numeric, rel=1e-4, abs=1e-5), f"finite difference, input {i}"

    check()


# ---------------------------------------------------------------------------- construction
@pytest.mark.parametrize("data", [3, 2.5, True, np.float32(1.5), np.int64(4), np.array([2.0]),
                                  np.array(7.0), Fraction(1, 4)])
def test_value_accepts_real_numbers_and_stores_float(data):
    v = Value(data, label="x")
    assert type(v.data) is float
    assert v.data == float(np.asarray(data).item())
    assert v.grad == 0.0 and type(v.grad) is float
    assert v.label == "x" and v.op == "" and v.parents == () and v.is_leaf


@pytest.mark.parametrize(
    "data,type_name",
    [("1.0", "str"), (None, "NoneType"), (1 + 2j, "complex"), ([1.0], "list"),
     (np.array([1.0, 2.0]), "ndarray of shape (2,)"), ({"a": 1}, "dict")],
)
def test_value_rejects_non_real_data_naming_its_type(data, type_name):
    with pytest.raises(TypeError, match=r"got " + type_name.replace("(", r"\(").replace(")", r"\)")):
        Value(data)


def test_value_of_value_is_a_type_error():
    with pytest.raises(TypeError, match="got Value"):
        Value(Value(1.0))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400])
def test_value_rejects_non_finite_data(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


@pytest.mark.parametrize("other", ["a", None, 1j, [1.0]])
def test_arithmetic_with_a_non_number_is_a_type_error_naming_it(other):
    v = Value(1.0)
    for op in (lambda: v + other, lambda: v * other, lambda: v - other, lambda: v / other,
               lambda: v**other, lambda: other - v, lambda: other * v, lambda: 2.0**v + other):
        with pytest.raises(TypeError, match=type(other).__name__):
            op()


def test_numpy_arrays_do_not_broadcast_over_values():
    with pytest.raises(TypeError):
        np.array([1.0, 2.0]) + Value(1.0)


def test_value_cannot_be_subclassed():
    with pytest.raises(TypeError, match="from_op"):
        type("MyValue", (Value,), {})


def test_repr_shows_data_grad_op_and_label():
    v = Value(2.0).sigmoid()
    v.backward()
    assert repr(v) == "Value(data=0.8808, grad=1.0000, op='sigmoid')"
    assert repr(Value(-1.5, label="w")) == "Value(data=-1.5000, grad=0.0000, label='w')"


def test_nodes_use_slots_and_stay_small():
    v = Value(1.0) * 2
    assert not hasattr(v, "__dict__")
    with pytest.raises(AttributeError):
        v.anything = 1
    assert sys.getsizeof(v) <= 112  # 9 slots and the object header, nothing more


def test_introspection_exposes_op_parents_local_grads_and_ctx():
    a, b = Value(2.0), Value(5.0)
    c = a * b
    assert c.op == "*" and c.parents == (a, b) and c.local_grads == (5.0, 2.0)
    p = a**3
    assert p.op == "**" and p.ctx == 3.0 and p.parents == (a,)
    assert not c.is_leaf


def test_builtin_op_names_are_exactly_the_ops_the_engine_makes():
    a, b = Value(2.0), Value(0.5)
    nodes = [
        a + b, 1 + a, a - b, 1 - a, a * b, 2 * a, a / b, 1 / a, -a, +(-a), a**2, a**b, 2**a,
        a.exp(), a.log(), a.tanh(), a.sigmoid(), a.relu(), a.abs(), abs(a),
        Value.sum([a, b, 1.0]), Value.affine([a], [b], 1.0),
        *Value.affine_layer([[a, b]], [1.0, 2.0], [b]),
    ]
    assert {v.op for v in nodes} == BUILTIN_OP_NAMES


# ---------------------------------------------------------------------------- n-ary nodes
def test_sum_is_one_node_with_unit_local_gradients():
    xs = [Value(float(i)) for i in range(5)]
    s = Value.sum(xs + [10])
    assert s.op == "sum" and s.parents == tuple(xs) and s.local_grads == (1.0,) * 5
    assert s.data == 20.0 and s.ctx == 10.0
    s.backward()
    assert [x.grad for x in xs] == [1.0] * 5


def test_sum_of_numbers_only_is_a_constant_leaf():
    s = Value.sum([1, 2.5])
    assert s.is_leaf and s.data == 3.5
    assert Value.sum([]).data == 0.0


def test_sum_rejects_a_bad_item_naming_it():
    with pytest.raises(TypeError, match="item 1"):
        Value.sum([Value(1.0), "x"])


def test_affine_is_one_node_with_documented_local_derivatives():
    ws = [Value(0.5), Value(-2.0)]
    xs = [Value(3.0), 4.0]  # a constant input needs no Value
    b = Value(0.25)
    z = Value.affine(ws, xs, b)
    assert z.op == "affine"
    assert z.data == 0.5 * 3.0 - 2.0 * 4.0 + 0.25
    assert z.parents == (ws[0], ws[1], xs[0], b)
    # ∂z/∂w_i = x_i, ∂z/∂x_i = w_i, ∂z/∂b = 1
    assert z.local_grads == (3.0, 4.0, 0.5, 1.0)
    z.backward()
    assert (ws[0].grad, ws[1].grad, xs[0].grad, b.grad) == (3.0, 4.0, 0.5, 1.0)


def test_affine_keeps_a_784_input_neuron_to_one_node():
    ws = [Value(0.01 * i) for i in range(784)]
    z = Value.affine(ws, [1.0] * 784, Value(0.0))
    assert len(z.parents) == 785 and all(p.is_leaf for p in z.parents)


def test_affine_with_a_number_bias_and_number_weights():
    x = Value(2.0)
    z = Value.affine([3.0], [x], 1.0)
    assert z.data == 7.0 and z.parents == (x,)
    z.backward()
    assert x.grad == 3.0


def test_affine_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        Value.affine([Value(1.0)] * 2, [1.0] * 3, 0.0)


def test_affine_bad_entry_names_it():
    with pytest.raises(TypeError, match="input 1"):
        Value.affine([Value(1.0), Value(1.0)], [1.0, "x"], 0.0)
    with pytest.raises(TypeError, match="bias"):
        Value.affine([Value(1.0)], [1.0], None)


def test_affine_with_the_same_value_as_weight_and_input_sums_both_paths():
    x = Value(3.0)
    z = Value.affine([x], [x], 0.0)  # z = x²
    z.backward()
    assert z.data == 9.0 and x.grad == 6.0


# ---------------------------------------------------------------------------- backward semantics
def test_backward_seeds_the_root_with_one():
    x = Value(2.0)
    y = x * 3
    y.backward()
    assert y.grad == 1.0 and x.grad == 3.0


def test_backward_on_a_leaf():
    x = Value(2.0)
    x.backward()
    assert x.grad == 1.0


def test_shared_subexpression_gets_the_sum_of_its_paths():
    x = Value(1.5)
    s = x.sigmoid()
    out = s * s + s  # d/dx = (2s + 1) s(1-s)
    out.backward()
    sv = sig(1.5)
    assert s.grad == pytest.approx(2 * sv + 1)
    assert x.grad == pytest.approx((2 * sv + 1) * sv * (1 - sv))


expressions = st.lists(st.floats(-2, 2), min_size=3, max_size=3)


def build_with_sharing(a, b, c):
    ab = a * b
    shared = (ab + c).tanh()
    return shared * shared + (ab - c).sigmoid() * a + Value.sum([shared, ab, a])


@given(expressions)
def test_two_backward_calls_give_exactly_double_at_every_node(xs):
    vs = [Value(x) for x in xs]
    out = build_with_sharing(*vs)
    nodes = all_nodes(out)
    out.backward()
    first = {id(n): n.grad for n in nodes}
    out.backward()
    for n in nodes:
        assert n.grad == 2 * first[id(n)]


@given(expressions)
def test_zero_grad_then_backward_gives_the_same_gradients(xs):
    vs = [Value(x) for x in xs]
    out = build_with_sharing(*vs)
    out.backward()
    first = [v.grad for v in vs]
    out.zero_grad()
    assert all(n.grad == 0.0 for n in all_nodes(out))
    out.backward()
    assert [v.grad for v in vs] == first


@given(expressions)
def test_gradients_of_a_composed_graph_match_finite_differences(xs):
    _, grads = analytic(build_with_sharing, xs)
    for i, g in enumerate(grads):
        numeric = central_difference(lambda *v: data_of(build_with_sharing, v), xs, i)
        assert g == pytest.approx(numeric, rel=1e-4, abs=1e-5)


def test_backward_from_an_intermediate_node_only_reaches_its_ancestors():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    d = c + b
    c.backward()
    assert (a.grad, b.grad, d.grad) == (3.0, 2.0, 0.0)


def test_zero_grad_helper_resets_given_values():
    a, b = Value(1.0), Value(2.0)
    (a * b).backward()
    zero_grad([a, b])
    assert a.grad == 0.0 and b.grad == 0.0


@pytest.mark.slow
def test_a_million_node_chain_backpropagates_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = -y
    y.backward()
    assert x.grad == 1.0  # an even number of negations


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_an_interrupted_backward_leaves_the_graph_ready_for_the_next_one():
    """Ctrl-C (a timer signal raising KeyboardInterrupt) lands at many moments of backward():
    in the walk that marks the nodes, in the chain rule, in the final accumulation. After
    each, backward() on the same graph reaches every node again: none is left marked."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    x, w = Value(0.5), Value(-1.5)
    y = x
    for _ in range(20_000):  # ∂out/∂x = 20,001 and ∂out/∂w = 20,000 · 2w, exactly
        y = y + x + w * w
    out = y
    previous = signal.signal(signal.SIGALRM, interrupt)
    interrupted = 0
    gc.disable()  # a signal during a collector callback would be swallowed, not raised
    try:
        for k in range(8):
            out.zero_grad()
            signal.setitimer(signal.ITIMER_REAL, 1e-4 + 0.005 * k)
            try:
                out.backward()
                signal.setitimer(signal.ITIMER_REAL, 0)
            except KeyboardInterrupt:  # in backward(), or just after it returned
                interrupted += 1
            signal.setitimer(signal.ITIMER_REAL, 0)
            out.zero_grad()
            out.backward()
            assert (x.grad, w.grad, out.grad) == (20_001.0, 20_000 * 2 * -1.5, 1.0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gc.enable()
    assert interrupted >= 3  # the timers did land inside backward()


def test_from_op_checks_that_local_grads_match_parents():
    with pytest.raises(ValueError, match="2 parents but 1 local"):
        Value.from_op(1.0, (Value(1.0), Value(2.0)), (1.0,), "bad")
    with no_grad(), pytest.raises(ValueError, match="2 parents but 1 local"):
        Value.from_op(1.0, (Value(1.0), Value(2.0)), (1.0,), "bad")


@pytest.mark.parametrize(
    "args,error,pattern",
    [
        ((1.0, (2.0,), (1.0,), "twice"), TypeError, "parent 0 must be a Value, got float"),
        (("x", (), (), "name"), TypeError, "data must be a real number"),
        ((1.0, (Value(1.0),), ("a",), "bad"), TypeError, "local gradient 0"),
        ((math.nan, (), (), "bad"), ValueError, "bad: result is nan"),
        ((math.inf, (), (), "big"), OverflowError, "big: result too large"),
        ((1.0, (), (), ""), TypeError, "non-empty str"),
    ],
)
def test_from_op_validates_its_arguments(args, error, pattern):
    with pytest.raises(error, match=pattern):
        Value.from_op(*args)


def test_from_op_stores_floats():
    x = Value(1.0)
    y = Value.from_op(3, (x,), (2,), "triple")
    assert type(y.data) is float and type(y.local_grads[0]) is float
    y.backward()
    assert x.grad == 2.0


def all_nodes(root):
    seen, stack = {}, [root]
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen[id(n)] = n
            stack.extend(n.parents)
    return list(seen.values())


# ---------------------------------------------------------------------------- no_grad
def test_no_grad_computes_values_but_records_no_graph():
    a = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        out = (a * 3).sigmoid() + Value.affine([a], [4.0], 1.0)
    assert is_grad_enabled()
    assert out.is_leaf and out.op == "" and out.parents == ()
    assert out.data == pytest.approx(sig(6.0) + 9.0)
    out.backward()
    assert a.grad == 0.0


def test_no_grad_nests_restores_on_error_and_works_as_decorator():
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError
    assert is_grad_enabled()

    @no_grad()
    def evaluate(v):
        return v * 2

    assert evaluate(Value(1.0)).is_leaf and is_grad_enabled()


def test_one_no_grad_instance_can_be_reentered():
    ng = no_grad()
    with ng:
        with ng:
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()

    @no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)  # a recursive decorated function

    assert depth(3) == 3 and is_grad_enabled()


# ---------------------------------------------------------------------------- numerical stability
@pytest.mark.parametrize("x,value,grad", [(1000.0, 1.0, 0.0), (-1000.0, 0.0, 0.0),
                                          (40.0, 1.0, sig(40) * (1 - sig(40)))])
def test_sigmoid_extremes_do_not_overflow(x, value, grad):
    v = Value(x)
    s = v.sigmoid()
    s.backward()
    assert s.data == value and v.grad == pytest.approx(grad, abs=1e-300)


@pytest.mark.parametrize("x,value", [(1000.0, 1.0), (-1000.0, -1.0)])
def test_tanh_extremes_do_not_overflow(x, value):
    v = Value(x)
    t = v.tanh()
    t.backward()
    assert t.data == value and v.grad == 0.0


def test_sigmoid_of_a_large_negative_number_keeps_precision():
    assert Value(-30.0).sigmoid().data == pytest.approx(math.exp(-30), rel=1e-12)


def test_exp_overflow_is_a_clear_overflow_error():
    with pytest.raises(OverflowError, match=r"exp: .*x=1000\.0"):
        Value(1000.0).exp()
    assert Value(-1000.0).exp().data == 0.0


@pytest.mark.parametrize("make,op", [
    (lambda: Value(1e200) * Value(1e200), r"\*"), (lambda: Value(1e308) + 1e308, r"\+"),
    (lambda: Value(-1e308) - 1e308, "-"), (lambda: Value(1e300) / 1e-300, "/"),
    (lambda: Value.sum([Value(1e308), Value(1e308)]), "sum"),
    (lambda: Value.affine([Value(1e200)], [1e200], 0.0), "affine"),
])
def test_arithmetic_overflow_is_a_clear_overflow_error_not_inf(make, op):
    with pytest.raises(OverflowError, match=op + ": result too large"):
        make()


def test_division_by_a_tiny_number_keeps_its_gradient():
    a, b = Value(1.0), Value(1e-200)
    q = a / b
    q.backward()
    assert q.data == pytest.approx(1e200)
    assert a.grad == pytest.approx(1e200)
    assert b.grad == -math.inf  # the true -1e400 is beyond a float; no ZeroDivisionError


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_sum_and_affine_reject_non_finite_constants(bad):
    with pytest.raises(ValueError, match="item 1 must be finite"):
        Value.sum([Value(1.0), bad])
    with pytest.raises(ValueError, match="input 0 must be finite"):
        Value.affine([Value(1.0)], [bad], 0.0)


def test_pow_overflow_is_a_clear_overflow_error():
    with pytest.raises(OverflowError, match=r"pow: .*1e\+200"):
        Value(1e200) ** 3.0


# ---------------------------------------------------------------------------- domain errors
@pytest.mark.parametrize(
    "make,error,pattern",
    [
        (lambda: Value(0.0).log(), ValueError, r"log: .*positive, got 0\.0"),
        (lambda: Value(-2.0).log(), ValueError, r"log: .*got -2\.0"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, r"division: .*1\.0 / 0\.0"),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, r"division: .*1\.0 / 0\.0"),
        (lambda: Value(-8.0) ** 0.5, ValueError, r"pow: negative base .*-8\.0 \*\* 0\.5"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"pow: zero .*0\.0 \*\* -1\.0"),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, r"pow: base must be positive.*-2\.0"),
        (lambda: (-2.0) ** Value(0.5), ValueError, r"pow: base must be positive.*-2\.0"),
    ],
)
def test_domain_errors_name_the_op_and_the_value(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_negative_base_to_an_integer_power_is_fine():
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert y.data == -8.0 and x.grad == 12.0


def test_fractional_power_of_zero_has_an_infinite_slope():
    x = Value(0.0)
    y = x**0.5
    y.backward()
    assert y.data == 0.0 and x.grad == math.inf


@given(st.floats(-5, 5).filter(lambda x: abs(x) > 1e-3))
def test_kinks_use_the_one_sided_derivative_away_from_zero(x):
    assume(x != 0)
    v = Value(x)
    (v.relu() + v.abs()).backward()
    assert v.grad == (1.0 if x > 0 else 0.0) + math.copysign(1.0, x)


def test_kinks_at_exactly_zero_have_derivative_zero():
    v = Value(0.0)
    (v.relu() + v.abs()).backward()
    assert v.grad == 0.0


# ---------------------------------------------------------------------------- affine_layer
def test_affine_layer_builds_exactly_the_nodes_affine_builds():
    ws = [[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]
    bs = [Value(0.1), Value(-0.2)]
    xs = [Value(3.0), 4.0]
    layer = Value.affine_layer(ws, xs, bs)
    single = [Value.affine(w, xs, b) for w, b in zip(ws, bs)]
    for got, want in zip(layer, single):
        assert got.data == want.data and got.op == "affine"
        assert got.parents == want.parents and got.local_grads == want.local_grads
        assert got.ctx == want.ctx


def test_affine_layer_falls_back_to_affine_for_number_weights_and_names_bad_entries():
    z = Value.affine_layer([[2.0, Value(1.0)]], [3.0, 4.0], [1.0])[0]
    assert z.data == 11.0 and len(z.parents) == 1
    with pytest.raises(TypeError, match="input 1"):
        Value.affine_layer([[Value(1.0), Value(1.0)]], [1.0, "x"], [Value(0.0)])
    with pytest.raises(ValueError, match="input 0 must be finite"):
        Value.affine_layer([[Value(1.0)]], [math.nan], [Value(0.0)])
    with pytest.raises(OverflowError, match="affine"):
        Value.affine_layer([[Value(1e300)]], [1e300], [Value(0.0)])
    with pytest.raises(ValueError, match="2 weight rows but 1 biases"):
        Value.affine_layer([[Value(1.0)], [Value(1.0)]], [1.0], [Value(0.0)])


# ---------------------------------------------------------------------------- LeafRows
@given(st.lists(st.floats(-2, 2), min_size=7, max_size=7), st.floats(-3, 3))
def test_leaf_rows_give_the_nodes_and_gradients_of_the_rows_themselves(xs, old):
    """affine_layer on LeafRows builds the same nodes; backward() gives the closed-form
    gradients, also for a known-leaf weight that feeds a product elsewhere (w·w), from zero
    and from an earlier gradient, and derivatives() agrees."""
    w = [[Value(xs[0]), Value(xs[1])], [Value(xs[2]), Value(xs[3])]]
    bs = [Value(xs[4]), Value(xs[5])]
    inputs = [xs[6], 0.5]
    plain = Value.affine_layer(w, inputs, bs)
    known = Value.affine_layer(LeafRows(w), inputs, bs)
    for got, want in zip(known, plain):
        assert (got.data, got.op, got.parents, got.local_grads, got.ctx) == (
            want.data, want.op, want.parents, want.local_grads, want.ctx)
    w00 = w[0][0]
    out = known[0] * known[1] + w00 * w00
    grads = out.derivatives([w00, w[0][1], w[1][0], bs[0]])
    z0, z1 = known[0].data, known[1].data
    closed = [inputs[0] * z1 + 2 * w00.data, 0.5 * z1, inputs[0] * z0, z1]
    assert grads == pytest.approx(closed, rel=1e-12, abs=1e-12)
    for v in (w00, w[0][1], w[1][0], bs[0]):
        v.grad = old
    out.backward()
    assert [v.grad - old for v in (w00, w[0][1], w[1][0], bs[0])] == pytest.approx(
        closed, rel=1e-9, abs=1e-9)


def test_leaf_rows_with_value_inputs_pass_the_inputs_their_gradients():
    """The known leaves are the weights only: the Value inputs after them in each node's
    parents are still visited, and get Σⱼ wⱼ,ᵢ · ∂out/∂zⱼ."""
    x = Value(0.5) * 1.0  # an interior node as an input
    rows = [[Value(2.0), Value(-1.0)], [Value(0.25), Value(3.0)]]
    z = Value.affine_layer(LeafRows(rows), [x, 4.0], [Value(0.1), Value(-0.2)])
    (z[0] * 2.0 + z[1]).backward()
    assert x.grad == pytest.approx(2.0 * 2.0 + 0.25)
    assert [w.grad for w in rows[0] + rows[1]] == pytest.approx([1.0, 8.0, 0.5, 4.0])


@given(st.lists(st.floats(-2, 2), min_size=6, max_size=6), st.floats(-3, 3),
       st.lists(st.sampled_from([0.0, -0.0, 0.5, -1.25]), min_size=3, max_size=3))
def test_leaf_rows_skip_zero_inputs_without_changing_any_number(ws, old, inputs):
    """Weights of inputs that are exactly 0 add nothing: z is affine's, each weight's gradient
    is its input × ∂out/∂z (0 for a zero input, whose .grad keeps its old value), the bias's
    ∂out/∂z, also when every input is 0."""
    rows = [[Value(w) for w in ws[:3]], [Value(w) for w in ws[3:]]]
    bs = [Value(0.25), Value(-0.5)]
    z = Value.affine_layer(LeafRows(rows), inputs, bs)
    for got, row, b in zip(z, rows, bs):
        assert got.data == Value.affine(row, inputs, b).data
    for v in rows[0] + rows[1] + bs:
        v.grad = old
    (z[0] * 3.0 + z[1]).backward()
    for row, dz in zip(rows, (3.0, 1.0)):
        assert [w.grad - old for w in row] == pytest.approx([x * dz for x in inputs], abs=1e-12)
        assert [w.grad for w, x in zip(row, inputs) if x == 0.0] == [old] * inputs.count(0.0)
    assert [b.grad - old for b in bs] == pytest.approx([3.0, 1.0])


def test_leaf_rows_copy_their_rows_and_check_them_with_pointers():
    rows = [[Value(1.0), Value(2.0)], [Value(3.0)]]
    known = LeafRows(rows)
    assert known.holds([list(r) for r in rows]) and len(known) == 2
    rows[0][1] = Value(2.0)  # an equal number, another Value
    assert not known.holds(rows)
    assert LeafRows(rows).holds(rows)
    assert not LeafRows(rows).holds([tuple(r) for r in rows])  # lists only
    assert not LeafRows(rows).holds([np.array(r, dtype=object) for r in rows])
    assert repr(known) == "LeafRows(2 rows)"


def test_leaf_rows_refuse_what_is_not_a_leaf_value():
    a = Value(1.0)
    with pytest.raises(ValueError, match=r"row 1, entry 0 is the result of op '\*', not a leaf"):
        LeafRows([[a], [a * 2.0]])
    with pytest.raises(TypeError, match="row 0, entry 1 must be a Value, got float"):
        LeafRows([[a, 2.0]])
    assert LeafRows.of([[a * 2.0]]) is None and LeafRows.of([[a]]) is not None


def test_affine_layer_under_no_grad_records_nothing():
    with no_grad():
        (z,) = Value.affine_layer([[Value(2.0)]], [Value(3.0)], [Value(1.0)])
    assert z.is_leaf and z.data == 7.0


# ---------------------------------------------------------------------------- topological_order
def test_topological_order_lists_each_node_once_after_its_parents():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    d = c + a  # a reached twice
    e = d * c  # c reached twice
    order = topological_order(e)
    assert order == [a, b, c, d, e]  # depth-first, parents in order
    position = {id(v): i for i, v in enumerate(order)}
    assert len(position) == len(order)
    for v in order:
        assert all(position[id(p)] < position[id(v)] for p in v.parents)


def test_topological_order_of_several_roots_and_of_a_leaf():
    a, b = Value(1.0), Value(2.0)
    s, t = a + b, a * b
    assert topological_order([s, t]) == [a, b, s, t]
    assert topological_order(iter([t, s, t])) == [a, b, t, s]
    assert topological_order([]) == []
    assert topological_order(a) == [a]


def test_topological_order_has_no_side_effects():
    a, b = Value(2.0), Value(3.0)
    out = (a * b).tanh() + a
    out.backward()
    nodes = topological_order(out)
    grads = [v.grad for v in nodes]
    assert topological_order(out) == nodes  # the same order again, nothing changed
    assert [v.grad for v in topological_order(out)] == grads
    out.backward()  # a following backward() still reaches every node
    assert [v.grad for v in topological_order(out)] == [2 * g for g in grads]


@pytest.mark.slow
def test_topological_order_of_a_deep_chain_needs_no_recursion():
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = -y
    order = topological_order(y)
    assert len(order) == 200_001 and order[0] is x and order[-1] is y


def test_topological_order_rejects_a_non_value_root():
    with pytest.raises(TypeError, match="root 1 must be a Value, got float"):
        topological_order([Value(1.0), 2.0])


# ----------------------------------------------------------------------------- issue 11
def test_grad_mode_is_per_thread():
    import threading

    inside, done = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def evaluator() -> None:  # sits inside no_grad while the main thread trains
        with no_grad():
            inside.set()
            done.wait(10)
            seen["evaluator"] = is_grad_enabled()

    def fresh_thread() -> None:
        seen["fresh"] = is_grad_enabled()

    t = threading.Thread(target=evaluator)
    t.start()
    inside.wait(10)
    try:
        x = Value(3.0)
        y = x * x
        y.backward()
        assert is_grad_enabled() and x.grad == 6.0  # not silently 0
        with no_grad():  # a thread started inside no_grad still records
            u = threading.Thread(target=fresh_thread)
            u.start()
            u.join(10)
    finally:
        done.set()
        t.join(10)
    assert seen == {"evaluator": False, "fresh": True}
    assert is_grad_enabled()


def test_numpy_scalars_enter_affine_as_python_floats():
    w, b = Value(0.5), Value(0.25)
    pixels = list(np.array([0.1, 0.7], dtype=np.float16))
    z = Value.affine([w, Value(2.0)], pixels, b)
    expected = 0.5 * float(pixels[0]) + 2.0 * float(pixels[1]) + 0.25  # float64 arithmetic
    assert type(z.data) is float and z.data == expected
    assert all(type(g) is float for g in z.local_grads)
    (layer_z,) = Value.affine_layer([[w, Value(2.0)]], pixels, [b])
    assert type(layer_z.data) is float and layer_z.data == expected
    assert all(type(g) is float for g in layer_z.local_grads)
    layer_z.backward()
    assert type(w.grad) is float
    assert all(type(c) is float for c in layer_z.ctx[1])  # the wiring holds floats


def test_an_integer_too_large_for_a_float_is_named_in_affine():
    v = Value(1.0)
    with pytest.raises(ValueError, match="affine: input 0 must be finite.*too large"):
        Value.affine([v], [10 ** 400])
    with pytest.raises(ValueError, match="affine: weight 1 must be finite"):
        Value.affine([v, 10 ** 400], [1.0, 2.0])
    with pytest.raises(ValueError, match="affine: input 0 must be finite"):
        Value.affine_layer([[v, v, v]], [10 ** 400, 0, 0], [Value(0.0)])


def test_tiny_power_of_tiny_has_no_false_overflow():
    x, p = Value(1e-320), Value(1e-320)
    y = x ** p
    assert y.data == pytest.approx(1.0)
    dx, dp = y.local_grads
    assert dx == pytest.approx(1.0, rel=1e-6) and dp == pytest.approx(math.log(1e-320))
    with pytest.raises(OverflowError, match="result too large"):
        Value(10.0) ** Value(400.0)  # a result that really overflows still says so
    with pytest.raises(OverflowError, match="derivative"):
        Value(1e-320) ** -0.5  # the result fits, its derivative does not


@pytest.mark.parametrize("name", sorted(BUILTIN_OP_NAMES))
def test_from_op_refuses_builtin_op_names(name):
    with pytest.raises(ValueError, match="reserved for the engine's built-in op"):
        Value.from_op(0.0, (Value(-1.0),), (0.1,), name)


def test_backward_create_graph_points_to_grad():
    x = Value(2.0)
    y = x * x
    with pytest.raises(ValueError, match="create_graph=True.*grad\\(output, inputs"):
        y.backward(create_graph=True)
    assert x.grad == 0.0  # nothing half-done
    y.backward(create_graph=False)
    assert x.grad == 4.0


def test_derivatives_equal_backward_without_touching_grad():
    a, b, unused = Value(1.5), Value(-0.5), Value(9.0)
    t = (a * b).tanh()
    out = t * a + b.exp()
    d = out.derivatives([a, b, unused, t, out])
    assert all(v.grad == 0.0 for v in (a, b, unused, t, out))
    out.backward()
    assert d == [a.grad, b.grad, 0.0, t.grad, 1.0]
    assert d[0] == pytest.approx(central_difference(
        lambda x, y: math.tanh(x * y) * x + math.exp(y), [1.5, -0.5], 0), rel=1e-6)
    out.backward()  # the scratch was cleared: a second pass adds the same again
    assert a.grad == 2 * d[0]
    assert Value(2.0).derivatives([a]) == [0.0]
    with pytest.raises(TypeError, match="input 0 must be a Value"):
        out.derivatives([1.0])


@pytest.mark.slow
def test_topological_order_lists_parents_first_in_depth_first_order():
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    s = x * y
    out = (s + x).tanh() * s
    order = [v.label or v.op for v in topological_order(out)]
    assert order == ["x", "y", "*", "+", "tanh", "*"]
    chain = Value(0.5)
    for _ in range(100_000):  # deep graphs need no recursion
        chain = chain * 1.0
    assert len(topological_order(chain)) == 200_001


@given(st.lists(st.floats(-2, 2), min_size=5, max_size=5), st.floats(-3, 3))
def test_leaves_of_many_parent_nodes_accumulate(xs, old):
    """The leaves of a sum or affine node (the weights of a neuron) are met only by the chain
    rule, not by the depth-first pass: repeated calls add the same amount (exactly, for a leaf
    met once; to rounding for one met by several terms), from zero or from an earlier
    gradient, and derivatives() touches no .grad."""
    a, b, c, d, e = (Value(x) for x in xs)
    out = Value.sum([a, a * 1.5, a, b]) + Value.affine([c, c, d, e], [a, b, 2.0, 0.5], d)
    leaves = (a, b, c, d, e)
    assert out.derivatives(leaves) == pytest.approx(
        [3.5 + c.data, 1.0 + c.data, a.data + b.data, 3.0, 0.5])
    assert [v.grad for v in leaves] == [0.0] * 5
    out.backward()
    first = [v.grad for v in leaves]
    assert first == pytest.approx(out.derivatives(leaves))
    out.backward()
    assert [v.grad for v in leaves] == pytest.approx([2 * g for g in first], rel=1e-14, abs=1e-14)
    assert e.grad == 2 * first[4]  # met once: the same term, added once per call
    for v in leaves:
        v.grad = old
    out.backward()
    again = [v.grad for v in leaves]
    out.backward()
    assert [v.grad - old for v in leaves] == pytest.approx([2 * (g - old) for g in again])
