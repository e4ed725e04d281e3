"""Tests for tinygrad_lite.optim.SGD."""

from __future__ import annotations

import math
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_lite.engine import Value
from tinygrad_lite.losses import batch_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.optim import SGD


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=6),
       st.lists(st.floats(-10, 10), min_size=6, max_size=6),
       st.floats(1e-3, 5.0))
def test_plain_step_is_p_minus_lr_times_grad(data, grads, lr):
    params = [Value(d) for d in data]
    for p, g in zip(params, grads):
        p.grad = g
    SGD(params, lr=lr).step()
    for p, d, g in zip(params, data, grads):
        assert p.data == d - lr * g


def test_a_step_lowers_the_cost():
    net = MLP(4, [5, 3], seed=0)
    xs = [[0.1, 0.5, -0.3, 0.8], [0.9, -0.2, 0.4, 0.0], [-0.5, 0.3, 0.3, 0.6]]
    ys = [0, 1, 2]
    opt = SGD(net.parameters(), lr=0.5)
    before = batch_cost(net, xs, ys)
    opt.zero_grad()
    before.backward()
    opt.step()
    after = batch_cost(net, xs, ys)
    assert after.data < before.data
    # for a small step the decrease is ≈ lr·|∇C|²
    grad_sq = sum(p.grad ** 2 for p in net.parameters())
    assert before.data - after.data == pytest.approx(0.5 * grad_sq, rel=0.2)


def test_momentum_accumulates_velocity():
    p = Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = 2.0
    opt.step()  # v = 2, p = 1 - 0.2
    assert p.data == pytest.approx(0.8)
    opt.step()  # v = 0.9·2 + 2 = 3.8, p = 0.8 - 0.38
    assert p.data == pytest.approx(0.42)
    p.grad = 0.0
    opt.step()  # v = 3.42: keeps moving with no gradient
    assert p.data == pytest.approx(0.42 - 0.342)
    assert opt.velocity == pytest.approx([3.42])


def test_momentum_converges_faster_on_an_ill_conditioned_quadratic():
    def run(momentum: float) -> float:
        x, y = Value(5.0), Value(5.0)
        opt = SGD([x, y], lr=0.01, momentum=momentum)
        for _ in range(100):
            opt.zero_grad()
            (x * x * 0.5 + y * y * 50.0).backward()  # curvatures 1 and 100
            opt.step()
        return math.hypot(x.data, y.data)

    assert run(0.9) < run(0.0) / 10


def test_zero_grad_resets_only_its_parameters():
    a, b, other = Value(1.0), Value(2.0), Value(3.0)
    (a * b * other).backward()
    SGD([a, b], lr=0.1).zero_grad()
    assert (a.grad, b.grad) == (0.0, 0.0) and other.grad == 2.0


def test_non_finite_gradient_is_refused_and_nothing_changes():
    params = [Value(1.0), Value(2.0)]
    params[0].grad, params[1].grad = 0.5, float("nan")
    opt = SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="parameter 1 has gradient nan"):
        opt.step()
    assert [p.data for p in params] == [1.0, 2.0]
    params[1].grad = float("inf")
    with pytest.raises(ValueError, match="parameter 1 has gradient inf"):
        opt.step()


def test_lr_can_be_changed_and_is_validated():
    p = Value(1.0)
    opt = SGD([p], lr=1.0)
    opt.lr = 0.5
    p.grad = 1.0
    opt.step()
    assert p.data == 0.5
    with pytest.raises(ValueError, match="lr must be positive"):
        opt.lr = 0.0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": 0.0}, ValueError, "lr must be positive"),
    ({"lr": -1.0}, ValueError, "lr must be positive"),
    ({"lr": float("nan")}, ValueError, "lr must be finite"),
    ({"lr": "0.1"}, TypeError, "lr must be a real number"),
    ({"lr": 0.1, "momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\)"),
    ({"lr": 0.1, "momentum": -0.1}, ValueError, "momentum"),
    ({"lr": 0.1, "momentum": None}, TypeError, "momentum must be a real number"),
])
def test_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        SGD([Value(1.0)], **kwargs)


def test_bad_parameters():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 must be a Value"):
        SGD([Value(1.0), 2.0], lr=0.1)  # type: ignore[list-item]
    v = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        SGD([v, v], lr=0.1)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_an_interrupt_during_step_never_leaves_a_half_updated_model(momentum):
    """Ctrl-C (simulated with a timer signal raising KeyboardInterrupt) lands while steps
    run back to back; every parameter must have taken the same number of steps."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    params = [Value(0.0) for _ in range(50_000)]
    for p in params:
        p.grad = 1.0
    opt = SGD(params, lr=1.0, momentum=momentum)
    opt.step()  # one whole step however slow the machine, so that the parameters have moved
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        for delay in (0.013, 0.021, 0.034):
            signal.setitimer(signal.ITIMER_REAL, delay)
            try:
                while True:
                    opt.step()
            except KeyboardInterrupt:
                pass
            assert len({p.data for p in params}) == 1
            assert len(set(opt.velocity)) == 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert params[0].data < 0


def test_momentum_is_validated_when_changed_too():
    opt = SGD([Value(1.0)], lr=0.1, momentum=0.5)
    opt.momentum = 0.9
    assert opt.momentum == 0.9
    for bad, error in ((1.5, ValueError), (-0.1, ValueError), ("0.5", TypeError)):
        with pytest.raises(error, match="momentum"):
            opt.momentum = bad
    assert opt.momentum == 0.9


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_step_whose_new_values_overflow_is_refused_and_changes_nothing(momentum):
    p, q = Value(1.0), Value(-2.0)
    opt = SGD([p, q], lr=1e300, momentum=momentum)
    p.grad, q.grad = 0.5, 1e10  # finite gradients, but -2 - 1e300 * 1e10 is -inf
    with pytest.raises(ValueError, match=r"parameter 1 would become -inf .*lower the learning rate"):
        opt.step()
    assert (p.data, q.data) == (1.0, -2.0)
    assert opt.velocity == [0.0, 0.0]


def test_huge_but_finite_parameters_still_step():
    p, q = Value(1.5e308), Value(1.5e308)  # their sum overflows, each stays finite
    opt = SGD([p, q], lr=1.0)
    p.grad, q.grad = 1.0, 2.0
    opt.step()
    assert (p.data, q.data) == (1.5e308 - 1.0, 1.5e308 - 2.0)
