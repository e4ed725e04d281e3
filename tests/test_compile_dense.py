"""The fused step of sigmoid MLPs with the quadratic cost (tinygrad_lite/compile/dense.py):
which programs get it, and that it computes the scalar engine's cost and gradients."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite import Value
from tinygrad_lite.compile import CompiledTrainer, compile_cost, compile_function
from tinygrad_lite.losses import batch_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.optim import SGD


def engine_cost_and_gradient(model, X, Y):
    """Mean quadratic cost of the batch and its gradient, by the scalar engine."""
    for p in model.parameters():
        p.grad = 0.0
    cost = batch_cost(model, X, [list(y) for y in Y], "quadratic")
    cost.backward()
    return cost.data, np.array([p.grad for p in model.parameters()])


def fused_cost_and_gradient(program, X, Y):
    """Mean cost, gradient of the mean and whether that is known to be finite, from the
    program's fused step for batches of len(X)."""
    step = program.fused_step(len(X))
    with np.errstate(all="raise", under="ignore"):
        total, known_finite = step(X, Y, 1.0 / len(X))
    return total / len(X), step.grad.copy(), known_finite


def test_sigmoid_mlps_with_the_quadratic_cost_are_fused_and_nothing_else():
    assert compile_cost(MLP(784, [16, 16, 10], seed=0)).fused
    assert compile_cost(MLP(3, [2], seed=0)).fused
    assert not compile_cost(MLP(3, [4, 2], seed=0), "cross-entropy").fused
    assert not compile_cost(MLP(3, [4, 2], "relu", seed=0)).fused
    assert not compile_cost(MLP(3, [4, 2], "tanh", seed=0)).fused
    w = Value(0.5)
    assert not compile_function(lambda x, y: ((x[0] * w).sigmoid() - y[0]) ** 2, (1, 1),
                                [w]).fused


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), b=st.integers(1, 9),
       seed=st.integers(0, 2**16))
def test_the_fused_step_gives_the_engines_cost_and_gradient(sizes, b, seed):
    model = MLP(sizes[0], sizes[1:], seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(b, sizes[0])) * 2.0
    Y = rng.random((b, sizes[-1]))
    program = compile_cost(model)
    assert program.fused
    cost, grad, known_finite = fused_cost_and_gradient(program, X, Y)
    expected_cost, expected_grad = engine_cost_and_gradient(model, X, Y)
    assert known_finite
    assert math.isclose(cost, expected_cost, rel_tol=1e-12)
    scale = float(np.abs(expected_grad).max())
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-12 * scale + 1e-300)


def test_a_non_finite_input_is_refused_by_the_fused_step_and_named_by_the_trainer():
    model = MLP(3, [2, 2], seed=1)
    X = np.array([[0.5, np.inf, -1.0], [0.1, 0.2, 0.3]])
    Y = np.zeros((2, 2))
    program = compile_cost(model)
    before = program.theta.copy()
    with np.errstate(all="raise", under="ignore"):
        assert program.fused_step(2).sgd_step(X, Y, -0.5) is None
    assert np.array_equal(program.theta, before)
    trainer = CompiledTrainer(model, lr=1.0)
    before = trainer.theta.copy()
    with pytest.raises(ValueError, match=r"X is not finite at \[0, 1\]: inf"):
        trainer.train_batch(X, Y)
    assert trainer.steps == 0 and np.array_equal(trainer.theta, before)


def test_saturated_neurons_fall_back_to_the_instructions_and_match_the_engine():
    # z = −2000 makes e^(−z) overflow in the fused sigmoid; the step runs again with the
    # instructions (whose sigmoid is clipped) and gives the engine's numbers: σ = 0 there.
    def model():
        m = MLP(2, [2, 1], seed=3)
        m.parameters()[0].data = 1000.0
        return m

    X, Y = np.array([[-2.0, 0.0], [0.5, 0.25]]), np.array([[1.0], [0.0]])
    scalar, compiled = model(), model()
    opt = SGD(scalar.parameters(), lr=0.5)
    opt.zero_grad()
    expected_cost = batch_cost(scalar, X, [list(y) for y in Y], "quadratic")
    expected_cost.backward()
    opt.step()
    trainer = CompiledTrainer(compiled, lr=0.5)
    assert math.isclose(trainer.train_batch(X, Y), expected_cost.data, rel_tol=1e-12)
    trainer.sync_to_values()
    np.testing.assert_allclose([p.data for p in compiled.parameters()],
                               [p.data for p in scalar.parameters()], rtol=1e-12)


def test_an_epoch_with_a_numpy_generator_follows_the_scalar_loop():
    from tinygrad_lite.data import iterate_minibatches

    X = np.random.default_rng(2).normal(size=(17, 4))
    labels = np.arange(17) % 3
    scalar, compiled = MLP(4, [5, 3], seed=4), MLP(4, [5, 3], seed=4)
    opt = SGD(scalar.parameters(), lr=1.5)
    for batch in iterate_minibatches(17, 4, np.random.default_rng(7)):
        opt.zero_grad()
        batch_cost(scalar, X[batch], [int(labels[k]) for k in batch], "quadratic").backward()
        opt.step()
    trainer = CompiledTrainer(compiled, lr=1.5)
    trainer.train_epoch(X, labels, 4, np.random.default_rng(7))
    assert trainer.steps == 5 and trainer.in_sync
    np.testing.assert_allclose([p.data for p in compiled.parameters()],
                               [p.data for p in scalar.parameters()], rtol=1e-9)


def test_the_same_seed_gives_the_same_order_as_before():
    # An int seed still means random.Random(seed).shuffle: models trained before keep their
    # batch order.
    from tinygrad_lite.data import shuffled_order

    order = list(range(50))
    random.Random(11).shuffle(order)
    assert shuffled_order(50, 11).tolist() == order
    assert shuffled_order(50, np.random.default_rng(3)).tolist() == \
        np.random.default_rng(3).permutation(50).tolist()
    with pytest.raises(TypeError, match="rng must be"):
        shuffled_order(5, "seed")


@pytest.mark.parametrize("x", [1e4, 1e200])
def test_a_fused_step_too_large_for_the_parameters_is_refused(x):
    # Zero weights: σ = 0.5 and ∂C/∂w = −0.25·x, so lr = 1e306 overflows θ; with x = 1e200
    # the product overflows inside the fused step already.
    model = MLP(3, [2], seed=5)
    for p in model.parameters():
        p.data = 0.0
    X, Y = np.array([[x, -x, 0.5]]), np.array([[1.0, 0.0]])
    trainer = CompiledTrainer(model, lr=1e306)
    with pytest.raises(ValueError, match="refusing to write nan/inf"):
        trainer.train_batch(X, Y)
    assert trainer.steps == 0 and not trainer.theta.any() and trainer.in_sync
