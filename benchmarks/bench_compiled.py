"""Training throughput of the compiled program on 3Blue1Brown's 784 → 16 → 16 → 10 network.

One epoch of mini-batch SGD (sigmoid, quadratic cost, lr 3.0) over a synthetic MNIST-shaped
data set (60,000 × 784 in [0, 1], 10 classes, seeded; see ``synthetic_mnist.py``), at mini-batch
10 and 100, in float64 and float32, for:

* **best hand NumPy** (``TunedNumpyMLP`` in ``reference_numpy.py``): every ratio is against it,
  in the same dtype, measured in the same run;
* **plain NumPy** (``NumpyMLP``): the same math, written the first way one would;
* **tinygrad_lite** ``CompiledTrainer.train_batch`` on the same batches as the NumPy rows, and
  ``CompiledTrainer.train_epoch`` (the API a training loop uses: its own shuffling with a NumPy
  Generator, the Values synced at the end) on the arrays (labels made one-hot each epoch) and
  on a ``training_set()`` made once before timing (inputs, a 1 and one-hot targets in one
  array: one gather a step, the first layer's bias inside its products), as the NumPy rows'
  one-hot targets are made once; float32 rows need ``CompiledTrainer(...,
  dtype="float32")`` and say "not available" without it;
* **JAX** (optional; skipped with a message if not installed): ``jax.jit`` of the whole SGD step
  (gather of the batch, forward, ``value_and_grad``, update; parameters donated), called once
  per batch, and ``jax.jit`` of ``lax.scan`` of that step over the whole epoch;
* **PyTorch** (optional): ``torch.optim.SGD`` on an ``nn.Sequential``, one thread.

The whole process is pinned to ONE core (``os.sched_setaffinity``, as ``taskset -c 0``; JAX
ignores XLA's thread flags) and BLAS runs on one thread. Every setting is timed in ``--rounds``
interleaved rounds (every other round in reverse order; within a round, each batch size's
rows one after the other, each row's float64 and float32 epochs next to each other).
Examples/s are each row's median epoch. The ratios pair the rows round by round: a row's epoch
time over its reference's in the same round, the median over the rounds. The machine is shared
and its speed drifts over seconds, so two rows' fastest epochs may come from different moments
(in runs of the same code their ratio moved ±10%); a pair measured seconds apart sees the same
machine, and the median leaves out the rounds a burst of load hit. Each target line also
prints the ratio of the fastest epochs. Epochs are timed in CPU
time of the process (``time.process_time``: every thread of it, so JAX's too) unless
``--clock wall``: on a machine busy with other processes, the time they take from our core is
not counted, so the numbers stay comparable between runs; on an idle machine both agree.

The targets of issue 14 are printed with met / not met; then the compile-scaling report of
``compile_scaling.py`` (against the compiler of 0d3246b, measured in the same run) and the
peak RSS of training in a fresh process.

Usage::

    python benchmarks/bench_compiled.py [--rounds 7] [--cpu 0] [--clock cpu|wall] [--quick]
                                        [--no-scaling | --scaling-against 0d3246b |
                                         --recorded-scaling]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


def _early_option(argv: list[str], name: str, default: str) -> str:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def _pin(argv: list[str]) -> str:
    """One core and one BLAS thread for the whole process, before NumPy, JAX or torch load."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    cpu = _early_option(argv, "--cpu", "0")
    if hasattr(os, "sched_setaffinity") and cpu != "none":
        os.sched_setaffinity(0, {int(cpu)})
    return cpu


CPU = _pin(sys.argv[1:]) if __name__ == "__main__" else None

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import compile_scaling  # noqa: E402
from _args import positive_int  # noqa: E402
from reference_numpy import NumpyMLP, TunedNumpyMLP, check_same_math  # noqa: E402
from synthetic_mnist import synthetic_mnist  # noqa: E402
from tinygrad_lite import MLP, CompiledTrainer  # noqa: E402

SIZES = [784, 16, 16, 10]
LR = 3.0
BATCHES = (10, 100)
DTYPES = ("float64", "float32")
MEMORY_LIMIT_MB = 200.0
FLOP_PER_EXAMPLE = 6 * 13_002  # forward 2, backward 4 multiply-adds per weight

Epoch = Callable[[], Any]


@dataclass
class Data:
    """The training set in one dtype, with the fixed batch order of the step-by-step rows."""

    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray
    batches: dict[int, list[np.ndarray]]


def step_epoch(step: Callable[[np.ndarray, np.ndarray], Any], data: Data, b: int) -> Epoch:
    """One epoch of ``step(X[batch], Y[batch])`` over the fixed batches."""
    X, Y, batches = data.X, data.Y, data.batches[b]

    def run() -> None:
        for idx in batches:
            step(X[idx], Y[idx])

    return run


# --------------------------------------------------------------------------- the rows
def numpy_rows(data: Data, b: int, dtype: str) -> dict[str, Epoch]:
    """The two NumPy references, starting from the model's weights."""
    model = MLP(784, SIZES[1:], seed=0)
    tuned = TunedNumpyMLP.from_mlp(model, lr=LR, dtype=dtype)
    plain = NumpyMLP.from_mlp(model, lr=LR, dtype=dtype)
    return {"hand": step_epoch(tuned.train_batch, data, b),
            "plain": step_epoch(plain.train_batch, data, b)}


def compiled_trainer(dtype: str) -> CompiledTrainer | str:
    """A trainer in ``dtype``, or why there is none (float32 needs ``dtype=`` support)."""
    model = MLP(784, SIZES[1:], seed=0)
    if dtype == "float64":
        return CompiledTrainer(model, lr=LR)
    try:
        return CompiledTrainer(model, lr=LR, dtype=dtype)  # type: ignore[call-arg]
    except (TypeError, ValueError) as exc:  # no dtype= yet, or no float32
        return f"not available ({exc})"


def compiled_rows(data: Data, b: int, dtype: str) -> dict[str, Epoch | str]:
    """``train_batch`` on the fixed batches, and ``train_epoch`` with its own shuffling on the
    arrays and on a ``training_set()`` made once (as the NumPy rows' one-hot targets are)."""
    stepper, epocher = compiled_trainer(dtype), compiled_trainer(dtype)
    if isinstance(stepper, str) or isinstance(epocher, str):
        return {key: str(stepper) for key in ("train_batch", "train_epoch", "train_epoch_set")}
    stepper.train_batch(data.X[:b], data.Y[:b])  # compile and warm up, as the NumPy rows
    training_set = epocher.training_set(data.X, data.labels)
    rounds = iter(range(10**9))

    # A NumPy Generator shuffles in NumPy; an int seed would shuffle 60,000 indices with
    # random.Random (~40 ms an epoch, the order kept for old seeds): see shuffled_order.
    def run_epoch() -> None:
        epocher.train_epoch(data.X, data.labels, b, rng=np.random.default_rng(next(rounds)))

    def run_epoch_on_set() -> None:
        epocher.train_epoch(training_set, None, b, rng=np.random.default_rng(next(rounds)))

    return {"train_batch": step_epoch(stepper.train_batch, data, b), "train_epoch": run_epoch,
            "train_epoch_set": run_epoch_on_set}


def jax_rows(data: Data, b: int, dtype: str) -> dict[str, Epoch | str]:
    """JAX's jitted step and jitted ``lax.scan`` epoch, or why they are missing."""
    try:
        import jax
    except ImportError:
        return {"jax_step": "not installed (pip install jax jaxlib)",
                "jax_scan": "not installed (pip install jax jaxlib)"}
    jax.config.update("jax_enable_x64", True)
    import jax_reference

    order = np.concatenate(data.batches[b])
    step, scan = jax_reference.make(MLP(784, SIZES[1:], seed=0), data.X, data.Y, LR, dtype,
                                    order, b)
    step()  # compile both
    scan()
    return {"jax_step": step, "jax_scan": scan}


def torch_rows(data: Data, b: int, dtype: str) -> dict[str, Epoch | str]:
    """PyTorch, one thread, or why it is missing."""
    try:
        import torch
    except ImportError:
        return {"torch": "not installed (pip install torch==2.13.0)"}
    torch.set_num_threads(1)
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    layers: list[Any] = []
    for layer in MLP(784, SIZES[1:], seed=0).layers:
        lin = torch.nn.Linear(layer.nin, layer.nout).to(torch_dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons]))
            lin.bias.copy_(torch.tensor([n.b.data for n in layer.neurons]))
        layers += [lin, torch.nn.Sigmoid()]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=LR)

    def step(X: np.ndarray, Y: np.ndarray) -> float:
        x, y = torch.from_numpy(X), torch.from_numpy(Y)
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()
        return loss.detach().item()

    return {"torch": step_epoch(step, data, b)}


ROW_LABELS = {
    "hand": "best hand NumPy (`TunedNumpyMLP`)",
    "plain": "plain NumPy (`NumpyMLP`)",
    "train_batch": "tinygrad_lite `CompiledTrainer.train_batch`",
    "train_epoch": "tinygrad_lite `CompiledTrainer.train_epoch` (arrays)",
    "train_epoch_set": "tinygrad_lite `CompiledTrainer.train_epoch` (`training_set()`)",
    "jax_step": "JAX `jit` of the whole SGD step",
    "jax_scan": "JAX `jit(lax.scan)` over the epoch",
    "torch": "PyTorch, 1 thread",
}
FACTORIES = (numpy_rows, compiled_rows, jax_rows, torch_rows)
ROW_ORDER = list(ROW_LABELS)


# --------------------------------------------------------------------------- measuring
def make_data(n: int) -> dict[str, Data]:
    """The data set in each dtype, with one fixed shuffled order cut into batches."""
    X, labels = synthetic_mnist(n, seed=0)
    order = np.random.default_rng(1).permutation(n)
    batches = {b: [order[s:s + b] for s in range(0, n - b + 1, b)] for b in BATCHES}
    return {dt: Data(X.astype(dt), np.eye(10, dtype=dt)[labels], labels, batches)
            for dt in DTYPES}


Key = tuple[str, int, str]  # (dtype, batch size, row)


def build_rows(data: dict[str, Data]) -> dict[Key, Epoch | str]:
    """Every (dtype, batch, row) → its epoch runner, or the reason it is missing."""
    rows: dict[Key, Epoch | str] = {}
    for dtype in DTYPES:
        for b in BATCHES:
            for factory in FACTORIES:
                for key, run in factory(data[dtype], b, dtype).items():
                    rows[(dtype, b, key)] = run
    return rows


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


@dataclass
class Timings:
    """Each runnable row's epoch times, one per round, and the data set size."""

    seconds: dict[Key, list[float]]
    n: int

    def rate(self, key: Key) -> float | None:
        """Examples/s of the row's median epoch."""
        times = self.seconds.get(key)
        return None if times is None else self.n / statistics.median(times)

    def ratio(self, key: Key, against: Key) -> float | None:
        """The median over the rounds of the row's epoch time ÷ ``against``'s in the same
        round (< 1 is faster), if both were measured."""
        a, b = self.seconds.get(key), self.seconds.get(against)
        return None if a is None or b is None else statistics.median(
            x / y for x, y in zip(a, b))

    def best_ratio(self, key: Key, against: Key) -> float | None:
        """The row's fastest epoch time ÷ that of ``against`` (for comparison)."""
        a, b = self.seconds.get(key), self.seconds.get(against)
        return None if a is None or b is None else min(a) / min(b)


def time_epochs(rows: dict[Key, Epoch | str], rounds: int, n: int,
                clock: Callable[[], float]) -> Timings:
    """Every runnable row's epoch in each of ``rounds`` interleaved rounds, every other round
    in reverse order (so that a drift within a round favours no row)."""
    # Each row's float64 and float32 epochs one after the other, a row's two batch sizes apart:
    # every ratio pairs epochs measured seconds apart, float32 ÷ float64 too.
    keys = sorted((key for key, run in rows.items() if not isinstance(run, str)),
                  key=lambda k: (k[1], ROW_ORDER.index(k[2]), k[0]))
    seconds: dict[Key, list[float]] = {key: [] for key in keys}
    for r in range(rounds):
        for key in keys if r % 2 == 0 else keys[::-1]:
            t0 = clock()
            rows[key]()  # type: ignore[operator]
            seconds[key].append(clock() - t0)
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    return Timings(seconds, n)


def matmul_gflops(dtype: str = "float64", size: int = 512, repeats: int = 5) -> float:
    """One core's matmul rate (GFLOP/s), the best of a few ``size``² products."""
    a = np.random.default_rng(0).uniform(size=(size, size)).astype(dtype)
    out = np.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        np.matmul(a, a, out=out)
        best = min(best, time.process_time() - t0)
    return 2 * size**3 / best / 1e9


# --------------------------------------------------------------------------- printing
def verdict(ok: bool) -> str:
    """'met' or 'not met'."""
    return "met" if ok else "not met"


def print_table(rows: dict[Key, Epoch | str], timings: Timings) -> None:
    """One Markdown table: ex/s and time ÷ best hand NumPy (same dtype, round by round) per
    batch size."""
    head = "| implementation | dtype |" + "".join(
        f" ex/s, batch {b} | ÷ best hand NumPy |" for b in BATCHES)
    print(head)
    print("| --- | --- |" + " ---: | ---: |" * len(BATCHES))
    for dtype in DTYPES:
        for key, label in ROW_LABELS.items():
            line = f"| {label} | {dtype} |"
            for b in BATCHES:
                rate = timings.rate((dtype, b, key))
                ratio = timings.ratio((dtype, b, key), (dtype, b, "hand"))
                if rate is None:
                    reason = str(rows.get((dtype, b, key), "not measured"))
                    line += f" {reason.split(' (')[0]} | |"
                else:
                    line += f" {rate:,.0f} | {'' if ratio is None else f'{ratio:.2f}'} |"
            print(line)


def target_line(name: str, timings: Timings, key: Key, against: Key, limit: float,
                strict: bool = False) -> str:
    """``target: name  ratio×  met`` for the round-by-round ratio of ``key`` to ``against``,
    with the ratio of the fastest epochs after it."""
    r, best = timings.ratio(key, against), timings.best_ratio(key, against)
    if r is None or best is None:
        return f"target: {name:<62} not available"
    ok = r < limit if strict else r <= limit
    return f"target: {name:<62} {r:5.2f}×  {verdict(ok):7}  (fastest epochs: {best:.2f}×)"


def print_targets(timings: Timings) -> None:
    """Every target of issue 14 about training speed, with met / not met."""
    limits = (("train_batch", 10, 1.0), ("train_batch", 100, 1.0),
              ("train_epoch", 10, 0.9), ("train_epoch", 100, 1.0),
              ("train_epoch_set", 10, 0.9), ("train_epoch_set", 100, 1.0))
    for dtype in DTYPES:
        for key, b, limit in limits:
            name = f"{key} ≤ {limit:.1f}× best hand NumPy, batch {b}, {dtype}"
            print(target_line(name, timings, (dtype, b, key), (dtype, b, "hand"), limit))
        for key, jax_key, b in (("train_batch", "jax_step", 10), ("train_batch", "jax_step", 100),
                                ("train_epoch", "jax_scan", 10),
                                ("train_epoch_set", "jax_scan", 10)):
            short = "JAX jit step" if jax_key == "jax_step" else "JAX lax.scan epoch"
            name = f"{key} < 1.0× {short}, batch {b}, {dtype}"
            print(target_line(name, timings, (dtype, b, key), (dtype, b, jax_key), 1.0,
                              strict=True))
    for key in ("train_batch", "train_epoch", "train_epoch_set"):
        # float64's epoch time over float32's: the throughput ratio, ≥ 1.7 is the target.
        r, best = (f(("float64", 100, key), ("float32", 100, key))
                   for f in (timings.ratio, timings.best_ratio))
        name = f"{key} float32 ≥ 1.7× float64 throughput, batch 100"
        print(f"target: {name:<62} " + ("not available" if r is None or best is None else
                                         f"{r:5.2f}×  {verdict(r >= 1.7):7}  (fastest "
                                         f"epochs: {best:.2f}×)"))


def same_math(data: Data, b: int = 10, steps: int = 3) -> float:
    """Largest relative difference of θ between ``train_batch`` and the tuned NumPy, float64."""
    model = MLP(784, SIZES[1:], seed=0)
    ref = TunedNumpyMLP.from_mlp(model, lr=LR)
    trainer = CompiledTrainer(model, lr=LR)
    worst = 0.0
    for idx in data.batches[b][:steps]:
        cost_c, cost_r = trainer.train_batch(data.X[idx], data.Y[idx]), ref.train_batch(
            data.X[idx], data.Y[idx])
        theta = np.asarray(trainer.theta)
        worst = max(worst, abs(cost_c - cost_r) / abs(cost_r),
                    float(np.abs(theta - ref.theta).max() / np.abs(ref.theta).max()))
    return worst


# --------------------------------------------------------------------------- memory
def _vm_hwm_mib() -> float | None:
    """This process's own peak RSS (VmHWM, Linux), which, unlike ``ru_maxrss``, does not
    inherit the parent's peak across fork + exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def memory_child() -> None:
    """Train the compiled program at mini-batch 100; print peak RSS in MiB before and after."""
    import resource

    scale = 1024 if sys.platform != "darwin" else 1024 * 1024

    def peak() -> float:
        rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
        hwm = _vm_hwm_mib()
        return rusage if hwm is None else min(rusage, hwm)

    X, labels = synthetic_mnist(2_000, seed=1)
    Y = np.eye(10)[labels]
    base = peak()
    trainer = CompiledTrainer(MLP(784, SIZES[1:], seed=0), lr=LR)
    for _ in range(3):
        for s in range(0, len(X), 100):
            trainer.train_batch(X[s:s + 100], Y[s:s + 100])
    trainer.sync_to_values()
    trainer.evaluate(X)
    print(f"{base:.1f} {peak():.1f}")


def memory() -> tuple[float, float] | None:
    """(MiB before, peak MiB) of :func:`memory_child` in a fresh process."""
    import subprocess

    try:
        out = subprocess.run([sys.executable, __file__, "--memory-child"], capture_output=True,
                             text=True, check=True, timeout=300).stdout.split()
        return float(out[0]), float(out[1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        print(f"(memory measurement failed: {exc})")
        return None


# --------------------------------------------------------------------------- main
def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=7,
                        help="interleaved epochs per row (ex/s: the median epoch; ratios: the "
                             "median of the rounds' ratios)")
    parser.add_argument("--cpu", default="0", help="the core to pin to ('none': no pinning)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: the process's CPU time (all its threads; what other "
                             "processes take is not counted); wall: elapsed time")
    parser.add_argument("--examples", type=positive_int, default=60_000, help="data set size")
    scaling = parser.add_mutually_exclusive_group()
    scaling.add_argument("--no-scaling", action="store_true", help="skip the compile scaling")
    scaling.add_argument("--scaling-against", metavar="REVISION",
                         default=compile_scaling.BASELINE_REVISION,
                         help="the git revision whose compiler, measured in this run, is the "
                              "compile scaling's baseline")
    scaling.add_argument("--recorded-scaling", action="store_true",
                         help="compile scaling against the numbers recorded in "
                              "compile_scaling.py, without running the old compiler")
    parser.add_argument("--quick", action="store_true",
                        help="6,000 examples, 1 round, two small networks for the scaling")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.examples, args.rounds = 6_000, 1
    return args


def print_header(args: argparse.Namespace) -> None:
    """What was measured, on what."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"network {' → '.join(map(str, SIZES))}, sigmoid, quadratic cost, SGD lr {LR}; "
          f"synthetic MNIST {args.examples:,} × 784; {args.rounds} interleaved rounds (ex/s: "
          f"the median epoch; ratios: the median of the rounds' ratios), "
          f"{'CPU' if args.clock == 'cpu' else 'wall-clock'} time")
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}, one BLAS thread, "
          f"process pinned to CPU {affinity}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def print_versions() -> None:
    """Versions of the optional competitors that are installed."""
    for name in ("jax", "jaxlib", "torch"):
        try:
            module = __import__(name)
            print(f"{name} {module.__version__}", end="; ")
        except ImportError:
            print(f"{name}: not installed", end="; ")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run everything and print the tables and targets."""
    args = parse(argv)
    if args.memory_child:
        memory_child()
        return 0
    print_header(args)
    check_same_math()  # raises if the tuned NumPy is not the plain NumPy's math
    mem = memory()  # early: a small parent process to fork from
    data = make_data(args.examples)
    rows = build_rows(data)
    print_versions()
    timings = time_epochs(rows, args.rounds, len(data["float64"].X), CLOCKS[args.clock])
    print()
    print_table(rows, timings)
    print()
    ref = timings.rate(("float64", 100, "hand"))
    peak = matmul_gflops()
    limit = peak * 1e9 / FLOP_PER_EXAMPLE
    print(f"one core's float64 matmul here: {peak:.0f} GFLOP/s, so ~{limit:,.0f} ex/s at most "
          f"({FLOP_PER_EXAMPLE:,} FLOP per example); best hand NumPy at batch 100 reaches "
          f"{100 * (ref or 0) / limit:.0f}% of it")
    worst = same_math(data["float64"])
    print(f"same math: train_batch vs best hand NumPy, 3 steps from equal weights, float64: "
          f"largest relative difference {worst:.1e}  {verdict(worst <= 1e-9)} (≤ 1e-9)")
    print()
    print_targets(timings)
    if mem is not None:
        base, top = mem
        print(f"target: peak RSS, compiled 784-16-16-10 at b=100 ≤ {MEMORY_LIMIT_MB:.0f} MB: "
              f"{top:6.1f} MiB  {verdict(top * 1.048576 <= MEMORY_LIMIT_MB)}  (interpreter, "
              f"NumPy and 2,000 examples alone: {base:.1f} MiB)")
    if not args.no_scaling:
        print()
        print("compile scaling (each network in a fresh process):")
        compile_scaling.report(compile_scaling.QUICK_ARCHITECTURES if args.quick
                               else compile_scaling.ARCHITECTURES,
                               None if args.recorded_scaling else args.scaling_against)
    return 0


if __name__ == "__main__":
    sys.exit(main())
