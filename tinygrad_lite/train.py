"""Training loop: epochs of mini-batch SGD with a progress bar and per-epoch accuracy.

::

    from tinygrad_lite.data import load_digits
    from tinygrad_lite.nn import MLP
    from tinygrad_lite.train import train

    split = load_digits()                          # 8×8 digits, 64 inputs
    model = MLP(64, [16, 16, 10], seed=0)          # sigmoid everywhere, quadratic cost
    history = train(model, split, epochs=15, batch_size=10, lr=3.0)   # prints each epoch
    print(history.test_accuracy[-1])                                   # ≈ 0.94

Two engines run the same math:

* ``"scalar"``: each mini-batch goes through :func:`scalar_step` (zero the gradients, build the
  batch cost from Values, ``backward()``, ``optimizer.step()``): every partial
  derivative is a node you can inspect. ``train(..., step_fn=...)`` accepts any function with
  the same signature.
* ``"compiled"``: the model's cost graph is traced once and run over whole mini-batches with
  NumPy (:class:`tinygrad_lite.compile.CompiledTrainer`); the parameters live in flat arrays
  during an epoch and are written back into the Values at its end (and when training
  stops), so ``model.parameters()[i].data`` is current whenever ``train`` is not running.

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
    "COMPILE_THRESHOLD",
]

#: One mini-batch update: ``step_fn(model, optimizer, xs, ys, cost) -> batch cost (float)``.
StepFunction = Callable[[MLP, SGD, Sequence[Sequence[float]], Sequence[int], CostFunction], float]

#: Default hyper-parameters, tuned for ``MLP(64, [16, 16, 10])`` on the 8×8 digits with the
#: quadratic cost: ≥ 90% test accuracy in well under a minute with the scalar engine.
DEFAULTS: dict[str, Any] = {"epochs": 15, "batch_size": 10, "lr": 3.0, "momentum": 0.0, "seed": 0}

#: The values of ``train(..., engine=...)``.
ENGINES: tuple[str, ...] = ("auto", "scalar", "compiled")

#: ``engine="auto"`` compiles networks with at least this many parameters. Compiling takes
#: milliseconds (~0.15 s for 784-16-16-10); below this size the scalar engine is quick anyway.
COMPILE_THRESHOLD = 1000


@dataclass(frozen=True)
class EpochStats:
    """What one epoch achieved.

    Attributes:
        epoch: 1-based epoch number.
        cost: the mean cost over the whole training set at the end of the epoch.
        train_accuracy: share of training images classified correctly (0..1).
        test_accuracy: share of test images classified correctly (0..1).
        seconds: wall-clock time of the epoch (training plus evaluation).
    """

    epoch: int
    cost: float
    train_accuracy: float
    test_accuracy: float
    seconds: float

    def __str__(self) -> str:
        return (f"epoch {self.epoch:3d}  cost {self.cost:.4f}  "
                f"train {100 * self.train_accuracy:5.1f}%  test {100 * self.test_accuracy:5.1f}%  "
                f"({self.seconds:.1f}s)")


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
        epochs: the completed epochs, in order.
        interrupted: ``True`` if Ctrl-C (KeyboardInterrupt) stopped training early.
        seconds: total wall-clock time of the run.
        engine: the engine that ran: ``"scalar"`` or ``"compiled"``.
        snapshots: the :class:`Snapshot`\\ s ``train(..., record=N)`` kept (else empty).
    """

    epochs: list[EpochStats] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    engine: str = "scalar"
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def cost(self) -> list[float]:
        """The end-of-epoch training cost, one per epoch."""
        return [e.cost for e in self.epochs]

    @property
    def train_accuracy(self) -> list[float]:
        """Training-set accuracy, one per epoch."""
        return [e.train_accuracy for e in self.epochs]

    @property
    def test_accuracy(self) -> list[float]:
        """Test-set accuracy, one per epoch."""
        return [e.test_accuracy for e in self.epochs]

    def __len__(self) -> int:
        """Number of completed epochs."""
        return len(self.epochs)


# --------------------------------------------------------------------------- #
# evaluation
# --------------------------------------------------------------------------- #
def _rows(images: Any) -> list[list[float]]:
    if isinstance(images, np.ndarray):
        if images.ndim != 2:
            raise ValueError(f"images must be a 2-D array (n, n_inputs), got shape {images.shape}")
        return images.tolist()
    return [x.tolist() if hasattr(x, "tolist") else list(x) for x in images]


def _argmax(outputs: Sequence[Value]) -> int:
    best, best_j = -math.inf, 0
    for j, a in enumerate(outputs):
        if a.data > best:
            best, best_j = a.data, j
    return best_j


def predict(model: MLP, images: Any) -> np.ndarray:
    """The predicted digit (index of the largest output) for each image, under ``no_grad``.

    Args:
        images: a 2-D array ``(n, nin)`` or a list of inputs.

    Returns:
        An int64 array of ``n`` predictions.
    """
    with no_grad():
        return np.array([_argmax(model(x)) for x in _rows(images)], dtype=np.int64)


def evaluate(model: MLP, dataset: Dataset,
             cost: str | CostFunction = "quadratic") -> tuple[float, float]:
    """``(mean cost, accuracy)`` of ``model`` on ``dataset``, in one pass under ``no_grad``."""
    cost_fn = get_cost(cost)
    rows, labels = _rows(dataset.images), dataset.labels.tolist()
    if not rows:
        raise ValueError(f"{dataset.name}: the dataset is empty")
    total, correct = 0.0, 0
    with no_grad():
        for x, y in zip(rows, labels):
            outputs = model(x)
            total += cost_fn(outputs, y).data
            correct += _argmax(outputs) == y
    return total / len(rows), correct / len(rows)


def accuracy(model: MLP, dataset: Dataset) -> float:
    """Share (0..1) of ``dataset`` that ``model`` classifies correctly, under ``no_grad``.

    Raises:
        ValueError: the dataset is empty, or has labels the model has no output for.
    """
    if len(dataset) == 0:
        raise ValueError(f"{dataset.name}: the dataset is empty")
    n_out, top = model.nouts[-1], int(dataset.labels.max())
    if top >= n_out:
        raise ValueError(f"the model has {n_out} outputs but {dataset.name} has label {top}; "
                         f"a classifier needs one output per class")
    return float(np.mean(predict(model, dataset.images) == dataset.labels))


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
# training
# --------------------------------------------------------------------------- #
def scalar_step(model: MLP, optimizer: SGD, xs: Sequence[Sequence[float]], ys: Sequence[int],
                cost: CostFunction) -> float:
    """One SGD update on one mini-batch with the scalar engine; returns the batch cost.

    Zeroes the gradients, builds C = (1/n) Σₖ Cₖ, back-propagates and steps.
    """
    optimizer.zero_grad()
    c = batch_cost(model, xs, ys, cost)
    c.backward()
    optimizer.step()
    return c.data


class _Progress:
    """A progress bar over mini-batches: tqdm when installed, else a one-line stderr counter.

    Shown only when enabled and stderr is a terminal.
    """

    def __init__(self, enabled: bool, total: int, desc: str) -> None:
        self.bar: Any = None
        self.simple = False
        self.total, self.desc, self.n = total, desc, 0
        self._last = 0.0
        if not enabled or not getattr(sys.stderr, "isatty", lambda: False)():
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.simple = True
            return
        self.bar = tqdm(total=total, desc=desc, unit="batch", leave=False, file=sys.stderr)

    def update(self, cost: float) -> None:
        self.n += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.n % 10 == 0:
                self.bar.set_postfix(cost=f"{cost:.4f}", refresh=False)
        elif self.simple:
            now = time.monotonic()
            if now - self._last > 0.2 or self.n == self.total:
                self._last = now
                sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total} batches  cost {cost:.4f}")
                sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.simple:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def train(
    model: MLP,
    data: DatasetSplit,
    *,
    epochs: int = DEFAULTS["epochs"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    cost: str | CostFunction = "quadratic",
    momentum: float = DEFAULTS["momentum"],
    seed: int | random.Random = DEFAULTS["seed"],
    progress: bool = True,
    verbose: bool = True,
    out: Optional[TextIO] = None,
    on_epoch: Optional[Callable[[EpochStats], None]] = None,
    on_batch: Optional[Callable[[int, float], None]] = None,
    step_fn: StepFunction = scalar_step,
    engine: str = "auto",
    record: int = 0,
) -> History:
    """Train ``model`` in place with mini-batch SGD; return the per-epoch :class:`History`.

    Every epoch shuffles the training set (seeded), takes one SGD step per mini-batch, then
    evaluates cost and accuracy on the training and test sets under ``no_grad``.

    Args:
        model: the network to train (its input size must match the images).
        data: a :class:`DatasetSplit` (e.g. ``load_digits()``).
        epochs, batch_size: positive ints.
        lr, momentum: passed to :class:`SGD`.
        cost: ``"quadratic"`` (C₀ of the videos), ``"cross-entropy"`` or a cost function.
        seed: seeds the mini-batch shuffling (an int or a :class:`random.Random`).
        progress: show a progress bar on stderr (only if stderr is a terminal; uses tqdm
            when installed).
        verbose: print one line per epoch (cost, train and test accuracy, seconds) to ``out``.
        out: where ``verbose`` lines go (default ``sys.stdout``).
        on_epoch: called with each :class:`EpochStats` after it is recorded.
        on_batch: called with ``(batch index within the epoch, batch cost)`` after each step.
        step_fn: the per-batch update of the scalar engine (default :func:`scalar_step`); see
            :data:`StepFunction`. Giving one selects the scalar engine under ``"auto"``.
        engine: ``"auto"``, ``"scalar"`` or ``"compiled"`` (see the module docstring).
        record: keep up to this many :class:`Snapshot`\\ s of the parameters in
            ``history.snapshots`` (0: none): after every k-th epoch, k = ⌈epochs / record⌉,
            and after the last, plus the starting parameters as epoch 0.

    Returns:
        The :class:`History`; ``interrupted`` is ``True`` if KeyboardInterrupt stopped it
        (raised by Ctrl-C or by a callback). The model keeps the weights trained so far.

    Raises:
        ValueError / TypeError: bad settings, or images whose size does not match the model.
        TraceError / UnsupportedOpError: ``engine="compiled"`` with a cost it cannot compile.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    cost_fn = get_cost(cost)
    if not isinstance(data, DatasetSplit):
        raise TypeError(f"data must be a DatasetSplit (e.g. load_digits()), got {type(data).__name__}")
    for ds in (data.train, data.test):
        if ds.n_inputs != model.nin:
            raise ValueError(f"{ds.name} has {ds.n_inputs} inputs per image but the model "
                             f"expects {model.nin}")
        if len(ds) == 0:
            raise ValueError(f"{ds.name} is empty")
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    rng = make_rng(seed)

    out = sys.stdout if out is None else out
    trainer = _compiled_trainer(engine, model, cost_fn, optimizer, step_fn, verbose, out)
    n_train = len(data.train)
    n_batches = -(-n_train // batch_size)
    history = History(engine="scalar" if trainer is None else "compiled")
    record_every = _record_interval(epochs, record)
    if record_every:
        history.snapshots.append(_snapshot(model, 0))
    start = time.perf_counter()
    bar: _Progress | None = None
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            bar = _Progress(progress, n_batches, f"epoch {epoch}/{epochs}")

            def after_batch(i: int, c: float, bar: _Progress = bar) -> None:
                bar.update(c)
                if on_batch is not None:
                    on_batch(i, c)

            if trainer is None:
                _scalar_epoch(model, optimizer, data.train, batch_size, rng, cost_fn, step_fn,
                              after_batch)
                train_cost, train_acc = evaluate(model, data.train, cost_fn)
                _, test_acc = evaluate(model, data.test, cost_fn)
            else:
                if epoch == 1:  # checked once: the data sets do not change between epochs
                    compiled_sets = [(trainer._evaluation_arrays(ds.images, ds.labels), ds)
                                     for ds in (data.train, data.test)]
                # train_epoch writes the parameters back into the Values when it ends.
                trainer.train_epoch(data.train.images, data.train.labels, batch_size, rng,
                                    on_batch=after_batch)
                train_cost, train_acc = _compiled_accuracy(trainer, *compiled_sets[0])
                _, test_acc = _compiled_accuracy(trainer, *compiled_sets[1])
            bar.close()
            bar = None
            stats = EpochStats(epoch, train_cost, train_acc, test_acc, time.perf_counter() - t0)
            history.epochs.append(stats)
            if record_every and (epoch % record_every == 0 or epoch == epochs):
                history.snapshots.append(_snapshot(model, epoch))
            if verbose:
                print(stats, file=out, flush=True)
            if on_epoch is not None:
                on_epoch(stats)
    except KeyboardInterrupt:
        history.interrupted = True
        model.zero_grad()  # drop the half-accumulated gradients of the interrupted batch
        if bar is not None:
            bar.close()
            bar = None
        if verbose:
            print(f"interrupted after {len(history)} complete epoch(s); "
                  "the model keeps the weights trained so far", file=out, flush=True)
    finally:
        if bar is not None:  # an error escaped: do not leave a half-drawn bar behind
            bar.close()
    history.seconds = time.perf_counter() - start
    return history


def _scalar_epoch(model: MLP, optimizer: SGD, train_set: Dataset, batch_size: int,
                  rng: random.Random, cost_fn: CostFunction, step_fn: StepFunction,
                  after_batch: Callable[[int, float], None]) -> None:
    xs = train_set.images.tolist()
    ys = train_set.labels.tolist()
    for i, batch in enumerate(iterate_minibatches(len(xs), batch_size, rng)):
        c = step_fn(model, optimizer, [xs[k] for k in batch], [ys[k] for k in batch], cost_fn)
        after_batch(i, c)


def _compiled_trainer(engine: str, model: MLP, cost_fn: CostFunction, optimizer: SGD,
                      step_fn: StepFunction, verbose: bool, out: TextIO) -> Any:
    """A CompiledTrainer when ``engine`` asks for one (or ``"auto"`` picks one), else None."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    if engine == "compiled" and step_fn is not scalar_step:
        raise ValueError("step_fn replaces the scalar engine's step; it cannot be combined "
                         "with engine='compiled'")
    if engine == "scalar" or (engine == "auto" and (
            step_fn is not scalar_step or len(model.parameters()) < COMPILE_THRESHOLD)):
        return None
    from tinygrad_lite.compile import CompiledTrainer, TraceError, UnsupportedOpError

    try:
        return CompiledTrainer(model, cost_fn, optimizer=optimizer)
    except (TraceError, UnsupportedOpError) as exc:
        if engine == "compiled":
            raise
        if verbose:
            print(f"note: training with the scalar engine, the cost cannot be compiled ({exc})",
                  file=out, flush=True)
        return None


def _compiled_accuracy(trainer: Any, arrays: tuple[np.ndarray, np.ndarray],
                       dataset: Dataset) -> tuple[float, float]:
    """``(mean cost, accuracy)`` on ``dataset`` (checked into ``arrays``) from one forward pass."""
    cost, predictions = trainer._cost_and_predictions(*arrays)
    return cost, float(np.mean(predictions == dataset.labels))


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
