"""Training loop: epochs of mini-batch SGD with a progress bar and per-epoch accuracy.

::

    from tinygrad_lite.data import load_digits
    from tinygrad_lite.nn import MLP
    from tinygrad_lite.train import train

    split = load_digits()                          # 8×8 digits, 64 inputs
    model = MLP(64, [16, 16, 10], seed=0)          # sigmoid everywhere, quadratic cost
    history = train(model, split, epochs=15, batch_size=10, lr=3.0)   # prints each epoch
    print(history.test_accuracy[-1])                                   # ≈ 0.94

Your own data goes in as plain arrays or lists: ``train(net, X, y)`` or ``train(net, (X, y))``
(``validation=(X_test, y_test)`` optional). Int targets are class labels (0/1 for a single
output, classified by a 0.5 threshold), float targets real-valued (a regression, no accuracy).

Two engines run the same math:

* ``"scalar"``: each mini-batch goes through :func:`scalar_step` (zero the gradients, build the
  batch cost from Values, ``backward()``, ``optimizer.step()``): every partial
  derivative is a node you can inspect. ``train(..., step_fn=...)`` accepts any function with
  the same signature.
* ``"compiled"``: the model's cost graph is traced once and run over whole mini-batches with
  NumPy (:class:`tinygrad_lite.compile.CompiledTrainer`); the parameters live in flat arrays
  during an epoch and are written back into the Values at its end (and when training
  stops), so ``model.parameters()[i].data`` is current whenever ``train`` is not running.

Both offer the same two operations to the loop in :func:`train`: ``epoch()`` (one shuffled
pass of SGD steps) and ``evaluate(dataset)`` (mean cost and accuracy).
``engine="auto"`` (the default) compiles networks of at least :data:`COMPILE_THRESHOLD`
parameters and falls back to the scalar engine if the cost cannot be compiled. Results agree up
to float rounding.

Ctrl-C stops training cleanly: the model keeps the weights of its last SGD update (an update
that has begun is completed, a half-built batch is dropped) and the returned history has
``interrupted=True``.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, TextIO

import numpy as np

from tinygrad_lite._checks import positive_int
from tinygrad_lite._checks import rng as make_rng
from tinygrad_lite.compile import CompiledTrainer, TraceError, UnsupportedOpError
from tinygrad_lite.data import Dataset, DatasetSplit, iterate_minibatches
from tinygrad_lite.engine import Value, no_grad
from tinygrad_lite.losses import CostFunction, batch_cost, get_cost
from tinygrad_lite.nn import MLP
from tinygrad_lite.optim import SGD

__all__ = [
    "EpochStats",
    "History",
    "Snapshot",
    "StepFunction",
    "scalar_step",
    "train",
    "evaluate",
    "accuracy",
    "predict",
    "subset",
    "DEFAULTS",
    "ENGINES",
    "DTYPES",
    "COMPILE_THRESHOLD",
    "THRESHOLD",
]

#: One mini-batch update: ``step_fn(model, optimizer, xs, ys, cost) -> batch cost (float)``.
StepFunction = Callable[[MLP, SGD, Sequence[Sequence[float]], Sequence[Any], CostFunction], float]

#: Default hyper-parameters, tuned for ``MLP(64, [16, 16, 10])`` on the 8×8 digits with the
#: quadratic cost: ≥ 90% test accuracy in well under a minute with the scalar engine.
DEFAULTS: dict[str, Any] = {"epochs": 15, "batch_size": 10, "lr": 3.0, "momentum": 0.0, "seed": 0}

#: The values of ``train(..., dtype=...)``: float32 runs on the compiled engine only.
DTYPES: tuple[str, ...] = ("float64", "float32")

#: The values of ``train(..., engine=...)``.
ENGINES: tuple[str, ...] = ("auto", "scalar", "compiled")

#: ``engine="auto"`` compiles networks with at least this many parameters. Compiling takes
#: milliseconds (~0.15 s for 784-16-16-10); below this size the scalar engine is quick anyway.
COMPILE_THRESHOLD = 1000


def _percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"


@dataclass(frozen=True)
class EpochStats:
    """What one epoch achieved (epoch 0: the untrained network).

    Attributes:
        epoch: the epoch number; 0 is the network before training, 1 the first epoch.
        cost: the mean cost over the whole training set at the end of the epoch.
        train_accuracy: share of training examples classified correctly (0..1); ``None`` for
            real-valued (regression) targets.
        test_accuracy: share of test examples classified correctly (0..1); ``None`` for
            regression targets or when there is no test set.
        seconds: wall-clock time of the epoch (training plus evaluation).
        test_cost: the mean cost over the test set; ``None`` without a test set.
    """

    epoch: int
    cost: float
    train_accuracy: Optional[float]
    test_accuracy: Optional[float]
    seconds: float
    test_cost: Optional[float] = None

    def __str__(self) -> str:
        parts = [f"epoch {self.epoch:3d}", f"training cost {self.cost:.4f}"]
        if self.test_cost is not None and self.test_accuracy is None:
            parts.append(f"test cost {self.test_cost:.4f}")
        if self.train_accuracy is not None:
            parts.append(f"train {_percent(self.train_accuracy):>6}")
        if self.test_accuracy is not None:
            parts.append(f"test {_percent(self.test_accuracy):>6}")
        parts.append("(untrained)" if self.epoch == 0 else f"({self.seconds:.1f}s)")
        return "  ".join(parts)

    def summary(self) -> str:
        """A short description: ``"epoch 3: training cost 0.2011, train 94.2%, test 93.1%"``."""
        parts = [f"training cost {self.cost:.4g}"]
        if self.test_cost is not None and self.test_accuracy is None:
            parts.append(f"test cost {self.test_cost:.4g}")
        parts += [f"{what} {_percent(share)}" for what, share in
                  (("train", self.train_accuracy), ("test", self.test_accuracy)) if share is not None]
        return f"epoch {self.epoch}: " + ", ".join(parts)


@dataclass(frozen=True)
class Snapshot:
    """The parameters at the end of an epoch (epoch 0: before training), recorded by
    ``train(..., record=N)``.

    Attributes:
        epoch: the epoch they are the result of (0 for the starting parameters).
        parameters: every parameter in ``model.parameters()`` order, as a float32 array
            (4 bytes each: 20 snapshots of the 13,002-parameter network take about 1 MB).
    """

    epoch: int
    parameters: np.ndarray


@dataclass
class History:
    """The record of a :func:`train` run: one :class:`EpochStats` per completed epoch.

    Attributes:
        epochs: the completed epochs, in order (epoch 1 first).
        interrupted: ``True`` if Ctrl-C (KeyboardInterrupt) stopped training early.
        seconds: total wall-clock time of the run.
        engine: the engine that ran: ``"scalar"`` or ``"compiled"``.
        initial: the untrained network measured before the first step (epoch 0), so curves
            start where training started; ``None`` if training was stopped before that.
        snapshots: the :class:`Snapshot`\\ s ``train(..., record=N)`` kept (else empty).
    """

    epochs: list[EpochStats] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    engine: str = "scalar"
    initial: Optional[EpochStats] = None
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def cost(self) -> list[float]:
        """The end-of-epoch training cost, one per completed epoch."""
        return [e.cost for e in self.epochs]

    @property
    def train_accuracy(self) -> list[Optional[float]]:
        """Training-set accuracy, one per completed epoch."""
        return [e.train_accuracy for e in self.epochs]

    @property
    def test_accuracy(self) -> list[Optional[float]]:
        """Test-set accuracy, one per completed epoch."""
        return [e.test_accuracy for e in self.epochs]

    @property
    def points(self) -> list[EpochStats]:
        """What a curve plots: the untrained network (epoch 0, if measured), then every epoch."""
        return ([self.initial] if self.initial is not None else []) + self.epochs

    def __len__(self) -> int:
        """Number of completed epochs."""
        return len(self.epochs)

    def __repr__(self) -> str:
        n = len(self.epochs)
        head = f"{n} epoch{'' if n == 1 else 's'}, {self.engine} engine, {self.seconds:.1f}s"
        if self.interrupted:
            head += ", interrupted"
        ends = [self.points[0], self.points[-1]] if len(self.points) > 1 else self.points
        body = "; ".join(e.summary() for e in ends)
        return f"History({head}{': ' + body if body else ''})"


# --------------------------------------------------------------------------- #
# evaluation
# --------------------------------------------------------------------------- #
#: A single output classifies by this threshold: the midpoint of its targets 0 and 1.
THRESHOLD = 0.5


def _rows(images: Any) -> list[list[float]]:
    if isinstance(images, np.ndarray):
        if images.ndim != 2:
            raise ValueError(f"images must be a 2-D array (n, n_inputs), got shape {images.shape}")
        return images.tolist()
    return [x.tolist() if hasattr(x, "tolist") else list(x) for x in images]


def _classes(outputs: np.ndarray) -> np.ndarray:
    """The class of each row of ``outputs`` ``(n, n_out)``: the largest output's index, or for
    a single output 1 above :data:`THRESHOLD` and 0 otherwise."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > THRESHOLD).astype(np.int64)
    return np.argmax(outputs, axis=1).astype(np.int64)


def _output_table(outputs: list[Sequence[Value]]) -> np.ndarray:
    return np.array([[a.data for a in out] for out in outputs], dtype=np.float64)


def predict(model: MLP, images: Any) -> np.ndarray:
    """The predicted class for each input, under ``no_grad``: the index of the largest output,
    or for a single output 1 if it exceeds :data:`THRESHOLD` (0.5), else 0.

    Args:
        images: a 2-D array ``(n, nin)`` or a list of inputs.

    Returns:
        An int64 array of ``n`` predictions.
    """
    rows = _rows(images)
    with no_grad():
        outputs = _output_table([model(x) for x in rows])
    return _classes(outputs.reshape(len(rows), -1))


def _share_correct(outputs: np.ndarray, dataset: Dataset) -> Optional[float]:
    """Accuracy of ``outputs`` on ``dataset``; ``None`` for real-valued targets."""
    if not dataset.is_classification:
        return None
    return float(np.mean(_classes(outputs) == dataset.labels))


def evaluate(model: MLP, dataset: Dataset,
             cost: str | CostFunction = "quadratic") -> tuple[float, Optional[float]]:
    """``(mean cost, accuracy)`` of ``model`` on ``dataset``, in one pass under ``no_grad``.

    The accuracy is ``None`` for real-valued (regression) targets.
    """
    cost_fn = get_cost(cost)
    rows, targets = _rows(dataset.images), dataset.labels.tolist()
    if not rows:
        raise ValueError(f"{dataset.name}: the dataset is empty")
    total, outputs = 0.0, []
    with no_grad():
        for x, y in zip(rows, targets):
            out = model(x)
            total += cost_fn(out, y).data
            outputs.append(out)
    return total / len(rows), _share_correct(_output_table(outputs), dataset)


def accuracy(model: MLP, dataset: Dataset) -> float:
    """Share (0..1) of ``dataset`` that ``model`` classifies correctly, under ``no_grad``.

    Raises:
        ValueError: the dataset is empty, has real-valued targets instead of labels, or has
            labels the model has no output for.
    """
    if len(dataset) == 0:
        raise ValueError(f"{dataset.name}: the dataset is empty")
    if not dataset.is_classification:
        raise ValueError(f"{dataset.name} has real-valued targets, not class labels; "
                         "accuracy needs labels (use evaluate() for the cost)")
    _check_targets(model, dataset)
    return float(np.mean(predict(model, dataset.images) == dataset.labels))


def _check_targets(model: MLP, dataset: Dataset) -> None:
    """Raise a ValueError unless ``dataset``'s labels or targets fit ``model``'s outputs."""
    n_out, y = model.nouts[-1], dataset.labels
    if y.ndim == 2:
        if y.shape[1] != n_out:
            raise ValueError(f"{dataset.name} has {y.shape[1]} targets per example but the "
                             f"model has {n_out} outputs")
    elif not dataset.is_classification:
        if n_out != 1:
            raise ValueError(f"{dataset.name} has one real-valued target per example but the "
                             f"model has {n_out} outputs; give targets of shape (n, {n_out}), "
                             "or class labels as ints")
    elif len(y) and n_out == 1 and not set(np.unique(y).tolist()) <= {0, 1}:
        raise ValueError(f"{dataset.name} has labels {int(y.min())}..{int(y.max())} but a "
                         "single output learns labels 0 and 1; give the model one output "
                         "per class")
    elif len(y) and n_out > 1 and (y.min() < 0 or y.max() >= n_out):
        top = int(y.max()) if y.max() >= n_out else int(y.min())
        raise ValueError(f"the model has {n_out} outputs but {dataset.name} has label {top}; "
                         f"a classifier needs one output per class")


def subset(split: DatasetSplit, n_train: int | None = None,
           n_test: int | None = None) -> DatasetSplit:
    """The first ``n_train`` training and ``n_test`` test examples (``None`` keeps all).

    The loaders shuffle their splits, so a prefix is a fair random sample.
    """
    def cut(ds: Dataset, n: int | None) -> Dataset:
        if n is None:
            return ds
        n = positive_int(n, "subset size")
        if n >= len(ds):
            return ds
        return Dataset(ds.images[:n], ds.labels[:n], ds.image_shape, f"{ds.name}[:{n}]")

    return DatasetSplit(cut(split.train, n_train), cut(split.test, n_test))


# --------------------------------------------------------------------------- #
# the two engines: one epoch of SGD steps, and evaluation, behind one interface
# --------------------------------------------------------------------------- #
def scalar_step(model: MLP, optimizer: SGD, xs: Sequence[Sequence[float]], ys: Sequence[Any],
                cost: CostFunction) -> float:
    """One SGD update on one mini-batch with the scalar engine; returns the batch cost.

    Zeroes the gradients, builds C = (1/n) Σₖ Cₖ, back-propagates and steps.
    """
    optimizer.zero_grad()
    c = batch_cost(model, xs, ys, cost)
    c.backward()
    optimizer.step()
    return c.data


BatchCallback = Callable[[int, float], None]


class _ScalarEngine:
    """Every step through the Value graph (``step_fn``), every evaluation with :func:`evaluate`."""

    name = "scalar"

    def __init__(self, model: MLP, optimizer: SGD, cost_fn: CostFunction, step_fn: StepFunction,
                 train_set: Dataset, batch_size: int, rng: random.Random) -> None:
        self.model, self.optimizer, self.cost_fn, self.step_fn = model, optimizer, cost_fn, step_fn
        self.xs, self.ys = train_set.images.tolist(), train_set.labels.tolist()
        self.batch_size, self.rng = batch_size, rng

    def epoch(self, on_batch: BatchCallback) -> None:
        """One shuffled pass of mini-batch SGD steps."""
        xs, ys = self.xs, self.ys
        for i, batch in enumerate(iterate_minibatches(len(xs), self.batch_size, self.rng)):
            c = self.step_fn(self.model, self.optimizer, [xs[k] for k in batch],
                             [ys[k] for k in batch], self.cost_fn)
            on_batch(i, c)

    def evaluate(self, dataset: Dataset) -> tuple[float, Optional[float]]:
        """``(mean cost, accuracy)`` on ``dataset``."""
        return evaluate(self.model, dataset, self.cost_fn)


def _compiled_targets(dataset: Dataset, n_outputs: int) -> np.ndarray:
    """The targets in the compiled trainer's form: labels, or an ``(n, n_outputs)`` table."""
    if n_outputs == 1 and dataset.labels.ndim == 1:
        return dataset.labels.astype(np.float64).reshape(-1, 1)  # labels 0/1 are the targets
    return dataset.labels


class _CompiledEngine:
    """Steps and evaluations run by a :class:`~tinygrad_lite.compile.CompiledTrainer`; it writes
    the parameters back into the Values at the end of every epoch."""

    name = "compiled"

    def __init__(self, trainer: Any, train_set: Dataset, batch_size: int,
                 rng: random.Random) -> None:
        self.trainer, self.batch_size, self.rng = trainer, batch_size, rng
        self.n_outputs = int(trainer.n_outputs)
        self.train_set = train_set
        self._checked: dict[int, Any] = {}  # id(dataset) → its arrays, checked once
        self._rows: Any = None  # the training set laid out once for train_epoch

    def epoch(self, on_batch: BatchCallback) -> None:
        """One shuffled pass of mini-batch SGD steps (the same batches as the scalar engine)."""
        if self._rows is None:
            self._rows = self.trainer.training_set(self._prepared(self.train_set))
        self.trainer.train_epoch(self._rows, None, self.batch_size, self.rng, on_batch=on_batch)

    def _prepared(self, dataset: Dataset) -> Any:
        """``dataset`` as a checked PreparedBatch; the data sets do not change between epochs,
        so each is checked once."""
        batch = self._checked.get(id(dataset))
        if batch is None:
            targets = _compiled_targets(dataset, self.n_outputs)
            batch = self._checked[id(dataset)] = self.trainer.prepare(dataset.images, targets)
        return batch

    def evaluate(self, dataset: Dataset) -> tuple[float, Optional[float]]:
        """``(mean cost, accuracy)`` on ``dataset`` from one forward pass (two for one output)."""
        batch = self._prepared(dataset)
        cost, predictions = self.trainer.cost_and_predictions(batch)
        if not dataset.is_classification:
            return cost, None
        if self.n_outputs == 1:  # the argmax of one output says nothing: threshold it
            predictions = _classes(self.trainer.evaluate(batch.X))
        return cost, float(np.mean(predictions == dataset.labels))


def _engine(engine: str, model: MLP, cost_fn: CostFunction, optimizer: SGD,
            step_fn: StepFunction, train_set: Dataset, batch_size: int, rng: random.Random,
            note: Callable[[str], None], dtype: str = "float64") -> _ScalarEngine | _CompiledEngine:
    """The engine ``engine`` names (``"auto"``: compiled for large networks, or for float32,
    if it compiles)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
    single = dtype != "float64"
    if single and (engine == "scalar" or step_fn is not scalar_step):
        raise ValueError(f"{dtype} runs on the compiled engine only (the scalar engine "
                         "computes with Python floats): choose the compiled or the auto engine")
    if engine == "compiled" and step_fn is not scalar_step:
        raise ValueError("step_fn replaces the scalar engine's step; it cannot be combined "
                         "with engine='compiled'")
    scalar = _ScalarEngine(model, optimizer, cost_fn, step_fn, train_set, batch_size, rng)
    if engine == "scalar" or (engine == "auto" and not single and (
            step_fn is not scalar_step or len(model.parameters()) < COMPILE_THRESHOLD)):
        return scalar
    try:
        trainer = CompiledTrainer(model, cost_fn, optimizer=optimizer, dtype=dtype)
    except (TraceError, UnsupportedOpError) as exc:
        if engine == "compiled" or single:
            raise
        note(f"note: training with the scalar engine, the cost cannot be compiled ({exc})")
        return scalar
    return _CompiledEngine(trainer, train_set, batch_size, rng)


# --------------------------------------------------------------------------- #
# reporting: progress bar, epoch lines, callbacks
# --------------------------------------------------------------------------- #
class _Progress:
    """A progress bar over an epoch's mini-batches and its evaluations: tqdm when installed,
    else a one-line stderr counter. Shown only when enabled and stderr is a terminal."""

    def __init__(self, enabled: bool, n_batches: int, n_evaluations: int, desc: str) -> None:
        self.bar: Any = None
        self.simple = False
        self.n_batches, self.n_evaluations, self.desc = n_batches, n_evaluations, desc
        self.n, self._last, self._cost = 0, 0.0, math.nan
        if not enabled or not getattr(sys.stderr, "isatty", lambda: False)():
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.simple = True
            return
        self.bar = tqdm(total=n_batches + n_evaluations, desc=desc, unit="batch", leave=False,
                        file=sys.stderr)

    def update(self, cost: float) -> None:
        """One mini-batch done, with this cost."""
        self.n += 1
        self._cost = cost
        if self.bar is not None:
            self.bar.update(1)
            if self.n % 10 == 0:
                self.bar.set_postfix(cost=f"{cost:.4f}", refresh=False)
        elif self.simple:
            now = time.monotonic()
            if now - self._last > 0.2 or self.n == self.n_batches:
                self._last = now
                self._write(f"{self.n:,}/{self.n_batches:,} batches  cost {cost:.4f}")

    def evaluating(self, what: str) -> None:
        """The evaluation of ``what`` (e.g. "the training set") begins."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"evaluating {what}", refresh=False)
            self.bar.update(1)
        elif self.simple:
            self._write(f"{self.n:,}/{self.n_batches:,} batches, evaluating {what}")

    def _write(self, text: str) -> None:
        sys.stderr.write(f"\r\033[K{self.desc}: {text}")
        sys.stderr.flush()

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
        elif self.simple:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        self.bar, self.simple = None, False


@dataclass
class _Reporter:
    """What the user sees and hooks into: the bar, one line per epoch, the callbacks."""

    progress: bool
    verbose: bool
    out: TextIO
    on_epoch: Optional[Callable[[EpochStats], None]]
    on_batch: Optional[BatchCallback]
    epochs: int
    bar: Optional[_Progress] = None

    def start(self, epoch: int, n_batches: int, n_evaluations: int) -> None:
        self.bar = _Progress(self.progress, n_batches, n_evaluations,
                             f"epoch {epoch}/{self.epochs}")

    def batch(self, i: int, cost: float) -> None:
        if self.bar is not None:
            self.bar.update(cost)
        if self.on_batch is not None:
            self.on_batch(i, cost)

    def evaluating(self, what: str) -> None:
        if self.bar is not None:
            self.bar.evaluating(what)

    def done(self, stats: EpochStats) -> None:
        self.close()
        self.say(str(stats))
        if self.on_epoch is not None and stats.epoch > 0:
            self.on_epoch(stats)

    def say(self, line: str) -> None:
        if self.verbose:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# --------------------------------------------------------------------------- #
# training
# --------------------------------------------------------------------------- #
def _as_dataset(data: Any, what: str) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset.from_arrays(data[0], data[1], what)
    raise TypeError(f"{what} must be a Dataset or an (inputs, targets) pair, "
                    f"got {type(data).__name__}")


def _datasets(data: Any, targets: Any, validation: Any) -> tuple[Dataset, Optional[Dataset]]:
    """``(training set, test set or None)`` from the forms :func:`train` accepts."""
    if targets is not None:
        data = (data, targets)
    if isinstance(data, DatasetSplit):
        if validation is not None:
            raise ValueError("data is a DatasetSplit, which has its test set already; "
                             "give validation= only with a Dataset or arrays")
        return data.train, data.test
    if not isinstance(data, (Dataset, tuple)):
        raise TypeError("data must be a DatasetSplit (e.g. load_digits()), a Dataset, an "
                        f"(inputs, targets) pair, or inputs with targets as train(model, X, y); "
                        f"got {type(data).__name__}")
    test = None if validation is None else _as_dataset(validation, "validation data")
    return _as_dataset(data, "training data"), test


def _check_fits(model: MLP, datasets: Sequence[Dataset]) -> None:
    for ds in datasets:
        if ds.n_inputs != model.nin:
            raise ValueError(f"{ds.name} has {ds.n_inputs} inputs per image but the model "
                             f"expects {model.nin}")
        if len(ds) == 0:
            raise ValueError(f"{ds.name} is empty")
        _check_targets(model, ds)


def _measure(engine: _ScalarEngine | _CompiledEngine, epoch: int, train_set: Dataset,
             test_set: Optional[Dataset], report: _Reporter, t0: float) -> EpochStats:
    """The epoch's :class:`EpochStats`: cost and accuracy on both sets."""
    report.evaluating("the training set")
    cost, train_acc = engine.evaluate(train_set)
    test_cost = test_acc = None
    if test_set is not None:
        report.evaluating("the test set")
        test_cost, test_acc = engine.evaluate(test_set)
    return EpochStats(epoch, cost, train_acc, test_acc, time.perf_counter() - t0, test_cost)


def _run_epochs(runner: _ScalarEngine | _CompiledEngine, history: History, epochs: int,
                n_batches: int, train_set: Dataset, test_set: Optional[Dataset],
                report: _Reporter, after_epoch: Callable[[int], None]) -> None:
    """Measure the untrained network (epoch 0), then train and measure ``epochs`` times;
    ``after_epoch(epoch)`` follows each measurement."""
    n_evaluations = 1 + (test_set is not None)
    for epoch in range(epochs + 1):
        t0 = time.perf_counter()
        report.start(epoch, n_batches if epoch else 0, n_evaluations)
        if epoch:
            runner.epoch(report.batch)
        stats = _measure(runner, epoch, train_set, test_set, report, t0)
        if epoch:
            history.epochs.append(stats)
        else:
            history.initial = stats
        after_epoch(epoch)
        report.done(stats)


def train(
    model: MLP,
    data: DatasetSplit | Dataset | tuple[Any, Any] | Any,
    targets: Any = None,
    *,
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    cost: str | CostFunction = "quadratic",
    momentum: float = DEFAULTS["momentum"],
    seed: int | random.Random = DEFAULTS["seed"],
    validation: Dataset | tuple[Any, Any] | None = None,
    progress: bool = True,
    verbose: bool = True,
    out: Optional[TextIO] = None,
    on_epoch: Optional[Callable[[EpochStats], None]] = None,
    on_batch: Optional[BatchCallback] = None,
    step_fn: StepFunction = scalar_step,
    engine: str = "auto",
    record: int = 0,
    dtype: str = "float64",
) -> History:
    """Train ``model`` in place with mini-batch SGD; return the per-epoch :class:`History`.

    Measures the untrained network (epoch 0), then every epoch shuffles the training set
    (seeded), takes one SGD step per mini-batch and measures cost and accuracy on the training
    and test sets under ``no_grad``. ``train(MLP(2, [2, 1]), [[0, 0], [0, 1], [1, 0], [1, 1]],
    [0, 1, 1, 0], lr=5.0, epochs=1000, batch_size=4)`` learns XOR.

    Args:
        data: a :class:`DatasetSplit` (``load_digits()``), a :class:`Dataset`, an ``(inputs,
            targets)`` pair, or the inputs with ``targets`` next to them: ints are class labels
            (0/1 for one output, classified by a 0.5 threshold), floats real-valued targets (a
            regression: no accuracy); see :meth:`Dataset.from_arrays`.
        epochs, batch_size: positive ints; lr, momentum: passed to :class:`SGD`.
        cost: ``"quadratic"`` (C₀ of the videos), ``"cross-entropy"`` or a cost function.
        seed: seeds the mini-batch shuffling (an int or a :class:`random.Random`).
        validation: a test set for a Dataset or arrays: a Dataset or an (inputs, targets) pair.
        progress: a bar on stderr over each epoch's batches and evaluation (on a terminal only;
            tqdm when installed). verbose: one line per epoch to ``out`` (default stdout).
        on_epoch: called with each :class:`EpochStats` from epoch 1 on; on_batch: with
            ``(batch index within the epoch, batch cost)`` after each step.
        step_fn: the scalar engine's per-batch update (:data:`StepFunction`); giving one
            selects the scalar engine under ``"auto"``.
        engine: ``"auto"``, ``"scalar"`` or ``"compiled"`` (see the module docstring).
        dtype: ``"float64"`` (the default) or ``"float32"``, the compiled engine in single
            precision (faster on large batches; results within float32 rounding).
        record: keep up to this many :class:`Snapshot`\\ s of the parameters in
            ``history.snapshots`` (0: none): after every k-th epoch, k = ⌈epochs / record⌉,
            and after the last, plus the starting parameters as epoch 0.

    Returns:
        The :class:`History`; ``interrupted`` is ``True`` if KeyboardInterrupt (Ctrl-C or a
        callback) stopped it. The model keeps the weights trained so far.

    Raises:
        ValueError / TypeError: bad settings, or data that does not fit the model.
        TraceError / UnsupportedOpError: ``engine="compiled"`` with a cost it cannot compile.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    cost_fn = get_cost(cost)
    train_set, test_set = _datasets(data, targets, validation)
    _check_fits(model, [train_set] + ([test_set] if test_set is not None else []))
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    report = _Reporter(progress, verbose, sys.stdout if out is None else out, on_epoch,
                       on_batch, epochs)
    runner = _engine(engine, model, cost_fn, optimizer, step_fn, train_set, batch_size,
                     make_rng(seed), report.say, dtype)
    history = History(engine=runner.name)
    record_every = _record_interval(epochs, record)

    def keep_snapshot(epoch: int) -> None:
        if record_every and (epoch % record_every == 0 or epoch == epochs):
            history.snapshots.append(_snapshot(model, epoch))

    start = time.perf_counter()
    try:
        _run_epochs(runner, history, epochs, -(-len(train_set) // batch_size), train_set,
                    test_set, report, keep_snapshot)
    except KeyboardInterrupt:
        history.interrupted = True
        model.zero_grad()  # drop the half-accumulated gradients of the interrupted batch
        report.close()
        report.say(f"interrupted after {len(history)} complete epoch(s); "
                   "the model keeps the weights trained so far")
    finally:
        report.close()  # an error escaped: do not leave a half-drawn bar behind
    history.seconds = time.perf_counter() - start
    return history


def _record_interval(epochs: int, record: Any) -> int:
    """Every how many epochs ``train(..., record=record)`` keeps a snapshot (0: never)."""
    if isinstance(record, bool) or not isinstance(record, int):
        raise TypeError(f"record must be an int (how many snapshots to keep), got "
                        f"{type(record).__name__}")
    if record < 0:
        raise ValueError(f"record must be 0 (no snapshots) or more, got {record}")
    return -(-epochs // record) if record else 0


def _snapshot(model: MLP, epoch: int) -> Snapshot:
    """The model's parameters now, as float32."""
    return Snapshot(epoch, np.array([p.data for p in model.parameters()], dtype=np.float32))
