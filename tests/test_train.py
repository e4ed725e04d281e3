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
    for size in sizes.values():  # one pass per epoch and epoch 0; images, targets checked once
        assert passes.count(size) == 4
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
    assert len(lines) == 4  # the untrained network, then one line per epoch
    assert lines[0].startswith("epoch   0  training cost ") and lines[0].endswith("(untrained)")
    assert lines[1].startswith("epoch   1  training cost ") and "train" in lines[1]
    assert "%  test " in lines[1]


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
    with pytest.raises(TypeError, match="DatasetSplit .* a Dataset, an .inputs, targets. pair"):
        train(model, [[0.0] * 64], epochs=1)  # inputs without targets
    with pytest.raises(ValueError, match="has its test set already"):
        train(model, small, epochs=1, validation=small.test)
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
    assert "epoch   2  training cost 0.4000  train  80.0%  test  90.0%" in str(h.epochs[1])


def test_value_inputs_are_not_needed(small):
    """Images go in as plain floats: the first layer's inputs are constants, not graph nodes."""
    model = MLP(64, [3], seed=0)
    out = model(small.train.images[0])
    affine = out[0].parents[0]
    assert len(affine.parents) == 65 and all(isinstance(p, Value) for p in affine.parents)


# --------------------------------------------------------------------------- your own data
XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_Y = [0, 1, 1, 0]


@pytest.mark.parametrize("form", ["x, y", "(x, y)", "Dataset"])
def test_xor_trains_from_plain_lists_with_one_sigmoid_output(form):
    args = {"x, y": (XOR_X, XOR_Y), "(x, y)": ((XOR_X, XOR_Y),),
            "Dataset": (Dataset.from_arrays(XOR_X, XOR_Y, "xor"),)}[form]
    net = MLP(2, [2, 1], seed=0)
    history = train(net, *args, epochs=1000, batch_size=4, lr=5.0, progress=False,
                    verbose=False)
    assert predict(net, XOR_X).tolist() == XOR_Y  # one output: 1 above 0.5, else 0
    assert history.train_accuracy[-1] == 1.0 and history.initial.train_accuracy == 0.5
    assert history.test_accuracy[-1] is None  # no test set given


def test_the_threshold_of_one_output_is_half():
    net = MLP(1, [1], "linear", seed=0)
    w, b = net.parameters()
    w.data, b.data = 1.0, 0.0  # the output is the input
    assert predict(net, [[0.49], [0.5], [0.51], [3.0]]).tolist() == [0, 0, 1, 1]
    assert accuracy(net, Dataset.from_arrays([0.2, 0.7, 0.9], [0, 1, 0])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("engine", ["scalar", "compiled"])
def test_a_regression_learns_real_valued_targets_and_reports_no_accuracy(engine):
    x = np.linspace(-3, 3, 24)
    net = MLP(1, [8, 1], "tanh", output_activation="linear", seed=0)
    history = train(net, x, np.sin(x), validation=(x + 0.1, np.sin(x + 0.1)), epochs=60,
                    batch_size=6, lr=0.1, progress=False, verbose=False, engine=engine)
    assert history.engine == engine
    assert history.cost[-1] < 0.1 * history.initial.cost
    assert history.train_accuracy[-1] is None and history.test_accuracy[-1] is None
    expected = np.mean([(net([v])[0].data - np.sin(v)) ** 2 for v in x])
    assert history.cost[-1] == pytest.approx(expected, rel=1e-9)
    assert history.epochs[-1].test_cost == pytest.approx(
        np.mean([(net([v])[0].data - np.sin(v)) ** 2 for v in x + 0.1]), rel=1e-9)


@pytest.mark.parametrize("targets", ["labels", "floats", "table"])
def test_both_engines_agree_on_one_output_and_on_regression_targets(targets):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (30, 3))
    y = {"labels": (x[:, 0] > 0).astype(int), "floats": x.sum(axis=1),
         "table": np.stack([x[:, 0], x[:, 1] * x[:, 2]], axis=1)}[targets]
    n_out = 2 if targets == "table" else 1
    runs = {}
    for engine in ("scalar", "compiled"):
        net = MLP(3, [5, n_out], seed=1)
        h = train(net, x, y, epochs=3, batch_size=4, lr=0.5, progress=False, verbose=False,
                  engine=engine)
        runs[engine] = (weights(net), h)
    assert runs["compiled"][0] == pytest.approx(runs["scalar"][0], rel=1e-9, abs=1e-12)
    assert runs["compiled"][1].cost == pytest.approx(runs["scalar"][1].cost, rel=1e-9)
    assert runs["compiled"][1].train_accuracy == runs["scalar"][1].train_accuracy


@pytest.mark.parametrize("engine", ["scalar", "compiled"])
def test_float32_data_trains_exactly_as_its_float64_conversion(engine):
    x = np.array(XOR_X, dtype=np.float32) * np.float32(0.3)
    y = np.array([0.1, 0.9, 0.7, 0.2], dtype=np.float32)
    nets = [MLP(2, [3, 1], seed=0) for _ in range(2)]
    train(nets[0], x, y, epochs=3, batch_size=2, progress=False, verbose=False, engine=engine)
    train(nets[1], x.astype(np.float64).tolist(), [float(v) for v in y], epochs=3,
          batch_size=2, progress=False, verbose=False, engine=engine)
    assert all(type(v) is float for v in weights(nets[0]))
    assert weights(nets[0]) == weights(nets[1])


def test_data_that_does_not_fit_the_model_is_refused_before_training():
    with pytest.raises(ValueError, match="labels 0..2 but a single output learns labels 0 and 1"):
        train(MLP(2, [1], seed=0), XOR_X, [0, 1, 2, 0], epochs=1)
    with pytest.raises(ValueError, match="one real-valued target per example but the model has 3"):
        train(MLP(2, [3], seed=0), XOR_X, [0.5, 1.5, 2.0, 0.0], epochs=1)
    with pytest.raises(ValueError, match="2 targets per example but the model has 3 outputs"):
        train(MLP(2, [3], seed=0), XOR_X, np.zeros((4, 2)), epochs=1)
    with pytest.raises(ValueError, match="4 inputs but 3 targets"):
        train(MLP(2, [1], seed=0), XOR_X, [0, 1, 1], epochs=1)
    with pytest.raises(TypeError, match="dtype complex128"):
        train(MLP(2, [1], seed=0), np.ones((4, 2)) * 1j, XOR_Y, epochs=1)


# --------------------------------------------------------------------------- output
def test_the_untrained_network_is_epoch_zero(small):
    model = MLP(64, [10], seed=0)
    before_cost, before_acc = evaluate(model, small.test)
    history = train(model, subset(small, 40, 20), epochs=2, progress=False, verbose=False)
    first = history.initial
    assert first.epoch == 0 and [p.epoch for p in history.points] == [0, 1, 2]
    assert first.test_accuracy == accuracy(MLP(64, [10], seed=0), subset(small, 40, 20).test)
    assert len(history) == 2 and history.cost == [e.cost for e in history.epochs]
    assert before_acc == accuracy(MLP(64, [10], seed=0), small.test) and before_cost > 0


def test_history_repr_shows_accuracies_as_percentages():
    h = History([EpochStats(1, 0.5, 0.6, 0.7, 1.0), EpochStats(2, 0.4, 0.8, 0.925, 2.0)],
                seconds=3.0, initial=EpochStats(0, 0.9, 0.1, 0.125, 0.1))
    text = repr(h)
    assert text.startswith("History(2 epochs, scalar engine, 3.0s: epoch 0: training cost 0.9")
    assert "train 10.0%, test 12.5%" in text and "epoch 2: training cost 0.4, train 80.0%, " \
        "test 92.5%" in text


def test_the_progress_bar_covers_the_evaluation(small, monkeypatch):
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    train(MLP(64, [10], seed=0), subset(small, 20, 5), epochs=1, batch_size=10, progress=True)
    shown = fake.getvalue()
    assert shown.index("epoch 1/1: 2/2 batches") < shown.index(
        "epoch 1/1: 2/2 batches, evaluating the training set") < shown.index(
        "epoch 1/1: 2/2 batches, evaluating the test set")


def test_a_regression_line_shows_the_test_cost_and_accuracy_refuses_real_targets():
    stats = EpochStats(3, 0.25, None, None, 0.5, test_cost=0.125)
    assert str(stats) == "epoch   3  training cost 0.2500  test cost 0.1250  (0.5s)"
    assert stats.summary() == "epoch 3: training cost 0.25, test cost 0.125"
    line = Dataset.from_arrays([0.0, 1.0], [0.5, 1.5], "line")
    net = MLP(1, [1], "linear", seed=0)
    cost, acc = evaluate(net, line)
    assert acc is None and cost == pytest.approx(
        np.mean([(net([x])[0].data - y) ** 2 for x, y in ((0.0, 0.5), (1.0, 1.5))]), rel=1e-12)
    with pytest.raises(ValueError, match="line has real-valued targets, not class labels"):
        accuracy(net, line)


def test_float32_training_runs_compiled_and_follows_float64():
    from tinygrad_lite.data import load_digits

    split = subset(load_digits(), 200, 100)
    results = {}
    for dtype in ("float64", "float32"):
        model = MLP(64, [16, 10], seed=2)
        history = train(model, split, epochs=2, dtype=dtype, verbose=False, progress=False)
        assert history.engine == "compiled"  # float32 is compiled even below the threshold
        results[dtype] = np.array([p.data for p in model.parameters()])
    assert all(type(p) is float for p in results["float32"].tolist())
    np.testing.assert_allclose(results["float32"], results["float64"], rtol=1e-3, atol=1e-4)


def test_float32_on_the_scalar_engine_is_refused_by_name():
    with pytest.raises(ValueError, match="float32 runs on the compiled engine only"):
        train(MLP(2, [1]), [[0, 0], [1, 1]], [0, 1], engine="scalar", dtype="float32",
              verbose=False, progress=False)
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        train(MLP(2, [1]), [[0, 0], [1, 1]], [0, 1], dtype="float16", verbose=False,
              progress=False)
