"""TrainingSet (tinygrad_lite/compile/training_set.py): a data set laid out once for compiled
epochs, which must train exactly as the scalar loop does, fused or not."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_lite import CompiledTrainer, TrainingSet
from tinygrad_lite.compile import program as program_module
from tinygrad_lite.data import iterate_minibatches, shuffled_order
from tinygrad_lite.losses import batch_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.optim import SGD


def scalar_epochs(model, X, labels, batch_size, seed, lr, cost, epochs):
    opt = SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for batch in iterate_minibatches(len(X), batch_size, rng):
            opt.zero_grad()
            batch_cost(model, X[batch], [int(labels[k]) for k in batch], cost).backward()
            opt.step()


def epoch_data(trainer, X, labels, kind):
    """train_epoch's (images, targets): a training set, or the arrays themselves."""
    return (trainer.training_set(X, labels), None) if kind == "training set" else (X, labels)


def one_epoch_each(X, labels, sizes, seed, batch_size, order_seed, lr, kind="training set"):
    """One epoch of the scalar loop and one of train_epoch (quadratic cost), on twin networks
    with the same batch order: (the scalar network, the compiled one, its trainer)."""
    scalar, compiled = (MLP(X.shape[1], sizes, seed=seed) for _ in range(2))
    scalar_epochs(scalar, X, labels, batch_size, seed=order_seed, lr=lr, cost="quadratic",
                  epochs=1)
    trainer = CompiledTrainer(compiled, lr=lr)
    trainer.train_epoch(*epoch_data(trainer, X, labels, kind), batch_size,
                        np.random.default_rng(order_seed))
    return scalar, compiled, trainer


@pytest.mark.parametrize("cost,activation", [("quadratic", "sigmoid"),
                                             ("cross-entropy", "sigmoid"),
                                             ("quadratic", "tanh")])
def test_epochs_on_a_training_set_follow_the_scalar_loop(cost, activation):
    X = np.random.default_rng(3).normal(size=(29, 5))
    labels = np.arange(29) % 3
    scalar = MLP(5, [4, 3], activation, seed=2)
    compiled = MLP(5, [4, 3], activation, seed=2)
    scalar_epochs(scalar, X, labels, 6, seed=5, lr=0.7, cost=cost, epochs=2)
    trainer = CompiledTrainer(compiled, cost, lr=0.7)
    data = trainer.training_set(X, labels)
    rng = np.random.default_rng(5)
    for _ in range(2):
        trainer.train_epoch(data, None, 6, rng)
    assert trainer.in_sync and trainer.steps == 10
    np.testing.assert_allclose([p.data for p in compiled.parameters()],
                               [p.data for p in scalar.parameters()], rtol=1e-9, atol=1e-12)


def test_the_gradient_after_a_lean_epoch_is_its_last_steps_as_the_engine_gives_it():
    # 30 examples in batches of 6: every step runs in the fused step's own loop.
    X = np.random.default_rng(4).normal(size=(30, 5))
    labels = np.arange(30) % 3
    scalar, _, trainer = one_epoch_each(X, labels, [4, 3], seed=2, batch_size=6, order_seed=5,
                                        lr=0.7)
    assert trainer.steps == 5
    np.testing.assert_allclose(trainer.grad, [p.grad for p in scalar.parameters()],
                               rtol=1e-9, atol=1e-12)


def test_batches_larger_than_a_chunk_fall_back_with_the_same_result(monkeypatch):
    monkeypatch.setattr(program_module, "CHUNK", 4)
    X = np.random.default_rng(1).normal(size=(12, 3))
    labels = np.arange(12) % 2
    scalar, compiled, _ = one_epoch_each(X, labels, [2, 2], seed=6, batch_size=12, order_seed=0,
                                         lr=0.5)
    np.testing.assert_allclose([p.data for p in compiled.parameters()],
                               [p.data for p in scalar.parameters()], rtol=1e-9)


def test_a_training_set_holds_the_inputs_a_one_and_the_targets():
    trainer = CompiledTrainer(MLP(2, [3], seed=0), lr=1.0)
    data = trainer.training_set([[0.5, -1.0], [2.0, 3.0]], [2, 0])
    assert isinstance(data, TrainingSet) and len(data) == 2
    assert data.images.tolist() == [[0.5, -1.0], [2.0, 3.0]]
    assert data.targets.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    assert data.rows[:, 2].tolist() == [1.0, 1.0]
    assert repr(data) == "TrainingSet(2 examples, 2 inputs, 3 targets, float64)"


def test_bad_data_and_misused_training_sets_are_refused_with_clear_errors():
    trainer = CompiledTrainer(MLP(2, [3], seed=0), lr=1.0)
    with pytest.raises(ValueError, match="not finite"):
        trainer.training_set([[0.5, np.nan]], [1])
    with pytest.raises(ValueError, match="labels must be in"):
        trainer.training_set([[0.5, 1.0]], [3])
    with pytest.raises(ValueError, match="shape"):
        trainer.training_set([[0.5, 1.0, 2.0]], [1])
    data = trainer.training_set([[0.5, 1.0]], [1])
    with pytest.raises(TypeError, match="targets=None"):
        trainer.train_epoch(data, [1], 1, 0)
    other = CompiledTrainer(MLP(2, [4], seed=0), lr=1.0)
    with pytest.raises(ValueError, match="another network"):
        other.train_epoch(data, None, 1, 0)
    assert other.steps == 0 and trainer.steps == 0


def test_a_prepared_batch_becomes_a_training_set_without_a_second_check():
    trainer = CompiledTrainer(MLP(2, [3], seed=0), lr=1.0)
    X, labels = [[0.5, -1.0], [2.0, 3.0]], [2, 0]
    prepared = trainer.prepare(X, labels)
    assert np.array_equal(trainer.training_set(prepared).rows, trainer.training_set(X, labels).rows)
    with pytest.raises(TypeError, match="targets=None"):
        trainer.training_set(prepared, labels)


def test_a_float32_training_set_trains_as_the_scalar_loop_within_float32_tolerance():
    X = np.random.default_rng(4).normal(size=(20, 5))
    labels = np.arange(20) % 3
    scalar, compiled = MLP(5, [4, 3], seed=8), MLP(5, [4, 3], seed=8)
    scalar_epochs(scalar, X, labels, 5, seed=2, lr=0.5, cost="quadratic", epochs=1)
    trainer = CompiledTrainer(compiled, lr=0.5, dtype="float32")
    data = trainer.training_set(X, labels)
    assert data.rows.dtype == np.float32
    trainer.train_epoch(data, None, 5, np.random.default_rng(2))
    expected = np.array([p.data for p in scalar.parameters()])
    np.testing.assert_allclose([p.data for p in compiled.parameters()], expected,
                               rtol=0, atol=1e-4 * np.abs(expected).max())
    with pytest.raises(ValueError, match="another network or dtype"):
        CompiledTrainer(MLP(5, [4, 3], seed=8), lr=0.5).train_epoch(data, None, 5, 0)


@pytest.mark.parametrize("kind", ["training set", "arrays"])
def test_the_lean_epoch_loop_gives_what_step_by_step_training_gives(kind):
    # Without on_batch, plain SGD on a fused program runs in the fused step's own loop; with
    # on_batch each step is a call of its own (lr read again). Same numbers, to the bit.
    X = np.random.default_rng(5).normal(size=(47, 6))
    labels = np.arange(47) % 4
    lean, checked = (CompiledTrainer(MLP(6, [5, 4], seed=1), lr=0.8) for _ in range(2))
    costs = [lean.train_epoch(*epoch_data(lean, X, labels, kind), 5, np.random.default_rng(9)),
             checked.train_epoch(*epoch_data(checked, X, labels, kind), 5,
                                 np.random.default_rng(9), on_batch=lambda i, c: None)]
    assert costs[0] == costs[1]
    assert lean.steps == checked.steps == 10
    assert np.array_equal(lean.theta, checked.theta)
    assert np.array_equal(lean.grad, checked.grad)
    assert [p.data for p in lean.params] == [p.data for p in checked.params]


@pytest.mark.parametrize("kind", ["training set", "arrays"])
def test_a_batch_the_lean_loop_cannot_take_goes_the_checked_way(kind):
    # One example saturates a neuron (e^(−z) overflows in the fused sigmoid): its batch runs
    # through the instructions, the other batches in the lean loop; the result is the scalar
    # loop's.
    X = np.random.default_rng(6).normal(size=(30, 3))
    X[7] = [-3000.0, 3000.0, 0.0]
    labels = np.arange(30) % 2
    scalar, compiled, trainer = one_epoch_each(X, labels, [3, 2], seed=2, batch_size=5,
                                               order_seed=4, lr=0.5, kind=kind)
    assert trainer.steps == 6
    np.testing.assert_allclose([p.data for p in compiled.parameters()],
                               [p.data for p in scalar.parameters()], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["training set", "arrays"])
def test_a_step_the_lean_loop_refuses_is_named_and_changes_nothing(kind):
    # Zero weights: σ = 0.5 and the first step is −lr · (about x/4): too large for θ.
    model = MLP(3, [2], seed=5)
    for p in model.parameters():
        p.data = 0.0
    X = np.tile([1e4, -1e4, 0.5], (6, 1))
    trainer = CompiledTrainer(model, lr=1e306)
    data = epoch_data(trainer, X, np.arange(6) % 2, kind)
    with pytest.raises(ValueError, match="train_epoch, batch 0: parameter .* refusing"):
        trainer.train_epoch(*data, 3, np.random.default_rng(0))
    assert trainer.steps == 0 and not trainer.theta.any() and trainer.in_sync
    assert not any(p.data for p in model.parameters())


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_input_in_an_epoch_on_arrays_is_named(bad):
    # Arrays are not checked before the epoch: the lean loop cannot vouch for the batch that
    # holds it, and the checked way names the input; nothing has moved.
    X = np.random.default_rng(7).normal(size=(12, 3))
    X[8, 1] = bad
    trainer = CompiledTrainer(MLP(3, [3, 2], seed=2), lr=0.5)
    before = trainer.theta.copy()
    with pytest.raises(ValueError, match="X .*(nan|inf)"):
        trainer.train_epoch(X, np.arange(12) % 2, 12, np.random.default_rng(0))
    assert trainer.steps == 0 and np.array_equal(trainer.theta, before)


class _RowsThatStopAfter(np.ndarray):
    """Rows whose k-th gather raises KeyboardInterrupt, as a Ctrl-C between two steps would."""

    gathers_left = 0

    def take(self, *args, **kwargs):
        type(self).gathers_left -= 1
        if type(self).gathers_left < 0:
            raise KeyboardInterrupt
        return np.ndarray.take(np.asarray(self), *args, **kwargs)


@pytest.mark.parametrize("lr_before", [None, 0.8])
def test_an_interrupted_lean_epoch_keeps_the_steps_and_the_gradient_of_the_last(lr_before):
    # Three steps in the fused step's own loop, then Ctrl-C: θ, steps and grad are those of
    # three train_batch calls on the same batches, with no step before or one at another lr.
    X = np.random.default_rng(8).normal(size=(20, 4))
    labels = np.arange(20) % 3
    lean, stepwise = (CompiledTrainer(MLP(4, [3, 3], seed=4), lr=lr_before or 0.5)
                      for _ in range(2))
    if lr_before is not None:
        for trainer in (lean, stepwise):
            trainer.train_batch(X[:5], labels[:5])
            trainer.lr = 0.5
    data = lean.training_set(X, labels)
    _RowsThatStopAfter.gathers_left = 3
    with pytest.raises(KeyboardInterrupt):
        lean.train_epoch(TrainingSet(data.rows.view(_RowsThatStopAfter), data.n_inputs), None,
                         5, np.random.default_rng(3))
    order = shuffled_order(20, np.random.default_rng(3))
    for k in range(3):
        stepwise.train_batch(X[order[5 * k:5 * k + 5]], labels[order[5 * k:5 * k + 5]])
    assert lean.steps == stepwise.steps == (3 if lr_before is None else 4) and lean.in_sync
    np.testing.assert_allclose(lean.theta, stepwise.theta, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lean.grad, stepwise.grad, rtol=1e-12, atol=1e-15)
    assert np.abs(lean.grad).max() > 0
