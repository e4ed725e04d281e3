"""Tests for tinygrad_lite.train: the mini-batch SGD loop, evaluation and Ctrl-C handling."""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest

from tinygrad_lite.data import Dataset, DatasetSplit, load_digits
from tinygrad_lite.engine import Value, is_grad_enabled
from tinygrad_lite.losses import batch_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.train import (
    COMPILE_THRESHOLD,
    DEFAULTS,
    EpochStats,
    History,
    accuracy,
    evaluate,
    predict,
    scalar_step,
    subset,
    train,
)


@pytest.fixture(scope="module")
def digits() -> DatasetSplit:
    return load_digits()


@pytest.fixture(scope="module")
def small(digits) -> DatasetSplit:
    return subset(digits, 300, 150)


def weights(model: MLP) -> list[float]:
    return [p.data for p in model.parameters()]


# --------------------------------------------------------------------------- learning
def test_training_improves_accuracy_quickly_on_a_small_subset(small):
    model = MLP(64, [16, 10], seed=0)
    before = accuracy(model, small.test)
    history = train(model, small, epochs=6, batch_size=5, lr=3.0, progress=False)
    assert isinstance(history, History) and len(history) == 6 and not history.interrupted
    assert history.test_accuracy[-1] > before + 0.5
    assert history.train_accuracy[-1] > 0.8
    assert history.cost[-1] < history.cost[0]
    # the recorded numbers are those of the final model
    assert history.test_accuracy[-1] == accuracy(model, small.test)
    assert history.cost[-1] == pytest.approx(batch_cost(model, small.train.images,
                                                        small.train.labels).data, rel=1e-12)
    assert all(e.seconds > 0 for e in history.epochs) and history.seconds > 0
    assert [e.epoch for e in history.epochs] == [1, 2, 3, 4, 5, 6]


def test_default_settings_reach_90_percent_on_the_8x8_digits(digits):
    """The defaults (lr 3, batch 10, quadratic cost, sigmoid 64-16-16-10) reach 90% test
    accuracy within the default number of epochs; the run stops as soon as they do."""
    model = MLP(64, [16, 16, 10], seed=DEFAULTS["seed"])

    def stop_at_90(stats: EpochStats) -> None:
        if stats.test_accuracy >= 0.90:
            raise KeyboardInterrupt

    history = train(model, digits, progress=False, verbose=False, on_epoch=stop_at_90,
                    **DEFAULTS)
    assert history.interrupted, f"never reached 90%: {history.test_accuracy}"
    assert history.test_accuracy[-1] == accuracy(model, digits.test) >= 0.90
    assert len(history) <= DEFAULTS["epochs"]


def test_cross_entropy_training_with_linear_outputs_learns(small):
    model = MLP(64, [16], "sigmoid", output_activation="linear", seed=1)
    history = train(model, small, epochs=4, batch_size=10, lr=0.5, cost="cross-entropy",
                    momentum=0.5, progress=False)
    assert history.test_accuracy[-1] > 0.6
    assert history.cost[-1] < history.cost[0]


def test_training_is_reproducible_with_a_seed(small):
    runs = []
    for _ in range(2):
        model = MLP(64, [8, 10], seed=3)
        train(model, subset(small, 100, 20), epochs=2, batch_size=7, lr=1.0, seed=5,
              progress=False)
        runs.append(weights(model))
    assert runs[0] == runs[1]
    other = MLP(64, [8, 10], seed=3)
    train(other, subset(small, 100, 20), epochs=2, batch_size=7, lr=1.0, seed=6, progress=False)
    assert weights(other) != runs[0]


def test_step_fn_is_called_once_per_batch_and_can_replace_the_scalar_step(small):
    data = subset(small, 95, 10)
    calls = []

    def counting_step(model, optimizer, xs, ys, cost):
        calls.append((len(xs), len(ys)))
        assert all(len(x) == 64 and isinstance(x[0], float) for x in xs)
        return scalar_step(model, optimizer, xs, ys, cost)

    train(MLP(64, [10], seed=0), data, epochs=2, batch_size=10, lr=1.0, progress=False,
          step_fn=counting_step)
    assert len(calls) == 2 * 10  # ceil(95 / 10) batches per epoch
    assert calls.count((5, 5)) == 2  # the short last batch of each epoch


def test_every_example_is_used_once_per_epoch(small):
    data = subset(small, 50, 10)
    seen: list[tuple[float, ...]] = []

    def recording_step(model, optimizer, xs, ys, cost):
        seen.extend(tuple(x) for x in xs)
        return 0.0

    train(MLP(64, [10], seed=0), data, epochs=1, batch_size=8, progress=False,
          step_fn=recording_step)
    assert sorted(seen) == sorted(tuple(x) for x in data.train.images.tolist())


# --------------------------------------------------------------------------- Ctrl-C
def test_keyboard_interrupt_after_an_epoch_keeps_the_model_and_marks_the_history(small):
    model = MLP(64, [16, 10], seed=0)
    initial = weights(model)
    snapshot = {}

    def stop_after_two(stats: EpochStats) -> None:
        if stats.epoch == 2:
            snapshot["w"] = weights(model)
            raise KeyboardInterrupt

    out = io.StringIO()
    history = train(model, small, epochs=5, lr=3.0, progress=False, verbose=True, out=out,
                    on_epoch=stop_after_two)
    assert history.interrupted and len(history) == 2
    assert weights(model) == snapshot["w"] != initial
    assert history.test_accuracy[-1] == accuracy(model, small.test)
    assert "interrupted after 2 complete epoch(s)" in out.getvalue()


@pytest.mark.parametrize("engine", ["scalar", "compiled"])
def test_keyboard_interrupt_mid_epoch_keeps_the_batches_trained_so_far(small, engine):
    model = MLP(64, [16, 10], seed=0)
    initial = weights(model)

    def stop(batch: int, cost: float) -> None:
        if batch == 4:
            raise KeyboardInterrupt

    history = train(model, small, epochs=3, lr=3.0, progress=False, on_batch=stop,
                    engine=engine)
    assert history.interrupted and len(history) == 0
    assert weights(model) != initial
    assert all(p.grad == 0.0 for p in model.parameters())
    # the 5 completed steps are exactly those of an uninterrupted run's first 5 batches
    reference = MLP(64, [16, 10], seed=0)
    steps = []

    def five_steps(m, opt, xs, ys, cost):
        if len(steps) < 5:
            steps.append(1)
            return scalar_step(m, opt, xs, ys, cost)
        raise KeyboardInterrupt

    train(reference, small, epochs=3, lr=3.0, progress=False, step_fn=five_steps)
    # the same steps; the compiled engine sums in another order, so equal up to rounding
    assert weights(model) == pytest.approx(weights(reference), rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- engines
def test_auto_compiles_networks_from_the_threshold_up(small):
    big = MLP(64, [16, 10], seed=0)
    tiny = MLP(64, [10], seed=0)
    assert len(big.parameters()) >= COMPILE_THRESHOLD > len(tiny.parameters())
    assert train(big, small, epochs=1, progress=False, verbose=False).engine == "compiled"
    assert train(tiny, small, epochs=1, progress=False, verbose=False).engine == "scalar"
    forced = train(MLP(64, [16, 10], seed=0), small, epochs=1, progress=False, verbose=False,
                   engine="scalar")
    assert forced.engine == "scalar"


@pytest.mark.parametrize("cost,momentum", [("quadratic", 0.0), ("cross-entropy", 0.5)])
def test_compiled_and_scalar_training_agree_up_to_rounding(small, cost, momentum):
    runs = {}
    for engine in ("scalar", "compiled"):
        model = MLP(64, [8, 10], seed=1, output_activation="linear" if cost != "quadratic"
                    else None)
        history = train(model, small, epochs=2, batch_size=7, lr=0.5, cost=cost,
                        momentum=momentum, seed=3, progress=False, verbose=False, engine=engine)
        runs[engine] = (weights(model), history)
    (w_scalar, h_scalar), (w_compiled, h_compiled) = runs["scalar"], runs["compiled"]
    assert w_compiled == pytest.approx(w_scalar, rel=1e-9, abs=1e-12)
    assert h_compiled.cost == pytest.approx(h_scalar.cost, rel=1e-9)
    assert h_compiled.test_accuracy == h_scalar.test_accuracy
    assert h_compiled.train_accuracy == h_scalar.train_accuracy


@pytest.mark.parametrize("engine", ["scalar", "compiled"])
def test_the_cost_may_be_named_with_an_underscore(small, engine):
    model = MLP(64, [16, 10], seed=0, output_activation="linear")
    history = train(model, subset(small, 40, 20), epochs=1, cost="cross_entropy",
                    progress=False, verbose=False, engine=engine)
    reference = train(MLP(64, [16, 10], seed=0, output_activation="linear"),
                      subset(small, 40, 20), epochs=1, cost="cross-entropy", progress=False,
                      verbose=False, engine=engine)
    assert history.cost == reference.cost and history.engine == engine


def test_a_compiled_epoch_evaluates_each_set_in_one_pass_checked_once(small, monkeypatch):
    from tinygrad_lite.compile import program as program_module
    from tinygrad_lite.compile import trainer as trainer_module

    sizes = {"train": len(small.train), "test": len(small.test)}
    assert sizes["train"] != sizes["test"]
    passes, checks = [], []
    forward, check = program_module.Program.evaluate, trainer_module.check_finite

    def counting_forward(self, batch):
        passes.append(batch.size)
        return forward(self, batch)

    def counting_check(arr, what):
        checks.append(arr.shape[0])
        return check(arr, what)

    monkeypatch.setattr(program_module.Program, "evaluate", counting_forward)
    monkeypatch.setattr(trainer_module, "check_finite", counting_check)
    history = train(MLP(64, [16, 10], seed=0), small, epochs=3, progress=False, verbose=False,
                    engine="compiled")
    assert history.engine == "compiled" and len(history) == 3
    for size in sizes.values():  # one pass per epoch; its images and targets checked once
        assert passes.count(size) == 3
        assert checks.count(size) == 2


def test_parameters_are_current_after_compiled_training(small):
    model = MLP(64, [16, 10], seed=0)
    initial = weights(model)
    history = train(model, small, epochs=2, progress=False, verbose=False, engine="compiled")
    assert history.engine == "compiled" and weights(model) != initial
    # The Values hold the trained weights: the scalar engine reproduces the recorded numbers.
    assert accuracy(model, small.test) == history.test_accuracy[-1]
    assert batch_cost(model, small.train.images, small.train.labels).data == pytest.approx(
        history.cost[-1], rel=1e-9)


def test_compiled_training_is_at_least_ten_times_faster_on_the_digits(digits):
    """Not a timing assertion on the clock: both runs share this process and machine, and the
    margin is large (~70× measured) so that a noisy machine cannot flip it."""
    times = {}
    for engine in ("scalar", "compiled"):
        model = MLP(64, [16, 16, 10], seed=0)
        times[engine] = train(model, subset(digits, 300, 50), epochs=1, progress=False,
                              verbose=False, engine=engine).seconds
    assert times["compiled"] * 10 < times["scalar"], times


def test_engine_errors(small):
    model = MLP(64, [16, 10], seed=0)
    with pytest.raises(ValueError, match="unknown engine 'gpu'; valid: auto, scalar, compiled"):
        train(model, small, epochs=1, progress=False, engine="gpu")
    with pytest.raises(ValueError, match="step_fn .* engine='compiled'"):
        train(model, small, epochs=1, progress=False, engine="compiled",
              step_fn=lambda *args: scalar_step(*args))


def branchy_cost(outputs, label):
    """A cost that looks at .data: the trace cannot represent it."""
    first = outputs[0] if outputs[0].data > 0.5 else outputs[1]
    return (first - 1.0) ** 2


def test_auto_falls_back_to_the_scalar_engine_for_a_cost_it_cannot_compile(small):
    out = io.StringIO()
    history = train(MLP(64, [16, 10], seed=0), small, epochs=1, progress=False, out=out,
                    cost=branchy_cost)
    assert history.engine == "scalar"
    assert "note: training with the scalar engine, the cost cannot be compiled" in out.getvalue()
    from tinygrad_lite.compile import TraceError

    with pytest.raises(TraceError):
        train(MLP(64, [16, 10], seed=0), small, epochs=1, progress=False, cost=branchy_cost,
              engine="compiled")


# --------------------------------------------------------------------------- evaluation
class GradSpy:
    """A model-like callable recording whether gradients were enabled when called."""

    def __init__(self, model: MLP) -> None:
        self.model, self.modes = model, []

    def __call__(self, x):
        self.modes.append(is_grad_enabled())
        return self.model(x)


def test_evaluation_runs_under_no_grad(small):
    spy = GradSpy(MLP(64, [10], seed=0))
    evaluate(spy, small.test)  # type: ignore[arg-type]
    predict(spy, small.test.images[:5])  # type: ignore[arg-type]
    assert spy.modes and not any(spy.modes)
    assert is_grad_enabled()


def test_predict_accuracy_and_evaluate_agree(small):
    model = MLP(64, [10], seed=2)
    test = small.test
    guesses = predict(model, test.images)
    assert guesses.dtype == np.int64 and guesses.shape == (len(test),)
    expected = [int(np.argmax([o.data for o in model(x)])) for x in test.images]
    assert guesses.tolist() == expected
    acc = accuracy(model, test)
    assert acc == np.mean(guesses == test.labels)
    cost, acc2 = evaluate(model, test)
    assert acc2 == acc
    assert cost == pytest.approx(batch_cost(model, test.images, test.labels).data, rel=1e-12)
    assert predict(model, [test.images[0].tolist()]).tolist() == guesses[:1].tolist()


def test_accuracy_refuses_a_model_without_an_output_per_label(small):
    with pytest.raises(ValueError, match="the model has 5 outputs but .* has label 9"):
        accuracy(MLP(64, [5], seed=0), small.test)


def test_subset_takes_prefixes(digits):
    s = subset(digits, 10, 3)
    assert len(s.train) == 10 and len(s.test) == 3
    assert np.array_equal(s.train.images, digits.train.images[:10])
    assert np.array_equal(s.test.labels, digits.test.labels[:3])
    assert subset(digits, None, 10**6).train is digits.train
    with pytest.raises(ValueError, match="positive"):
        subset(digits, 0)
    for bad in (1e9, "5", 2.5, True):  # checked before the size, whatever the size
        with pytest.raises(TypeError, match="subset size must be a positive int"):
            subset(digits, bad)


# --------------------------------------------------------------------------- output
def test_verbose_prints_one_line_per_epoch(small):
    out = io.StringIO()
    train(MLP(64, [10], seed=0), subset(small, 40, 10), epochs=3, progress=False, verbose=True,
          out=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch   1  cost ") and "train" in lines[0] and "test" in lines[0]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal(small, capsys):
    train(MLP(64, [10], seed=0), subset(small, 20, 5), epochs=1, progress=True)
    assert capsys.readouterr().err == ""


def test_progress_falls_back_to_a_simple_counter_without_tqdm(small, monkeypatch):
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm...` fail
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    train(MLP(64, [10], seed=0), subset(small, 20, 5), epochs=1, batch_size=10, progress=True)
    assert "epoch 1/1: 2/2 batches" in fake.getvalue()


def test_progress_uses_tqdm_on_a_terminal(small, monkeypatch):
    pytest.importorskip("tqdm")  # an optional extra; the fallback is tested above
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    train(MLP(64, [10], seed=0), subset(small, 20, 5), epochs=1, batch_size=10, progress=True)
    assert "epoch 1/1" in fake.getvalue() and "batch/s" in fake.getvalue()  # tqdm's bar


def test_progress_false_shows_nothing_even_on_a_terminal(small, monkeypatch):
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    train(MLP(64, [10], seed=0), subset(small, 20, 5), epochs=1, progress=False)
    assert fake.getvalue() == ""


# --------------------------------------------------------------------------- errors
def test_bad_settings_raise_clear_errors(small):
    model = MLP(64, [10], seed=0)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        train(model, small, epochs=0)
    with pytest.raises(TypeError, match="batch_size"):
        train(model, small, epochs=1, batch_size=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lr must be positive"):
        train(model, small, epochs=1, lr=-1.0)
    with pytest.raises(ValueError, match="unknown cost"):
        train(model, small, epochs=1, cost="hinge")
    with pytest.raises(TypeError, match="model must be an MLP"):
        train(lambda x: x, small, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DatasetSplit"):
        train(model, small.train, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="64 inputs per image but the model expects 784"):
        train(MLP(784, [10], seed=0), small, epochs=1)
    with pytest.raises(TypeError, match="seed"):
        train(model, small, epochs=1, seed="x")  # type: ignore[arg-type]
    empty = Dataset(np.zeros((0, 64)), np.zeros(0, dtype=np.int64), (8, 8), "empty")
    with pytest.raises(ValueError, match="empty"):
        train(model, DatasetSplit(small.train, empty), epochs=1)


def test_a_diverging_run_stops_with_an_error_not_nan():
    """A huge learning rate cannot silently write nan into the model."""
    x = np.array([[1.0, -1.0]] * 4)
    split = DatasetSplit(Dataset(x.repeat(2, axis=1)[:, :4], np.array([0, 1, 0, 1]), (2, 2), "t"),
                         Dataset(x.repeat(2, axis=1)[:, :4], np.array([0, 1, 0, 1]), (2, 2), "v"))
    model = MLP(4, [3, 2], "linear", seed=0)
    try:
        train(model, split, epochs=50, batch_size=2, lr=1e6, progress=False)
    except (ValueError, OverflowError) as exc:
        assert "nan" in str(exc) or "inf" in str(exc) or "too large" in str(exc)
    assert all(math.isfinite(p.data) for p in model.parameters())


def test_history_properties():
    h = History([EpochStats(1, 0.5, 0.6, 0.7, 1.0), EpochStats(2, 0.4, 0.8, 0.9, 2.0)])
    assert h.cost == [0.5, 0.4] and h.train_accuracy == [0.6, 0.8]
    assert h.test_accuracy == [0.7, 0.9] and len(h) == 2 and not h.interrupted
    assert "epoch   2  cost 0.4000  train  80.0%  test  90.0%" in str(h.epochs[1])


def test_value_inputs_are_not_needed(small):
    """Images go in as plain floats: the first layer's inputs are constants, not graph nodes."""
    model = MLP(64, [3], seed=0)
    out = model(small.train.images[0])
    affine = out[0].parents[0]
    assert len(affine.parents) == 65 and all(isinstance(p, Value) for p in affine.parents)
